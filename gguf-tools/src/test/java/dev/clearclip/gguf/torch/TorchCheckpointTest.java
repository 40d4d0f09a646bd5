package dev.clearclip.gguf.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.ModelFileException;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.convert.ClipConverter;
import dev.clearclip.gguf.safetensors.SafetensorsFile;
import dev.clearclip.gguf.testing.Fixtures;
import dev.clearclip.gguf.testing.TestResources;
import dev.clearclip.gguf.testing.TorchZip;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PyTorch checkpoints: files written by torch.save itself (src/test/python/make_torch_files.py). */
class TorchCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void readsEveryTensorPyTorchWrote() throws Exception {
        Path out = dir.resolve("state_dict.safetensors");
        int n = TorchCheckpoint.toSafetensors(TestResources.path("torch/state_dict.bin"), out);
        JsonNode expected = new ObjectMapper().readTree(TestResources.path("torch/state_dict.json").toFile());
        assertThat(n).isEqualTo(expected.size());
        try (SafetensorsFile file = SafetensorsFile.open(out)) {
            List<String> names = new ArrayList<>();
            expected.fieldNames().forEachRemaining(names::add);
            assertThat(file.tensors().keySet()).containsExactlyElementsOf(names);
            for (Map.Entry<String, JsonNode> e : expected.properties()) {
                String name = e.getKey();
                long[] shape = new long[e.getValue().get("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = e.getValue().get("shape").get(i).asLong();
                }
                assertThat(file.tensor(name).shape()).as(name).containsExactly(shape);
                String dtype = switch (e.getValue().get("dtype").asText()) {
                    case "float32" -> "F32";
                    case "float16" -> "F16";
                    case "bfloat16" -> "BF16";
                    case "float64" -> "F64";
                    default -> throw new AssertionError(e.getValue().get("dtype"));
                };
                assertThat(file.tensor(name).dtype().name()).as(name).isEqualTo(dtype);
                float[] values = file.readFloats(name);
                JsonNode want = e.getValue().get("values");
                assertThat(values).as(name).hasSize(want.size());
                for (int i = 0; i < values.length; i++) {
                    assertThat(values[i]).as(name + "[" + i + "]").isEqualTo((float) want.get(i).asDouble());
                }
            }
        }
    }

    @Test
    void trainingCheckpointGivesItsStateDict() {
        Path out = dir.resolve("training.safetensors");
        assertThat(TorchCheckpoint.toSafetensors(TestResources.path("torch/training.bin"), out)).isEqualTo(1);
        try (SafetensorsFile file = SafetensorsFile.open(out)) {
            assertThat(file.readFloats("w")).containsExactly(1, 1, 1, 1);
        }
    }

    /** torch.arange(5) (make_torch_files.py): int64, as transformers' position_ids buffers are. */
    @Test
    void integerTensorsKeepTheirType() {
        Path out = dir.resolve("integers.safetensors");
        assertThat(TorchCheckpoint.toSafetensors(TestResources.path("torch/integers.bin"), out)).isEqualTo(1);
        try (SafetensorsFile file = SafetensorsFile.open(out)) {
            var ids = file.tensor("ids");
            assertThat(ids.dtype()).isEqualTo(dev.clearclip.gguf.safetensors.SafetensorsDType.I64);
            assertThat(ids.shape()).containsExactly(5);
            var data = file.data("ids");
            for (int i = 0; i < 5; i++) {
                assertThat(data.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                        8L * i)).isEqualTo(i);
            }
        }
    }

    @Test
    void refusesWhatItCannotRead() throws Exception {
        // a byte (uint8) storage, which no CLIP checkpoint has
        Path bytes = dir.resolve("bytes.bin");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(bytes))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
            zip.write(("\u0080\u0002(X\u0007\u0000\u0000\u0000storagectorch\nByteStorage\nX\u0001\u0000\u0000\u00000"
                    + "X\u0003\u0000\u0000\u0000cpuK\u0005tQ.").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            zip.closeEntry();
        }
        assertThatThrownBy(() -> TorchCheckpoint.toSafetensors(bytes, dir.resolve("a")))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("torch.ByteStorage is not a type the converter reads");
        assertThatThrownBy(() -> TorchCheckpoint.toSafetensors(TestResources.path("torch/legacy.bin"), dir.resolve("b")))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("not a PyTorch zip checkpoint");
        assertThat(dir.resolve("a")).doesNotExist();
    }

    @Test
    void refusesPicklesThatCallAnythingElse() throws Exception {
        // a zip whose pickle would call os.system if it were executed
        Path evil = dir.resolve("evil.bin");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(evil))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
            zip.write("\u0080\u0002cos\nsystem\nX\u0004\u0000\u0000\u0000echo\u0085R.".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            zip.closeEntry();
        }
        assertThatThrownBy(() -> TorchCheckpoint.toSafetensors(evil, dir.resolve("c")))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("it contains a os.system")
                .hasMessageContaining("nothing in the file is executed");
    }

    /** An open_clip directory holding only open_clip_pytorch_model.bin converts like its safetensors. */
    @Test
    void openClipBinConvertsLikeItsSafetensors() throws Exception {
        Path openClip = Fixtures.model("openclip-tiny");
        Path binDir = Files.createDirectory(dir.resolve("openclip-bin"));
        Files.copy(openClip.resolve("open_clip_config.json"), binDir.resolve("open_clip_config.json"));
        TorchZip.fromSafetensors(openClip.resolve("open_clip_model.safetensors"),
                binDir.resolve("open_clip_pytorch_model.bin"));
        Path tokenizer = Fixtures.model("hf-tiny");
        Path fromBin = dir.resolve("bin.gguf");
        Path fromSafetensors = dir.resolve("st.gguf");
        ClipConverter.detect(binDir).tokenizer(tokenizer).write(fromBin, ProgressListener.NONE);
        ClipConverter.detect(openClip).tokenizer(tokenizer).write(fromSafetensors, ProgressListener.NONE);
        try (GgufFile a = GgufFile.open(fromBin); GgufFile b = GgufFile.open(fromSafetensors)) {
            assertThat(a.tensors()).extracting(GgufTensorInfo::name)
                    .containsExactlyElementsOf(b.tensors().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo t : b.tensors()) {
                assertThat(a.readFloats(t.name())).as(t.name()).isEqualTo(b.readFloats(t.name()));
            }
        }
        // the temporary safetensors copy is gone
        try (var files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(f -> f.startsWith("clearclip-openclip-"));
        }
    }
}
