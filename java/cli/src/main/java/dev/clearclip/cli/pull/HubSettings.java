package dev.clearclip.cli.pull;

import dev.clearclip.cli.UsageException;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

/**
 * What {@code pull} takes from its options and the environment, read the way the Hugging Face tools
 * read it: the hub address ({@code --endpoint}, {@code CLEARCLIP_HF_ENDPOINT}, {@code HF_ENDPOINT}),
 * the token ({@code --token}, {@code HF_TOKEN}, {@code HUGGING_FACE_HUB_TOKEN}, then the file
 * {@code hf auth login} writes), proxies, {@code HF_HUB_OFFLINE} and the transfer timeout
 * ({@code HF_HUB_DOWNLOAD_TIMEOUT}, 10 s as in huggingface_hub).
 */
record HubSettings(URI endpoint, Optional<HubToken> token, HubProxies proxies, boolean offline,
                   Duration readTimeout) {

    static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(10);

    static HubSettings resolve(String endpointOption, String tokenOption, Function<String, String> env) {
        return new HubSettings(endpoint(endpointOption, env), token(tokenOption, env), HubProxies.from(env),
                isTrue(env.apply("HF_HUB_OFFLINE")), readTimeout(env));
    }

    /** --endpoint, else $CLEARCLIP_HF_ENDPOINT, else $HF_ENDPOINT (huggingface_hub's), else the public hub. */
    static URI endpoint(String option, Function<String, String> env) {
        String e = option;
        for (String variable : new String[] {"CLEARCLIP_HF_ENDPOINT", "HF_ENDPOINT"}) {
            if (e == null || e.isBlank()) {
                e = env.apply(variable);
            }
        }
        if (e == null || e.isBlank()) {
            e = DEFAULT_ENDPOINT;
        }
        e = e.strip();
        while (e.endsWith("/")) {
            e = e.substring(0, e.length() - 1);
        }
        URI uri;
        try {
            uri = URI.create(e);
        } catch (IllegalArgumentException ex) {
            throw new UsageException("hub address '" + e + "' is not a URL");
        }
        if (!"https".equalsIgnoreCase(uri.getScheme()) && !"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new UsageException("hub address '" + e + "' is not an http(s) URL like " + DEFAULT_ENDPOINT);
        }
        return uri;
    }

    /**
     * The first token found, stripped of surrounding whitespace (a mounted secret often ends in a
     * newline). A blank value counts as none, as in huggingface_hub.
     */
    static Optional<HubToken> token(String option, Function<String, String> env) {
        if (option != null) {
            return Optional.of(HubToken.of(option, "--token"));
        }
        for (String variable : new String[] {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
            String v = env.apply(variable);
            if (v != null && !v.isBlank()) {
                return Optional.of(HubToken.of(v, "$" + variable));
            }
        }
        Path file = tokenFile(env);
        if (Files.isRegularFile(file)) {
            String v;
            try {
                v = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                throw new UsageException(file + ": cannot read the Hugging Face token file: "
                        + e.getClass().getSimpleName());
            }
            if (!v.isBlank()) {
                return Optional.of(HubToken.of(v, file.toString()));
            }
        }
        return Optional.empty();
    }

    /** $HF_TOKEN_PATH, else $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else ~/.cache/huggingface/token. */
    static Path tokenFile(Function<String, String> env) {
        String path = env.apply("HF_TOKEN_PATH");
        if (path != null && !path.isBlank()) {
            return Path.of(path.strip());
        }
        return hfHome(env).resolve("token");
    }

    static Path hfHome(Function<String, String> env) {
        String home = env.apply("HF_HOME");
        if (home != null && !home.isBlank()) {
            return Path.of(home.strip());
        }
        String xdg = env.apply("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Path.of(xdg.strip())
                : Path.of(System.getProperty("user.home"), ".cache");
        return cache.resolve("huggingface");
    }

    /** huggingface_hub's truth values: 1, ON, YES, TRUE in any case. */
    static boolean isTrue(String value) {
        return value != null && switch (value.strip().toUpperCase(java.util.Locale.ROOT)) {
            case "1", "ON", "YES", "TRUE" -> true;
            default -> false;
        };
    }

    private static Duration readTimeout(Function<String, String> env) {
        String v = env.apply("HF_HUB_DOWNLOAD_TIMEOUT");
        if (v == null || v.isBlank()) {
            return DEFAULT_READ_TIMEOUT;
        }
        try {
            double seconds = Double.parseDouble(v.strip());
            if (seconds > 0 && seconds <= 3600) {
                return Duration.ofMillis(Math.round(seconds * 1000));
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new UsageException("HF_HUB_DOWNLOAD_TIMEOUT='" + v + "' is not a number of seconds (0 < s <= 3600)");
    }

    /**
     * A token and where it came from. The value only ever goes into an Authorization header:
     * {@link #toString} names the source, so no message or log can print it.
     */
    record HubToken(String value, String source) {
        static HubToken of(String raw, String source) {
            String v = raw.strip();
            if (v.isEmpty()) {
                throw new UsageException("the Hugging Face token from " + source + " is empty");
            }
            for (int i = 0; i < v.length(); i++) {
                char c = v.charAt(i);
                if (c <= 0x20 || c >= 0x7f) {
                    throw new UsageException("the Hugging Face token from " + source + " has a character an HTTP "
                            + "header cannot carry (a space, line break or non-ASCII character at position " + (i + 1)
                            + " of " + v.length() + "); the token is not shown");
                }
            }
            return new HubToken(v, source);
        }

        @Override
        public String toString() {
            return "token from " + source;
        }
    }
}
