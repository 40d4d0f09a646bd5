package dev.clearclip.cli.serve;

import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.cli.EngineOptions;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.ModelCommand;
import dev.clearclip.cli.UsageException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {
                "Serve one model over HTTP: a web page at / and a JSON API (/health, /v1/model, /v1/segment, "
                        + "/v1/classify, /v1/embed, /v1/embeddings, /metrics).",
                "Prints 'listening on http://HOST:PORT' when ready; Ctrl-C or SIGTERM stops it after the "
                        + "running requests finish (exit status 0)."})
public final class ServeCommand extends ModelCommand {

    @Mixin
    EngineOptions engine;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address to bind (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 for all).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080",
            description = "TCP port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--contexts", paramLabel = "N", defaultValue = "0",
            description = "Requests computed at once (native contexts; default: chosen from the cores as the "
                    + "library does, 1 x all cores). For many clients, the number of cores.")
    int contexts;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "16",
            description = "Requests that may wait for a context; beyond, 503 with Retry-After (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-upload-mb", paramLabel = "MB", defaultValue = "20",
            description = "Largest request body in MiB; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    int maxUploadMb;

    @Option(names = "--max-pixels", paramLabel = "N",
            description = "Refuse pictures whose header claims more than N pixels (default: --max-image-pixels, "
                    + "else what fits the heap: max heap / 192, at most 100000000).")
    Long maxPixels;

    @Option(names = "--max-windows", paramLabel = "N", defaultValue = "324",
            description = "Refuse (400) segmentations of more than N sliding windows (default: ${DEFAULT-VALUE}, "
                    + "a 4096x4096 picture at crop 448 and stride 224).")
    long maxWindows;

    @Option(names = "--request-timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "Stop a request's model work after this long, waiting included (503 'timeout'; "
                    + "default: ${DEFAULT-VALUE}).")
    int requestTimeout;

    @Option(names = "--upload-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "A request's headers, and then its body, must each arrive whole within this time "
                    + "(else the connection is closed; a late body gets 408 first; default: ${DEFAULT-VALUE}).")
    int uploadTimeout;

    @Option(names = "--min-upload-rate", paramLabel = "KIB_PER_S", defaultValue = "8",
            description = "After its first 5 s, a body arriving slower than this on average is refused (408; "
                    + "default: ${DEFAULT-VALUE} KiB/s).")
    int minUploadRate;

    @Option(names = "--max-client-connections", paramLabel = "N", defaultValue = "32",
            description = "Most open connections per client address; more are closed at once "
                    + "(default: ${DEFAULT-VALUE}).")
    int maxClientConnections;

    @Option(names = "--allow-host", paramLabel = "NAME",
            description = "Without --api-key, also answer requests whose Host is NAME (e.g. the name a reverse "
                    + "proxy forwards); repeatable.")
    List<String> allowHosts = new ArrayList<>();

    @Option(names = "--allow-remote-images",
            description = "Let /v1/embeddings fetch http(s) image URLs (off: only data: URLs).")
    boolean allowRemoteImages;

    @Option(names = "--text-cache-max-mb", paramLabel = "MB", defaultValue = "256",
            description = "Most MiB the text-embedding cache may hold; the entries used longest ago are deleted "
                    + "beyond (default: ${DEFAULT-VALUE}).")
    long textCacheMaxMb;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Require 'Authorization: Bearer KEY' (or 'X-API-Key: KEY') on /v1/* and /metrics.")
    String apiKey;

    @Option(names = "--cors", paramLabel = "ORIGIN",
            description = "Allow browser pages from ORIGIN (or *) to call the API.")
    String cors;

    /** The server's settings from its options: every check of them is here. */
    ClearClipServer.Config config() {
        if (port < 0 || port > 65535) {
            throw new UsageException("--port must be 0..65535, got " + port);
        }
        if (contexts < 0) {
            throw new UsageException("--contexts must be >= 0, got " + contexts);
        }
        if (queue < 0) {
            throw new UsageException("--queue must be >= 0, got " + queue);
        }
        if (maxUploadMb < 1 || maxUploadMb > 2047) {
            throw new UsageException("--max-upload-mb must be 1..2047, got " + maxUploadMb);
        }
        if (maxPixels != null && maxPixels < 1) {
            throw new UsageException("--max-pixels must be at least 1, got " + maxPixels);
        }
        if (maxWindows < 1) {
            throw new UsageException("--max-windows must be at least 1, got " + maxWindows);
        }
        if (requestTimeout < 1 || uploadTimeout < 1) {
            throw new UsageException("--request-timeout and --upload-timeout must be at least 1 second");
        }
        if (minUploadRate < 0) {
            throw new UsageException("--min-upload-rate must be >= 0, got " + minUploadRate);
        }
        if (maxClientConnections < 1) {
            throw new UsageException("--max-client-connections must be at least 1, got " + maxClientConnections);
        }
        if (textCacheMaxMb < 1) {
            throw new UsageException("--text-cache-max-mb must be at least 1, got " + textCacheMaxMb);
        }
        if (apiKey != null && apiKey.isBlank()) {
            throw new UsageException("--api-key must not be empty");
        }
        long heap = Runtime.getRuntime().maxMemory();
        long pixels = maxPixels != null ? maxPixels : main.maxImagePixels(ServeLimits::defaultMaxPixels);
        return new ClearClipServer.Config(host, port, maxUploadMb * 1024L * 1024L, pixels, queue, apiKey, cors,
                maxWindows, Duration.ofSeconds(requestTimeout), Duration.ofSeconds(uploadTimeout),
                minUploadRate * 1024L, maxClientConnections, allowHosts, allowRemoteImages,
                ServeLimits.decodePixels(heap));
    }

    @Override
    public Integer call() throws Exception {
        ClearClipServer.Config config = config();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();

        ClipModel m = ClipModel.load(modelPath(), textCache(ModelOptions.builder()
                .threads(main.threads())
                .backend(main.backend())
                .contexts(contexts)
                .maxImagePixels(config.maxPixels())
                .textCacheMaxBytes(textCacheMaxMb << 20))
                .build());
        ClearClipServer server;
        try {
            server = ClearClipServer.start(m, config, err);
        } catch (RuntimeException | java.io.IOException e) {
            m.close();
            throw e;
        }
        CountDownLatch stopAsked = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean stopping = new AtomicBoolean();
        Runnable stop = () -> {
            if (!stopping.compareAndSet(false, true)) {
                awaitQuietly(stopped);
                return;
            }
            err.println("clearclip serve: stopping (letting running requests finish)");
            err.flush();
            try {
                server.close();
            } finally {
                m.close();
                err.println("clearclip serve: stopped");
                err.flush();
                stopped.countDown();
            }
        };
        // SIGINT/SIGTERM ask the main thread to stop, so that a graceful stop ends with exit status 0; a second
        // signal has the default action. The hook covers what the handlers cannot (an ignored SIGINT, exit()).
        boolean handled = onStopSignal("TERM", stopAsked) & onStopSignal("INT", stopAsked);
        Thread hook = new Thread(stop, "clearclip-serve-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println("listening on " + server.url());
        out.flush();
        err.println("model " + m.path() + ": " + m.info().name() + " (" + m.info().fileTypeName() + "), backend "
                + m.backendName() + ", " + m.maxContexts() + " context(s) x " + m.threadsPerContext() + " thread(s); "
                + "pictures up to " + config.maxPixels() + " pixels, " + config.maxWindows() + " windows, "
                + config.requestTimeout().toSeconds() + " s per request"
                + (handled ? "" : " (stop signals: through the JVM's shutdown)"));
        err.flush();
        stopAsked.await();
        stop.run();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs and returns at once: the server is stopped
        }
        return Main.EXIT_OK;
    }

    @SuppressWarnings("removal")
    private static boolean onStopSignal(String name, CountDownLatch stopAsked) {
        try {
            sun.misc.Signal signal = new sun.misc.Signal(name);
            sun.misc.Signal.handle(signal, s -> {
                sun.misc.Signal.handle(s, sun.misc.SignalHandler.SIG_DFL);
                stopAsked.countDown();
            });
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException ignoredOrUnknown) {
            // an ignored SIGINT (a background job) stays ignored; SIGTERM then goes through the shutdown hook
            return false;
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
