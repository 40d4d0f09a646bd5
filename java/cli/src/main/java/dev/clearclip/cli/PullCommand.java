package dev.clearclip.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.FileSupport;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.convert.ClipConverter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
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
                "Reads transformers repositories (config.json + model.safetensors), open_clip ones "
                        + "(open_clip_config.json + open_clip_model.safetensors) and repositories of CLIP GGUF files "
                        + "(such as monatis/clip.cpp's): --type picks the file, and the choice is listed when "
                        + "several fit.",
                "Transfers resume where they stopped; large files are checked against the hub's SHA-256.",
                "The hub address can be changed with --endpoint or $CLEARCLIP_HF_ENDPOINT; $HF_TOKEN is sent "
                        + "for gated or private repositories."})
final class PullCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "HF_REPO_ID", description = "Repository, e.g. openai/clip-vit-base-patch16.")
    String repo;

    @Option(names = "--type", paramLabel = "T",
            description = "Type of the converted matrices: f32, f16, q8_0, q5_1, q5_0, q4_1, q4_0 (default: f32; "
                    + "for a repository of GGUF files, the GGUF of that type, else its only one).")
    String type;

    @Option(names = "--file", paramLabel = "NAME.gguf",
            description = "In a repository of GGUF files, the file to pull (when --type does not single one out).")
    String file;

    @Option(names = "--revision", paramLabel = "REV", defaultValue = "main", description = "Branch, tag or commit (default: ${DEFAULT-VALUE}).")
    String revision;

    @Option(names = "--endpoint", paramLabel = "URL", description = "Hub address (default: $CLEARCLIP_HF_ENDPOINT or " + HubDownloader.DEFAULT_ENDPOINT + ").")
    String endpoint;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "Tokenizer when the repository has none (see convert).")
    Path tokenizer;

    @Option(names = "--no-default", description = "Do not make the pulled model the default.")
    boolean noDefault;

    @Option(names = "--keep-download", description = "Keep the downloaded checkpoint after converting it.")
    boolean keepDownload;

    static final String OPEN_CLIP_BIN = "open_clip_pytorch_model.bin";

    /** Where the cache lives; tests point it elsewhere. */
    ModelStore store = ModelStore.standard();

    @Override
    public Integer call() throws IOException {
        if (!repo.matches("[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")) {
            throw new UsageException("'" + repo + "' is not a Hugging Face repository id (like openai/clip-vit-base-patch16)");
        }
        Optional<GgmlType> requested = Optional.ofNullable(type).map(ConvertCommand::parseType);
        if (file != null && (!file.endsWith(".gguf") || file.startsWith("/") || file.contains(".."))) {
            throw new UsageException("--file: '" + file + "' is not the name of a .gguf file in the repository");
        }
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        String slug = repo.replace("/", "--");
        String revSlug = revision.equals("main") ? "" : "@" + revision.replaceAll("[^A-Za-z0-9._-]", "_");
        Path downloadDir = store.downloads().resolve(slug + revSlug);
        GgmlType t = requested.orElse(GgmlType.F32);
        Path target = store.dir().resolve(slug + revSlug + "-" + t + ".gguf");

        if (file == null && Files.isRegularFile(target)) {
            err.println(target + " is already there");
        } else {
            HubDownloader hub = new HubDownloader(HubDownloader.endpoint(endpoint),
                    Optional.ofNullable(System.getenv("HF_TOKEN")).filter(s -> !s.isBlank()), err);
            err.println("pulling " + repo + " (" + revision + ") from " + HubDownloader.endpoint(endpoint));
            Optional<Path> gguf = fetchCheckpoint(hub, downloadDir, requested);
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
                converter = ClipConverter.detect(downloadDir).outputType(t).name(repo);
            }
            if (tokenizer != null) {
                converter = converter.tokenizer(tokenizer);
            }
            Files.createDirectories(store.dir());
            converter.write(target, ConvertCommand.listener(err, "converting", main.verbose));
            if (!keepDownload) {
                FileSupport.deleteTree(downloadDir);
            }
        }
        if (!noDefault) {
            store.setDefault(target);
        }
        out.println("model " + target + (noDefault ? "" : " (now the default model)"));
        return Main.EXIT_OK;
    }

    /**
     * Downloads a transformers layout if the repository has one, else an open_clip one, else one of
     * its GGUF files (returned).
     */
    private Optional<Path> fetchCheckpoint(HubDownloader hub, Path dir, Optional<GgmlType> requested)
            throws IOException {
        if (file != null) {
            return Optional.of(fetchGguf(hub, dir, file));
        }
        if (hub.download(repo, revision, "config.json", dir.resolve("config.json"), true)) {
            hub.download(repo, revision, "vocab.json", dir.resolve("vocab.json"), true);
            hub.download(repo, revision, "merges.txt", dir.resolve("merges.txt"), true);
            if (hub.download(repo, revision, "model.safetensors", dir.resolve("model.safetensors"), true)) {
                return Optional.empty();
            }
            Path index = dir.resolve("model.safetensors.index.json");
            if (hub.download(repo, revision, index.getFileName().toString(), index, true)) {
                for (String shard : shards(index)) {
                    hub.download(repo, revision, shard, dir.resolve(shard), false);
                }
                return Optional.empty();
            }
            throw new IOException(repo + ": has config.json but no model.safetensors (PyTorch .bin checkpoints "
                    + "are not supported; pick a repository or revision with safetensors weights)");
        }
        if (hub.download(repo, revision, "open_clip_config.json", dir.resolve("open_clip_config.json"), true)) {
            fetchOpenClipWeights(hub, dir);
            hub.download(repo, revision, "vocab.json", dir.resolve("vocab.json"), true);
            hub.download(repo, revision, "merges.txt", dir.resolve("merges.txt"), true);
            return Optional.empty();
        }
        List<String> files;
        try {
            files = hub.listFiles(repo, revision);
        } catch (IOException e) {
            throw new IOException(repo + ": not a CLIP checkpoint the converter knows: the repository has neither "
                    + "config.json (transformers) nor open_clip_config.json (open_clip) at revision " + revision
                    + ", and listing its files for .gguf files failed: " + e.getMessage(), e);
        }
        List<String> ggufs = files.stream().filter(f -> f.endsWith(".gguf")).toList();
        if (ggufs.isEmpty()) {
            throw new IOException(repo + ": not a CLIP checkpoint the converter knows: the repository has neither "
                    + "config.json (transformers) nor open_clip_config.json (open_clip) nor .gguf files at revision "
                    + revision);
        }
        return Optional.of(fetchGguf(hub, dir, GgufChoice.pick(repo, ggufs, requested)));
    }

    /**
     * open_clip repositories hold {@code open_clip_model.safetensors}, or only the pickled
     * {@code open_clip_pytorch_model.bin} (older uploads), which the converter reads too.
     */
    private void fetchOpenClipWeights(HubDownloader hub, Path dir) throws IOException {
        if (hub.download(repo, revision, "open_clip_model.safetensors", dir.resolve("open_clip_model.safetensors"), true)) {
            return;
        }
        if (hub.download(repo, revision, OPEN_CLIP_BIN, dir.resolve(OPEN_CLIP_BIN), true)) {
            return;
        }
        throw new IOException(repo + ": has open_clip_config.json but neither open_clip_model.safetensors nor "
                + OPEN_CLIP_BIN + " at revision " + revision);
    }

    private Path fetchGguf(HubDownloader hub, Path dir, String name) throws IOException {
        Path dest = dir.resolve(name);
        hub.download(repo, revision, name, dest, false);
        return dest;
    }

    private static List<String> shards(Path index) throws IOException {
        JsonNode map = Json.MAPPER.readTree(index.toFile()).path("weight_map");
        Set<String> files = new LinkedHashSet<>();
        for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
            String f = it.next().asText();
            if (f.contains("..") || f.startsWith("/")) {
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
