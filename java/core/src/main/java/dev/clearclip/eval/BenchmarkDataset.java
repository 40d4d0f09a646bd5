package dev.clearclip.eval;

import dev.clearclip.Images;
import dev.clearclip.RgbImage;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/** A benchmark's validation split on disk, see {@link Benchmark#open(Path)}. */
final class BenchmarkDataset implements SegmentationDataset {

    private record Entry(Path image, Path label) {
    }

    private final Benchmark benchmark;
    private final int classCount;
    private final Map<String, Entry> entries;

    private BenchmarkDataset(Benchmark benchmark, Map<String, Entry> entries) {
        this.benchmark = benchmark;
        this.classCount = benchmark.preset().classes().size();
        this.entries = entries;
    }

    static BenchmarkDataset open(Benchmark benchmark, Path root) {
        Layout layout = benchmark.layout();
        if (!Files.isDirectory(root)) {
            throw new DatasetException(root + ": no such folder (the " + layout.title + " dataset root)");
        }
        Path base = locate(layout, root);
        Path imageDir = base.resolve(layout.imageDir);
        Path labelDir = base.resolve(layout.labelDir);
        requireFolder(imageDir, layout.title + " pictures");
        requireFolder(labelDir, layout.title + " label PNGs");
        Map<String, Entry> entries = layout.splitFile != null
                ? listed(layout, base.resolve(layout.splitFile), imageDir, labelDir)
                : scanned(layout, imageDir, labelDir);
        List<Path> missing = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (!Files.isRegularFile(e.image())) {
                missing.add(e.image());
            }
            if (!Files.isRegularFile(e.label())) {
                missing.add(e.label());
            }
        }
        if (!missing.isEmpty()) {
            throw new DatasetException(layout.title + " at " + base + " is incomplete: " + missing.size()
                    + " file(s) of the split are missing, e.g. " + missing.get(0));
        }
        return new BenchmarkDataset(benchmark, entries);
    }

    /** The root itself or one of the layout's usual sub-folders, whichever holds the marker. */
    private static Path locate(Layout layout, Path root) {
        List<Path> tried = new ArrayList<>();
        tried.add(root);
        layout.nested.forEach(n -> tried.add(root.resolve(n)));
        for (Path candidate : tried) {
            if (Files.exists(candidate.resolve(layout.marker()))) {
                return candidate;
            }
        }
        StringBuilder also = new StringBuilder();
        for (int i = 1; i < tried.size(); i++) {
            also.append(i == 1 ? "" : " or ").append(tried.get(i));
        }
        throw new DatasetException(layout.title + " not found: expected " + root.resolve(layout.marker())
                + " (layout: " + layout.describe() + "), also looked below " + also);
    }

    private static void requireFolder(Path dir, String what) {
        if (!Files.isDirectory(dir)) {
            throw new DatasetException(dir + ": no such folder (" + what + " expected there)");
        }
    }

    private static Map<String, Entry> listed(Layout layout, Path splitFile, Path imageDir, Path labelDir) {
        List<String> lines;
        try {
            lines = Files.readAllLines(splitFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DatasetException(splitFile + ": cannot read the split list: " + e.getMessage(), e);
        }
        Map<String, Entry> out = new LinkedHashMap<>();
        for (String line : lines) {
            String id = line.strip();
            if (!id.isEmpty()) {
                out.put(id, entry(layout, imageDir, labelDir, id));
            }
        }
        if (out.isEmpty()) {
            throw new DatasetException(splitFile + ": the split list is empty");
        }
        return out;
    }

    private static Map<String, Entry> scanned(Layout layout, Path imageDir, Path labelDir) {
        List<String> ids;
        try (Stream<Path> files = Files.walk(imageDir)) {
            ids = files.filter(Files::isRegularFile)
                    .map(p -> imageDir.relativize(p).toString().replace('\\', '/'))
                    .filter(rel -> rel.endsWith(layout.imageSuffix))
                    .map(rel -> rel.substring(0, rel.length() - layout.imageSuffix.length()))
                    .sorted()
                    .toList();
        } catch (IOException | UncheckedIOException e) {
            throw new DatasetException(imageDir + ": cannot list the pictures: " + e.getMessage(), e);
        }
        if (ids.isEmpty()) {
            throw new DatasetException(imageDir + ": no *" + layout.imageSuffix + " pictures found");
        }
        Map<String, Entry> out = new LinkedHashMap<>();
        for (String id : ids) {
            out.put(id, entry(layout, imageDir, labelDir, id));
        }
        return out;
    }

    private static Entry entry(Layout layout, Path imageDir, Path labelDir, String id) {
        return new Entry(imageDir.resolve(id + layout.imageSuffix), labelDir.resolve(id + layout.labelSuffix));
    }

    @Override
    public String name() {
        return benchmark.id();
    }

    @Override
    public int classCount() {
        return classCount;
    }

    @Override
    public List<String> ids() {
        return List.copyOf(entries.keySet());
    }

    @Override
    public Sample read(String id) {
        Entry e = entries.get(id);
        if (e == null) {
            throw new IllegalArgumentException("no picture '" + id + "' in the " + name() + " split");
        }
        LabelMap labels = readLabels(e.label(), benchmark.labelMapping(), classCount);
        // Never downscale a picture of the label map's size: the prediction must match the labels pixel for pixel.
        int maxSide = Math.max(Images.DEFAULT_MAX_SIDE, Math.max(labels.width(), labels.height()));
        RgbImage image = Images.read(e.image(), maxSide);
        if (image.width() != labels.width() || image.height() != labels.height()) {
            throw new DatasetException(e.image() + " is " + image.width() + "x" + image.height()
                    + " (as displayed) but " + e.label() + " is " + labels.width() + "x" + labels.height());
        }
        return new Sample(id, image, labels);
    }

    /**
     * Reads a single-channel label PNG (palette indices or grey values are the stored labels) and maps
     * it to class indices.
     */
    static LabelMap readLabels(Path file, LabelMapping mapping, int classCount) {
        BufferedImage image;
        try {
            image = ImageIO.read(file.toFile());
        } catch (IOException e) {
            throw new DatasetException(file + ": cannot decode the label PNG: " + e.getMessage(), e);
        }
        if (image == null) {
            throw new DatasetException(file + ": not a PNG picture");
        }
        Raster raster = image.getRaster();
        if (raster.getNumBands() != 1) {
            throw new DatasetException(file + ": label maps must have one channel (palette index or grey value "
                    + "= label), this one has " + raster.getNumBands());
        }
        int w = image.getWidth();
        int h = image.getHeight();
        int[] labels = raster.getSamples(0, 0, w, h, 0, new int[w * h]);
        for (int i = 0; i < labels.length; i++) {
            int stored = labels[i];
            int mapped = mapping.map(stored);
            if (mapped != LabelMap.IGNORE && (mapped < 0 || mapped >= classCount)) {
                throw new DatasetException(file + ": label value " + stored + " at (" + i % w + ", " + i / w
                        + ") is not a class of this benchmark (" + describeValid(mapping, classCount)
                        + "): is this the right annotation folder?");
            }
            labels[i] = mapped;
        }
        return new LabelMap(w, h, labels);
    }

    private static String describeValid(LabelMapping mapping, int classCount) {
        return switch (mapping) {
            case IDENTITY -> "0.." + (classCount - 1) + " or " + LabelMap.IGNORE;
            case REDUCE_ZERO -> "0.." + classCount + " or " + LabelMap.IGNORE;
        };
    }
}
