package dev.clearclip.cli.eval;

import dev.clearclip.FileSupport;
import dev.clearclip.BlockMode;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClassSet;
import dev.clearclip.ClipModel;
import dev.clearclip.CommandLineValues;
import dev.clearclip.MethodChoice;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentOverrides;
import dev.clearclip.cli.EngineOptions;
import dev.clearclip.cli.ErrorHandler;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.ModelCommand;
import dev.clearclip.cli.ProgressBar;
import dev.clearclip.cli.UsageException;
import dev.clearclip.eval.Benchmark;
import dev.clearclip.eval.EvalState;
import dev.clearclip.eval.Evaluator;
import dev.clearclip.eval.SegmentationDataset;
import dev.clearclip.eval.SegmentationMetrics;
import dev.clearclip.eval.SegmentationPredictor;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {
                "Measure mIoU on a benchmark's validation split with ClearCLIP's reference settings.",
                "mIoU as mmsegmentation computes it: one confusion matrix over all pixels of the split (label 255 "
                        + "ignored), IoU = TP/(TP+FP+FN) per class, mean over the classes whose IoU is defined "
                        + "(a class neither in the ground truth nor predicted is left out).",
                "Progress is saved to FILE.state; --resume continues an interrupted or --limit'ed run."},
        footer = {
                "%nDataset layouts below --root (or its usual sub-folder, e.g. VOCdevkit/VOC2012):",
                "  voc21, voc20          JPEGImages/*.jpg, SegmentationClass/*.png,",
                "                        ImageSets/Segmentation/val.txt",
                "  context60, context59  JPEGImages/*.jpg, SegmentationClassContext/*.png,",
                "                        ImageSets/SegmentationContext/val.txt",
                "  coco-stuff            images/val2017/*.jpg,",
                "                        annotations/val2017/*_labelTrainIds.png",
                "  coco-object           images/val2017/*.jpg,",
                "                        annotations/val2017/*_instanceTrainIds.png",
                "  cityscapes            leftImg8bit/val/<city>/*_leftImg8bit.png,",
                "                        gtFine/val/<city>/*_gtFine_labelTrainIds.png",
                "  ade20k                images/validation/*.jpg, annotations/validation/*.png"})
public final class EvalCommand extends ModelCommand {

    @Mixin
    EngineOptions engine;

    /** How often the confusion matrix is saved while running. */
    private static final Duration SAVE_EVERY = Duration.ofSeconds(30);

    @Option(names = "--dataset", required = true, paramLabel = "NAME", converter = CommandLineValues.Benchmarks.class,
            completionCandidates = CommandLineValues.Benchmarks.class, description = "${COMPLETION-CANDIDATES}.")
    Benchmark benchmark;

    @Option(names = "--root", required = true, paramLabel = "DIR", description = "Folder of the dataset.")
    Path root;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate only the first N pictures of the split.")
    Integer limit;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Results JSON (default: eval-DATASET.json); the progress goes to FILE.state.")
    Path output;

    @Option(names = "--resume", description = "Continue from FILE.state (same model and settings required).")
    boolean resume;

    // segment's --method and --mode (core's MethodChoice), the settings eval takes on top of a benchmark's
    @Mixin
    MethodChoice methodChoice;

    @Override
    public Integer call() throws Exception {
        if (limit != null && limit < 1) {
            throw new UsageException("--limit must be at least 1, got " + limit);
        }
        SegmentOptions options = options(benchmark);
        Path out = output != null ? output : Path.of("eval-" + benchmark.id() + ".json");
        Path stateFile = out.resolveSibling(out.getFileName() + ".state");
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();

        SegmentationDataset data = benchmark.open(root);
        List<String> split = data.ids();
        List<String> ids = limit == null ? split : split.subList(0, Math.min(limit, split.size()));
        ClassSet classes = benchmark.preset().classes();
        Path modelFile = modelPath();
        if (!Files.isRegularFile(modelFile)) {
            throw new IllegalArgumentException(modelFile + ": no such file");
        }
        String modelHash = FileSupport.sha256Hex(modelFile);
        Map<String, String> fingerprint = fingerprint(benchmark, modelHash, classes, options);
        EvalState state = loadOrStart(stateFile, fingerprint, data.classCount(), err);

        EvalReport.Timings timings = new EvalReport.Timings();
        EvalReport.ModelSummary model;
        long t0 = System.nanoTime();
        try (ClipModel m = openModel()) {
            timings.loadSeconds = seconds(t0);
            model = new EvalReport.ModelSummary(m.path().toAbsolutePath().normalize().toString(), m.info().name(),
                    m.info().fileTypeName(), modelHash);
            long t1 = System.nanoTime();
            ClassEmbeddings embeddings = m.classEmbeddings(classes);
            timings.classSeconds = seconds(t1);
            int before = state.doneCount();
            List<String> toDo = Evaluator.remaining(ids, state);
            ProgressBar bar = toDo.isEmpty() ? null
                    : new ProgressBar(err, "evaluating " + benchmark.id(), toDo.size(), false);
            Evaluator evaluator = new Evaluator(data, SegmentationPredictor.of(m, embeddings, options))
                    .saveStateTo(stateFile, SAVE_EVERY)
                    .listener((id, done, total) -> bar.update(done));
            long t2 = System.nanoTime();
            try {
                evaluator.run(ids, state);
            } catch (RuntimeException e) {
                err.println();
                err.println("clearclip: error: " + ErrorHandler.message(e));
                if (main.verbose()) {
                    e.printStackTrace(err);
                }
                err.println("clearclip: stopped after " + (state.doneCount() - before) + " more picture(s); the "
                        + state.doneCount() + " evaluated so far are saved in " + stateFile
                        + ", continue with --resume");
                return Main.EXIT_RUNTIME;
            }
            if (bar != null) {
                bar.finish(toDo.size());
            }
            timings.runSeconds = seconds(t2);
            timings.runPictures = state.doneCount() - before;
        }

        boolean complete = split.stream().allMatch(state::isDone);
        SegmentationMetrics metrics = state.matrix().metrics();
        EvalReport.printTables(stdout, benchmark, classes, state, metrics, model, options);
        EvalReport.writeJson(out, new EvalReport.Run(benchmark, root, methodChoice.method() == null ? null : methodChoice.method().id(), main.threads(), main.backend()), classes, state,
                metrics, model, options, split.size(), complete, timings);
        stdout.println("wrote " + out);
        if (complete) {
            // the results file holds everything the state did
            Files.deleteIfExists(stateFile);
        } else {
            stdout.println(state.doneCount() + " of " + split.size() + " pictures of the split evaluated; "
                    + "progress kept in " + stateFile + " (continue with --resume and a larger --limit, or none)");
        }
        return Main.EXIT_OK;
    }

    /** The benchmark's settings with --method and --mode, by segment's rule (SegmentOverrides). */
    private SegmentOptions options(Benchmark benchmark) {
        return new SegmentOverrides(methodChoice.method(), methodChoice.mode(), null, null, null, null, null, null, null, null, false)
                .applyTo(benchmark.preset().options());
    }

    /** What a resumed run must share with the saved state for the counts to belong together. */
    private static Map<String, String> fingerprint(Benchmark benchmark, String modelHash, ClassSet classes,
                                                   SegmentOptions options) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("model_sha256", modelHash);
        f.put("dataset", benchmark.id());
        f.put("classes", classes.size() + " classes, sha256 "
                + FileSupport.sha256Hex(classes.toString().getBytes(StandardCharsets.UTF_8)).substring(0, 16));
        f.put("mode", options.mode().id());
        f.put("short_side", Integer.toString(options.shortSide()));
        f.put("crop", Integer.toString(options.crop()));
        f.put("stride", Integer.toString(options.stride()));
        f.put("logit_scale", Float.toString(options.logitScale()));
        f.put("prob_threshold", Float.toString(options.probThreshold()));
        if (options.mode() == BlockMode.NACLIP) {
            f.put("naclip_std", Float.toString(options.naclipStd()));
        }
        if (options.pamrSteps() > 0) {
            f.put("pamr", options.pamrSteps() + " steps, dilations " + Arrays.toString(options.pamrDilations()));
        }
        return f;
    }

    private EvalState loadOrStart(Path stateFile, Map<String, String> fingerprint, int classCount, PrintWriter err) {
        if (!Files.exists(stateFile)) {
            if (resume) {
                err.println("no saved progress at " + stateFile + ", starting from the beginning");
            }
            return EvalState.start(fingerprint, classCount);
        }
        EvalState state = EvalState.load(stateFile);
        if (!resume) {
            throw new UsageException(stateFile + " holds the progress of an earlier run (" + state.doneCount()
                    + " pictures): pass --resume to continue it, or delete it (or choose another -o) to start over");
        }
        List<String> differences = state.differences(fingerprint);
        if (!differences.isEmpty()) {
            throw new UsageException("cannot resume from " + stateFile + ": it was made with another model or settings:"
                    + System.lineSeparator() + "  " + String.join(System.lineSeparator() + "  ", differences)
                    + System.lineSeparator() + "Rerun with the same model and settings, or delete the file (or choose "
                    + "another -o) to start over.");
        }
        err.println("resuming from " + stateFile + ": " + state.doneCount() + " pictures already evaluated");
        return state;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
