package dev.clearclip.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.cli.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 8 clients at once for a bounded time, a mix of good and bad requests: every segmentation equals the
 * single-request answer, every bad request gets its 4xx, and the server stays healthy. Prints requests/s and
 * p50/p99 latency for people (the figures are not asserted: speed belongs to benchmarks).
 */
class ServeLoadTest {

    static final int CLIENTS = Integer.getInteger("clearclip.serve.clients", 8);
    static final Duration RUN = Duration.ofSeconds(Long.getLong("clearclip.serve.loadSeconds", 8));

    @TempDir
    static Path shared;

    static ClipModel clip;
    static ClearClipServer server;
    static Http http;
    static final StringWriter log = new StringWriter();

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("clearclip.cache.dir", shared.resolve("cache").toString());
        Path model = Fixtures.hfTinyGguf(shared);
        // as many contexts as cores, one thread each: the setting for many clients
        int cores = Runtime.getRuntime().availableProcessors();
        clip = ClipModel.load(model, ModelOptions.builder().contexts(cores).threads(1).build());
        server = ClearClipServer.start(clip, new ClearClipServer.Config("127.0.0.1", 0, 20L << 20, 100_000_000L,
                CLIENTS, null, null), new PrintWriter(log, true));
        http = new Http(server.url());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (clip != null) {
            clip.close();
        }
        System.clearProperty("clearclip.cache.dir");
    }

    @Test
    void concurrentClientsGetTheSingleRequestAnswer() throws Exception {
        byte[] scene = ServeApiTest.png(ServeApiTest.picture(320, 240, 11));
        Http.Form good = new Http.Form().file("image", "scene.png", "image/png", scene)
                .field("classes", ServeApiTest.CLASSES);
        Http.Response reference = http.post("/v1/segment", good);
        assertThat(reference.status()).as(reference.text()).isEqualTo(200);
        JsonNode expected = reference.json();
        byte[] truncated = java.util.Arrays.copyOf(scene, scene.length / 3);
        Http.Form bad = new Http.Form().file("image", "cut.png", "image/png", truncated)
                .field("classes", ServeApiTest.CLASSES);

        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        long end = System.nanoTime() + RUN.toNanos();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        List<Future<?>> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int client = c;
            clients.add(pool.submit(() -> {
                int n = 0;
                while (System.nanoTime() < end) {
                    // every fourth request of odd clients is a broken picture
                    boolean sendBad = client % 2 == 1 && n++ % 4 == 3;
                    long t0 = System.nanoTime();
                    Http.Response r = http.post("/v1/segment", sendBad ? bad : good);
                    long dt = System.nanoTime() - t0;
                    if (sendBad) {
                        if (r.status() != 400 || !"bad_image".equals(r.errorCode())) {
                            problems.add("bad upload got " + r.status() + ": " + r.text());
                        }
                    } else if (r.status() != 200) {
                        problems.add("got " + r.status() + ": " + r.text());
                    } else {
                        latencies.add(dt);
                        if (!r.json().equals(expected)) {
                            problems.add("an answer differs from the single-request answer");
                        }
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : clients) {
            f.get();
        }
        pool.shutdown();
        double seconds = RUN.toNanos() / 1e9;
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        assertThat(problems).isEmpty();
        assertThat(sorted).isNotEmpty();
        System.out.printf(Locale.ROOT, "serve load: %d clients, %d segmentations (320x240, 3 classes) in %.1f s = %.1f "
                        + "requests/s, p50 %.0f ms, p99 %.0f ms, %d contexts x %d thread(s)%n", CLIENTS, sorted.size(),
                seconds, sorted.size() / seconds, sorted.get(sorted.size() / 2) / 1e6,
                sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1)) / 1e6,
                clip.maxContexts(), clip.threadsPerContext());
        assertThat(http.get("/health").status()).isEqualTo(200);
        assertThat(log.toString()).doesNotContain("internal error");
    }
}
