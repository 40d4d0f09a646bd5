package dev.clearclip.cli.pull;

import static dev.clearclip.cli.pull.PullHubSupport.hfTiny;
import static dev.clearclip.cli.pull.PullHubSupport.pull;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.cli.Cli;
import dev.clearclip.cli.UsageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pull} meeting the hub's refusals (audit point 4), rate limits (point 6) and tokens (point 5),
 * against {@link FakeHub}.
 */
@Timeout(120)
class PullHubErrorsTest {

    /** Distinctive, so any echo of it in a message is found. */
    static final String TOKEN = "hf_TestTokenDoNotPrint0123456789abcdef";
    static final String OTHER_TOKEN = "hf_SecondTokenNeverShown9876543210zyx";

    @TempDir
    Path tmp;
    FakeHub hub;
    Map<String, String> env;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        hub.knownTokens.add(TOKEN);
        hub.knownTokens.add(OTHER_TOKEN);
        hub.add("org/tiny", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        FakeHub.Repo gated = hub.add("org/gated", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        gated.gated = true;
        gated.allowed.add(TOKEN);
        FakeHub.Repo hidden = hub.add("org/private", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        hidden.hidden = true;
        hidden.allowed.add(TOKEN);
        System.setProperty("clearclip.cache.dir", tmp.resolve("cache").toString());
        env = new LinkedHashMap<>(Map.of("HF_HOME", tmp.resolve("hf-home").toString()));
    }

    @AfterEach
    void stop() {
        hub.close();
        System.clearProperty("clearclip.cache.dir");
    }

    private Cli pullFrom(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--endpoint", hub.endpoint(), "--no-default"));
        return pull(env, all.toArray(String[]::new));
    }

    @Test
    void mistypedRepositoryIsNotFoundNotATokenProblem() {
        Cli pull = pullFrom("pull", "org/tinny");
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("org/tinny: no such repository on " + hub.endpoint(), "check the id",
                "(the hub says: Repository not found)");
        // the hub answered 401 (no token sent), which is still "not found"
        assertThat(hub.requestsTo("hub")).hasSize(1);
        env.put("HF_TOKEN", TOKEN);
        Cli withToken = pullFrom("pull", "org/tinny");
        assertThat(withToken.err()).contains("org/tinny: no such repository", "or the token from $HF_TOKEN has no access to it");
    }

    @Test
    void wrongRevisionSaysSo() {
        Cli pull = pullFrom("pull", "org/tiny", "--revision", "v9");
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("org/tiny: no revision 'v9'", "(the hub says: Invalid rev id: v9)");
    }

    @Test
    void gatedRepositoryGivesTheAccessUrlAndTheHubsWords() {
        Cli anonymous = pullFrom("pull", "org/gated");
        assertThat(anonymous.exit()).isEqualTo(1);
        assertThat(anonymous.err()).contains("org/gated: a gated repository: ask for access at " + hub.endpoint() + "/org/gated",
                "set HF_TOKEN", "You must have access to it and be authenticated");
        env.put("HF_TOKEN", OTHER_TOKEN);
        Cli notListed = pullFrom("pull", "org/gated");
        assertThat(notListed.exit()).isEqualTo(1);
        assertThat(notListed.err()).contains("the token from $HF_TOKEN has no access yet",
                "Visit https://huggingface.co/org/gated to ask for access");
        env.put("HF_TOKEN", TOKEN);
        Cli allowed = pullFrom("pull", "org/gated");
        assertThat(allowed.exit()).as(allowed.err()).isZero();
    }

    @Test
    void staleTokenIsNamedEvenOnAPublicRepository() {
        env.put("HF_TOKEN", "hf_revokedrevokedrevoked");
        Cli pull = pullFrom("pull", "org/tiny");
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("the hub refused the token from $HF_TOKEN", "/settings/tokens",
                "Invalid credentials in Authorization header");
    }

    @Test
    void missingFileIsEntryNotFound() {
        Cli pull = pullFrom("pull", "org/tiny", "--file", "nope.gguf");
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("org/tiny: has no file nope.gguf at revision main");
        HubException e = HubException.of(404, java.net.http.HttpHeaders.of(Map.of("X-Error-Code", List.of("EntryNotFound"),
                "X-Error-Message", List.of("Entry not found")), (a, b) -> true), new byte[0], java.net.URI.create("http://h/x"),
                "org/x", "main", "org/x/f.gguf", java.util.Optional.empty(), java.net.URI.create("http://h"));
        assertThat(e.kind()).isEqualTo(HubException.Kind.ENTRY_NOT_FOUND);
    }

    /** 429: waited for as Retry-After says, a bounded number of times; a long wait is not sat out. */
    @Test
    void rateLimitIsRetriedAfterRetryAfter() {
        hub.rateLimited.set(2);
        Cli pull = pullFrom("pull", "org/tiny");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(pull.err()).contains("the hub limits the request rate (HTTP 429)", "waiting 1 s as it asks (1/5)");

        hub.rateLimited.set(1);
        hub.retryAfterSeconds = 3600;
        Cli later = pullFrom("pull", "org/tiny", "--type", "f16");
        assertThat(later.exit()).isEqualTo(1);
        assertThat(later.err()).contains("it asks to wait 3600 s: run pull again later");

        hub.rateLimited.set(100);
        hub.retryAfterSeconds = 0;
        Cli endless = pullFrom("pull", "org/tiny", "--type", "q8_0");
        assertThat(endless.exit()).isEqualTo(1);
        assertThat(hub.rateLimited.get()).isEqualTo(100 - HubDownloader.MAX_ATTEMPTS);
    }

    /** Sources in huggingface_hub's order; values stripped of the newline a mounted secret ends with. */
    @Test
    void tokenSourcesInOrder() throws IOException {
        Map<String, String> e = new LinkedHashMap<>();
        e.put("HF_HOME", tmp.resolve("hf-home").toString());
        assertThat(HubSettings.token(null, e::get)).isEmpty();
        Files.createDirectories(tmp.resolve("hf-home"));
        Files.writeString(tmp.resolve("hf-home/token"), TOKEN + "\n");
        assertThat(HubSettings.token(null, e::get)).hasValueSatisfying(t -> {
            assertThat(t.value()).isEqualTo(TOKEN);
            assertThat(t.source()).isEqualTo(tmp.resolve("hf-home/token").toString());
        });
        Files.writeString(tmp.resolve("other-token"), " " + OTHER_TOKEN + "\r\n");
        e.put("HF_TOKEN_PATH", tmp.resolve("other-token").toString());
        assertThat(HubSettings.token(null, e::get).orElseThrow().value()).isEqualTo(OTHER_TOKEN);
        e.put("HUGGING_FACE_HUB_TOKEN", "hf_legacy\n");
        assertThat(HubSettings.token(null, e::get).orElseThrow().source()).isEqualTo("$HUGGING_FACE_HUB_TOKEN");
        e.put("HF_TOKEN", "   ");
        assertThat(HubSettings.token(null, e::get).orElseThrow().value()).isEqualTo("hf_legacy");
        e.put("HF_TOKEN", "hf_new\n");
        assertThat(HubSettings.token(null, e::get).orElseThrow().value()).isEqualTo("hf_new");
        assertThat(HubSettings.token("hf_option", e::get).orElseThrow().source()).isEqualTo("--token");
        Map<String, String> xdg = Map.of("XDG_CACHE_HOME", tmp.resolve("xdg").toString());
        assertThat(HubSettings.tokenFile(xdg::get)).isEqualTo(tmp.resolve("xdg/huggingface/token"));
        assertThatThrownBy(() -> HubSettings.token("hf_a b", e::get)).isInstanceOf(UsageException.class)
                .hasMessageContaining("--token has a character an HTTP header cannot carry")
                .hasMessageNotContaining("hf_a");
    }

    /** The token file of `hf auth login`, with its newline, opens a private repository. */
    @Test
    void tokenFileOpensAPrivateRepository() throws IOException {
        Files.createDirectories(tmp.resolve("hf-home"));
        Files.writeString(tmp.resolve("hf-home/token"), TOKEN + "\n");
        Cli pull = pullFrom("pull", "org/private");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(hub.requestsTo("hub")).allMatch(r -> ("Bearer " + TOKEN).equals(r.authorization()));
    }

    /**
     * No token in any output, whatever happens: success, each refusal, a token the JDK would reject
     * (its message would hold the value), --verbose stack traces. The storage host the hub redirects
     * to never receives it.
     */
    @Test
    void noTokenIsEverPrintedOrSentToTheStorageHost() throws IOException {
        List<Cli> runs = new ArrayList<>();
        List<String> tokens = List.of(TOKEN, OTHER_TOKEN, "hf_unknownTokenValue42");
        for (String token : tokens) {
            for (String source : List.of("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "--token")) {
                env.remove("HF_TOKEN");
                env.remove("HUGGING_FACE_HUB_TOKEN");
                for (String repo : List.of("org/tiny", "org/gated", "org/private", "org/missing")) {
                    List<String> args = new ArrayList<>(List.of("--verbose", "pull", repo));
                    if (source.equals("--token")) {
                        args.addAll(List.of("--token", token + "\n"));
                    } else {
                        env.put(source, token + "\n");
                    }
                    runs.add(pullFrom(args.toArray(String[]::new)));
                }
            }
        }
        env.put("HF_TOKEN", "hf_with space" + TOKEN);
        runs.add(pullFrom("--verbose", "pull", "org/tiny"));
        env.put("HF_TOKEN", "hf_line\nbreak" + TOKEN);
        runs.add(pullFrom("--verbose", "pull", "org/tiny"));
        env.remove("HF_TOKEN");
        hub.stallFirstTransfer = true;
        env.put("HF_HUB_DOWNLOAD_TIMEOUT", "0.5");
        runs.add(pullFrom("--verbose", "pull", "org/private", "--token", TOKEN, "--type", "q8_0"));

        assertThat(runs).anyMatch(r -> r.exit() == 0).anyMatch(r -> r.exit() == 1).anyMatch(r -> r.exit() == 2);
        for (Cli run : runs) {
            String all = run.out() + run.err();
            for (String token : tokens) {
                assertThat(all).doesNotContain(token).doesNotContain(token.substring(3, 20));
            }
            assertThat(all).doesNotContain("hf_with space").doesNotContain("break" + TOKEN);
        }
        assertThat(hub.requestsTo("storage")).isNotEmpty().allMatch(r -> r.authorization() == null);
        assertThat(hub.requestsTo("hub")).anyMatch(r -> r.authorization() != null);
        try (var files = Files.walk(tmp)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                if (Files.size(f) < 1 << 20) {
                    assertThat(new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1))
                            .as(f.toString()).doesNotContain(TOKEN);
                }
            }
        }
    }
}
