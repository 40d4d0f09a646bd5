package dev.clearclip.cli.commands;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.LabelImages;
import dev.clearclip.AbortedException;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClassSet;
import dev.clearclip.ClassSource;
import dev.clearclip.ClipModel;
import dev.clearclip.Images;
import dev.clearclip.Preset;
import dev.clearclip.ReadAhead;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentSettings;
import dev.clearclip.SegmentProgressListener;
import dev.clearclip.SegmentationResult;
import dev.clearclip.cli.EngineOptions;
import dev.clearclip.cli.ErrorHandler;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.ModelCommand;
import dev.clearclip.cli.ProgressBar;
import dev.clearclip.cli.SegmentationJson;
import dev.clearclip.cli.UsageException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "segment", mixinStandardHelpOptions = true,
        description = {
                "Segment pictures into the given classes with ClearCLIP.",
                "Writes, per picture, NAME.labels.png (palette PNG: pixel value = class index), "
                        + "NAME.overlay.png (colours and legend) and NAME.json (summary)."})
public final class SegmentCommand extends ModelCommand {

    @Mixin
    EngineOptions engine;

    @Option(names = "--image", required = true, arity = "1..*", paramLabel = "PATH",
            description = "Pictures, folders of pictures, or glob patterns (e.g. 'photos/*.jpg').")
    List<String> images;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ClassSource classSource;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR", defaultValue = ".",
            description = "Output folder (default: the current folder).")
    Path outputDir;

    // the settings, as the Spark job and the server's form fields declare them (core's SegmentSettings)
    @Mixin
    SegmentSettings settings;

    SegmentOptions options(Preset preset) {
        try {
            return settings.options(preset);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    @Override
    public Integer call() throws Exception {
        Preset preset = classSource.preset();
        SegmentOptions options = options(preset);
        ClassSet classes = ClassOptions.load(classSource);
        if (options.usesBackground()) {
            classes = classes.withBackground();
        }
        List<Path> inputs = ImageInputs.expand(images);
        Files.createDirectories(outputDir);
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        Map<Path, Path> stems = outputStems(inputs, outputDir);
        Tally tally = new Tally(out, err);
        // Ctrl-C interrupts this thread, which stops the engine within one window
        StopOnSignal stop = new StopOnSignal();
        // closed last: on a signal the JVM exits as soon as the hook returns, so after the message below
        try (stop) {
            // Pictures are decoded one ahead on a background thread (the first while the class embeddings
            // are computed, each next one while the engine works on the one before), and each picture's
            // files are written on another while the engine works on the next.
            try (ClipModel m = openModel(); ReadAhead<Path, Decoded> pictures = new ReadAhead<>(inputs, this::decode);
                 WriteBehind<Outcome> writes = new WriteBehind<>()) {
                ClassEmbeddings embeddings = m.classEmbeddings(classes);
                List<String> overlong = m.overlongNames(classes, embeddings.templates());
                tally.bar = inputs.size() > 1 ? new ProgressBar(err, "segmenting", inputs.size(), false) : null;
                for (Path input : inputs) {
                    try {
                        // one picture: its sliding windows are the progress
                        WindowProgress windows = tally.bar == null ? new WindowProgress(err, input) : null;
                        Computed c = computeOne(m, embeddings, options, pictures.next(), windows, err, tally.bar != null);
                        writes.submit(() -> writeOne(m, embeddings, c, stems.get(input), overlong), tally::written,
                                tally::failed);
                    } catch (AbortedException e) {
                        throw e;
                    } catch (RuntimeException e) {
                        tally.failed(e);
                    }
                }
                writes.drain();
                if (tally.bar != null) {
                    tally.bar.finish(tally.done);
                }
                // after the pictures, and only when some were written: a run that fails prints its one
                // error line and nothing else (BadModelCliTest), and the warning is not lost above a bar
                if (!overlong.isEmpty() && tally.done - tally.failures > 0) {
                    err.println("clearclip: warning: " + overlong.size() + " class name(s) too long for the model's "
                            + m.info().contextLength() + "-token prompts, cut (names differing only past the cut get "
                            + "the same embedding; listed as 'overlong_names' in the JSON): "
                            + String.join("; ", overlong));
                }
                tally.summaries.forEach(out::println);
                if (tally.bar != null) {
                    out.printf("segmented %d of %d pictures into %s%n", inputs.size() - tally.failures, inputs.size(),
                            outputDir);
                }
            } catch (AbortedException e) {
                // handled by stopping: the flag must not outlive the command (in-process callers go on)
                Thread.interrupted();
                err.println();
                err.println("clearclip: stopped" + (stop.signalled() ? " by a signal (Ctrl-C)" : "") + ": "
                        + ErrorHandler.message(e));
                // closing WriteBehind finished the write in progress, so the count below holds
                if (tally.done > 0) {
                    err.printf("clearclip: %d of %d pictures were written to %s before%n", tally.done - tally.failures,
                            inputs.size(), outputDir);
                }
                return Main.EXIT_RUNTIME;
            }
        }
        return tally.failures == 0 ? Main.EXIT_OK : Main.EXIT_RUNTIME;
    }

    /**
     * Output name of each input: its file name without extension in {@code dir} when that is unique among
     * the inputs; inputs whose stems collide (a/x.jpg and b/x.jpg, or x.jpg and x.png) keep their path
     * relative to the folder common to all inputs, extension included (dir/a/x.jpg.json), so every
     * output maps back to one input.
     */
    static Map<Path, Path> outputStems(List<Path> inputs, Path dir) {
        Map<String, Integer> count = new HashMap<>();
        for (Path p : inputs) {
            count.merge(stem(p), 1, Integer::sum);
        }
        Path common = null;
        for (Path p : inputs) {
            Path parent = p.toAbsolutePath().normalize().getParent();
            if (common == null) {
                common = parent;
            } else {
                while (common != null && !parent.startsWith(common)) {
                    common = common.getParent();
                }
            }
        }
        Map<Path, Path> out = new HashMap<>();
        for (Path p : inputs) {
            if (count.get(stem(p)) == 1) {
                out.put(p, dir.resolve(stem(p)));
            } else {
                Path abs = p.toAbsolutePath().normalize();
                Path rel = common == null ? abs.getFileName() : common.relativize(abs);
                out.put(p, dir.resolve(rel.toString()));
            }
        }
        return out;
    }

    private static String stem(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    /** A progress bar over the sliding windows of one picture, drawn once the window count is known. */
    static final class WindowProgress implements SegmentProgressListener {
        private final PrintWriter err;
        private final String label;
        private ProgressBar bar;

        WindowProgress(PrintWriter err, Path input) {
            this.err = err;
            this.label = "segmenting " + input.getFileName();
        }

        @Override
        public void windowDone(int windowsDone, int windowCount) {
            if (bar == null) {
                bar = new ProgressBar(err, label, windowCount, false);
            }
            bar.update(windowsDone);
            if (windowsDone == windowCount) {
                bar.finish(windowsDone);
            }
        }
    }

    /** What one picture gave: its JSON file and a one-line summary for the console. */
    record Outcome(Path json, String summary) {
    }

    /** The run's counts and console lines; called on the command's thread only. */
    private final class Tally {
        final PrintWriter out;
        final PrintWriter err;
        final List<String> summaries = new ArrayList<>();
        ProgressBar bar;
        int done;
        int failures;

        Tally(PrintWriter out, PrintWriter err) {
            this.out = out;
            this.err = err;
        }

        void written(Outcome o) {
            if (bar == null) {
                out.println("wrote " + o.json());
            }
            summaries.add(o.summary());
            next();
        }

        void failed(RuntimeException e) {
            failures++;
            if (bar != null) {
                err.println();
            }
            err.println("clearclip: error: " + ErrorHandler.message(e));
            if (main.verbose()) {
                e.printStackTrace(err);
            }
            next();
        }

        private void next() {
            done++;
            if (bar != null) {
                bar.update(done);
            }
        }
    }

    /** A picture as read from its file, with its displayed size and the seconds reading it took. */
    private record Decoded(Path input, int[] size, RgbImage picture, double seconds) {
    }

    private Decoded decode(Path input) {
        long t0 = System.nanoTime();
        int[] size = Images.displayedSize(input);
        RgbImage picture = Images.read(input, settings.maxSide(), main.maxImagePixels());
        return new Decoded(input, size, picture, (System.nanoTime() - t0) / 1e9);
    }

    /** A picture's segmentation, ready to be written. */
    private record Computed(Decoded decoded, SegmentOptions used, SegmentationResult computed,
                            SegmentationResult result, double seconds) {
        /** Whether the picture was computed smaller than its file and the label map scaled up. */
        boolean reduced() {
            return computed != result;
        }
    }

    /** Segments one picture on this thread (Ctrl-C stops it) and prints its warnings. */
    private Computed computeOne(ClipModel m, ClassEmbeddings embeddings, SegmentOptions options, Decoded decoded,
                                SegmentProgressListener progress, PrintWriter err, boolean barShown) {
        long t0 = System.nanoTime();
        Path input = decoded.input();
        int[] size = decoded.size();
        RgbImage picture = decoded.picture();
        SegmentOptions used = options.fittedTo(picture.width(), picture.height());
        SegmentationResult computed = m.segment(picture, embeddings, used, progress);
        SegmentationResult result = computed.scaledTo(size[0], size[1]);
        // reading time included, as when the picture was read here
        Computed c = new Computed(decoded, used, computed, result, decoded.seconds() + (System.nanoTime() - t0) / 1e9);
        String prefix = barShown ? System.lineSeparator() : "";
        // at the default bound (4096) a reduction is the documented behaviour for camera-sized pictures: reported in
        // the JSON (computed_width/height), not warned about picture by picture; a --max-side given is warned about
        if (c.reduced() && spec.commandLine().getParseResult().hasMatchedOption("--max-side")) {
            err.println(prefix + "clearclip: warning: " + input + ": " + size[0] + "x" + size[1] + " is longer than "
                    + settings.maxSide() + " px: computed at " + picture.width() + "x" + picture.height()
                    + ", label map scaled up to " + size[0] + "x" + size[1] + "; the overlay is at the computed size");
        }
        if (used.shortSide() != options.shortSide()) {
            err.println(prefix + "clearclip: warning: " + input + ": aspect ratio " + picture.width() + "x"
                    + picture.height() + ": short side " + used.shortSide() + " instead of " + options.shortSide()
                    + " so that the long side stays within the engine's " + Images.ENGINE_MAX_SIDE + " px");
        }
        return c;
    }

    /** Writes one picture's label PNG, overlay and JSON (on the write-behind thread). */
    private Outcome writeOne(ClipModel m, ClassEmbeddings embeddings, Computed c, Path stem, List<String> overlong)
            throws java.io.IOException {
        Path input = c.decoded().input();
        SegmentationResult computed = c.computed(), result = c.result();
        SegmentOptions used = c.used();
        Files.createDirectories(stem.getParent());
        Path labels = Path.of(stem + ".labels.png");
        Path overlay = Path.of(stem + ".overlay.png");
        Path json = Path.of(stem + ".json");
        LabelImages.writeLabels(result, labels);
        LabelImages.writeOverlay(c.decoded().picture(), computed, overlay);

        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("image", input.toString());
        root.put("width", result.width());
        root.put("height", result.height());
        if (c.reduced()) {
            root.put("computed_width", computed.width());
            root.put("computed_height", computed.height());
        }
        root.put("model", m.path().toString());
        root.put("labels", labels.getFileName().toString());
        root.put("overlay", overlay.getFileName().toString());
        ObjectNode settings = SegmentationJson.putSettings(root, used);
        if (this.settings.method() != null) {
            settings.put("method", this.settings.method().id());
        }
        if (!overlong.isEmpty()) {
            com.fasterxml.jackson.databind.node.ArrayNode a = root.putArray("overlong_names");
            overlong.forEach(a::add);
        }
        SegmentationJson.putClasses(root, result, embeddings.classes());
        root.put("seconds", Math.round(c.seconds() * 1000) / 1000.0);
        Json.MAPPER.writeValue(json.toFile(), root);
        return new Outcome(json, summary(input, result));
    }

    /** "photo.jpg: sky 41.2%, road 30.5%, car 12.0% (+2 more)": the three largest classes. */
    static String summary(Path input, SegmentationResult result) {
        List<Integer> order = new ArrayList<>();
        for (int c = 0; c < result.classCount(); c++) {
            if (result.fractions()[c] > 0) {
                order.add(c);
            }
        }
        order.sort(java.util.Comparator.comparingDouble((Integer c) -> result.fractions()[c]).reversed()
                .thenComparing(c -> c));
        StringBuilder b = new StringBuilder(input.toString()).append(':');
        for (int i = 0; i < Math.min(3, order.size()); i++) {
            int c = order.get(i);
            b.append(i == 0 ? " " : ", ").append(result.classNames().get(c))
                    .append(String.format(java.util.Locale.ROOT, " %.1f%%", 100 * result.fractions()[c]));
        }
        if (order.size() > 3) {
            b.append(" (+").append(order.size() - 3).append(" more)");
        }
        return b.toString();
    }
}
