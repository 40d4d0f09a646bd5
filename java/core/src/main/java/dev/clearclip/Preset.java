package dev.clearclip;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The eight benchmark settings of the ClearCLIP reference: class names (with {@code background} at index 0
 * where the benchmark has it), probability threshold and sliding window. All resize the short side to 448.
 */
public enum Preset {
    VOC21("voc21", "voc21.txt", 0.5f, 448, 224),
    VOC20("voc20", "voc20.txt", 0f, 448, 224),
    CONTEXT60("context60", "context60.txt", 0.15f, 448, 224),
    CONTEXT59("context59", "context59.txt", 0f, 448, 224),
    COCO_OBJECT("coco-object", "coco_object.txt", 0.4f, 448, 224),
    COCO_STUFF("coco-stuff", "coco_stuff.txt", 0f, 448, 224),
    CITYSCAPES("cityscapes", "cityscapes.txt", 0f, 224, 224),
    ADE20K("ade20k", "ade20k.txt", 0f, 448, 224);

    private final String id;
    private final String resource;
    private final float probThreshold;
    private final int crop;
    private final int stride;

    Preset(String id, String resource, float probThreshold, int crop, int stride) {
        this.id = id;
        this.resource = resource;
        this.probThreshold = probThreshold;
        this.crop = crop;
        this.stride = stride;
    }

    /** Command-line name, e.g. {@code coco-object}. */
    public String id() {
        return id;
    }

    public static Preset parse(String text) {
        String key = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Preset p : values()) {
            if (p.id.equals(key)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preset '" + text + "' (expected one of "
                + Arrays.stream(values()).map(Preset::id).collect(Collectors.joining(", ")) + ")");
    }

    /** The class names of the benchmark, in label order. */
    public ClassSet classes() {
        String path = "presets/" + resource;
        try (InputStream in = Preset.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("resource dev/clearclip/" + path + " is missing from the jar");
            }
            List<String> lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
            return ClassSet.parseLines(lines);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The benchmark's pipeline settings. */
    public SegmentOptions options() {
        return SegmentOptions.builder()
                .shortSide(448)
                .crop(crop)
                .stride(stride)
                .probThreshold(probThreshold)
                .build();
    }
}
