package dev.clearclip.spark;

import dev.clearclip.ClassSet;
import dev.clearclip.ClassSource;
import dev.clearclip.CommandLineValues;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.util.LongAccumulator;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The batch job: pictures from any Hadoop path or glob in, one row per picture out (Parquet or JSON lines),
 * with {@code clearclip segment}'s options. Run it with {@code spark-submit --class
 * dev.clearclip.spark.SegmentJob}, or locally with {@code --master 'local[N]'} (java/spark/README.md).
 */
@Command(name = "clearclip-spark", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Segment a collection of pictures with ClearCLIP as an Apache Spark job.",
                "Writes one row per picture: path, width, height, classes (name, pixels, fraction), error "
                        + "(null, or why the picture failed), and with --with-labels the label map as PNG bytes."})
public final class SegmentJob implements Callable<Integer> {

    static final int EXIT_OK = 0;
    static final int EXIT_RUNTIME = 1;
    static final int EXIT_USAGE = 2;

    @Spec
    CommandSpec commandSpec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL",
            description = "GGUF model: a path every node sees, or the name of a file shipped with spark-submit --files.")
    String model;

    @Option(names = "--input", required = true, arity = "1..*", paramLabel = "PATH",
            description = "Pictures: Hadoop paths, folders or globs (file:, hdfs:, s3a:, gs:, ...), e.g. 's3a://b/photos/*.jpg'.")
    List<String> input;

    @Option(names = "--recursive", description = "Also read the pictures in sub-folders of the input folders.")
    boolean recursive;

    @Option(names = "--output", required = true, paramLabel = "PATH", description = "Output folder (Hadoop path).")
    String output;

    /** What the rows are written as. */
    public enum Format {
        PARQUET, JSON;

        String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Format parse(String text) {
            for (Format f : values()) {
                if (f.id().equalsIgnoreCase(text.strip())) {
                    return f;
                }
            }
            throw new IllegalArgumentException("expected parquet or json, got '" + text + "'");
        }
    }

    /** --format's names, in any case. */
    public static final class Formats extends CommandLineValues.Names<Format> {
        public Formats() {
            super(Format.values(), Format::id, Format::parse);
        }
    }

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "parquet", converter = Formats.class,
            completionCandidates = Formats.class,
            description = "${COMPLETION-CANDIDATES}: Parquet (default) or JSON lines (Spark's JSON writer).")
    Format format;

    @Option(names = "--with-labels", description = "Add the label map as PNG bytes (column labels_png; segment's labels PNG: pixel value = class index).")
    boolean withLabels;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Existing existing = new Existing();

    /** What to do with an existing output: --resume or --overwrite (picocli refuses both). */
    static final class Existing {
        @Option(names = "--resume", description = "Skip pictures already in the output and append the others.")
        boolean resume;

        @Option(names = "--overwrite", description = "Replace an existing output.")
        boolean overwrite;
    }

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master, e.g. 'local[4]' to run without a cluster (default: spark-submit's).")
    String master;

    @Option(names = "--partitions", paramLabel = "N",
            description = "Spread the pictures over N tasks (default: as Spark splits the input).")
    Integer partitions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ClassSource classSource;

    // the settings of clearclip segment, declared once in core (SegmentSettings): same names, defaults, meaning
    @Mixin
    SegmentSettings settings;

    /** What one run did: for the summary line and for tests. */
    public record Summary(long pictures, long errors, long skipped, double seconds) {
        public double picturesPerSecond() {
            return seconds > 0 ? pictures / seconds : 0;
        }
    }

    private Summary summary;

    public static void main(String[] args) {
        int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        // the session this process made: stopping it ends the executors (and frees a cluster's resources) now
        SparkSession.getDefaultSession().foreach(s -> {
            s.stop();
            return null;
        });
        System.exit(code);
    }

    /** Runs the job in this JVM (creating or reusing the SparkSession); returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new SegmentJob());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof UsageException) {
                line.getErr().println("clearclip-spark: " + e.getMessage());
                line.getErr().println("Try 'clearclip-spark --help' for more information.");
                return EXIT_USAGE;
            }
            line.getErr().println("clearclip-spark: error: " + rootMessage(e));
            return EXIT_RUNTIME;
        });
        return cl.execute(args);
    }

    Summary summary() {
        return summary;
    }

    @Override
    public Integer call() {
        SegmentSpec spec = spec();
        String fmt = format.id();
        boolean resume = existing != null && existing.resume;
        boolean overwrite = existing != null && existing.overwrite;
        if (partitions != null && partitions < 1) {
            throw new UsageException("--partitions must be >= 1, got " + partitions);
        }
        SparkSession.Builder builder = SparkSession.builder().appName("clearclip segment");
        if (master != null) {
            builder.master(master);
        }
        SparkSession spark = builder.getOrCreate();
        PrintWriter out = commandSpec.commandLine().getOut();

        boolean exists = exists(spark, output);
        if (exists && !resume && !overwrite) {
            throw new UsageException("output " + output + " exists: give --resume to add the missing pictures or "
                    + "--overwrite to replace it");
        }
        Dataset<Row> files = spark.read().format("binaryFile")
                .option("recursiveFileLookup", String.valueOf(recursive))
                .load(input.toArray(String[]::new));
        long skipped = 0;
        if (resume && exists) {
            Dataset<Row> done = spark.read().format(fmt).schema(ClearClipSpark.outputSchema(withLabels))
                    .load(output).select(functions.col("path").as("done_path")).distinct();
            skipped = done.count();
            // the done paths are broadcast so the pictures' bytes are never shuffled for the join
            files = files.join(functions.broadcast(done), files.col("path").equalTo(done.col("done_path")), "left_anti");
        }
        if (partitions != null) {
            files = files.repartition(partitions);
        }
        LongAccumulator pictures = spark.sparkContext().longAccumulator("clearclip pictures");
        LongAccumulator errors = spark.sparkContext().longAccumulator("clearclip errors");
        Column[] columns = java.util.Arrays.stream(ClearClipSpark.outputSchema(withLabels).fieldNames())
                .map(functions::col).toArray(Column[]::new);
        // the driver loads the model and computes the class embeddings here, before the clock starts
        Dataset<Row> segmented = ClearClipSpark.segment(files, spec, pictures, errors).select(columns);
        long start = System.nanoTime();
        segmented.write()
                .mode(resume ? SaveMode.Append : overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists)
                // JSON: "error":null on good rows (and null results on bad ones), as segment's JSON has them
                .option("ignoreNullFields", "false")
                .format(fmt).save(output);
        double seconds = (System.nanoTime() - start) / 1e9;
        summary = new Summary(pictures.value(), errors.value(), skipped, seconds);
        out.printf(Locale.ROOT, "segmented %d pictures (%d errors) in %.1f s: %.3f pictures/s%s; output %s (%s)%n",
                summary.pictures(), summary.errors(), seconds, summary.picturesPerSecond(),
                resume ? ", skipped " + skipped + " already in the output" : "", output, fmt);
        return EXIT_OK;
    }

    /** The segmentation settings, as {@code clearclip segment} builds them from the same options. */
    SegmentSpec spec() {
        try {
            ClassSet set = classSource.load();
            SegmentOptions options = settings.options(classSource.preset());
            return SegmentSpec.builder(model, set).options(options).withLabels(withLabels).maxSide(settings.maxSide())
                    .build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static boolean exists(SparkSession spark, String path) {
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            return fs.exists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check the output " + path + ": " + e.getMessage(), e);
        }
    }

    private static String rootMessage(Throwable e) {
        String best = e.getMessage();
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                best = t.getMessage();
            }
        }
        return best == null ? e.getClass().getSimpleName() : best;
    }

    /** A mistake in the arguments: exit code 2 with the message. */
    static final class UsageException extends RuntimeException {
        @java.io.Serial
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
