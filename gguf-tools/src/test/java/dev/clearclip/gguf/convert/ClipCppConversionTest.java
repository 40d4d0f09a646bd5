package dev.clearclip.gguf.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.GgufTensorSpec;
import dev.clearclip.gguf.GgufWriter;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.testing.ClipCppGguf;
import dev.clearclip.gguf.testing.Fixtures;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GGUF to GGUF: files in monatis/clip.cpp's layout (written from the hf-tiny reference model by
 * {@link ClipCppGguf}) come out equal to our own conversion of the same weights.
 */
class ClipCppConversionTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path ours;

    @BeforeAll
    static void convertReference() {
        model = Fixtures.model("hf-tiny");
        ours = dir.resolve("ours-f32.gguf");
        ClipConverter.fromHuggingFace(model).write(ours, ProgressListener.NONE);
    }

    private static List<String> convert(Path in, Path out, GgmlType type) {
        List<String> notes = new ArrayList<>();
        ClipConverter converter = ClipConverter.fromGguf(in);
        if (type != null) {
            converter = converter.outputType(type);
        }
        converter.write(out, new ProgressListener() {
            @Override
            public void note(String message) {
                notes.add(message);
            }
        });
        return notes;
    }

    /**
     * The same keys with the same values (the name and logit scale aside: clip.cpp keeps neither),
     * the same tensors, names, shapes, and values within the rounding of the clip.cpp file's types.
     */
    private static void assertSameModel(Path converted, Path reference, double tolerance) {
        try (GgufFile a = GgufFile.open(converted); GgufFile b = GgufFile.open(reference)) {
            Set<String> keys = new TreeSet<>(b.metadata().asMap().keySet());
            keys.remove("general.name");
            keys.remove("clip.logit_scale");
            keys.remove("general.file_type");
            Set<String> got = new TreeSet<>(a.metadata().asMap().keySet());
            got.remove("general.name");
            got.remove("general.file_type");
            assertThat(got).isEqualTo(keys);
            for (String key : keys) {
                assertThat(a.metadata().get(key)).as(key).isEqualTo(b.metadata().get(key));
            }
            assertThat(a.tensors()).extracting(GgufTensorInfo::name)
                    .containsExactlyElementsOf(b.tensors().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo tensor : b.tensors()) {
                assertThat(a.tensor(tensor.name()).ne()).as(tensor.name()).isEqualTo(tensor.ne());
                float[] want = b.readFloats(tensor.name());
                float[] have = a.readFloats(tensor.name());
                double scale = 0;
                for (float v : want) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int i = 0; i < want.length; i++) {
                    if (Math.abs(have[i] - want[i]) > tolerance * scale) {
                        throw new AssertionError(tensor.name() + "[" + i + "] = " + have[i] + ", expected " + want[i]);
                    }
                }
            }
        }
    }

    @Test
    void f16ClipCppFileBecomesOurLayout() {
        Path clipCpp = ClipCppGguf.write(model, dir.resolve("clipcpp-f16.gguf"), ClipCppGguf.Kind.F16);
        assertThat(ClipConverter.detect(clipCpp).format()).isEqualTo(ClipConverter.SourceFormat.GGUF);
        assertThat(ClipConverter.fromGguf(clipCpp).outputType()).isEqualTo(GgmlType.F16);
        Path out = dir.resolve("converted-f32.gguf");
        List<String> notes = convert(clipCpp, out, GgmlType.F32);
        assertSameModel(out, ours, 1e-3);
        assertThat(notes).anyMatch(n -> n.startsWith("clip.text.projection_dim says 512 but the tensor shapes say 64"))
                .anyMatch(n -> n.startsWith("clip.vision.projection_dim says 512 but the tensor shapes say 64"))
                .anyMatch(n -> n.equals("tokenizer.ggml.merges is missing; rebuilt 48894 BPE merges from the order of "
                        + "tokenizer.ggml.tokens"));
        try (GgufFile gguf = GgufFile.open(out)) {
            // fc1 is 64 -> 256 in the text tower: ffn_up [64, 256] in our layout
            assertThat(gguf.tensor("t.blk.0.ffn_up.weight").ne()).containsExactly(64, 256);
            assertThat(gguf.metadata().getString("general.name")).isEqualTo("hf-tiny");
        }
    }

    @Test
    void f16ClipCppFileKeepsF16ByDefault() {
        Path clipCpp = ClipCppGguf.write(model, dir.resolve("clipcpp-f16-default.gguf"), ClipCppGguf.Kind.F16);
        Path out = dir.resolve("converted-default.gguf");
        convert(clipCpp, out, null);
        Path oursF16 = dir.resolve("ours-f16.gguf");
        ClipConverter.fromHuggingFace(model).outputType(GgmlType.F16).write(oursF16, ProgressListener.NONE);
        try (GgufFile a = GgufFile.open(out); GgufFile b = GgufFile.open(oursF16)) {
            assertThat(a.metadata().getLong("general.file_type")).isEqualTo(GgmlType.F16.llamaFileType());
            for (GgufTensorInfo tensor : b.tensors()) {
                assertThat(a.tensor(tensor.name()).type()).as(tensor.name()).isEqualTo(tensor.type());
            }
        }
        assertSameModel(out, oursF16, 1e-3);
    }

    @Test
    void quantizedClipCppFileIsReadWithItsQuantizedEmbeddings() {
        Path clipCpp = ClipCppGguf.write(model, dir.resolve("clipcpp-q8_0.gguf"), ClipCppGguf.Kind.Q8_0);
        try (GgufFile gguf = GgufFile.open(clipCpp)) {
            assertThat(gguf.tensor("v.position_embd.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(gguf.metadata().getLong("general.file_type")).isEqualTo(8); // ggml's id, not llama's 7
        }
        Path out = dir.resolve("converted-q8.gguf");
        convert(clipCpp, out, GgmlType.F32);
        // q8_0 keeps about 1/127 of each block's largest value
        assertSameModel(out, ours, 1.0 / 64);
        try (GgufFile gguf = GgufFile.open(out)) {
            assertThat(gguf.tensor("v.position_embd.weight").type()).isEqualTo(GgmlType.F32);
        }
    }

    @Test
    void singleTowerFiles() {
        Path vision = ClipCppGguf.write(model, dir.resolve("clipcpp-vision.gguf"), ClipCppGguf.Kind.F32, false, true);
        Path out = dir.resolve("converted-vision.gguf");
        convert(vision, out, GgmlType.F32);
        try (GgufFile gguf = GgufFile.open(out)) {
            assertThat(gguf.metadata().getBoolean("clip.has_text_encoder")).isFalse();
            assertThat(gguf.metadata().contains("tokenizer.ggml.tokens")).isFalse();
            assertThat(gguf.metadata().getLong("clip.vision.projection_dim")).isEqualTo(64);
        }
    }

    @Test
    void refusesToOverwriteItsInput() throws Exception {
        Path clipCpp = ClipCppGguf.write(model, dir.resolve("clipcpp-same.gguf"), ClipCppGguf.Kind.F16);
        byte[] before = Files.readAllBytes(clipCpp);
        assertThatThrownBy(() -> convert(clipCpp, dir.resolve("./clipcpp-same.gguf"), GgmlType.F32))
                .isInstanceOf(ConversionException.class)
                .hasMessageContaining("is the file being converted");
        assertThat(Files.readAllBytes(clipCpp)).isEqualTo(before);
    }

    @Test
    void vocabularyOutOfOrderSaysWhyAndWhatToDo() {
        Path clipCpp = ClipCppGguf.write(model, dir.resolve("clipcpp-shuffled.gguf"), ClipCppGguf.Kind.F16);
        Path shuffled = dir.resolve("shuffled.gguf");
        rewriteKeys(clipCpp, shuffled, kv -> {
            try (GgufFile in = GgufFile.open(clipCpp)) {
                List<String> tokens = new ArrayList<>(in.metadata().getStringList("tokenizer.ggml.tokens"));
                java.util.Collections.swap(tokens, 513, 518);
                kv.putStringArray("tokenizer.ggml.tokens", tokens);
            }
        });
        assertThatThrownBy(() -> convert(shuffled, dir.resolve("never.gguf"), GgmlType.F32))
                .isInstanceOf(ConversionException.class)
                .hasMessageContaining("tokenizer.ggml.tokens comes without tokenizer.ggml.merges and the merges cannot be "
                        + "rebuilt from it: token 513 'the</w>'")
                .hasMessageContaining("--tokenizer");
        assertThat(dir.resolve("never.gguf")).doesNotExist();
    }

    @Test
    void llavaProjectorIsRefusedWithTheReason() {
        Path mmproj = dir.resolve("mmproj.gguf");
        GgufMetadata kv = GgufMetadata.builder()
                .putString("general.architecture", "clip")
                .putBool("clip.has_text_encoder", false)
                .putBool("clip.has_vision_encoder", true)
                .putBool("clip.has_llava_projector", true)
                .putString("clip.projector_type", "mlp")
                .build();
        List<GgufTensorSpec> specs = List.of(GgufTensorSpec.of("mm.0.weight", GgmlType.F32, 32, 32),
                GgufTensorSpec.of("v.patch_embd.weight", GgmlType.F32, 4, 4, 3, 32));
        try (GgufWriter writer = GgufWriter.create(mmproj, kv, specs); Arena arena = Arena.ofConfined()) {
            for (GgufTensorSpec spec : specs) {
                writer.writeTensor(spec.name(), arena.allocate(spec.byteSize()));
            }
        }
        assertThatThrownBy(() -> convert(mmproj, dir.resolve("x.gguf"), GgmlType.F32))
                .isInstanceOf(ConversionException.class)
                .hasMessageContaining("this is a LLaVA projector (mmproj) file (it sets clip.has_llava_projector, "
                        + "it has clip.projector_type, it has mm.* projector tensors)")
                .hasMessageContaining("it has no v.post_ln, no visual_projection, no text tower");
    }

    @Test
    void otherArchitecturesAreNotClip() {
        Path llama = dir.resolve("llama.gguf");
        GgufMetadata kv = GgufMetadata.builder().putString("general.architecture", "llama").build();
        try (GgufWriter writer = GgufWriter.create(llama, kv, List.of())) {
            assert writer != null;
        }
        assertThatThrownBy(() -> convert(llama, dir.resolve("y.gguf"), GgmlType.F32))
                .hasMessageContaining("general.architecture is 'llama', so this is not a CLIP model file");
    }

    private static void rewriteKeys(Path in, Path out, java.util.function.Consumer<GgufMetadata.Builder> edit) {
        try (GgufFile src = GgufFile.open(in)) {
            GgufMetadata.Builder kv = src.metadata().toBuilder();
            edit.accept(kv);
            List<GgufTensorSpec> specs = src.tensors().stream().map(GgufTensorInfo::spec).toList();
            try (GgufWriter writer = GgufWriter.create(out, kv.build(), specs)) {
                for (GgufTensorInfo t : src.tensors()) {
                    MemorySegment data = src.tensorData(t);
                    writer.writeTensor(t.name(), data);
                }
            }
        }
    }
}
