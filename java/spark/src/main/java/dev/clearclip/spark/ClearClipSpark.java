package dev.clearclip.spark;

import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClipModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * Segmentation as a Spark transformation, for use in one's own pipelines:
 * <pre>{@code
 * Dataset<Row> files = spark.read().format("binaryFile").load("s3a://bucket/photos/*.jpg");
 * Dataset<Row> segmented = ClearClipSpark.segment(files, SegmentSpec.builder("clip-vit-b16.gguf",
 *         ClassSet.parse("sky;tree;road")).build());
 * }</pre>
 * The input needs a string column {@code path} and a binary column {@code content} (the {@code binaryFile}
 * source's); its columns are kept and {@link #RESULT_FIELDS} added: {@code width}, {@code height},
 * {@code classes} (array of {@code name}, {@code pixels}, {@code fraction} in label order), {@code error}
 * (null, or why the picture failed: then the other result columns are null) and, with
 * {@link SegmentSpec#withLabels()}, {@code labels_png}. A picture that cannot be read or segmented becomes
 * a row with {@code error} set; it never fails the job.
 *
 * <p>The class embeddings are computed once, here on the driver, and broadcast; each executor JVM loads
 * the model once ({@code spark.task.cpus} engine threads per task) and shares it among its tasks.
 */
public final class ClearClipSpark {

    /** Label map as PNG bytes, as {@link dev.clearclip.LabelImages#labelPng}: pixel value = class index. */
    public static final String LABELS_PNG = "labels_png";

    /** The entries of the {@code classes} column, the same names as {@code clearclip segment}'s JSON. */
    public static final StructType CLASS_ENTRY = new StructType(new StructField[]{
            DataTypes.createStructField("name", DataTypes.StringType, false),
            DataTypes.createStructField("pixels", DataTypes.LongType, false),
            DataTypes.createStructField("fraction", DataTypes.DoubleType, false)});

    /** The columns {@link #segment} adds, without {@code labels_png}. */
    public static final List<StructField> RESULT_FIELDS = List.of(
            DataTypes.createStructField("width", DataTypes.IntegerType, true),
            DataTypes.createStructField("height", DataTypes.IntegerType, true),
            DataTypes.createStructField("classes", DataTypes.createArrayType(CLASS_ENTRY, false), true),
            DataTypes.createStructField("error", DataTypes.StringType, true));

    private ClearClipSpark() {
    }

    /** The schema of the job's output rows: {@code path}, the result columns, and {@code labels_png} if asked. */
    public static StructType outputSchema(boolean withLabels) {
        List<StructField> fields = new ArrayList<>();
        fields.add(DataTypes.createStructField("path", DataTypes.StringType, false));
        fields.addAll(RESULT_FIELDS);
        if (withLabels) {
            fields.add(DataTypes.createStructField(LABELS_PNG, DataTypes.BinaryType, true));
        }
        return new StructType(fields.toArray(StructField[]::new));
    }

    /** {@code files} with the segmentation columns added (lazy, like any transformation). */
    public static Dataset<Row> segment(Dataset<Row> files, SegmentSpec spec) {
        return segment(files, spec, null, null);
    }

    /**
     * As {@link #segment(Dataset, SegmentSpec)}, counting segmented pictures and failed ones in the given
     * accumulators (either may be null). Like every accumulator updated in a transformation, a retried task
     * counts again.
     */
    public static Dataset<Row> segment(Dataset<Row> files, SegmentSpec spec, LongAccumulator pictures,
                                       LongAccumulator errors) {
        StructType in = files.schema();
        requireField(in, "path", DataTypes.StringType);
        requireField(in, "content", DataTypes.BinaryType);
        for (StructField f : RESULT_FIELDS) {
            if (Arrays.asList(in.fieldNames()).contains(f.name())) {
                throw new IllegalArgumentException("the input already has a column '" + f.name() + "'");
            }
        }
        SparkSession spark = files.sparkSession();
        ClassEmbeddings embeddings = driverEmbeddings(spark, spec);
        Broadcast<byte[]> broadcast = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .broadcast(EmbeddingsBytes.encode(embeddings));
        StructType out = in;
        for (StructField f : RESULT_FIELDS) {
            out = out.add(f);
        }
        if (spec.withLabels()) {
            out = out.add(DataTypes.createStructField(LABELS_PNG, DataTypes.BinaryType, true));
        }
        return files.mapPartitions(new SegmentPartition(spec, broadcast, in.fieldIndex("path"),
                in.fieldIndex("content"), pictures, errors), Encoders.row(out));
    }

    /** The class embeddings, computed with the driver's copy of the model (shared with local-mode tasks). */
    private static ClassEmbeddings driverEmbeddings(SparkSession spark, SegmentSpec spec) {
        int threads = SegmentPartition.threads(spec, spark.sparkContext().conf().getInt("spark.task.cpus", 1));
        ClipModel model = ExecutorModels.get(spec.model(), threads);
        return model.classEmbeddings(spec.classes());
    }

    private static void requireField(StructType schema, String name, org.apache.spark.sql.types.DataType type) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException("the input has no column '" + name + "' (" + schema.simpleString()
                    + "); read the pictures with spark.read().format(\"binaryFile\")");
        }
        if (!schema.apply(name).dataType().equals(type)) {
            throw new IllegalArgumentException("column '" + name + "' is " + schema.apply(name).dataType().simpleString()
                    + ", expected " + type.simpleString());
        }
    }
}
