package dev.clearclip.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.ClassSet;
import dev.clearclip.ClipModel;
import dev.clearclip.Images;
import dev.clearclip.LabelImages;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentationResult;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.convert.ClipConverter;
import dev.clearclip.gguf.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job and the Dataset API end to end on a local[2] session (one per class: a start takes seconds) and
 * the tiny fixture model (random weights: checks plumbing against the library, not accuracy). The reference
 * is {@link ClipModel#segment(Path, ClassSet, SegmentOptions)} on the same files in this JVM.
 */
class SegmentJobTest {

    private static final String CLASSES = "sky,blue sky;grass;road";
    /** small windows keep the tiny model fast; the label map is still at the picture's size */
    private static final String[] WINDOWS = {"--short-side", "64", "--crop", "64", "--stride", "32"};

    @TempDir
    static Path shared;

    static Path model;
    static SparkSession spark;
    static ClipModel reference;
    static SegmentOptions options;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        System.setProperty("clearclip.cache.dir", shared.resolve("cache").toString());
        model = shared.resolve("hf-tiny.gguf");
        ClipConverter.detect(Fixtures.model("hf-tiny")).write(model, ProgressListener.NONE);
        spark = SparkSession.builder().master("local[2]").appName("clearclip-spark-test")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
        reference = ClipModel.load(model);
        options = SegmentOptions.builder().shortSide(64).crop(64).stride(32).build();
    }

    @AfterAll
    static void stop() {
        if (reference != null) {
            reference.close();
        }
        if (spark != null) {
            spark.stop();
        }
        System.clearProperty("clearclip.cache.dir");
    }

    /** A picture of random coloured blocks (so the labels vary), as PNG or JPEG. */
    private static Path picture(Path dir, String name, int w, int h, long seed) throws IOException {
        Random random = new Random(seed);
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int by = 0; by < h; by += 8) {
            for (int bx = 0; bx < w; bx += 8) {
                int rgb = random.nextInt(0x1000000);
                for (int y = by; y < Math.min(h, by + 8); y++) {
                    for (int x = bx; x < Math.min(w, bx + 8); x++) {
                        image.setRGB(x, y, rgb);
                    }
                }
            }
        }
        Files.createDirectories(dir);
        Path file = dir.resolve(name);
        ImageIO.write(image, name.endsWith(".jpg") ? "jpg" : "png", file.toFile());
        return file;
    }

    private static Run job(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SegmentJob.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    private record Run(int exit, String out, String err) {
    }

    private static String[] args(String... extra) {
        String[] base = {"-m", model.toString(), "--classes", CLASSES};
        String[] all = Arrays.copyOf(base, base.length + WINDOWS.length + extra.length);
        System.arraycopy(WINDOWS, 0, all, base.length, WINDOWS.length);
        System.arraycopy(extra, 0, all, base.length + WINDOWS.length, extra.length);
        return all;
    }

    private static Map<String, Row> byFileName(List<Row> rows) {
        Map<String, Row> out = new HashMap<>();
        for (Row r : rows) {
            String path = r.getAs("path");
            assertThat(out.put(path.substring(path.lastIndexOf('/') + 1), r)).as("one row per picture").isNull();
        }
        return out;
    }

    /** The row's width, height and classes are those of ClipModel.segment on the same file. */
    private static SegmentationResult assertMatchesLibrary(Row row, Path file) {
        SegmentationResult expected = reference.segment(file, ClassSet.parse(CLASSES), options);
        assertThat((String) row.getAs("error")).as(file.toString()).isNull();
        assertThat((int) row.getAs("width")).isEqualTo(expected.width());
        assertThat((int) row.getAs("height")).isEqualTo(expected.height());
        List<Row> classes = row.getList(row.fieldIndex("classes"));
        assertThat(classes).hasSize(expected.classCount());
        for (int c = 0; c < classes.size(); c++) {
            Row entry = classes.get(c);
            int label = c;
            long counted = Arrays.stream(expected.labels()).filter(v -> v == label).count();
            assertThat(entry.<String>getAs("name")).isEqualTo(expected.classNames().get(c));
            assertThat(entry.<Long>getAs("pixels")).isEqualTo(counted);
            assertThat(entry.<Double>getAs("fraction")).isEqualTo(expected.fractions()[c]);
        }
        return expected;
    }

    @Test
    void parquetRowsEqualTheLibraryAndACorruptPictureIsAnErrorRow() throws IOException {
        Path in = tmp.resolve("in");
        Path a = picture(in, "a.png", 96, 64, 1);
        Path b = picture(in, "b.jpg", 50, 120, 2);
        Path c = picture(in, "c.png", 33, 47, 3);
        Files.write(in.resolve("corrupt.jpg"), new byte[]{(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1, 2, 3, 4});
        byte[] png = Files.readAllBytes(a);
        Files.write(in.resolve("truncated.png"), Arrays.copyOf(png, png.length / 2));
        Path out = tmp.resolve("out.parquet");

        Run r = job(args("--input", in.toString(), "--output", out.toString()));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("segmented 5 pictures (2 errors)").contains("pictures/s");

        Dataset<Row> back = spark.read().parquet(out.toString());
        // Spark's file sources read every column as nullable; names, order and types are the declared ones
        assertThat(back.schema()).isEqualTo(ClearClipSpark.outputSchema(false).asNullable());
        Map<String, Row> rows = byFileName(back.collectAsList());
        assertThat(rows.keySet()).containsExactlyInAnyOrder("a.png", "b.jpg", "c.png", "corrupt.jpg", "truncated.png");
        assertMatchesLibrary(rows.get("a.png"), a);
        assertMatchesLibrary(rows.get("b.jpg"), b);
        assertMatchesLibrary(rows.get("c.png"), c);
        for (String bad : List.of("corrupt.jpg", "truncated.png")) {
            Row row = rows.get(bad);
            assertThat((String) row.getAs("error")).as(bad).isNotBlank().contains(bad).doesNotContain("clearclip-spark-");
            assertThat(row.isNullAt(row.fieldIndex("width"))).isTrue();
            assertThat(row.isNullAt(row.fieldIndex("classes"))).isTrue();
        }
    }

    @Test
    void jsonLinesWithLabelMapsAndResumeSkipsDoneWork() throws IOException {
        Path in = tmp.resolve("in");
        Path a = picture(in, "a.png", 80, 60, 4);
        Path b = picture(in, "b.png", 40, 70, 5);
        Path out = tmp.resolve("out.json");
        Run first = job(args("--input", in.toString(), "--output", out.toString(), "--format", "json", "--with-labels"));
        assertThat(first.exit()).as(first.err()).isZero();

        // JSON lines, the names of `clearclip segment`'s JSON
        List<String> lines = Files.list(out).filter(p -> p.getFileName().toString().startsWith("part-"))
                .flatMap(p -> {
                    try {
                        return Files.readAllLines(p).stream();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }).toList();
        assertThat(lines).hasSize(2).allSatisfy(l -> assertThat(l).startsWith("{\"path\":")
                .contains("\"width\":", "\"height\":", "\"classes\":[{\"name\":", "\"pixels\":", "\"fraction\":",
                        "\"labels_png\":", "\"error\":null"));

        // an existing output is refused without --resume / --overwrite
        Run again = job(args("--input", in.toString(), "--output", out.toString(), "--format", "json", "--with-labels"));
        assertThat(again.exit()).isEqualTo(SegmentJob.EXIT_USAGE);
        assertThat(again.err()).contains("exists").contains("--resume");

        // two new pictures: --resume segments only those
        Path c = picture(in, "c.png", 64, 64, 6);
        Path d = picture(in, "d.jpg", 70, 30, 7);
        Run resumed = job(args("--input", in.toString(), "--output", out.toString(), "--format", "json",
                "--with-labels", "--resume"));
        assertThat(resumed.exit()).as(resumed.err()).isZero();
        assertThat(resumed.out()).contains("segmented 2 pictures (0 errors)").contains("skipped 2 already in the output");

        Dataset<Row> back = spark.read().schema(ClearClipSpark.outputSchema(true)).json(out.toString());
        Map<String, Row> rows = byFileName(back.collectAsList());
        assertThat(rows.keySet()).containsExactlyInAnyOrder("a.png", "b.png", "c.png", "d.jpg");
        for (var e : Map.of("a.png", a, "b.png", b, "c.png", c, "d.jpg", d).entrySet()) {
            Row row = rows.get(e.getKey());
            SegmentationResult expected = assertMatchesLibrary(row, e.getValue());
            BufferedImage labels = ImageIO.read(new ByteArrayInputStream(row.getAs(ClearClipSpark.LABELS_PNG)));
            assertThat(labels.getWidth()).isEqualTo(expected.width());
            assertThat(labels.getHeight()).isEqualTo(expected.height());
            int[] samples = labels.getRaster().getSamples(0, 0, expected.width(), expected.height(), 0, (int[]) null);
            assertThat(samples).isEqualTo(expected.labels());
        }

        // nothing left to do: a second resume segments nothing
        Run noop = job(args("--input", in.toString(), "--output", out.toString(), "--format", "json",
                "--with-labels", "--resume"));
        assertThat(noop.exit()).as(noop.err()).isZero();
        assertThat(noop.out()).contains("segmented 0 pictures").contains("skipped 4");
    }

    @Test
    void aPictureOverMaxSideIsComputedSmallerAndItsLabelMapHasThePicturesSize() throws IOException {
        // as `clearclip segment --max-side 48`: computed at 48x32, the label map scaled back to 96x64
        Path in = tmp.resolve("in");
        Path a = picture(in, "a.png", 96, 64, 6);
        Path out = tmp.resolve("out.parquet");
        Run r = job(args("--input", in.toString(), "--output", out.toString(), "--with-labels", "--max-side", "48"));
        assertThat(r.exit()).as(r.err()).isZero();
        Row row = spark.read().parquet(out.toString()).collectAsList().get(0);
        RgbImage read = Images.read(a, 48);
        assertThat(read.width()).isEqualTo(48);
        SegmentationResult expected = reference.segment(read, ClassSet.parse(CLASSES), options).scaledTo(96, 64);
        assertThat((int) row.getAs("width")).isEqualTo(96);
        assertThat((int) row.getAs("height")).isEqualTo(64);
        List<Row> classes = row.getList(row.fieldIndex("classes"));
        for (int c = 0; c < classes.size(); c++) {
            int label = c;
            assertThat(classes.get(c).<Long>getAs("pixels"))
                    .isEqualTo(Arrays.stream(expected.labels()).filter(v -> v == label).count());
        }
        BufferedImage labels = ImageIO.read(new ByteArrayInputStream(row.getAs("labels_png")));
        assertThat(new int[] {labels.getWidth(), labels.getHeight()}).containsExactly(96, 64);
        assertThat((byte[]) row.getAs("labels_png")).isEqualTo(LabelImages.labelPng(expected));
    }

    @Test
    void datasetApiAddsTheColumnsAndKeepsTheInputs() throws IOException {
        Path in = tmp.resolve("in");
        Path a = picture(in, "a.png", 48, 48, 8);
        Dataset<Row> files = spark.read().format("binaryFile").load(in.toString());
        SegmentSpec spec = SegmentSpec.builder(model.toString(), ClassSet.parse(CLASSES)).options(options).build();
        Dataset<Row> out = ClearClipSpark.segment(files, spec);
        assertThat(out.columns()).containsExactly("path", "modificationTime", "length", "content", "width", "height",
                "classes", "error");
        List<Row> rows = out.collectAsList();
        assertThat(rows).hasSize(1);
        assertThat(rows.get(0).<Long>getAs("length")).isEqualTo(Files.size(a));
        assertMatchesLibrary(rows.get(0), a);
    }

    @Test
    void aModelShippedWithFilesIsFoundByItsName() throws IOException {
        // what spark-submit --files does: the file reaches every node's SparkFiles folder
        // from the class-wide folder: later tasks of this session fetch the added file again
        Path shipped = Files.copy(model, shared.resolve("shipped-tiny.gguf"));
        spark.sparkContext().addFile(shipped.toString());
        Path found = ExecutorModels.resolve("shipped-tiny.gguf");
        assertThat(found).isNotEqualTo(shipped.toAbsolutePath());
        assertThat(found.getFileName().toString()).isEqualTo("shipped-tiny.gguf");
        assertThat(Files.mismatch(found, model)).isEqualTo(-1L);
        // a path that exists is taken as given
        assertThat(ExecutorModels.resolve(model.toString())).isEqualTo(model.toAbsolutePath());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        Run noClasses = job("-m", model.toString(), "--input", tmp.toString(), "--output", tmp.resolve("o").toString());
        assertThat(noClasses.exit()).isEqualTo(SegmentJob.EXIT_USAGE);
        assertThat(noClasses.err()).contains("--classes");
        Run badFormat = job(args("--input", tmp.toString(), "--output", tmp.resolve("o").toString(), "--format", "csv"));
        assertThat(badFormat.exit()).isEqualTo(SegmentJob.EXIT_USAGE);
        assertThat(badFormat.err()).contains("Invalid value for option '--format'").contains("parquet or json");
        Run both = job(args("--input", tmp.toString(), "--output", tmp.resolve("o").toString(), "--resume",
                "--overwrite"));
        assertThat(both.exit()).isEqualTo(SegmentJob.EXIT_USAGE);
        assertThat(both.err()).contains("--resume, --overwrite are mutually exclusive");
        Run twoSources = job(args("--input", tmp.toString(), "--output", tmp.resolve("o").toString(), "--preset",
                "voc21"));
        assertThat(twoSources.exit()).isEqualTo(SegmentJob.EXIT_USAGE);
        assertThat(twoSources.err()).contains("mutually exclusive");
        Run missingModel = job("-m", tmp.resolve("none.gguf").toString(), "--classes", "a;b", "--input", tmp.toString(),
                "--output", tmp.resolve("o").toString());
        assertThat(missingModel.exit()).isEqualTo(SegmentJob.EXIT_RUNTIME);
        assertThat(missingModel.err()).contains("none.gguf").contains("not found");
    }
}
