package dev.clearclip;

import java.nio.file.Path;

/** Root of clearclip's per-user cache: {@code $XDG_CACHE_HOME/clearclip}, else {@code ~/.cache/clearclip}. */
public final class CacheDirs {
    private CacheDirs() {
    }

    public static Path root() {
        String override = System.getProperty("clearclip.cache.dir");
        if (override != null && !override.isBlank()) {
            return Path.of(override);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "clearclip");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "clearclip");
    }
}
