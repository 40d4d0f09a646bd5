package dev.clearclip.cli.pull;

import dev.clearclip.cli.Cli;
import dev.clearclip.gguf.testing.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** Running {@code pull} with a chosen environment (never the developer's own token or proxy), and the fixture files. */
final class PullHubSupport {

    private PullHubSupport() {
    }

    /** Runs the CLI with exactly {@code env} as the environment {@code pull} reads. */
    static Cli pull(Map<String, String> env, String... args) {
        Map<String, String> copy = new HashMap<>(env);
        PullCommand.environment = copy::get;
        try {
            return Cli.run(args);
        } finally {
            PullCommand.environment = System::getenv;
        }
    }

    static byte[] bytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** hf-tiny's files under the names given, in the order given ("name=relative/path" of the fixture). */
    static Map<String, byte[]> hfTiny(String... names) {
        Path dir = Fixtures.model("hf-tiny");
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n".getBytes());
        for (String n : names) {
            int eq = n.indexOf('=');
            files.put(eq < 0 ? n : n.substring(0, eq), bytes(dir.resolve(eq < 0 ? n : n.substring(eq + 1))));
        }
        return files;
    }
}
