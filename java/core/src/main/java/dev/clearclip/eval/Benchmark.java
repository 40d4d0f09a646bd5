package dev.clearclip.eval;

import dev.clearclip.Preset;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The eight benchmarks of the ClearCLIP paper: the {@link Preset} with their class names and pipeline
 * settings, where the validation split lies in the dataset's usual folder layout, and how its label
 * PNGs map to class indices.
 */
public enum Benchmark {
    /** PASCAL VOC 2012 val, 21 classes (background = 0); palette PNGs, the palette index is the label. */
    VOC21(Preset.VOC21, Layout.VOC, LabelMapping.IDENTITY),
    /** PASCAL VOC 2012 val without background: 20 classes, background pixels ignored. */
    VOC20(Preset.VOC20, Layout.VOC, LabelMapping.REDUCE_ZERO),
    /** PASCAL Context val (mmsegmentation's converted labels), 60 classes (background = 0). */
    CONTEXT60(Preset.CONTEXT60, Layout.CONTEXT, LabelMapping.IDENTITY),
    /** PASCAL Context val without background: 59 classes, background pixels ignored. */
    CONTEXT59(Preset.CONTEXT59, Layout.CONTEXT, LabelMapping.REDUCE_ZERO),
    /** COCO-Object (COCO-Stuff 164k val converted to the 80 things + background), 81 classes. */
    COCO_OBJECT(Preset.COCO_OBJECT, Layout.COCO_OBJECT, LabelMapping.IDENTITY),
    /** COCO-Stuff 164k val, 171 classes (train ids). */
    COCO_STUFF(Preset.COCO_STUFF, Layout.COCO_STUFF, LabelMapping.IDENTITY),
    /** Cityscapes val, 19 classes (train ids). */
    CITYSCAPES(Preset.CITYSCAPES, Layout.CITYSCAPES, LabelMapping.IDENTITY),
    /** ADE20K (ADEChallengeData2016) validation, 150 classes; label 0 ("other") ignored. */
    ADE20K(Preset.ADE20K, Layout.ADE20K, LabelMapping.REDUCE_ZERO);

    private final Preset preset;
    private final Layout layout;
    private final LabelMapping mapping;

    Benchmark(Preset preset, Layout layout, LabelMapping mapping) {
        this.preset = preset;
        this.layout = layout;
        this.mapping = mapping;
    }

    /** Command-line name, the preset's: {@code voc21}, ..., {@code coco-object}, ... */
    public String id() {
        return preset.id();
    }

    public Preset preset() {
        return preset;
    }

    public LabelMapping labelMapping() {
        return mapping;
    }

    Layout layout() {
        return layout;
    }

    /** Where the split is expected below the dataset root, for help texts and errors. */
    public String expectedLayout() {
        return layout.describe();
    }

    public static Benchmark parse(String text) {
        String key = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Benchmark b : values()) {
            if (b.id().equals(key)) {
                return b;
            }
        }
        throw new IllegalArgumentException("unknown dataset '" + text + "' (expected one of "
                + Arrays.stream(values()).map(Benchmark::id).collect(Collectors.joining(", ")) + ")");
    }

    /**
     * Finds the validation split below {@code root} (the dataset folder or, for convenience, its usual
     * parent, e.g. {@code VOCdevkit}'s parent) and checks that every picture has its label file.
     *
     * @throws DatasetException saying which path was expected when the layout is not found or incomplete
     */
    public SegmentationDataset open(Path root) {
        return BenchmarkDataset.open(this, root);
    }
}
