package dev.clearclip.cli.commands;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.ClassSet;
import dev.clearclip.ClassSource;
import dev.clearclip.Classification;
import dev.clearclip.ClipModel;
import dev.clearclip.Images;
import dev.clearclip.cli.EngineOptions;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.ModelCommand;
import dev.clearclip.cli.UsageException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Zero-shot classification of pictures against classes (80-template prompt ensemble).")
public final class ClassifyCommand extends ModelCommand {

    @Mixin
    EngineOptions engine;

    @Option(names = "--image", required = true, arity = "1..*", paramLabel = "PATH",
            description = "Pictures, folders of pictures, or glob patterns (e.g. 'photos/*.jpg'), as for segment.")
    List<String> images;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ClassSource classSource;

    @Option(names = {"-k", "--top-k"}, paramLabel = "K", defaultValue = "5",
            description = "How many classes to print (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (topK < 1) {
            throw new UsageException("--top-k must be >= 1");
        }
        ClassSet classes = ClassOptions.load(classSource);
        List<Path> inputs = ImageInputs.expand(images);
        PrintWriter out = spec.commandLine().getOut();
        ArrayNode all = Json.MAPPER.createArrayNode();
        try (ClipModel m = openModel()) {
            for (Path image : inputs) {
                List<Classification> top = m.classify(Images.read(image, Images.DEFAULT_MAX_SIDE, main.maxImagePixels()), classes, topK);
                if (json) {
                    ObjectNode o = all.addObject();
                    o.put("image", image.toString());
                    ArrayNode a = o.putArray("top");
                    for (Classification c : top) {
                        a.addObject().put("index", c.classIndex()).put("name", c.name())
                                .put("probability", c.probability()).put("similarity", c.similarity());
                    }
                } else {
                    out.println(image + ":");
                    for (Classification c : top) {
                        out.printf(Locale.ROOT, "  %6.2f%%  %s%n", 100 * c.probability(), c.name());
                    }
                }
            }
        }
        if (json) {
            out.println(Json.MAPPER.writeValueAsString(all));
        }
        return Main.EXIT_OK;
    }
}
