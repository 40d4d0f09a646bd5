package dev.clearclip.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.cli.Fixtures;
import dev.clearclip.cli.Main;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clearclip serve} as a process: the ready line, then SIGTERM lets the running request finish and the
 * process exits with status 0.
 */
class ServeProcessTest {

    @TempDir
    Path tmp;

    @Test
    @EnabledOnOs(OS.LINUX)
    void printsTheAddressAndStopsCleanlyOnSigtermLettingARunningRequestFinish() throws Exception {
        Path model = Fixtures.hfTinyGguf(tmp);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = List.of(java, "--enable-native-access=ALL-UNNAMED", "-Djava.awt.headless=true",
                "-Dclearclip.cache.dir=" + tmp.resolve("cache"), "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "serve", "-m", model.toString(), "--port", "0", "--threads", "1");
        Path errFile = tmp.resolve("stderr.txt");
        Process p = new ProcessBuilder(command).redirectError(errFile.toFile()).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertThat(line).as("first line of stdout").isNotNull();
            Matcher m = Pattern.compile("listening on (http://127\\.0\\.0\\.1:(\\d+))").matcher(line);
            assertThat(m.matches()).as(line).isTrue();
            Http http = new Http(m.group(1));
            assertThat(http.get("/health").status()).isEqualTo(200);

            // a picture of many windows keeps the request running while the signal arrives
            byte[] large = ServeApiTest.png(ServeApiTest.picture(2000, 1400, 5));
            CompletableFuture<Http.Response> running = CompletableFuture.supplyAsync(() -> http.post("/v1/segment",
                    new Http.Form().file("image", "large.png", "image/png", large).field("classes", "sky;grass")
                            .field("short_side", "0")), Thread::startVirtualThread);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!http.get("/metrics").text().contains("clearclip_inference_running 1")) {
                assertThat(System.nanoTime()).as("the request never started").isLessThan(deadline);
                assertThat(running).isNotDone();
                Thread.sleep(20);
            }
            p.destroy(); // SIGTERM
            Http.Response r = running.get(120, TimeUnit.SECONDS);
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            assertThat(r.json().path("width").asInt()).isEqualTo(2000);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("process ended").isTrue();
            // a graceful stop is a success, not death by signal (143)
            assertThat(p.exitValue()).as("exit status after SIGTERM").isZero();
            assertThat(Files.readString(errFile)).contains("stopping").contains("stopped");
        } finally {
            p.destroyForcibly();
        }
    }
}
