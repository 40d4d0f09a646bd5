package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.testing.CosineStats;
import dev.clearclip.gguf.testing.Fixtures;
import dev.clearclip.gguf.testing.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The engine on a GPU device through {@link ClipModel}, against the same model on the CPU backend and
 * against PyTorch's goldens: hf-tiny converted to f32, f16, q8_0 and q4_0, text embeddings, the global
 * image embedding, dense features of every final-block mode and NACLIP's segmentation.
 *
 * <p>The device is the system property {@code clearclip.test.device} (e.g. {@code vulkan}); the build
 * runs this class in its own JVM with {@code GGML_VK_VISIBLE_DEVICES=0} (Surefire execution
 * {@code device-parity} of java/core, Mesa's lavapipe in CI), since ggml reads that variable once per
 * process. Without the property the class does nothing; with it, a device that is not there fails.
 * Figures go to target/device-parity-report.md.
 */
class DeviceParityTest {

    /** Lowest cosine between device and CPU of any single embedding, and lowest mean patch cosine. */
    static final Map<GgmlType, double[]> DEVICE_BOUND = Map.of(
            GgmlType.F32, new double[] {0.9999, 0.9999},
            GgmlType.F16, new double[] {0.9999, 0.9999},
            GgmlType.Q8_0, new double[] {0.999, 0.999},
            GgmlType.Q4_0, new double[] {0.99, 0.995});
    static final List<GgmlType> TYPES = List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0);
    /** Least share of NACLIP labels equal between device and CPU. */
    static final double LABEL_AGREEMENT = 0.99;
    static final String DEVICE = System.getProperty("clearclip.test.device", "");
    static final List<String> REPORT = new ArrayList<>();
    static final List<ClipModel> OPEN = new ArrayList<>();

    @TestFactory
    Stream<DynamicNode> deviceAgainstCpu() {
        if (DEVICE.isEmpty()) {
            return Stream.empty();
        }
        return TYPES.stream().map(DeviceParityTest::forType);
    }

    @AfterAll
    static void closeAndReport() throws IOException {
        OPEN.forEach(ClipModel::close);
        if (DEVICE.isEmpty()) {
            return;
        }
        List<String> lines = new ArrayList<>();
        lines.add("| type | check | device vs CPU min cosine | device vs PyTorch min cosine | bound (device vs CPU) |");
        lines.add("|---|---|---|---|---|");
        lines.addAll(REPORT);
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "device-parity-report.md"), lines);
    }

    private static DynamicContainer forType(GgmlType type) {
        ClipModel[] cpu = new ClipModel[1];
        ClipModel[] dev = new ClipModel[1];
        List<DynamicNode> checks = new ArrayList<>();
        checks.add(DynamicTest.dynamicTest("load on the CPU and on " + DEVICE, () -> {
            Path file = ReferenceParityTest.convert("hf-tiny", type);
            cpu[0] = open(file, "cpu");
            dev[0] = open(file, DEVICE);
            // the model really is on the device asked for, never a silent CPU fallback
            assertThat(dev[0].backendName().toLowerCase(Locale.ROOT)).startsWith(DEVICE.toLowerCase(Locale.ROOT));
            assertThat(cpu[0].backendName()).isEqualTo("CPU");
        }));
        checks.add(DynamicTest.dynamicTest("text embeddings", () -> {
            List<String> prompts = PromptTemplates.parseStringArray(Files.readString(golden("prompts.json")));
            Npy expected = Npy.read(golden("text_embeddings.npy"));
            float[][] a = cpu[0].encodeText(prompts);
            float[][] b = dev[0].encodeText(prompts);
            double minCpu = 1;
            double minRef = 1;
            for (int i = 0; i < a.length; i++) {
                minCpu = Math.min(minCpu, CosineStats.of(a[i], b[i], a[i].length).min());
                minRef = Math.min(minRef, CosineStats.of(b[i], expected.row(i), b[i].length).min());
            }
            check(type, "text, per prompt", minCpu, minRef, 0);
        }));
        checks.add(DynamicTest.dynamicTest("global image 224x224", () -> {
            RgbImage picture = picture("224x224");
            float[] a = cpu[0].encodeImageAsIs(picture);
            float[] b = dev[0].encodeImageAsIs(picture);
            float[] ref = Npy.read(golden("image_embedding_224x224.npy")).data();
            check(type, "global image 224x224", CosineStats.of(a, b, a.length).min(),
                    CosineStats.of(b, ref, b.length).min(), 0);
        }));
        for (String mode : ReferenceParityTest.MODES) {
            checks.add(DynamicTest.dynamicTest("dense " + mode + " 450x333", () -> {
                RgbImage picture = picture("450x333");
                DenseFeatures a = cpu[0].denseFeatures(picture, BlockMode.parse(mode));
                DenseFeatures b = dev[0].denseFeatures(picture, BlockMode.parse(mode));
                Npy ref = Npy.read(golden("dense_" + mode + "_450x333.npy"));
                CosineStats vsCpu = CosineStats.of(a.data(), b.data(), a.dim());
                CosineStats vsRef = CosineStats.of(b.data(), ref.data(), b.dim());
                check(type, "dense " + mode + " (mean over patches)", vsCpu.mean(), vsRef.mean(), 1);
            }));
        }
        checks.add(DynamicTest.dynamicTest("naclip segment 336x224", () -> {
            Npy text = Npy.read(golden("text_embeddings.npy"));
            float[][] names = new float[text.rows()][];
            List<ClassSet.ClassSpec> specs = new ArrayList<>();
            for (int i = 0; i < names.length; i++) {
                names[i] = text.row(i);
                specs.add(ClassSet.ClassSpec.of("name" + i));
            }
            ClassEmbeddings embeddings = new ClassEmbeddings(ClassSet.of(specs), List.of(), names);
            SegmentOptions options = SegmentOptions.builder().shortSide(0).crop(224).stride(112)
                    .mode(BlockMode.NACLIP).logitScale(40f).pamrSteps(10).pamrDilations(8, 16).build();
            RgbImage picture = picture("336x224");
            int[] a = cpu[0].segment(picture, embeddings, options).labels();
            int[] b = dev[0].segment(picture, embeddings, options).labels();
            int same = 0;
            for (int i = 0; i < a.length; i++) {
                same += a[i] == b[i] ? 1 : 0;
            }
            double agreement = (double) same / a.length;
            synchronized (REPORT) {
                REPORT.add(String.format(Locale.ROOT, "| %s | naclip segment 336x224 | labels equal %.5f | | %.2f |",
                        type.ggmlName(), agreement, LABEL_AGREEMENT));
            }
            assertThat(agreement).as("%s: share of labels equal on %s and the CPU", type.ggmlName(), DEVICE)
                    .isGreaterThanOrEqualTo(LABEL_AGREEMENT);
        }));
        return DynamicContainer.dynamicContainer(type.ggmlName(), checks);
    }

    private static ClipModel open(Path file, String backend) {
        ClipModel model = ClipModel.load(file, ModelOptions.builder().backend(backend).threads(2).contexts(1).build());
        OPEN.add(model);
        return model;
    }

    /** Device against CPU within this class's bound; device against PyTorch within the reference suite's. */
    private static void check(GgmlType type, String what, double vsCpu, double vsRef, int kind) {
        synchronized (REPORT) {
            REPORT.add(String.format(Locale.ROOT, "| %s | %s | %.7f | %.7f | %.4f |", type.ggmlName(), what, vsCpu, vsRef,
                    DEVICE_BOUND.get(type)[kind]));
        }
        assertThat(vsCpu).as("%s %s: %s against the CPU", type.ggmlName(), what, DEVICE)
                .isGreaterThanOrEqualTo(DEVICE_BOUND.get(type)[kind]);
        assertThat(vsRef).as("%s %s: %s against PyTorch", type.ggmlName(), what, DEVICE)
                .isGreaterThanOrEqualTo(ReferenceParityTest.BOUND.get(type)[kind]);
    }

    private static Path golden(String file) {
        return Fixtures.file("hf-tiny/golden/" + file);
    }

    private static RgbImage picture(String size) {
        return TestFixtures.pictureOf(Npy.read(golden("inputs/" + size + ".npy")));
    }
}
