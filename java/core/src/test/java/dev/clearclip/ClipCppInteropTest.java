package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.convert.ClipConverter;
import dev.clearclip.gguf.testing.ClipCppGguf;
import dev.clearclip.gguf.testing.CosineStats;
import dev.clearclip.gguf.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CLIP GGUFs in monatis/clip.cpp's layout (written from the hf-tiny reference weights by
 * {@link ClipCppGguf}: projection_dim 512, fc1/fc2 names swapped, no BPE merges) against our own
 * conversion of the same weights: the tokenizer built from merges rebuilt out of the vocabulary
 * gives open_clip's ids, and text embeddings, dense features and segmentations agree.
 */
class ClipCppInteropTest {
    /** Cosine bound: the clip.cpp file rounds position embeddings to f16 where ours keeps f32. */
    static final double COSINE = 0.99999;
    /** Share of pixels with the same label (random weights make near-ties that f16 rounding can flip). */
    static final double LABELS = 0.995;

    @TempDir
    static Path dir;
    static Path clipCpp;
    static ClipModel ours;
    static ClipModel converted;

    @BeforeAll
    static void models() {
        Path hf = Fixtures.model("hf-tiny");
        clipCpp = ClipCppGguf.write(hf, dir.resolve("clip.cpp-f16.gguf"), ClipCppGguf.Kind.F16);
        Path oursFile = dir.resolve("ours-f16.gguf");
        ClipConverter.fromHuggingFace(hf).outputType(GgmlType.F16).write(oursFile, ProgressListener.NONE);
        Path convertedFile = dir.resolve("converted-f16.gguf");
        ClipConverter.fromGguf(clipCpp).write(convertedFile, ProgressListener.NONE);
        ModelOptions options = ModelOptions.builder().noTextCache().build();
        ours = ClipModel.load(oursFile, options);
        converted = ClipModel.load(convertedFile, options);
    }

    @AfterAll
    static void close() {
        ours.close();
        converted.close();
    }

    /** A picture with edges and colour regions, so that dense features and labels vary across it. */
    static RgbImage picture(int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                boolean disc = (x - w / 3) * (x - w / 3) + (y - h / 2) * (y - h / 2) < (h / 4) * (h / 4);
                rgb[i] = (byte) (disc ? 230 : x * 255 / w);
                rgb[i + 1] = (byte) (y > h * 2 / 3 ? 200 : y * 255 / h);
                rgb[i + 2] = (byte) ((x / 32 + y / 32) % 2 == 0 ? 40 : 180);
            }
        }
        return new RgbImage(w, h, rgb);
    }

    static void assertSameOutputs(String what, ClipModel a, ClipModel b) {
        List<String> texts = List.of("a photo of a fox", "a red car on a road", "café, naïve 😀");
        float[][] ta = a.encodeText(texts);
        float[][] tb = b.encodeText(texts);
        double textMin = 1;
        for (int i = 0; i < texts.size(); i++) {
            double c = CosineStats.of(ta[i], tb[i], ta[i].length).min();
            textMin = Math.min(textMin, c);
            assertThat(c).as(texts.get(i)).isGreaterThanOrEqualTo(COSINE);
        }
        RgbImage image = picture(448, 336);
        DenseFeatures fa = a.denseFeatures(image, BlockMode.CLEARCLIP);
        DenseFeatures fb = b.denseFeatures(image, BlockMode.CLEARCLIP);
        assertThat(fa.gridWidth()).isEqualTo(fb.gridWidth());
        double dense = CosineStats.of(fa.data(), fb.data(), fa.dim()).mean();
        assertThat(dense).isGreaterThanOrEqualTo(COSINE);
        ClassSet classes = ClassSet.parse("sky;road;car,truck;person;tree");
        int[] la = a.segment(image, classes, SegmentOptions.defaults()).labels();
        int[] lb = b.segment(image, classes, SegmentOptions.defaults()).labels();
        int same = 0;
        for (int i = 0; i < la.length; i++) {
            same += la[i] == lb[i] ? 1 : 0;
        }
        System.out.printf(java.util.Locale.ROOT, "%s vs our conversion: text cosine min %.7f, dense mean %.7f, "
                + "labels equal %.4f%%%n", what, textMin, dense, 100.0 * same / la.length);
        assertThat((double) same / la.length).isGreaterThanOrEqualTo(LABELS);
    }

    @Test
    void rebuiltMergesGiveOpenClipsIdsOnTheWholeCorpus() throws IOException {
        TestFixtures.assertTokenizerMatchesOpenClip(converted);
    }

    /** The engine loads clip.cpp's file itself: projection from the matrix, merges rebuilt, fc1/fc2 by shape. */
    @Test
    void clipCppFileLoadsAsItIs() throws IOException {
        try (ClipModel direct = ClipModel.load(clipCpp, ModelOptions.builder().noTextCache().build())) {
            assertThat(direct.info().projectionDim()).isEqualTo(64);
            TestFixtures.assertTokenizerMatchesOpenClip(direct);
            assertSameOutputs("clip.cpp file loaded directly", direct, ours);
        }
    }

    @Test
    void clipCppQuantizedFileSaysHowToMakeItLoadable() {
        Path q8 = ClipCppGguf.write(Fixtures.model("hf-tiny"), dir.resolve("clip.cpp-q8_0.gguf"), ClipCppGguf.Kind.Q8_0);
        assertThatThrownBy(() -> ClipModel.load(q8))
                .isInstanceOf(ClearClipException.class)
                .hasMessageContaining("unsupported tensor type q8_0 for 't.position_embd.weight'")
                .hasMessageContaining("clearclip convert");
        Path fixed = dir.resolve("clip.cpp-q8_0-converted.gguf");
        ClipConverter.fromGguf(q8).write(fixed, ProgressListener.NONE);
        try (ClipModel model = ClipModel.load(fixed, ModelOptions.builder().noTextCache().build())) {
            float[] a = model.encodeText("a photo of a fox");
            float[] b = ours.encodeText("a photo of a fox");
            assertThat(CosineStats.of(a, b, a.length).min()).isGreaterThan(0.995);
        }
    }

    @Test
    void convertedFileComputesWhatOurConversionDoes() {
        assertThat(converted.info().projectionDim()).isEqualTo(64);
        assertSameOutputs("clip.cpp file converted", converted, ours);
    }
}
