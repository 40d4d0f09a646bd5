package dev.clearclip.spark;

import dev.clearclip.AbortedException;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClipModel;
import dev.clearclip.Images;
import dev.clearclip.LabelImages;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentationResult;
import java.io.IOException;
import java.io.Serial;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;

/** Segments the pictures of one partition, one row at a time, with the executor's shared model. */
final class SegmentPartition implements MapPartitionsFunction<Row, Row> {
    @Serial
    private static final long serialVersionUID = 1L;

    private final SegmentSpec spec;
    private final Broadcast<byte[]> embeddings;
    private final int pathIndex;
    private final int contentIndex;
    private final LongAccumulator pictures;
    private final LongAccumulator errors;

    SegmentPartition(SegmentSpec spec, Broadcast<byte[]> embeddings, int pathIndex, int contentIndex,
                     LongAccumulator pictures, LongAccumulator errors) {
        this.spec = spec;
        this.embeddings = embeddings;
        this.pathIndex = pathIndex;
        this.contentIndex = contentIndex;
        this.pictures = pictures;
        this.errors = errors;
    }

    /** Engine threads per task: the spec's, else spark.task.cpus. */
    static int threads(SegmentSpec spec, int taskCpus) {
        return spec.threads() > 0 ? spec.threads() : Math.max(1, taskCpus);
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        ClipModel model = ExecutorModels.get(spec.model(), threads(spec, task == null ? 1 : task.cpus()));
        ClassEmbeddings classes = EmbeddingsBytes.decode(embeddings.value());
        SegmentOptions options = spec.options();
        // lazy: a partition of a million pictures is never held in memory
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                return segmentRow(model, classes, options, rows.next());
            }
        };
    }

    private Row segmentRow(ClipModel model, ClassEmbeddings classes, SegmentOptions options, Row in) {
        String path = in.getString(pathIndex);
        Object[] values = new Object[in.length() + ClearClipSpark.RESULT_FIELDS.size() + (spec.withLabels() ? 1 : 0)];
        for (int i = 0; i < in.length(); i++) {
            values[i] = in.get(i);
        }
        int at = in.length();
        try {
            SegmentationResult result = segment(model, classes, options, in, path);
            values[at] = result.width();
            values[at + 1] = result.height();
            values[at + 2] = classRows(result);
            values[at + 3] = null;
            if (spec.withLabels()) {
                values[at + 4] = LabelImages.labelPng(result);
            }
        } catch (AbortedException e) {
            // the task was cancelled (interrupt) or the timeout passed: a timeout is this picture's error
            if (Thread.currentThread().isInterrupted()) {
                throw e;
            }
            values[at + 3] = message(e);
        } catch (RuntimeException e) {
            values[at + 3] = message(e);
        }
        if (pictures != null) {
            pictures.add(1);
        }
        if (errors != null && values[at + 3] != null) {
            errors.add(1);
        }
        return RowFactory.create(values);
    }

    /**
     * The picture through a temporary file, so it is read exactly as {@code clearclip segment} reads it (EXIF
     * orientation, pixel limit before decoding, at most {@code --max-side}), and segmented as {@code segment}
     * segments it: computed at the size read, the label map scaled back up to the picture's size.
     */
    private SegmentationResult segment(ClipModel model, ClassEmbeddings classes, SegmentOptions options, Row in,
                                       String path) {
        if (in.isNullAt(contentIndex)) {
            throw new IllegalArgumentException(path + ": no content");
        }
        byte[] content = (byte[]) in.get(contentIndex);
        Path tmp = null;
        try {
            tmp = Files.createTempFile("clearclip-spark-", ".picture");
            Files.write(tmp, content);
            int[] size;
            RgbImage picture;
            try {
                size = Images.displayedSize(tmp);
                picture = Images.read(tmp, spec.maxSide(), model.options().maxImagePixels());
            } catch (RuntimeException e) {
                // the library names the file it read: name the picture instead
                String msg = String.valueOf(e.getMessage()).replace(tmp.toString(), path);
                throw new IllegalArgumentException(msg, e);
            }
            return model.segment(picture, classes, options).scaledTo(size[0], size[1]);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage " + path + " in a temporary file: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover temporary file is not worth failing the picture for
                }
            }
        }
    }

    /** The classes column: a Scala Seq, the external type Spark's row encoder takes for an array. */
    private static scala.collection.Seq<Row> classRows(SegmentationResult result) {
        long[] counts = new long[result.classCount()];
        for (int label : result.labels()) {
            counts[label]++;
        }
        List<Row> out = new ArrayList<>(counts.length);
        for (int c = 0; c < counts.length; c++) {
            out.add(RowFactory.create(result.classNames().get(c), counts[c], result.fractions()[c]));
        }
        return scala.jdk.javaapi.CollectionConverters.asScala(out);
    }

    private static String message(RuntimeException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
