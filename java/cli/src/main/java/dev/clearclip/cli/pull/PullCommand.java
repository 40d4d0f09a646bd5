package dev.clearclip.cli.pull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.FileSupport;
import dev.clearclip.cli.ConversionProgress;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.ModelStore;
import dev.clearclip.cli.OutputTypes;
import dev.clearclip.cli.UsageException;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.convert.ClipConverter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {
                "Download a CLIP model from the Hugging Face hub, convert it to GGUF and cache it under "
                        + "~/.cache/clearclip/models/; it becomes the default model of the other commands.",
                "Reads transformers repositories (config.json + model.safetensors, or the pickled pytorch_model.bin "
                        + "older uploads have, read without executing it), open_clip ones (open_clip_config.json + "
                        + "open_clip_model.safetensors or open_clip_pytorch_model.bin) and repositories of CLIP GGUF "
                        + "files (such as monatis/clip.cpp's): --type picks the file, and the choice is listed when "
                        + "several fit.",
                "All files come from one commit; transfers resume where they stopped (also after no data for "
                        + "$HF_HUB_DOWNLOAD_TIMEOUT s, default 10); large files are checked against the hub's SHA-256.",
                "Environment: HF_ENDPOINT (or CLEARCLIP_HF_ENDPOINT) for a mirror; HF_TOKEN, HUGGING_FACE_HUB_TOKEN "
                        + "or the token file of `hf auth login` ($HF_HOME/token) for gated or private repositories; "
                        + "HTTPS_PROXY / HTTP_PROXY / NO_PROXY (or -Dhttps.proxyHost=... -Dhttps.proxyPort=...); "
                        + "HF_HUB_OFFLINE=1 to use only what is cached."})
public final class PullCommand implements Callable<Integer> {

    /** Where settings are read from; tests give their own. */
    static volatile Function<String, String> environment = System::getenv;
    /** TLS settings of the connections; tests trust their own server's certificate with it. */
    static volatile SSLContext sslContext;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "HF_REPO_ID", description = "Repository, e.g. openai/clip-vit-base-patch16.")
    String repo;

    @Option(names = "--type", paramLabel = "T", converter = OutputTypes.class, completionCandidates = OutputTypes.class,
            description = "Type of the converted matrices: ${COMPLETION-CANDIDATES} (default: f32; for a repository of "
                    + "GGUF files, the GGUF of that type, else its only one).")
    GgmlType type;

    @Option(names = "--file", paramLabel = "NAME.gguf",
            description = "In a repository of GGUF files, the file to pull (when --type does not single one out).")
    String file;

    @Option(names = "--revision", paramLabel = "REV", defaultValue = "main", description = "Branch, tag or commit (default: ${DEFAULT-VALUE}).")
    String revision;

    @Option(names = "--endpoint", paramLabel = "URL", description = "Hub address (default: $CLEARCLIP_HF_ENDPOINT, "
            + "$HF_ENDPOINT or " + HubSettings.DEFAULT_ENDPOINT + ").")
    String endpoint;

    @Option(names = "--token", paramLabel = "TOKEN", description = "Hugging Face access token for gated or private "
            + "repositories (default: $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, then $HF_HOME/token, which `hf auth login` "
            + "writes). Never printed.")
    String token;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "Tokenizer when the repository has none (see convert).")
    Path tokenizer;

    @Option(names = "--no-default", description = "Do not make the pulled model the default.")
    boolean noDefault;

    @Option(names = "--keep-download", description = "Keep the downloaded checkpoint after converting it.")
    boolean keepDownload;

    static final String OPEN_CLIP_BIN = "open_clip_pytorch_model.bin";
    /** The weights of a transformers repository, in the order they are preferred (safetensors first). */
    static final List<String> HF_WEIGHTS = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json");
    static final List<String> OPEN_CLIP_WEIGHTS = List.of("open_clip_model.safetensors", OPEN_CLIP_BIN);
    private static final String COMMIT_MARK = ".commit";

    /** Where the cache lives; tests point it elsewhere. */
    ModelStore store = ModelStore.standard();

    @Override
    public Integer call() throws IOException {
        if (!repo.matches("[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")) {
            throw new UsageException("'" + repo + "' is not a Hugging Face repository id (like openai/clip-vit-base-patch16)");
        }
        Optional<GgmlType> requested = Optional.ofNullable(type);
        if (file != null && (!file.endsWith(".gguf") || file.startsWith("/") || file.contains(".."))) {
            throw new UsageException("--file: '" + file + "' is not the name of a .gguf file in the repository");
        }
        if (revision.isBlank()) {
            throw new UsageException("--revision: empty");
        }
        Function<String, String> env = environment;
        HubSettings settings = HubSettings.resolve(endpoint, token, env);
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        String slug = repo.replace("/", "--");
        String revSlug = revision.equals("main") ? "" : "@" + revision.replaceAll("[^A-Za-z0-9._-]", "_");
        Path downloadDir = store.downloads().resolve(slug + revSlug);
        GgmlType t = requested.orElse(GgmlType.F32);
        Path target = store.dir().resolve(slug + revSlug + "-" + t + ".gguf");

        if (file == null && Files.isRegularFile(target)) {
            err.println(target + " is already there" + (settings.offline() ? " (HF_HUB_OFFLINE=1: the hub was not asked)" : ""));
        } else {
            Path source;
            boolean downloaded;
            Optional<Path> gguf;
            if (settings.offline()) {
                source = HubCache.snapshot(env, repo, revision).orElseThrow(() -> new IOException(
                        "HF_HUB_OFFLINE=1: " + repo + " (" + revision + ") is neither in " + store.dir() + " nor in the "
                                + "Hugging Face cache (" + HubCache.root(env) + "); unset HF_HUB_OFFLINE to download it"));
                err.println("HF_HUB_OFFLINE=1: converting the Hugging Face cache's copy " + source + " (the hub is not asked)");
                downloaded = false;
                gguf = cachedGguf(source, requested);
            } else {
                err.println("pulling " + repo + " (" + revision + ") from " + settings.endpoint());
                try (HubDownloader hub = new HubDownloader(settings, repo, revision, err, sslContext)) {
                    gguf = fetchCheckpoint(hub, downloadDir, requested);
                }
                source = downloadDir;
                downloaded = true;
            }
            ClipConverter converter;
            if (gguf.isPresent()) {
                // a GGUF keeps its own type unless --type asked for another
                converter = ClipConverter.fromGguf(gguf.get()).name(repo);
                if (requested.isPresent()) {
                    converter = converter.outputType(requested.get());
                }
                t = converter.outputType();
                target = store.dir().resolve(slug + revSlug + "-" + t + ".gguf");
            } else {
                converter = ClipConverter.detect(source).outputType(t).name(repo);
            }
            if (tokenizer != null) {
                converter = converter.tokenizer(tokenizer);
            }
            Files.createDirectories(store.dir());
            converter.write(target, ConversionProgress.listener(err, "converting", main.verbose()));
            if (downloaded && !keepDownload) {
                FileSupport.deleteTree(downloadDir);
            }
        }
        if (!noDefault) {
            store.setDefault(target);
        }
        out.println("model " + target + (noDefault ? "" : " (now the default model)"));
        return Main.EXIT_OK;
    }

    /** In a cached snapshot: the GGUF to convert when the snapshot is a repository of GGUF files. */
    private Optional<Path> cachedGguf(Path snapshot, Optional<GgmlType> requested) throws IOException {
        if (file != null) {
            Path f = snapshot.resolve(file);
            if (!Files.isRegularFile(f)) {
                throw new IOException("HF_HUB_OFFLINE=1: " + file + " is not in the cached " + snapshot);
            }
            return Optional.of(f);
        }
        if (Files.isRegularFile(snapshot.resolve("config.json")) || Files.isRegularFile(snapshot.resolve("open_clip_config.json"))) {
            return Optional.empty();
        }
        List<String> ggufs;
        try (Stream<Path> files = Files.walk(snapshot)) {
            ggufs = files.filter(f -> f.getFileName().toString().endsWith(".gguf"))
                    .map(f -> snapshot.relativize(f).toString()).sorted().toList();
        }
        return ggufs.isEmpty() ? Optional.empty() : Optional.of(snapshot.resolve(GgufChoice.pick(repo, ggufs, requested)));
    }

    /**
     * Downloads a transformers layout if the repository has one, else an open_clip one, else one of
     * its GGUF files (returned). Uses the hub's file list when the address has the model API, else
     * asks for the files one by one.
     */
    private Optional<Path> fetchCheckpoint(HubDownloader hub, Path dir, Optional<GgmlType> requested)
            throws IOException {
        Optional<HubDownloader.RepoInfo> info = hub.repoInfo();
        if (info.isEmpty()) {
            return probeCheckpoint(hub, dir, requested);
        }
        keepOnlyFilesOf(dir, info.get().commit());
        Set<String> files = new HashSet<>(info.get().files());
        String at = " at revision " + revision + (info.get().commit() == null ? "" : " (commit " + info.get().commit() + ")");
        if (file != null) {
            if (!files.contains(file)) {
                throw new IOException(repo + ": has no file " + file + at + "; its .gguf files: "
                        + info.get().files().stream().filter(f -> f.endsWith(".gguf")).toList());
            }
            return Optional.of(fetchGguf(hub, dir, file));
        }
        Optional<String> hfWeights = HF_WEIGHTS.stream().filter(files::contains).findFirst();
        if (files.contains("config.json") && hfWeights.isPresent()) {
            hub.download("config.json", dir.resolve("config.json"), false);
            for (String optional : List.of("preprocessor_config.json", "vocab.json", "merges.txt")) {
                if (files.contains(optional)) {
                    hub.download(optional, dir.resolve(optional), false);
                }
            }
            fetchWeights(hub, dir, hfWeights.get());
            return Optional.empty();
        }
        Optional<String> openClipWeights = OPEN_CLIP_WEIGHTS.stream().filter(files::contains).findFirst();
        if (files.contains("open_clip_config.json") && openClipWeights.isPresent()) {
            for (String name : List.of("open_clip_config.json", openClipWeights.get())) {
                hub.download(name, dir.resolve(name), false);
            }
            for (String optional : List.of("vocab.json", "merges.txt")) {
                if (files.contains(optional)) {
                    hub.download(optional, dir.resolve(optional), false);
                }
            }
            return Optional.empty();
        }
        List<String> ggufs = info.get().files().stream().filter(f -> f.endsWith(".gguf")).toList();
        if (!ggufs.isEmpty()) {
            return Optional.of(fetchGguf(hub, dir, GgufChoice.pick(repo, ggufs, requested)));
        }
        throw new IOException(repo + ": nothing the converter reads" + at + ": it has " + (files.contains("config.json")
                ? "config.json but none of " + String.join(", ", HF_WEIGHTS) + " (other weight formats, such as "
                + "tf_model.h5 or flax_model.msgpack, are not read)"
                : files.contains("open_clip_config.json")
                ? "open_clip_config.json but neither " + String.join(" nor ", OPEN_CLIP_WEIGHTS)
                : "neither config.json (transformers) nor open_clip_config.json (open_clip) nor .gguf files"));
    }

    /** The weights file, and the shards an index lists. */
    private void fetchWeights(HubDownloader hub, Path dir, String weights) throws IOException {
        hub.download(weights, dir.resolve(weights), false);
        if (weights.endsWith(".index.json")) {
            for (String shard : shards(dir.resolve(weights))) {
                hub.download(shard, dir.resolve(shard), false);
            }
        }
    }

    /**
     * Files left in the download folder by an interrupted pull are kept (and resumed) only when they
     * are of the same commit; otherwise a push in between would mix two commits.
     */
    private static void keepOnlyFilesOf(Path dir, String commit) throws IOException {
        if (commit == null) {
            return;
        }
        Path mark = dir.resolve(COMMIT_MARK);
        if (Files.isDirectory(dir) && !(Files.isRegularFile(mark) && Files.readString(mark).strip().equals(commit))) {
            FileSupport.deleteTree(dir);
        }
        Files.createDirectories(dir);
        Files.writeString(mark, commit + "\n");
    }

    /** For an address without the hub's model API (a plain mirror): asks for the known files one by one. */
    private Optional<Path> probeCheckpoint(HubDownloader hub, Path dir, Optional<GgmlType> requested)
            throws IOException {
        if (file != null) {
            return Optional.of(fetchGguf(hub, dir, file));
        }
        if (hub.download("config.json", dir.resolve("config.json"), true)) {
            for (String optional : List.of("preprocessor_config.json", "vocab.json", "merges.txt")) {
                hub.download(optional, dir.resolve(optional), true);
            }
            for (String weights : HF_WEIGHTS) {
                if (hub.download(weights, dir.resolve(weights), true)) {
                    if (weights.endsWith(".index.json")) {
                        for (String shard : shards(dir.resolve(weights))) {
                            hub.download(shard, dir.resolve(shard), false);
                        }
                    }
                    return Optional.empty();
                }
            }
            if (!hub.download("open_clip_config.json", dir.resolve("open_clip_config.json"), true)) {
                throw new IOException(repo + ": has config.json but none of " + String.join(", ", HF_WEIGHTS)
                        + " at revision " + revision);
            }
            fetchOpenClipWeights(hub, dir);
            return Optional.empty();
        }
        if (hub.download("open_clip_config.json", dir.resolve("open_clip_config.json"), true)) {
            fetchOpenClipWeights(hub, dir);
            hub.download("vocab.json", dir.resolve("vocab.json"), true);
            hub.download("merges.txt", dir.resolve("merges.txt"), true);
            return Optional.empty();
        }
        throw new IOException(repo + ": not a CLIP checkpoint the converter knows: the repository has neither "
                + "config.json (transformers) nor open_clip_config.json (open_clip) at revision " + revision
                + ", and the hub address does not answer the hub's file list API (/api/models/...), which "
                + "finding .gguf files needs (name one with --file)");
    }

    /**
     * open_clip repositories hold {@code open_clip_model.safetensors}, or only the pickled
     * {@code open_clip_pytorch_model.bin} (older uploads), which the converter reads too.
     */
    private void fetchOpenClipWeights(HubDownloader hub, Path dir) throws IOException {
        for (String weights : OPEN_CLIP_WEIGHTS) {
            if (hub.download(weights, dir.resolve(weights), true)) {
                return;
            }
        }
        throw new IOException(repo + ": has open_clip_config.json but neither open_clip_model.safetensors nor "
                + OPEN_CLIP_BIN + " at revision " + revision);
    }

    private Path fetchGguf(HubDownloader hub, Path dir, String name) throws IOException {
        Path dest = dir.resolve(name);
        hub.download(name, dest, false);
        return dest;
    }

    private static List<String> shards(Path index) throws IOException {
        JsonNode map = Json.MAPPER.readTree(index.toFile()).path("weight_map");
        Set<String> files = new LinkedHashSet<>();
        for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
            String f = it.next().asText();
            if (f.isEmpty() || f.contains("..") || f.contains("/") || f.contains("\\")) {
                throw new IOException(index + ": suspicious shard name " + f);
            }
            files.add(f);
        }
        if (files.isEmpty()) {
            throw new IOException(index + ": weight_map lists no files");
        }
        return new ArrayList<>(files);
    }
}
