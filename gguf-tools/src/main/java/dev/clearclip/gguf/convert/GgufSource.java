package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.ClipNames;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.quantize.TensorClass;
import dev.clearclip.gguf.tokenizer.ClipVocabulary;
import dev.clearclip.gguf.tokenizer.MergeRebuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A CLIP GGUF file as a conversion source: our own layout, or the one monatis/clip.cpp's converter
 * writes (the CLIP GGUFs published on the Hugging Face hub). The tensors are the truth: the
 * hyper-parameters that shapes determine are taken from the shapes, and a key that disagrees is
 * reported as a {@linkplain #notes() note} (clip.cpp writes {@code clip.*.projection_dim} = 512
 * whatever the projection is). Its other differences are mended: fc1 stored as {@code ffn_down}
 * and fc2 as {@code ffn_up} (told apart by shape, as the engine does; equal sizes are read in our
 * convention), every 2-D weight quantized in its quantized files (position embeddings are written
 * back in f32), a {@code general.file_type} holding a ggml type id, and no BPE merges (rebuilt from
 * the ordered vocabulary, {@link MergeRebuilder}). LLaVA projector files are refused with the
 * reason.
 */
final class GgufSource implements CheckpointSource {
    private static final String GELU_KEY = ClipNames.USE_GELU;

    private final Path path;
    private final GgufFile gguf;
    private final GgufMetadata kv;
    private final List<PlannedTensor> plan = new ArrayList<>();
    private final Set<String> used = new HashSet<>();
    private final List<String> notes = new ArrayList<>();
    private final ClipParameters parameters;
    private final Optional<ClipVocabulary> vocabulary;
    private final String vocabularySearch;

    private GgufSource(Path path, GgufFile gguf, Towers towers, Optional<Path> tokenizer) {
        this.path = path;
        this.gguf = gguf;
        this.kv = gguf.metadata();
        String architecture = kv.contains(ClipNames.ARCHITECTURE) ? kv.getString(ClipNames.ARCHITECTURE) : "";
        if (!architecture.equals(ClipNames.ARCHITECTURE_CLIP)) {
            throw new ConversionException(path + ": general.architecture is '" + architecture
                    + "', so this is not a CLIP model file");
        }
        rejectLlavaProjector();
        boolean hasText = has("t.token_embd.weight");
        boolean hasVision = has("v.patch_embd.weight");
        if (towers.text() && !hasText && (towers == Towers.TEXT_ONLY || !hasVision)) {
            throw new ConversionException(path + ": has no text tower (no tensor t.token_embd.weight)");
        }
        if (towers.vision() && !hasVision && (towers == Towers.VISION_ONLY || !hasText)) {
            throw new ConversionException(path + ": has no vision tower (no tensor v.patch_embd.weight)");
        }
        boolean text = towers.text() && hasText;
        boolean vision = towers.vision() && hasVision;
        Optional<TextParameters> textParameters = text ? Optional.of(planText()) : Optional.empty();
        Optional<VisionParameters> visionParameters = vision ? Optional.of(planVision()) : Optional.empty();
        boolean gelu = kv.contains(GELU_KEY) && kv.getBoolean(GELU_KEY);
        if (!kv.contains(GELU_KEY)) {
            notes.add(GELU_KEY + " is missing; using quick_gelu, CLIP's original activation");
        }
        Optional<Float> logitScale = kv.contains(ClipNames.LOGIT_SCALE)
                ? Optional.of(kv.getFloat(ClipNames.LOGIT_SCALE)) : Optional.empty();
        try {
            this.parameters = new ClipParameters(textParameters, visionParameters, gelu, logitScale);
        } catch (IllegalArgumentException e) {
            throw new ConversionException(path + ": " + e.getMessage());
        }
        rejectUnknownTensors(text, vision);

        if (tokenizer.isPresent()) {
            this.vocabulary = text ? Optional.of(ClipVocabulary.load(tokenizer.get())) : Optional.empty();
            this.vocabularySearch = tokenizer.get().toString();
        } else {
            this.vocabulary = text ? readVocabulary() : Optional.empty();
            this.vocabularySearch = path + " (" + ClipNames.TOKENIZER_TOKENS + ")";
        }
    }

    /** True if {@code path} is a regular file starting with the GGUF magic. */
    static boolean looksLike(Path path) {
        if (!Files.isRegularFile(path)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return Arrays.equals(magic, new byte[] {'G', 'G', 'U', 'F'});
        } catch (IOException e) {
            return false;
        }
    }

    static GgufSource open(Path path, Towers towers, Optional<Path> tokenizer) {
        GgufFile gguf = GgufFile.open(path);
        try {
            return new GgufSource(path, gguf, towers, tokenizer);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    /**
     * The type a conversion keeps by default: that of the first block's attention matrix (the
     * bulk of the file), when it is a type we write; else f32.
     */
    static GgmlType mainType(Path path) {
        try (GgufFile gguf = GgufFile.open(path)) {
            for (String name : List.of("v.blk.0.attn_q.weight", "t.blk.0.attn_q.weight")) {
                Optional<GgufTensorInfo> info = gguf.findTensor(name);
                if (info.isPresent()) {
                    return info.get().type().isOutputType() ? info.get().type() : GgmlType.F32;
                }
            }
            return GgmlType.F32;
        }
    }

    /** What was mended, for a person to read (metadata overruled by shapes, merges rebuilt). */
    @Override
    public List<String> notes() {
        return List.copyOf(notes);
    }

    private void rejectLlavaProjector() {
        List<String> signs = new ArrayList<>();
        if (kv.contains("clip.has_llava_projector")) {
            signs.add("it sets clip.has_llava_projector");
        }
        if (kv.contains("clip.projector_type")) {
            signs.add("it has clip.projector_type");
        }
        if (gguf.tensors().stream().anyMatch(t -> t.name().startsWith("mm."))) {
            signs.add("it has mm.* projector tensors");
        }
        if (signs.isEmpty()) {
            return;
        }
        List<String> missing = new ArrayList<>();
        if (!has("v.post_ln.weight")) {
            missing.add("v.post_ln");
        }
        if (!has("visual_projection.weight")) {
            missing.add("visual_projection");
        }
        if (!has("t.token_embd.weight")) {
            missing.add("text tower");
        }
        throw new ConversionException(path + ": this is a LLaVA projector (mmproj) file (" + String.join(", ", signs)
                + "), made to feed a language model, not a CLIP model"
                + (missing.isEmpty() ? "" : ": it has no " + String.join(", no ", missing))
                + ". ClearCLIP needs CLIP's whole vision tower with its projection into the text embedding space, and "
                + "the text tower for class names; convert the original CLIP checkpoint the projector was made from "
                + "instead (e.g. openai/clip-vit-large-patch14-336)");
    }

    private TextParameters planText() {
        long[] token = ne("t.token_embd.weight", 2);
        int width = (int) token[0];
        int vocab = (int) token[1];
        int context = (int) ne("t.position_embd.weight", 2)[1];
        int blocks = countBlocks("t.blk.");
        int ffn = feedForward("t", width);
        int projection = projection("text_projection.weight", width);
        trustShape(ClipNames.embeddingLength(true), width);
        trustShape(ClipNames.TEXT_CONTEXT_LENGTH, context);
        trustShape(ClipNames.blockCount(true), blocks);
        trustShape(ClipNames.feedForwardLength(true), ffn);
        trustShape(ClipNames.projectionDim(true), projection);
        TowerParameters tower = tower("text", width, ffn, blocks, projection);

        add("t.token_embd.weight", width, vocab);
        add("t.position_embd.weight", width, context);
        for (int i = 0; i < blocks; i++) {
            addBlock("t.blk." + i + ".", width, ffn);
        }
        add("t.post_ln.weight", width);
        add("t.post_ln.bias", width);
        add("text_projection.weight", width, projection);
        return new TextParameters(tower, context, vocab);
    }

    private VisionParameters planVision() {
        int width = (int) ne("v.class_embd", 1)[0];
        long[] patch = ne("v.patch_embd.weight", 4);
        int patchSize = (int) patch[0];
        int positions = (int) ne("v.position_embd.weight", 2)[1];
        int grid = (int) Math.round(Math.sqrt(positions - 1));
        if (grid * grid + 1 != positions) {
            throw new ConversionException(path + ": " + positions
                    + " vision position embeddings are not a square grid plus the class token");
        }
        int imageSize = grid * patchSize;
        int blocks = countBlocks("v.blk.");
        int ffn = feedForward("v", width);
        int projection = projection("visual_projection.weight", width);
        trustShape(ClipNames.embeddingLength(false), width);
        trustShape(ClipNames.VISION_PATCH_SIZE, patchSize);
        trustShape(ClipNames.VISION_IMAGE_SIZE, imageSize);
        trustShape(ClipNames.blockCount(false), blocks);
        trustShape(ClipNames.feedForwardLength(false), ffn);
        trustShape(ClipNames.projectionDim(false), projection);
        TowerParameters tower = tower("vision", width, ffn, blocks, projection);
        float[] mean = rgb(ClipNames.VISION_IMAGE_MEAN, VisionParameters.OPENAI_MEAN);
        float[] std = rgb(ClipNames.VISION_IMAGE_STD, VisionParameters.OPENAI_STD);

        add("v.class_embd", width);
        add("v.patch_embd.weight", patchSize, patchSize, 3, width);
        add("v.position_embd.weight", width, positions);
        add("v.pre_ln.weight", width);
        add("v.pre_ln.bias", width);
        for (int i = 0; i < blocks; i++) {
            addBlock("v.blk." + i + ".", width, ffn);
        }
        add("v.post_ln.weight", width);
        add("v.post_ln.bias", width);
        add("visual_projection.weight", width, projection);
        try {
            return new VisionParameters(tower, imageSize, patchSize, mean, std);
        } catch (IllegalArgumentException e) {
            throw new ConversionException(path + ": bad vision tower: " + e.getMessage());
        }
    }

    private TowerParameters tower(String which, int width, int ffn, int blocks, int projection) {
        String headsKey = ClipNames.headCount(which.equals("text"));
        String epsKey = ClipNames.layerNormEpsilon(which.equals("text"));
        if (!kv.contains(headsKey)) {
            throw new ConversionException(path + ": " + headsKey + " is missing; the number of attention heads "
                    + "cannot be read from the tensors");
        }
        int heads = kv.getInt(headsKey);
        float eps = kv.contains(epsKey) ? kv.getFloat(epsKey) : 1e-5f;
        try {
            return new TowerParameters(width, ffn, blocks, heads, eps, projection);
        } catch (IllegalArgumentException e) {
            throw new ConversionException(path + ": bad " + which + " tower: " + e.getMessage());
        }
    }

    /**
     * fc1's output size. Our files store fc1 (W -> F, ggml {@code [W, F]}) as {@code ffn_up};
     * clip.cpp stores it as {@code ffn_down}. With W == F the two cannot be told apart and ours is
     * assumed, as in the engine.
     */
    private int feedForward(String prefix, int width) {
        long[] up = ne(prefix + ".blk.0.ffn_up.weight", 2);
        long[] down = ne(prefix + ".blk.0.ffn_down.weight", 2);
        if (up[0] == width && down[1] == width && up[1] == down[0]) {
            return (int) up[1];
        }
        if (down[0] == width && up[1] == width && down[1] == up[0]) {
            return (int) down[1];
        }
        throw new ConversionException(path + ": " + prefix + ".blk.0.ffn_up.weight " + Arrays.toString(up)
                + " and ffn_down.weight " + Arrays.toString(down) + " are not an MLP of width " + width);
    }

    private boolean ffnSwapped(String block, int width, int ffn) {
        return width != ffn && ne(block + "ffn_up.weight", 2)[0] == ffn;
    }

    private int projection(String name, int width) {
        long[] shape = ne(name, 2);
        if (shape[0] != width) {
            throw new ConversionException(path + ": " + name + " has shape " + Arrays.toString(shape)
                    + ", expected [" + width + ", P] for a tower of width " + width);
        }
        return (int) shape[1];
    }

    /** Notes a key that disagrees with the tensors; the tensors win. */
    private void trustShape(String key, long fromTensors) {
        if (!kv.contains(key)) {
            return;
        }
        long value;
        try {
            value = kv.getLong(key);
        } catch (RuntimeException e) {
            notes.add(key + " is not an integer; using " + fromTensors + " from the tensor shapes");
            return;
        }
        if (value != fromTensors) {
            notes.add(key + " says " + value + " but the tensor shapes say " + fromTensors + "; using "
                    + fromTensors + " (monatis/clip.cpp's converter writes projection_dim 512 whatever the model's is)");
        }
    }

    private float[] rgb(String key, float[] fallback) {
        if (!kv.contains(key)) {
            return fallback.clone();
        }
        float[] values = kv.getFloatArray(key);
        if (values.length != 3) {
            throw new ConversionException(path + ": " + key + " has " + values.length + " values, expected 3 (RGB)");
        }
        return values;
    }

    private void addBlock(String block, int width, int ffn) {
        for (String p : new String[] {"q", "k", "v", "out"}) {
            add(block + "attn_" + p + ".weight", width, width);
            add(block + "attn_" + p + ".bias", width);
        }
        add(block + "ln1.weight", width);
        add(block + "ln1.bias", width);
        boolean swapped = ffnSwapped(block, width, ffn);
        addAs(block + "ffn_up.weight", block + (swapped ? "ffn_down" : "ffn_up") + ".weight", width, ffn);
        addAs(block + "ffn_up.bias", block + (swapped ? "ffn_down" : "ffn_up") + ".bias", ffn);
        addAs(block + "ffn_down.weight", block + (swapped ? "ffn_up" : "ffn_down") + ".weight", ffn, width);
        addAs(block + "ffn_down.bias", block + (swapped ? "ffn_up" : "ffn_down") + ".bias", width);
        add(block + "ln2.weight", width);
        add(block + "ln2.bias", width);
    }

    private void add(String name, long... ne) {
        addAs(name, name, ne);
    }

    /** Plans tensor {@code name} (ggml shape {@code ne}) from the file's tensor {@code source}. */
    private void addAs(String name, String source, long... ne) {
        GgufTensorInfo info = gguf.findTensor(source).orElseThrow(
                () -> new ConversionException(path + ": missing tensor '" + source + "'"));
        if (!Arrays.equals(info.ne(), ne)) {
            throw new ConversionException(path + ": tensor '" + source + "' has shape " + Arrays.toString(info.ne())
                    + ", expected " + Arrays.toString(ne));
        }
        if (!info.type().isDecodable()) {
            throw new ConversionException(path + ": tensor '" + source + "' has type " + info.type()
                    + ", which the converter cannot read");
        }
        used.add(source);
        plan.add(new PlannedTensor(name, ne, TensorClass.of(name, ne), info.type().toString(), info.byteSize(),
                () -> gguf.readFloats(source)));
    }

    private long[] ne(String name, int dims) {
        GgufTensorInfo info = gguf.findTensor(name).orElseThrow(
                () -> new ConversionException(path + ": missing tensor '" + name + "'"));
        long[] ne = info.ne();
        if (ne.length != dims) {
            throw new ConversionException(path + ": tensor '" + name + "' has shape " + Arrays.toString(ne) + ", expected "
                    + dims + " dimensions");
        }
        return ne;
    }

    private boolean has(String name) {
        return gguf.findTensor(name).isPresent();
    }

    private int countBlocks(String prefix) {
        int n = 0;
        while (has(prefix + n + ".attn_q.weight")) {
            n++;
        }
        if (n == 0) {
            throw new ConversionException(path + ": the tower " + prefix + "* has no blocks");
        }
        return n;
    }

    private void rejectUnknownTensors(boolean text, boolean vision) {
        List<String> unknown = gguf.tensors().stream().map(GgufTensorInfo::name)
                .filter(name -> !used.contains(name))
                .filter(name -> text || !(name.startsWith("t.") || name.equals("text_projection.weight")))
                .filter(name -> vision || !(name.startsWith("v.") || name.equals("visual_projection.weight")))
                .toList();
        if (!unknown.isEmpty()) {
            throw new ConversionException(path + ": " + unknown.size() + " tensor(s) that a plain CLIP ViT does not have, "
                    + "so this architecture variant is not supported: "
                    + unknown.stream().limit(8).collect(Collectors.joining(", ")) + (unknown.size() > 8 ? ", ..." : ""));
        }
    }

    private Optional<ClipVocabulary> readVocabulary() {
        if (!kv.contains(ClipNames.TOKENIZER_TOKENS)) {
            return Optional.empty();
        }
        List<String> tokens = kv.getStringList(ClipNames.TOKENIZER_TOKENS);
        try {
            if (kv.contains(ClipNames.TOKENIZER_MERGES)) {
                return Optional.of(new ClipVocabulary(tokens, kv.getStringList(ClipNames.TOKENIZER_MERGES)));
            }
            ClipVocabulary rebuilt = ClipVocabulary.fromOrderedTokens(tokens);
            notes.add(ClipNames.TOKENIZER_MERGES + " is missing; rebuilt " + rebuilt.merges().size()
                    + " BPE merges from the order of " + ClipNames.TOKENIZER_TOKENS);
            return Optional.of(rebuilt);
        } catch (MergeRebuilder.NotOrderedException e) {
            throw new ConversionException(path + ": " + ClipNames.TOKENIZER_TOKENS + " comes without "
                    + ClipNames.TOKENIZER_MERGES + " and the merges cannot be rebuilt from it: " + e.getMessage()
                    + ". Give the tokenizer (--tokenizer: vocab.json + merges.txt, or bpe_simple_vocab_16e6.txt.gz)");
        } catch (IllegalArgumentException e) {
            throw new ConversionException(path + ": " + ClipNames.TOKENIZER_TOKENS + ": " + e.getMessage());
        }
    }

    @Override
    public String defaultName() {
        if (kv.contains(ClipNames.NAME)) {
            return kv.getString(ClipNames.NAME);
        }
        String file = path.getFileName().toString();
        return file.endsWith(".gguf") ? file.substring(0, file.length() - 5) : file;
    }

    @Override
    public ClipParameters parameters() {
        return parameters;
    }

    @Override
    public List<PlannedTensor> tensors() {
        return List.copyOf(plan);
    }

    @Override
    public Optional<ClipVocabulary> vocabulary() {
        return vocabulary;
    }

    @Override
    public String vocabularySearchDescription() {
        return vocabularySearch;
    }

    @Override
    public void close() {
        gguf.close();
    }
}
