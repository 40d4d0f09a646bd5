package dev.clearclip.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.AbortedException;
import dev.clearclip.BlockMode;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClassSet;
import dev.clearclip.ClipModel;
import dev.clearclip.Images;
import dev.clearclip.Method;
import dev.clearclip.Preset;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentProgressListener;
import dev.clearclip.SegmentationResult;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "segment", mixinStandardHelpOptions = true,
        description = {
                "Segment pictures into the given classes with ClearCLIP.",
                "Writes, per picture, NAME.labels.png (palette PNG: pixel value = class index), "
                        + "NAME.overlay.png (colours and legend) and NAME.json (summary)."})
final class SegmentCommand extends ModelCommand {

    @Option(names = "--image", required = true, arity = "1..*", paramLabel = "PATH",
            description = "Pictures, folders of pictures, or glob patterns (e.g. 'photos/*.jpg').")
    List<String> images;

    @Mixin
    ClassOptions classOptions;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR", defaultValue = ".",
            description = "Output folder (default: the current folder).")
    Path outputDir;

    @Option(names = "--method", paramLabel = "METHOD",
            description = "clearclip (default), naclip, sclip or maskclip: block mode and that method's reference "
                    + "windows, logit scale and refinement (the other options below override them).")
    String method;

    @Option(names = "--mode", paramLabel = "MODE",
            description = "Final block: clearclip (default), vanilla, maskclip, sclip, naclip.")
    String mode;

    @Option(names = "--naclip-std", paramLabel = "PATCHES",
            description = "Std of the naclip block's Gaussian neighbourhood bias (default 5).")
    Float naclipStd;

    @Option(names = "--pamr-steps", paramLabel = "N",
            description = "PAMR refinement iterations on the logits (default 0 = off; naclip method 10).")
    Integer pamrSteps;

    @Option(names = "--pamr-dilations", paramLabel = "D", split = ",",
            description = "PAMR neighbourhood dilations in pixels, 1 to 4 (default 8,16).")
    int[] pamrDilations;

    @Option(names = "--short-side", paramLabel = "PX", description = "Resize the short side to this before the windows (default 448; 0 keeps the size).")
    Integer shortSide;

    @Option(names = "--crop", paramLabel = "PX", description = "Sliding-window side (default 448; Cityscapes preset 224).")
    Integer crop;

    @Option(names = "--stride", paramLabel = "PX", description = "Sliding-window stride (default 224).")
    Integer stride;

    @Option(names = "--logit-scale", paramLabel = "S", description = "Logit scale (default 50).")
    Float logitScale;

    @Option(names = "--threshold", paramLabel = "P",
            description = "Pixels whose best probability is below P become 'background' (added at index 0 if absent).")
    Float threshold;

    @Option(names = "--background", description = "Add a 'background' class at index 0.")
    boolean background;

    @Option(names = "--max-side", paramLabel = "PX", defaultValue = "4096",
            description = "Larger pictures are downscaled to this long side when read (default: ${DEFAULT-VALUE}).")
    int maxSide;

    SegmentOptions options(Preset preset) {
        SegmentOptions.Builder b = preset != null ? preset.options().toBuilder() : SegmentOptions.builder();
        try {
            if (method != null) {
                b = Method.parse(method).apply(b);
            }
            if (naclipStd != null) {
                b.naclipStd(naclipStd);
            }
            if (pamrSteps != null) {
                b.pamrSteps(pamrSteps);
            }
            if (pamrDilations != null) {
                b.pamrDilations(pamrDilations);
            }
            if (mode != null) {
                b.mode(BlockMode.parse(mode));
            }
            if (shortSide != null) {
                b.shortSide(shortSide);
            }
            if (crop != null) {
                b.crop(crop);
            }
            if (stride != null) {
                b.stride(stride);
            }
            if (logitScale != null) {
                b.logitScale(logitScale);
            }
            if (threshold != null) {
                b.probThreshold(threshold);
            }
            if (background) {
                b.background(true);
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    @Override
    public Integer call() throws Exception {
        classOptions.requireOne();
        Preset preset = classOptions.presetOrNull();
        SegmentOptions options = options(preset);
        ClassSet classes = classOptions.load();
        if (options.usesBackground()) {
            classes = classes.withBackground();
        }
        List<Path> inputs = ImageInputs.expand(images);
        Files.createDirectories(outputDir);
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        Map<Path, Path> stems = outputStems(inputs);

        int failures = 0;
        int done = 0;
        // Ctrl-C interrupts this thread, which stops the engine within one window
        StopOnSignal stop = new StopOnSignal();
        // closed last: on a signal the JVM exits as soon as the hook returns, so after the message below
        try (stop) {
            try (ClipModel m = openModel()) {
                ClassEmbeddings embeddings = m.classEmbeddings(classes);
                ProgressBar bar = inputs.size() > 1 ? new ProgressBar(err, "segmenting", inputs.size(), false) : null;
                for (Path input : inputs) {
                    try {
                        // one picture: its sliding windows are the progress
                        WindowProgress windows = bar == null ? new WindowProgress(err, input) : null;
                        Path written = segmentOne(m, embeddings, options, input, stems.get(input), windows);
                        if (bar == null) {
                            out.println("wrote " + written);
                        }
                    } catch (AbortedException e) {
                        throw e;
                    } catch (RuntimeException e) {
                        failures++;
                        if (bar != null) {
                            err.println();
                        }
                        err.println("clearclip: error: " + ErrorHandler.message(e));
                        if (main.verbose) {
                            e.printStackTrace(err);
                        }
                    }
                    done++;
                    if (bar != null) {
                        bar.update(done);
                    }
                }
                if (bar != null) {
                    bar.finish(done);
                    out.printf("segmented %d of %d pictures into %s%n", inputs.size() - failures, inputs.size(), outputDir);
                }
            } catch (AbortedException e) {
                // handled by stopping: the flag must not outlive the command (in-process callers go on)
                Thread.interrupted();
                err.println();
                err.println("clearclip: stopped" + (stop.signalled() ? " by a signal (Ctrl-C)" : "") + ": "
                        + ErrorHandler.message(e));
                if (done > 0) {
                    err.printf("clearclip: %d of %d pictures were written to %s before%n", done - failures, inputs.size(),
                            outputDir);
                }
                return Main.EXIT_RUNTIME;
            }
        }
        return failures == 0 ? Main.EXIT_OK : Main.EXIT_RUNTIME;
    }

    /** Output name of each input: its file name without extension, made unique with -2, -3, ... */
    private Map<Path, Path> outputStems(List<Path> inputs) {
        Map<Path, Path> out = new HashMap<>();
        Map<String, Integer> seen = new HashMap<>();
        for (Path p : inputs) {
            String name = p.getFileName().toString();
            int dot = name.lastIndexOf('.');
            String stem = dot > 0 ? name.substring(0, dot) : name;
            int n = seen.merge(stem, 1, Integer::sum);
            out.put(p, outputDir.resolve(n == 1 ? stem : stem + "-" + n));
        }
        return out;
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

    private Path segmentOne(ClipModel m, ClassEmbeddings embeddings, SegmentOptions options, Path input, Path stem,
                            SegmentProgressListener progress) throws java.io.IOException {
        long t0 = System.nanoTime();
        RgbImage picture = Images.read(input, maxSide, main.maxImagePixels());
        SegmentationResult result = m.segment(picture, embeddings, options, progress);
        double seconds = (System.nanoTime() - t0) / 1e9;

        Path labels = Path.of(stem + ".labels.png");
        Path overlay = Path.of(stem + ".overlay.png");
        Path json = Path.of(stem + ".json");
        LabelPictures.writeLabels(result, labels);
        LabelPictures.writeOverlay(picture, result, overlay);

        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("image", input.toString());
        root.put("width", result.width());
        root.put("height", result.height());
        root.put("model", m.path().toString());
        root.put("labels", labels.getFileName().toString());
        root.put("overlay", overlay.getFileName().toString());
        ObjectNode settings = SegmentationJson.putSettings(root, options);
        if (method != null) {
            settings.put("method", Method.parse(method).id());
        }
        SegmentationJson.putClasses(root, result, embeddings.classes());
        root.put("seconds", Math.round(seconds * 1000) / 1000.0);
        Json.MAPPER.writeValue(json.toFile(), root);
        return json;
    }
}
