package dev.clearclip.cli.commands;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.clearclip.ClipModel;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.ModelCommand;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the CLIP BPE token ids of each TEXT as one JSON array per line.")
public final class TokenizeCommand extends ModelCommand {

    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "Texts to tokenize.")
    List<String> texts;

    @Override
    public Integer call() throws JsonProcessingException {
        try (ClipModel m = openModel()) {
            for (String text : texts) {
                spec.commandLine().getOut().println(Json.COMPACT.writeValueAsString(m.tokenize(text)));
            }
        }
        return Main.EXIT_OK;
    }
}
