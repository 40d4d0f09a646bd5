package dev.clearclip.cli.pull;

import static dev.clearclip.cli.pull.PullHubSupport.hfTiny;
import static dev.clearclip.cli.pull.PullHubSupport.pull;
import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Fixtures;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.testing.ClipCppGguf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pull} against {@link FakeHub}: the layouts real repositories have (openai/clip-vit-base-patch16's
 * {@code pytorch_model.bin} only, sharded pickles, both layouts), one commit for all files, stalled
 * transfers, encoded names, answers that are not the hub's, {@code HF_ENDPOINT} and {@code HF_HUB_OFFLINE}.
 */
@Timeout(120)
class PullHubTest {

    @TempDir
    Path tmp;
    FakeHub hub;
    Map<String, String> env;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        System.setProperty("clearclip.cache.dir", tmp.resolve("cache").toString());
        env = new LinkedHashMap<>(Map.of("HF_HOME", tmp.resolve("hf-home").toString()));
    }

    @AfterEach
    void stop() {
        hub.close();
        System.clearProperty("clearclip.cache.dir");
    }

    private Cli pullFrom(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--endpoint";
        all[args.length + 1] = hub.endpoint();
        return pull(env, all);
    }

    private static void assertSameTensors(Path actual, Path expected) {
        try (GgufFile a = GgufFile.open(actual); GgufFile b = GgufFile.open(expected)) {
            assertThat(a.tensors()).extracting(GgufTensorInfo::name)
                    .containsExactlyElementsOf(b.tensors().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo t : b.tensors()) {
                assertThat(a.readFloats(t.name())).as(t.name()).isEqualTo(b.readFloats(t.name()));
            }
        }
    }

    /**
     * Audit point 1 and 7 (preprocessor): a repository like openai/clip-vit-base-patch16 (config.json,
     * pytorch_model.bin from torch.save with position_ids buffers, vocab.json, merges.txt,
     * preprocessor_config.json, no model.safetensors) converts to the weights model.safetensors gives,
     * with the repository's image normalisation.
     */
    @Test
    void pytorchBinOnlyRepositoryConverts() throws IOException {
        hub.add("openai/clip-tiny", hfTiny("config.json", "merges.txt",
                "preprocessor_config.json=preprocessor-custom/preprocessor_config.json", "pytorch_model.bin", "vocab.json"));
        Cli pull = pullFrom("pull", "openai/clip-tiny");
        assertThat(pull.exit()).as(pull.err()).isZero();
        Path model = tmp.resolve("cache/models/openai--clip-tiny-f32.gguf");
        assertSameTensors(model, Fixtures.hfTinyGguf(tmp));
        try (GgufFile gguf = GgufFile.open(model)) {
            assertThat(gguf.metadata().getFloatArray("clip.vision.image_mean")).containsExactly(0.5f, 0.4f, 0.3f);
            assertThat(gguf.metadata().getFloatArray("clip.vision.image_std")).containsExactly(0.2f, 0.25f, 0.3f);
        }
        assertThat(pull.err()).contains("resizes the short side to 256 before a 224 crop");
        // only what the layout needs was fetched, safetensors were not asked for one by one
        assertThat(hub.requestsTo("hub")).extracting(FakeHub.Request::path).noneMatch(p -> p.contains("safetensors"));
        assertThat(tmp.resolve("cache/downloads/openai--clip-tiny")).doesNotExist();
    }

    @Test
    void shardedPytorchBinRepositoryConverts() {
        hub.add("org/sharded", hfTiny("config.json", "vocab.json", "merges.txt",
                "pytorch_model-00001-of-00002.bin=bin-sharded/pytorch_model-00001-of-00002.bin",
                "pytorch_model-00002-of-00002.bin=bin-sharded/pytorch_model-00002-of-00002.bin",
                "pytorch_model.bin.index.json=bin-sharded/pytorch_model.bin.index.json"));
        Cli pull = pullFrom("pull", "org/sharded", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertSameTensors(tmp.resolve("cache/models/org--sharded-f32.gguf"), Fixtures.hfTinyGguf(tmp));
    }

    /** safetensors are preferred: the pickle of a repository with both is never downloaded. */
    @Test
    void safetensorsArePreferredToPickles() {
        hub.add("org/both-weights", hfTiny("config.json", "model.safetensors", "pytorch_model.bin", "vocab.json", "merges.txt"));
        Cli pull = pullFrom("pull", "org/both-weights", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(hub.requests).extracting(FakeHub.Request::path).noneMatch(p -> p.endsWith("pytorch_model.bin"));
    }

    /** Audit point 7: a repository with both layouts but no model.safetensors uses its open_clip weights. */
    @Test
    void bothLayoutsWithoutTransformersWeightsUseOpenClip() {
        Path oc = dev.clearclip.gguf.testing.Fixtures.model("openclip-tiny");
        Map<String, byte[]> files = hfTiny("config.json", "vocab.json", "merges.txt");
        files.put("open_clip_config.json", PullHubSupport.bytes(oc.resolve("open_clip_config.json")));
        files.put("open_clip_model.safetensors", PullHubSupport.bytes(oc.resolve("open_clip_model.safetensors")));
        hub.add("org/two-layouts", files);
        Cli pull = pullFrom("pull", "org/two-layouts", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        try (GgufFile gguf = GgufFile.open(tmp.resolve("cache/models/org--two-layouts-f32.gguf"))) {
            assertThat(gguf.metadata().getBoolean("clip.use_gelu")).isTrue(); // openclip-tiny, not hf-tiny
        }
    }

    /** Audit point 7: config.json without weights the converter reads, but a GGUF beside it: the GGUF. */
    @Test
    void configWithoutWeightsButAGgufUsesTheGguf() throws IOException {
        Map<String, byte[]> files = hfTiny("config.json", "vocab.json", "merges.txt");
        files.put("tf_model.h5", new byte[] {0});
        files.put("tiny_ggml-model-f16.gguf", Files.readAllBytes(
                ClipCppGguf.write(Fixtures.hfTiny(), tmp.resolve("f16.gguf"), ClipCppGguf.Kind.F16)));
        hub.add("org/config-and-gguf", files);
        Cli pull = pullFrom("pull", "org/config-and-gguf", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(tmp.resolve("cache/models/org--config-and-gguf-f16.gguf")).isRegularFile();

        files.remove("tiny_ggml-model-f16.gguf");
        hub.add("org/config-only", files);
        Cli nothing = pullFrom("pull", "org/config-only", "--no-default");
        assertThat(nothing.exit()).isEqualTo(1);
        assertThat(nothing.err()).contains("org/config-only: nothing the converter reads at revision main",
                "has config.json but none of model.safetensors, model.safetensors.index.json, pytorch_model.bin",
                "tf_model.h5");
    }

    /**
     * Audit point 7 (X-Repo-Commit): a push between two files of a pull does not mix commits; every
     * file is asked for at the commit of the first answer.
     */
    @Test
    void filesComeFromTheCommitOfTheFirstAnswer() {
        FakeHub.Repo repo = hub.add("org/moving", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        String first = repo.main;
        hub.afterFirstResolve = h -> {
            Map<String, byte[]> broken = new LinkedHashMap<>(repo.files());
            broken.put("model.safetensors", new byte[] {1, 2, 3});
            repo.push(broken);
        };
        Cli pull = pullFrom("pull", "org/moving", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(repo.main).isNotEqualTo(first);
        assertThat(hub.requestsTo("hub")).extracting(FakeHub.Request::path)
                .filteredOn(p -> p.contains("/resolve/")).isNotEmpty()
                .allMatch(p -> p.startsWith("/org/moving/resolve/" + first + "/"));
    }

    /** Audit point 7: a download folder left from another commit is not resumed into this one. */
    @Test
    void leftoversOfAnotherCommitAreDropped() throws IOException {
        hub.add("org/tiny", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        Path dir = tmp.resolve("cache/downloads/org--tiny");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(".commit"), "0".repeat(40) + "\n");
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"stale\"}");
        Cli pull = pullFrom("pull", "org/tiny", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
    }

    /** Audit point 6: a transfer that stops sending is abandoned after the read timeout and resumed. */
    @Test
    void stalledTransferIsResumed() {
        hub.add("org/tiny", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        hub.stallFirstTransfer = true;
        env.put("HF_HUB_DOWNLOAD_TIMEOUT", "1");
        Cli pull = pullFrom("pull", "org/tiny", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(pull.err()).contains("no data from 127.0.0.1 for 1.0 s");
        List<FakeHub.Request> storage = hub.requestsTo("storage");
        assertThat(storage).hasSize(2);
        assertThat(storage.get(0).range()).isNull();
        assertThat(storage.get(1).range()).matches("bytes=[1-9]\\d*-");
    }

    /** Audit point 7: file names are percent-encoded per path segment, as huggingface_hub quotes them. */
    @Test
    void fileNamesArePercentEncoded() throws IOException {
        Path hf = Fixtures.hfTiny();
        byte[] gguf = Files.readAllBytes(ClipCppGguf.write(hf, tmp.resolve("f16.gguf"), ClipCppGguf.Kind.F16));
        hub.add("org/odd-names", new LinkedHashMap<>(Map.of("gguf files/tiny clip+é f16.gguf", gguf)));
        Cli pull = pullFrom("pull", "org/odd-names", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(hub.requestsTo("hub")).extracting(FakeHub.Request::path)
                .contains("/org/odd-names/resolve/" + hub.repos.get("org/odd-names").main
                        + "/gguf%20files/tiny%20clip%2B%C3%A9%20f16.gguf");
        assertThat(HubDownloader.encode("refs/pr/1", false)).isEqualTo("refs%2Fpr%2F1");
    }

    /** Audit point 7: a captive portal's page is not kept as config.json. */
    @Test
    void htmlAnswersAreNotKept() {
        hub.add("org/tiny", hfTiny("config.json", "model.safetensors"));
        hub.captivePortal = true;
        Cli pull = pullFrom("pull", "org/tiny");
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("org/tiny/config.json: the answer from", "is an HTML page, not the file");
        assertThat(tmp.resolve("cache/downloads/org--tiny/config.json")).doesNotExist();
        assertThat(tmp.resolve("cache/models/default")).doesNotExist();
    }

    /** Audit point 3: HF_ENDPOINT (huggingface_hub's variable) is the hub address when no option says otherwise. */
    @Test
    void hfEndpointIsUsed() {
        hub.add("org/tiny", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        env.put("HF_ENDPOINT", hub.endpoint() + "/");
        Cli pull = pull(env, "pull", "org/tiny", "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(pull.err()).contains("from " + hub.endpoint());
        Map<String, String> both = Map.of("HF_ENDPOINT", "http://hf-mirror.invalid", "CLEARCLIP_HF_ENDPOINT", "http://ours.invalid");
        assertThat(HubSettings.endpoint(null, both::get).toString()).isEqualTo("http://ours.invalid");
        assertThat(HubSettings.endpoint("http://option.invalid", both::get).toString()).isEqualTo("http://option.invalid");
        assertThat(HubSettings.endpoint(null, Map.<String, String>of()::get).toString()).isEqualTo("https://huggingface.co");
    }

    /** Audit point 7: HF_HUB_OFFLINE=1 asks nothing of the hub; it converts the Hugging Face cache's snapshot. */
    @Test
    void offlineUsesOnlyTheCache() throws IOException {
        hub.add("org/tiny", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        env.put("HF_HUB_OFFLINE", "1");
        Cli missing = pullFrom("pull", "org/tiny");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("HF_HUB_OFFLINE=1: org/tiny (main) is neither in", "unset HF_HUB_OFFLINE");

        // huggingface_hub's layout: refs/main holds the commit, snapshots/<commit>/ the files (links to blobs)
        String commit = "a".repeat(40);
        Path cached = tmp.resolve("hf-home/hub/models--org--tiny");
        Files.createDirectories(cached.resolve("refs"));
        Files.writeString(cached.resolve("refs/main"), commit);
        Path snapshot = Files.createDirectories(cached.resolve("snapshots").resolve(commit));
        for (String f : List.of("config.json", "model.safetensors", "vocab.json", "merges.txt")) {
            Files.createSymbolicLink(snapshot.resolve(f), Fixtures.hfTiny().resolve(f).toAbsolutePath());
        }
        Cli pull = pullFrom("pull", "org/tiny");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(pull.err()).contains("HF_HUB_OFFLINE=1: converting the Hugging Face cache's copy " + snapshot);
        assertThat(hub.requests).isEmpty();
        Cli again = pullFrom("pull", "org/tiny");
        assertThat(again.err()).contains("is already there (HF_HUB_OFFLINE=1: the hub was not asked)");
        assertThat(hub.requests).isEmpty();
    }
}
