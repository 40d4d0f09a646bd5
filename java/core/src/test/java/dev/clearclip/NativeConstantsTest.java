package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.bindings.ClearClipBaseException;
import dev.clearclip.bindings.NativeLibraryException;
import dev.clearclip.bindings.ffi.ClearClipNative;
import dev.clearclip.eval.DatasetException;
import dev.clearclip.eval.EvalStateException;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.ModelFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Java enums that mirror engine enums (status codes, block modes) and the file-type names
 * agree with the C header itself, parsed here from native/include/clearclip.h, so neither a
 * renumbered header nor a slip in the Java mapping goes unnoticed.
 */
class NativeConstantsTest {

    /** NAME = value pairs of the header's enum constants starting with {@code prefix}. */
    private static Map<String, Integer> headerConstants(String prefix) throws IOException {
        Path header = Path.of(System.getProperty("clearclip.repo.root", "../.."), "native", "include", "clearclip.h");
        Matcher m = Pattern.compile("\\b" + prefix + "([A-Z0-9_]+)\\s*=\\s*(\\d+)").matcher(Files.readString(header));
        Map<String, Integer> out = new LinkedHashMap<>();
        while (m.find()) {
            out.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return out;
    }

    @Test
    void everyHeaderStatusHasItsJavaStatusAndBack() throws IOException {
        Map<String, Integer> codes = headerConstants("CLEARCLIP_ERR_");
        assertThat(codes).hasSize(ClearClipException.Status.values().length - 1);
        codes.forEach((name, code) -> {
            ClearClipException.Status status = ClearClipException.Status.valueOf(name);
            assertThat(status.nativeCode()).as(name).isEqualTo(code);
            assertThat(ClearClipException.Status.fromNative(code)).as(name).isEqualTo(status);
            // and the engine's own name for the code says the same
            assertThat(ClearClipNative.clearclip_status_name(code).reinterpret(Long.MAX_VALUE).getString(0))
                    .isEqualTo("CLEARCLIP_ERR_" + name);
        });
        assertThat(ClearClipException.Status.fromNative(12345)).isEqualTo(ClearClipException.Status.UNKNOWN);
        assertThat(ClearClipException.Status.fromNative(ClearClipNative.CLEARCLIP_OK())).isEqualTo(ClearClipException.Status.UNKNOWN);
    }

    @Test
    void blockModesAreTheHeadersModes() throws IOException {
        Map<String, Integer> modes = new java.util.HashMap<>(headerConstants("CLEARCLIP_MODE_"));
        // the sentinel counts the modes and is none itself
        assertThat(modes.remove("COUNT")).isEqualTo(BlockMode.values().length);
        assertThat(modes.keySet()).containsExactlyInAnyOrder(
                java.util.Arrays.stream(BlockMode.values()).map(Enum::name).toArray(String[]::new));
        modes.forEach((name, id) -> assertThat(BlockMode.valueOf(name).nativeId()).as(name).isEqualTo(id));
        assertThat(BlockMode.NACLIP_DEFAULT_STD).isEqualTo(ClearClipNative.CLEARCLIP_NACLIP_DEFAULT_STD());
    }

    /** ModelInfo names a file type as the GGUF tools do when they write general.file_type. */
    @Test
    void fileTypeNamesAgreeWithTheWriters() {
        for (GgmlType type : GgmlType.outputTypes()) {
            ModelInfo info = new ModelInfo("m", type.llamaFileType(), true, true, false, 1, 1, 1, 1, 1, 1, 1,
                    1, 1, 1, 1, 1, 1, new float[3], new float[3]);
            assertThat(info.fileTypeName()).as(type.ggmlName()).isEqualTo(type.ggmlName());
        }
    }

    @Test
    void everyErrorTypeHasTheOneRoot() {
        for (Class<?> c : new Class<?>[] {NativeLibraryException.class, ModelFileException.class, ClearClipException.class,
                ModelLoadException.class, ImageReadException.class, InvalidTextException.class, InferenceException.class,
                AbortedException.class, DatasetException.class, EvalStateException.class,
                dev.clearclip.gguf.GgufFormatException.class, dev.clearclip.gguf.convert.ConversionException.class,
                dev.clearclip.gguf.quantize.QuantizationException.class,
                dev.clearclip.gguf.safetensors.SafetensorsFormatException.class}) {
            assertThat(ClearClipBaseException.class.isAssignableFrom(c)).as(c.getName()).isTrue();
        }
    }
}
