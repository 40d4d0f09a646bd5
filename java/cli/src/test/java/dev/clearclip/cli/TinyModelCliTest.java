package dev.clearclip.cli;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * Base of the CLI tests that run commands on the tiny fixture model: converts it once per test class into
 * a shared folder, keeps the text-embedding cache in that folder, and gives each test its own folder.
 */
public abstract class TinyModelCliTest {

    @TempDir
    protected static Path shared;

    protected static Path model;

    @TempDir
    protected Path tmp;

    @BeforeAll
    static void convertTinyModel() {
        System.setProperty("clearclip.cache.dir", shared.resolve("cache").toString());
        model = Fixtures.hfTinyGguf(shared);
    }

    @AfterAll
    static void restoreCacheDir() {
        System.clearProperty("clearclip.cache.dir");
    }
}
