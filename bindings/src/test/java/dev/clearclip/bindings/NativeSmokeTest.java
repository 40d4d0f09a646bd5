package dev.clearclip.bindings;

import static dev.clearclip.bindings.ffi.ClearClipNative.CLEARCLIP_ERR_IO;
import static dev.clearclip.bindings.ffi.ClearClipNative.C_POINTER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.bindings.ffi.ClearClipNative;
import dev.clearclip.bindings.ffi.clearclip_model_params;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Calls into the real engine through the generated bindings and the packaged libraries. */
class NativeSmokeTest {

    @Test
    void loadsTheEngineAndItsGgmlLibraries() {
        assertThat(NativeLibrary.loadedLibraries())
                .extracting(p -> p.getFileName().toString())
                .anyMatch(name -> name.startsWith("libggml-base.so"))
                .last().asString().startsWith("libclearclip.so");
    }

    @Test
    void versionAndStatusNames() {
        assertThat(ClearClipNative.clearclip_version().getString(0)).matches("\\d+\\.\\d+\\.\\d+.*");
        assertThat(ClearClipNative.clearclip_status_name(CLEARCLIP_ERR_IO()).getString(0))
                .isEqualTo("CLEARCLIP_ERR_IO");
        assertThat(ClearClipNative.clearclip_system_info().getString(0)).isNotBlank();
    }

    @Test
    void loadingAMissingFileFailsWithIoErrorNamingThePath(@TempDir Path tmp) {
        Path missing = tmp.resolve("no-such-model.gguf");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = ClearClipNative.clearclip_model_default_params(arena);
            assertThat(clearclip_model_params.use_mmap(params)).isTrue();
            MemorySegment out = arena.allocate(C_POINTER);
            int status = ClearClipNative.clearclip_model_load(
                    arena.allocateFrom(missing.toString()), params, out);
            assertThat(status).isEqualTo(CLEARCLIP_ERR_IO());
            assertThat(out.get(C_POINTER, 0)).isEqualTo(MemorySegment.NULL);
            assertThat(ClearClipNative.clearclip_last_error().getString(0)).contains(missing.toString());
        }
    }
}
