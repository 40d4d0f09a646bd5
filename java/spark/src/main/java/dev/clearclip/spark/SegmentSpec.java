package dev.clearclip.spark;

import dev.clearclip.BlockMode;
import dev.clearclip.ClassSet;
import dev.clearclip.Images;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentSettings;
import java.io.Serial;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What to segment with: the model file, the classes, the pipeline settings and what to output. It travels to
 * the executors inside the task closures, so it holds only serializable values; {@link #classes()} and
 * {@link #options()} rebuild the library's types from them.
 *
 * <p>The model is a local path that every node sees (shared file system, baked into the image) or the file
 * name of a model shipped with {@code --files} / {@code SparkContext.addFile}: the executors look for it
 * first at the path, then under {@link org.apache.spark.SparkFiles}.
 */
public final class SegmentSpec implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    private final String model;
    @SuppressWarnings("serial") // always an immutable List.copyOf list, which is serializable
    private final List<List<String>> classNames;
    private final boolean withLabels;
    private final int maxSide;
    private final int threads;
    // SegmentOptions is not Serializable: its fields, rebuilt by options()
    private final int shortSide;
    private final int crop;
    private final int stride;
    private final BlockMode mode;
    private final float logitScale;
    private final float probThreshold;
    private final boolean background;
    private final Duration timeout;
    private final float naclipStd;
    private final int pamrSteps;
    private final int[] pamrDilations;

    private SegmentSpec(Builder b) {
        this.model = Objects.requireNonNull(b.model, "model");
        ClassSet classes = Objects.requireNonNull(b.classes, "classes");
        SegmentOptions o = b.options;
        if (o.keepProbabilities()) {
            throw new IllegalArgumentException("probability maps are not part of the Spark output; "
                    + "use SegmentOptions without keepProbabilities");
        }
        // the background class is part of the label map's numbering, so it is added here once
        if (o.usesBackground()) {
            classes = classes.withBackground();
        }
        this.classNames = classes.classes().stream().map(ClassSet.ClassSpec::names).map(List::copyOf).toList();
        if (b.maxSide < 1 || b.maxSide > Images.ENGINE_MAX_SIDE) {
            throw new IllegalArgumentException("maxSide must be within 1.." + Images.ENGINE_MAX_SIDE + ", got "
                    + b.maxSide);
        }
        if (b.threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0 = spark.task.cpus), got " + b.threads);
        }
        this.withLabels = b.withLabels;
        this.maxSide = b.maxSide;
        this.threads = b.threads;
        this.shortSide = o.shortSide();
        this.crop = o.crop();
        this.stride = o.stride();
        this.mode = o.mode();
        this.logitScale = o.logitScale();
        this.probThreshold = o.probThreshold();
        this.background = o.background();
        this.timeout = o.timeout();
        this.naclipStd = o.naclipStd();
        this.pamrSteps = o.pamrSteps();
        this.pamrDilations = o.pamrDilations();
    }

    public static Builder builder(String model, ClassSet classes) {
        return new Builder(model, classes);
    }

    /** The model as given: a path every node sees, or the name of a file shipped with {@code --files}. */
    public String model() {
        return model;
    }

    /** The classes in label order, with {@code background} at index 0 when the options use it. */
    public ClassSet classes() {
        return ClassSet.of(classNames.stream().map(ClassSet.ClassSpec::new).toList());
    }

    public SegmentOptions options() {
        return SegmentOptions.builder().shortSide(shortSide).crop(crop).stride(stride).mode(mode)
                .logitScale(logitScale).probThreshold(probThreshold).background(background).timeout(timeout)
                .naclipStd(naclipStd).pamrSteps(pamrSteps).pamrDilations(pamrDilations).build();
    }

    /** Whether the rows carry the label map as PNG bytes. */
    public boolean withLabels() {
        return withLabels;
    }

    /**
     * Larger pictures are computed at this long side (downscaled when read) and their label map scaled back up to
     * the picture's size, as {@code clearclip segment --max-side}.
     */
    public int maxSide() {
        return maxSide;
    }

    /** Engine threads per task; 0: {@code spark.task.cpus}. */
    public int threads() {
        return threads;
    }

    public static final class Builder {
        private final String model;
        private final ClassSet classes;
        private SegmentOptions options = SegmentOptions.defaults();
        private boolean withLabels;
        private int maxSide = SegmentSettings.DEFAULT_MAX_SIDE;
        private int threads;

        private Builder(String model, ClassSet classes) {
            this.model = model;
            this.classes = classes;
        }

        public Builder options(SegmentOptions v) {
            options = Objects.requireNonNull(v, "options");
            return this;
        }

        public Builder withLabels(boolean v) {
            withLabels = v;
            return this;
        }

        public Builder maxSide(int v) {
            maxSide = v;
            return this;
        }

        public Builder threads(int v) {
            threads = v;
            return this;
        }

        public SegmentSpec build() {
            return new SegmentSpec(this);
        }
    }
}
