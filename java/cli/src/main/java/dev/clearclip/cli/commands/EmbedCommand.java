package dev.clearclip.cli.commands;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.ClipModel;
import dev.clearclip.Images;
import dev.clearclip.cli.EngineOptions;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.ModelCommand;
import dev.clearclip.cli.UsageException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Print L2-normalised CLIP embeddings of texts and pictures as JSON "
                + "({\"text\":[{\"input\":..,\"embedding\":[..]}], \"image\":[..]}). Pictures get the standard "
                + "CLIP preprocessing (bicubic short-side resize to the model's image size, centre crop).")
public final class EmbedCommand extends ModelCommand {

    @Mixin
    EngineOptions engine;

    @Option(names = "--text", paramLabel = "T", description = "A text to embed (repeatable).")
    List<String> texts = new ArrayList<>();

    @Option(names = "--image", paramLabel = "PATH", description = "A picture to embed (repeatable).")
    List<Path> images = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (texts.isEmpty() && images.isEmpty()) {
            throw new UsageException("give at least one --text or --image");
        }
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode textOut = root.putArray("text");
        ArrayNode imageOut = root.putArray("image");
        try (ClipModel m = openModel()) {
            if (!texts.isEmpty()) {
                float[][] e = m.encodeText(texts);
                for (int i = 0; i < texts.size(); i++) {
                    add(textOut, texts.get(i), e[i]);
                }
            }
            for (Path image : images) {
                add(imageOut, image.toString(), m.encodeImage(Images.read(image, Images.DEFAULT_MAX_SIDE, main.maxImagePixels())));
            }
        }
        spec.commandLine().getOut().println(Json.COMPACT.writeValueAsString(root));
        return Main.EXIT_OK;
    }

    private static void add(ArrayNode out, String input, float[] embedding) {
        ObjectNode o = out.addObject();
        o.put("input", input);
        ArrayNode a = o.putArray("embedding");
        for (float v : embedding) {
            a.add(v);
        }
    }
}
