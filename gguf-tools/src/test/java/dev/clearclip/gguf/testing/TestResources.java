package dev.clearclip.gguf.testing;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Files under src/test/resources, by their path relative to it. */
public final class TestResources {
    private TestResources() {
    }

    public static Path path(String relative) {
        URL url = TestResources.class.getClassLoader().getResource(relative);
        if (url == null) {
            throw new IllegalStateException("test resource missing: " + relative);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
