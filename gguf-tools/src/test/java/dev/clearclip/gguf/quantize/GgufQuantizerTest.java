package dev.clearclip.gguf.quantize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.GgufTensorSpec;
import dev.clearclip.gguf.GgufWriter;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.TensorCodec;
import dev.clearclip.gguf.convert.ClipConverter;
import dev.clearclip.gguf.testing.Fixtures;
import dev.clearclip.gguf.testing.GgmlGguf;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Quantizes a converted reference model with ggml's routines (through the engine) and checks the
 * result against the f32 source: block errors within what each format can represent, sizes by
 * ggml's block formulas, and the file readable by ggml's own GGUF reader.
 */
class GgufQuantizerTest {
    @TempDir
    static Path out;
    static Path f32;

    /** Bytes per block of 32 values, from the block layouts (f16 scale [+ f16 min] [+ 4 bytes of fifth bits] + quants). */
    private static final Map<GgmlType, Integer> BLOCK_BYTES = Map.of(
            GgmlType.Q8_0, 2 + 32, GgmlType.Q4_0, 2 + 16, GgmlType.Q4_1, 4 + 16, GgmlType.Q5_0, 2 + 4 + 16, GgmlType.Q5_1, 4 + 4 + 16);

    @BeforeAll
    static void convertReference() {
        f32 = out.resolve("hf-tiny-f32.gguf");
        ClipConverter.fromHuggingFace(Fixtures.model("hf-tiny")).write(f32, ProgressListener.NONE);
    }

    /**
     * Largest error a block may have: half a step for the rounding formats (plus the f16 rounding
     * of the scale, at most 2^-11 relative, times the largest quant); a whole step for q4_0 and
     * q5_0, whose most negative code is clamped for the value opposite to the scale's sign.
     */
    private static double bound(GgmlType type, float[] block) {
        double max = Double.NEGATIVE_INFINITY;
        double min = Double.POSITIVE_INFINITY;
        double amax = 0;
        for (float x : block) {
            max = Math.max(max, x);
            min = Math.min(min, x);
            amax = Math.max(amax, Math.abs(x));
        }
        double half = 0x1p-11;
        return switch (type) {
            case Q8_0 -> amax / 127 * (0.5 + 127 * half);
            case Q4_0 -> amax / 8 * (1 + 8 * half);
            case Q5_0 -> amax / 16 * (1 + 16 * half);
            case Q4_1 -> (max - min) / 15 * (0.5 + 15 * half) + amax * half;
            case Q5_1 -> (max - min) / 31 * (0.5 + 31 * half) + amax * half;
            default -> throw new IllegalArgumentException(type.toString());
        } + 1e-12;
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q5_1", "Q5_0", "Q4_1", "Q4_0"})
    void quantizedBlocksStayWithinTheFormatsBound(GgmlType type) throws Throwable {
        Path file = out.resolve("hf-tiny-" + type + ".gguf");
        SizeReport report = GgufQuantizer.quantize(f32, file, type, ProgressListener.NONE);
        try (GgufFile source = GgufFile.open(f32); GgufFile quantized = GgufFile.open(file)) {
            GgufMetadata expectedKv = source.metadata().toBuilder().putU32("general.file_type", type.llamaFileType()).build();
            assertThat(quantized.metadata()).isEqualTo(expectedKv);
            int quantizedCount = 0;
            for (GgufTensorInfo tensor : quantized.tensors()) {
                GgufTensorInfo original = source.tensor(tensor.name());
                assertThat(tensor.ne()).containsExactly(original.ne());
                GgmlType expectedType = expectedType(tensor.name(), tensor.ne(), type);
                assertThat(tensor.type()).as(tensor.name()).isEqualTo(expectedType);
                if (expectedType == GgmlType.F32) {
                    assertThat(quantized.tensorData(tensor).toArray(ValueLayout.JAVA_BYTE)).as(tensor.name())
                            .isEqualTo(source.tensorData(original).toArray(ValueLayout.JAVA_BYTE));
                    continue;
                }
                if (expectedType == GgmlType.F16) {
                    continue;
                }
                quantizedCount++;
                long rows = tensor.elementCount() / tensor.ne()[0];
                assertThat(tensor.byteSize()).as(tensor.name()).isEqualTo(rows * (tensor.ne()[0] / 32) * BLOCK_BYTES.get(type));
                float[] want = source.readFloats(tensor.name());
                float[] got = quantized.readFloats(tensor.name());
                for (int b = 0; b < want.length / 32; b++) {
                    float[] block = Arrays.copyOfRange(want, 32 * b, 32 * b + 32);
                    double limit = bound(type, block);
                    for (int j = 0; j < 32; j++) {
                        double error = Math.abs(got[32 * b + j] - block[j]);
                        if (error > limit) {
                            throw new AssertionError(tensor.name() + " block " + b + " element " + j + ": " + got[32 * b + j]
                                    + " vs " + block[j] + ", error " + error + " > bound " + limit);
                        }
                    }
                }
            }
            assertThat(quantizedCount).isEqualTo(33); // 32 block matrices + token embedding
        }
        assertThat(report.bytesAfter()).isLessThan(report.bytesBefore() / 2);
        assertThat(report.rows()).extracting(SizeReport.Row::tensorClass)
                .contains(TensorClass.MATRIX, TensorClass.TOKEN_EMBEDDING, TensorClass.NORM, TensorClass.BIAS);
        assertThat(report.format()).contains("total");

        GgmlGguf.Summary ggml = GgmlGguf.read(file);
        try (GgufFile ours = GgufFile.open(file)) {
            assertThat(ggml.dataOffset()).isEqualTo(ours.dataOffset());
            assertThat(ggml.alignment()).isEqualTo(32);
            assertThat(ggml.keyCount()).isEqualTo(ours.metadata().size());
            List<GgmlGguf.Tensor> expected = new ArrayList<>();
            for (GgufTensorInfo t : ours.tensors()) {
                expected.add(new GgmlGguf.Tensor(t.name(), t.type().id(), t.offset(), t.byteSize()));
            }
            assertThat(ggml.tensors()).isEqualTo(expected);
        }
    }

    private static GgmlType expectedType(String name, long[] ne, GgmlType target) {
        boolean compressed = name.equals("t.token_embd.weight") || name.equals("v.patch_embd.weight")
                || (ne.length == 2 && name.endsWith(".weight") && !name.contains("position_embd"));
        if (!compressed) {
            return GgmlType.F32;
        }
        return ne[0] % 32 == 0 ? target : GgmlType.F16;
    }

    @Test
    void convertingStraightToQ8_0EqualsConvertingThenQuantizing() {
        Path direct = out.resolve("direct-q8_0.gguf");
        Path twoStep = out.resolve("two-step-q8_0.gguf");
        ClipConverter.fromHuggingFace(Fixtures.model("hf-tiny")).outputType(GgmlType.Q8_0).write(direct, ProgressListener.NONE);
        GgufQuantizer.quantize(f32, twoStep, GgmlType.Q8_0, ProgressListener.NONE);
        try (GgufFile a = GgufFile.open(direct); GgufFile b = GgufFile.open(twoStep)) {
            assertThat(a.metadata()).isEqualTo(b.metadata());
            assertThat(a.tensors()).isEqualTo(b.tensors());
            for (GgufTensorInfo tensor : a.tensors()) {
                assertThat(a.tensorData(tensor).mismatch(b.tensorData(b.tensor(tensor.name())))).as(tensor.name()).isEqualTo(-1);
            }
        }
    }

    @Test
    void f16InputIsDecodedBeforeQuantizing() {
        Path f16 = out.resolve("hf-tiny-f16.gguf");
        GgufQuantizer.quantize(f32, f16, GgmlType.F16, ProgressListener.NONE);
        Path q8 = out.resolve("from-f16-q8_0.gguf");
        GgufQuantizer.quantize(f16, q8, GgmlType.Q8_0, ProgressListener.NONE);
        try (GgufFile half = GgufFile.open(f16); GgufFile quantized = GgufFile.open(q8)) {
            assertThat(half.tensor("v.blk.0.ffn_up.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(half.metadata().getLong("general.file_type")).isEqualTo(1);
            float[] want = half.readFloats("v.blk.0.ffn_up.weight");
            float[] got = quantized.readFloats("v.blk.0.ffn_up.weight");
            for (int b = 0; b < want.length / 32; b++) {
                float[] block = Arrays.copyOfRange(want, 32 * b, 32 * b + 32);
                double limit = bound(GgmlType.Q8_0, block);
                for (int j = 0; j < 32; j++) {
                    assertThat((double) Math.abs(got[32 * b + j] - block[j])).isLessThanOrEqualTo(limit);
                }
            }
            assertThat(quantized.tensor("v.patch_embd.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(quantized.tensorData("v.patch_embd.weight").mismatch(half.tensorData("v.patch_embd.weight"))).isEqualTo(-1);
        }
    }

    @Test
    void rowsThatDoNotFillBlocksStayF16WithANote() {
        Path input = out.resolve("odd-rows.gguf");
        float[] values = new float[48 * 2];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i % 7) - 3.5f;
        }
        MemorySegment bytes = MemorySegment.ofArray(new byte[values.length * 4]);
        TensorCodec.encodeF32(values, bytes);
        try (GgufWriter writer = GgufWriter.create(input, GgufMetadata.builder().putString("general.architecture", "clip").build(),
                List.of(GgufTensorSpec.of("v.blk.0.attn_q.weight", GgmlType.F32, 48, 2)))) {
            writer.writeTensor("v.blk.0.attn_q.weight", bytes);
        }
        List<String> notes = new ArrayList<>();
        Path output = out.resolve("odd-rows-q4_0.gguf");
        GgufQuantizer.quantize(input, output, GgmlType.Q4_0, new ProgressListener() {
            @Override
            public void note(String message) {
                notes.add(message);
            }
        });
        assertThat(notes).containsExactly("v.blk.0.attn_q.weight stays f16: its rows of 48 values are not a multiple of the q4_0 block size 32");
        try (GgufFile gguf = GgufFile.open(output)) {
            assertThat(gguf.tensor("v.blk.0.attn_q.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(gguf.readFloats("v.blk.0.attn_q.weight")).isEqualTo(values);
            assertThat(gguf.metadata().getLong("general.file_type")).isEqualTo(2);
        }
    }

    @Test
    void nativeSizesFollowTheBlockFormula() {
        for (Map.Entry<GgmlType, Integer> entry : BLOCK_BYTES.entrySet()) {
            assertThat(NativeQuantizer.quantizedSize(entry.getKey(), 3, 96)).as(entry.getKey().toString())
                    .isEqualTo(3L * 3 * entry.getValue());
        }
        assertThat(NativeQuantizer.quantizedSize(GgmlType.F16, 5, 7)).isEqualTo(70);
        assertThatThrownBy(() -> NativeQuantizer.quantizedSize(GgmlType.Q8_0, 1, 48))
                .isInstanceOf(QuantizationException.class)
                .hasMessageContaining("clearclip_quantized_size(q8_0, 1 x 48) failed: CLEARCLIP_ERR_INVALID_ARGUMENT")
                .hasMessageContaining("not a multiple of the q8_0 block size 32");
        assertThatThrownBy(() -> GgufQuantizer.quantize(f32, out.resolve("k.gguf"), GgmlType.Q4_K, ProgressListener.NONE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot quantize to q4_K");
    }
}
