package dev.clearclip.cli;

import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {
                "Serve one model over HTTP: a web page at / and a JSON API (/health, /v1/model, /v1/segment, "
                        + "/v1/classify, /v1/embed, /metrics).",
                "Prints 'listening on http://HOST:PORT' when ready; Ctrl-C or SIGTERM stops it after the "
                        + "running requests finish."})
final class ServeCommand extends ModelCommand {

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
                    + "else 100000000).")
    Long maxPixels;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Require 'Authorization: Bearer KEY' (or 'X-API-Key: KEY') on /v1/* and /metrics.")
    String apiKey;

    @Option(names = "--cors", paramLabel = "ORIGIN",
            description = "Allow browser pages from ORIGIN (or *) to call the API.")
    String cors;

    @Override
    public Integer call() throws Exception {
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
        if (apiKey != null && apiKey.isBlank()) {
            throw new UsageException("--api-key must not be empty");
        }
        long pixels = maxPixels != null ? maxPixels : main.maxImagePixels();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();

        ClipModel m = ClipModel.load(modelPath(), textCache(ModelOptions.builder()
                .threads(main.threads)
                .backend(main.backend)
                .contexts(contexts)
                .maxImagePixels(pixels))
                .build());
        ClearClipServer server;
        try {
            server = ClearClipServer.start(m, new ClearClipServer.Config(host, port, maxUploadMb * 1024L * 1024L,
                    pixels, queue, apiKey, cors), err);
        } catch (RuntimeException | java.io.IOException e) {
            m.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGINT/SIGTERM: refuse new requests, let the running ones finish, then free the model
        Thread hook = new Thread(() -> {
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
        }, "clearclip-serve-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println("listening on " + server.url());
        out.flush();
        err.println("model " + m.path() + ": " + m.info().name() + " (" + m.info().fileTypeName() + "), backend "
                + m.backendName() + ", " + m.maxContexts() + " context(s) x " + m.threadsPerContext() + " thread(s)");
        err.flush();
        stopped.await();
        return Main.EXIT_OK;
    }
}
