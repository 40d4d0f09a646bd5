package dev.clearclip.gguf.testing;

import dev.clearclip.gguf.testing.GgufParts.Tensor;
import dev.clearclip.gguf.testing.GgufParts.Value;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;

/**
 * The bad-input corpus of issue #7, generated at test time from {@link TinyClip}: truncations at
 * every structural boundary, seeded random byte mutations, every metadata key the engine reads
 * given each wrong GGUF type, absurd counts and lengths, offsets past the end, overlapping,
 * misaligned and out-of-order tensor data, overflowing dimensions, duplicated names, another
 * architecture, a LLaVA projector file, and things that are not model files at all (an empty file,
 * a directory, a FIFO, {@code /dev/zero}). Each input says what a correct reader must do with it.
 * Shared by the gguf-tools, library and CLI tests so that all of them judge the same files.
 *
 * <p>Longer than our ~600-line guide on purpose: it is a catalogue of one short generator per rule
 * of the loader, and keeping the catalogue in one place is what lets a reader check it is complete.
 */
public final class BadGgufCorpus {
    /** What every correct reader does with an input. */
    public enum Expect {
        /** Not a well-formed GGUF file (or not a file): the Java GGUF reader and the engine both refuse it. */
        MALFORMED,
        /** Well-formed GGUF, but not a model the engine can run (wrong keys, types, shapes, architecture). */
        ENGINE_REJECTS,
        /** May load (e.g. a mutation inside tensor data, or a value of another integer type); must not crash. */
        EITHER,
        /** A valid model: must load and work. */
        VALID
    }

    /** One corpus input. */
    public record Input(String name, Path path, Expect expect) {
        @Override
        public String toString() {
            return name + " (" + expect + ")";
        }
    }

    /** Seed of the random mutations: fixed, so a failure names a file that can be made again. */
    public static final long SEED = 20261130L;
    public static final int RANDOM_MUTATIONS = 300;

    private final Path dir;
    private final List<Input> inputs = new ArrayList<>();

    private BadGgufCorpus(Path dir) {
        this.dir = dir;
    }

    /** What a test does with one corpus input. */
    @FunctionalInterface
    public interface InputCheck {
        void check(Input input) throws Exception;
    }

    /**
     * One dynamic test per input, each within {@code limit} (so a hang fails instead of stalling the
     * run); a failure names the input, since JUnit reports dynamic tests by index only.
     */
    public static Stream<DynamicTest> dynamicTests(List<Input> corpus, Duration limit, InputCheck check) {
        return corpus.stream().map(input -> DynamicTest.dynamicTest(input.toString(), () ->
                org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(limit, () -> {
                    try {
                        check.check(input);
                    } catch (AssertionError e) {
                        throw new AssertionError(input + ": " + e.getMessage(), e);
                    }
                })));
    }

    /** Writes the whole corpus into {@code dir} (which must exist) and lists it. */
    public static List<Input> write(Path dir) {
        BadGgufCorpus c = new BadGgufCorpus(dir);
        try {
            c.generate();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return List.copyOf(c.inputs);
    }

    private void generate() throws IOException {
        GgufParts model = TinyClip.model();
        GgufParts.Serialized good = model.bytes();
        add("valid", good.bytes(), Expect.VALID);
        add("valid-text-only", TinyClip.model(true, false).bytes().bytes(), Expect.VALID);
        add("valid-vision-only", TinyClip.model(false, true).bytes().bytes(), Expect.VALID);

        notFiles();
        truncations(good);
        randomMutations(good);
        wrongKeyTypes(model);
        headerFields(model, good);
        counts(model, good);
        tensorPlacement(model);
        shapes(model);
        names(model);
        semantics(model);
        otherModels(model);
    }

    // ---- not model files ---------------------------------------------------------------------

    private void notFiles() throws IOException {
        add("empty", new byte[0], Expect.MALFORMED);
        add("magic-only", "GGUF".getBytes(StandardCharsets.US_ASCII), Expect.MALFORMED);
        add("text-file", "this is not a model\n".getBytes(StandardCharsets.UTF_8), Expect.MALFORMED);
        Path directory = dir.resolve("directory.gguf");
        Files.createDirectories(directory);
        inputs.add(new Input("directory", directory, Expect.MALFORMED));
        Path fifo = dir.resolve("fifo.gguf");
        try {
            Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
            if (p.waitFor() != 0) {
                throw new IOException("mkfifo " + fifo + " failed: " + new String(p.getInputStream().readAllBytes()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while making " + fifo, e);
        }
        inputs.add(new Input("fifo", fifo, Expect.MALFORMED));
        Path zero = Path.of("/dev/zero");
        if (Files.exists(zero)) {
            inputs.add(new Input("dev-zero", zero, Expect.MALFORMED));
        }
        Path link = dir.resolve("link-to-dev-zero.gguf");
        if (Files.exists(zero)) {
            Files.createSymbolicLink(link, zero);
            inputs.add(new Input("link-to-dev-zero", link, Expect.MALFORMED));
        }
    }

    // ---- truncations -------------------------------------------------------------------------

    /** Cut at every structural boundary (and one byte either side of the first few), plus a byte short of the end. */
    private void truncations(GgufParts.Serialized good) {
        byte[] bytes = good.bytes();
        List<Integer> cuts = new ArrayList<>();
        for (int b : good.boundaries()) {
            cuts.add(b);
            if (b < 200) {
                cuts.add(b - 1);
                cuts.add(b + 1);
            }
        }
        cuts.add(bytes.length - 1);
        cuts.stream().filter(n -> n > 0 && n < bytes.length).distinct().sorted()
                .forEach(n -> add("truncated-at-" + n, Arrays.copyOf(bytes, n), Expect.MALFORMED));
    }

    // ---- random byte mutations ---------------------------------------------------------------

    /** Seeded mutations of 1 to 4 places each; two thirds land in the header, where they matter most. */
    private void randomMutations(GgufParts.Serialized good) {
        Random random = new Random(SEED);
        byte[] original = good.bytes();
        for (int i = 0; i < RANDOM_MUTATIONS; i++) {
            byte[] bytes = original.clone();
            int places = 1 + random.nextInt(4);
            for (int k = 0; k < places; k++) {
                int limit = random.nextInt(3) < 2 ? good.headerEnd() : bytes.length;
                int at = random.nextInt(limit);
                switch (random.nextInt(5)) {
                    case 0 -> bytes[at] = (byte) random.nextInt(256);
                    case 1 -> bytes[at] ^= (byte) (1 << random.nextInt(8));
                    case 2 -> bytes[at] = (byte) 0xFF;
                    case 3 -> bytes[at] = 0;
                    default -> {
                        // a whole little-endian word: hits counts, lengths and offsets as a unit
                        long word = random.nextBoolean() ? random.nextLong() : -1L;
                        for (int j = 0; j < 8 && at + j < bytes.length; j++) {
                            bytes[at + j] = (byte) (word >>> (8 * j));
                        }
                    }
                }
            }
            add(String.format("random-%03d", i), bytes, Expect.EITHER);
        }
    }

    // ---- every key the engine reads, given each wrong type ------------------------------------

    private enum Family { INT, BOOL, FLOAT, STRING, FLOAT3, STRINGS, IGNORED }

    private static final Map<String, Family> ENGINE_KEYS = keys();

    private static Map<String, Family> keys() {
        Map<String, Family> keys = new java.util.LinkedHashMap<>();
        keys.put("general.architecture", Family.STRING);
        keys.put("general.name", Family.IGNORED);
        keys.put("general.file_type", Family.INT);
        keys.put("clip.has_text_encoder", Family.BOOL);
        keys.put("clip.has_vision_encoder", Family.BOOL);
        keys.put("clip.use_gelu", Family.BOOL);
        for (String tower : List.of("text", "vision")) {
            for (String k : List.of("embedding_length", "feed_forward_length", "block_count", "projection_dim",
                    "attention.head_count")) {
                keys.put("clip." + tower + "." + k, Family.INT);
            }
            keys.put("clip." + tower + ".attention.layer_norm_epsilon", Family.FLOAT);
        }
        keys.put("clip.text.context_length", Family.INT);
        keys.put("clip.vision.image_size", Family.INT);
        keys.put("clip.vision.patch_size", Family.INT);
        keys.put("clip.vision.image_mean", Family.FLOAT3);
        keys.put("clip.vision.image_std", Family.FLOAT3);
        keys.put("tokenizer.ggml.tokens", Family.STRINGS);
        keys.put("tokenizer.ggml.merges", Family.STRINGS);
        keys.put("tokenizer.ggml.bos_token_id", Family.INT);
        keys.put("tokenizer.ggml.eos_token_id", Family.INT);
        return keys;
    }

    /** One value of every GGUF type, scalar and array, to put where another type belongs. */
    private static Map<String, Value> everyType() {
        Map<String, Value> values = new java.util.LinkedHashMap<>();
        values.put("u8", Value.u8(16));
        values.put("i8", Value.i8(16));
        values.put("u16", Value.u16(16));
        values.put("i16", Value.i16(16));
        values.put("u32", Value.u32(16));
        values.put("i32", Value.i32(16));
        values.put("u64", Value.u64(16));
        values.put("i64", Value.i64(16));
        values.put("f32", Value.f32(16f));
        values.put("f64", Value.f64(16.0));
        values.put("bool", Value.bool(true));
        values.put("string", Value.string("16"));
        values.put("u32-array", Value.array(GgufParts.U32, List.of(Value.u32(16), Value.u32(16), Value.u32(16))));
        values.put("f32-array", Value.floats(0.5f, 0.5f, 0.5f));
        values.put("f64-array", Value.array(GgufParts.F64, List.of(Value.f64(0.5), Value.f64(0.5), Value.f64(0.5))));
        values.put("f32-array-of-2", Value.floats(0.5f, 0.5f));
        values.put("string-array", Value.strings(List.of("a", "b", "c")));
        values.put("bool-array", Value.array(GgufParts.BOOL, List.of(Value.bool(true), Value.bool(true), Value.bool(true))));
        values.put("empty-array", Value.array(GgufParts.U32, List.of()));
        return values;
    }

    private static boolean acceptable(Family family, String type) {
        return switch (family) {
            case INT -> type.matches("[ui](8|16|32|64)");
            case BOOL -> type.equals("bool") || type.matches("[ui](8|16|32|64)");
            case FLOAT -> type.equals("f32") || type.equals("f64");
            case STRING -> type.equals("string");
            case FLOAT3 -> type.equals("f32-array") || type.equals("f64-array");
            case STRINGS -> type.equals("string-array");
            case IGNORED -> true;
        };
    }

    /** Optional keys (models/README.md): the tower flags are inferred from the tensors, the ids default to CLIP's. */
    private static Expect missingKey(String key) {
        return switch (key) {
            case "clip.has_text_encoder", "clip.has_vision_encoder", "general.file_type" -> Expect.VALID;
            // without ids the defaults 49406/49407 lie outside the tiny vocabulary
            case "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id" -> Expect.ENGINE_REJECTS;
            // no vocabulary: a model usable with token ids only
            case "tokenizer.ggml.tokens" -> Expect.EITHER;
            // TinyClip's vocabulary is in CLIP's order, so the engine rebuilds the merges from it
            // (monatis/clip.cpp's files have no merges)
            case "tokenizer.ggml.merges" -> Expect.VALID;
            default -> Expect.ENGINE_REJECTS;
        };
    }

    private void wrongKeyTypes(GgufParts model) {
        for (Map.Entry<String, Family> key : ENGINE_KEYS.entrySet()) {
            for (Map.Entry<String, Value> value : everyType().entrySet()) {
                Expect expect = acceptable(key.getValue(), value.getKey()) ? Expect.EITHER : Expect.ENGINE_REJECTS;
                add("key-" + key.getKey() + "-as-" + value.getKey(), model.copy().put(key.getKey(), value.getValue()), expect);
            }
            if (key.getValue() != Family.IGNORED) {
                add("key-" + key.getKey() + "-missing", model.copy().remove(key.getKey()), missingKey(key.getKey()));
            }
        }
        // the LLaVA flag is read too: any non-boolean value is refused, true means an mmproj file
        for (Map.Entry<String, Value> value : everyType().entrySet()) {
            add("key-clip.has_llava_projector-as-" + value.getKey(),
                    model.copy().put("clip.has_llava_projector", value.getValue()), Expect.ENGINE_REJECTS);
        }
        add("key-clip.has_llava_projector-false", model.copy().put("clip.has_llava_projector", Value.bool(false)),
                Expect.VALID);
    }

    // ---- header fields -----------------------------------------------------------------------

    private void headerFields(GgufParts model, GgufParts.Serialized good) {
        byte[] bytes = good.bytes();
        add("bad-magic", patch(bytes, 0, "GGML".getBytes(StandardCharsets.US_ASCII)), Expect.MALFORMED);
        add("png-magic", patch(bytes, 0, new byte[] {(byte) 0x89, 'P', 'N', 'G'}), Expect.MALFORMED);
        for (long version : new long[] {0, 1, 4, 0x0300_0000L, 0xFFFF_FFFFL}) {
            add("version-" + Long.toHexString(version), patch(bytes, 4, GgufParts.le(4, version)), Expect.MALFORMED);
        }
        GgufParts v2 = model.copy();
        v2.version = 2;
        add("version-2", v2, Expect.VALID);
        // alignment: ggml reads only a u32 power of two
        add("alignment-u32-32", model.copy().put("general.alignment", Value.u32(32)), Expect.VALID);
        GgufParts a64 = model.copy().put("general.alignment", Value.u32(64));
        a64.alignment = 64;
        add("alignment-64", a64.layOut(), Expect.VALID);
        add("alignment-64-data-at-32", model.copy().put("general.alignment", Value.u32(64)), Expect.MALFORMED);
        add("alignment-u64", model.copy().put("general.alignment", Value.u64(32)), Expect.MALFORMED);
        add("alignment-i32", model.copy().put("general.alignment", Value.i32(32)), Expect.MALFORMED);
        add("alignment-string", model.copy().put("general.alignment", Value.string("32")), Expect.MALFORMED);
        for (long a : new long[] {0, 3, 4, 48, 1L << 17, 1L << 31, 0xFFFF_FFFFL}) {
            add("alignment-" + a, model.copy().put("general.alignment", Value.u32(a)), Expect.MALFORMED);
        }
        // value encodings
        add("unknown-value-type", model.copy().put("general.name", new Value(13, new byte[8])), Expect.MALFORMED);
        add("unknown-value-type-huge", model.copy().put("general.name", new Value(-1, new byte[8])), Expect.MALFORMED);
        add("unknown-array-element-type", model.copy().put("general.name",
                new Value(GgufParts.ARRAY, GgufParts.concat(GgufParts.le(4, 13), GgufParts.le(8, 0)))), Expect.MALFORMED);
        add("nested-array", model.copy().put("general.name", Value.array(GgufParts.ARRAY,
                List.of(Value.array(GgufParts.U32, List.of(Value.u32(1)))))), Expect.MALFORMED);
        // the engine judges neither bool bytes nor string bytes (models/README.md), so these load
        add("bool-stored-as-2", model.copy().put("clip.use_gelu", new Value(GgufParts.BOOL, new byte[] {2})),
                Expect.VALID);
        add("invalid-utf8-value", model.copy().put("general.name", Value.rawString(new byte[] {'a', (byte) 0xC3, '('})),
                Expect.VALID);
        add("key-1025-bytes", model.copy().put("k".repeat(1025), Value.u32(1)), Expect.MALFORMED);
        add("key-1024-bytes", model.copy().put("k".repeat(1024), Value.u32(1)), Expect.VALID);
        add("key-with-nul", model.copy().put("general.x\0y", Value.u32(1)), Expect.MALFORMED);
        add("string-over-1MiB", model.copy().put("general.description", Value.string("x".repeat((1 << 20) + 1))),
                Expect.MALFORMED);
        add("array-over-2M-elements", model.copy().put("general.tags",
                new Value(GgufParts.ARRAY, GgufParts.concat(GgufParts.concat(GgufParts.le(4, GgufParts.U8),
                        GgufParts.le(8, 2_097_153)), new byte[2_097_153]))), Expect.MALFORMED);
        // well-formed, but the vocabulary then lacks the byte token it replaced
        add("invalid-utf8-token", model.copy().put("tokenizer.ggml.tokens", tokensWith(0, new byte[] {(byte) 0xFF})),
                Expect.ENGINE_REJECTS);
        add("empty-key", model.copy().put("", Value.u32(1)), Expect.MALFORMED);
        GgufParts dupKey = model.copy();
        dupKey.kvs.add(dupKey.kvs.get(1));
        add("duplicate-key", dupKey, Expect.MALFORMED);
    }

    private static Value tokensWith(int index, byte[] replacement) {
        List<String> vocab = TinyClip.vocabulary();
        List<Value> tokens = new ArrayList<>();
        for (int i = 0; i < vocab.size(); i++) {
            tokens.add(i == index ? Value.rawString(replacement) : Value.string(vocab.get(i)));
        }
        return Value.array(GgufParts.STRING, tokens);
    }

    // ---- absurd counts and lengths -----------------------------------------------------------

    private void counts(GgufParts model, GgufParts.Serialized good) {
        int tensors = model.tensors.size();
        int kvs = model.kvs.size();
        for (long n : new long[] {Long.MAX_VALUE, -1L, 1L << 40, 1L << 31, tensors + 1L}) {
            GgufParts g = model.copy();
            g.tensorCount = n;
            add("tensor-count-" + Long.toUnsignedString(n), g, Expect.MALFORMED);
        }
        GgufParts fewer = model.copy();
        fewer.tensorCount = tensors - 1L;
        add("tensor-count-one-short", fewer, Expect.ENGINE_REJECTS);
        for (long n : new long[] {Long.MAX_VALUE, -1L, 1L << 40, 1L << 31}) {
            GgufParts g = model.copy();
            g.kvCount = n;
            add("kv-count-" + Long.toUnsignedString(n), g, Expect.MALFORMED);
        }
        for (long n : new long[] {kvs + 1L, kvs - 1L, 0}) {
            GgufParts g = model.copy();
            g.kvCount = n;
            add("kv-count-" + n, g, Expect.EITHER);
        }
        byte[] bytes = good.bytes();
        // the first key's length, the first tensor name's length, the vocabulary's element count
        int firstKeyLength = 24;
        for (long n : new long[] {-1L, Long.MIN_VALUE, 1L << 40, 1L << 30, bytes.length}) {
            add("key-length-" + Long.toUnsignedString(n), patch(bytes, firstKeyLength, GgufParts.le(8, n)), Expect.MALFORMED);
        }
        for (long n : new long[] {-1L, 1L << 62, 1L << 40, (1L << 30) + 1, TinyClip.vocabulary().size() + 1L}) {
            GgufParts g = model.copy();
            Value tokens = g.kvs.get(indexOfKey(g, "tokenizer.ggml.tokens")).value();
            byte[] v = tokens.bytes().clone();
            System.arraycopy(GgufParts.le(8, n), 0, v, 4, 8);
            g.put("tokenizer.ggml.tokens", new Value(GgufParts.ARRAY, v));
            add("vocabulary-count-" + Long.toUnsignedString(n), g, Expect.MALFORMED);
        }
        for (long n : new long[] {-1L, 1L << 40, 1L << 20}) {
            byte[] name = "x".getBytes(StandardCharsets.UTF_8);
            GgufParts g = model.copy().put("general.name", new Value(GgufParts.STRING, GgufParts.concat(GgufParts.le(8, n), name)));
            add("string-length-" + Long.toUnsignedString(n), g, Expect.MALFORMED);
        }
        add("tensor-dims-5", model.copy().editTensor("v.class_embd", t -> t.withShape(TinyClip.WIDTH, 1, 1, 1, 1)),
                Expect.MALFORMED);
        for (long dims : new long[] {0xFFFF_FFFFL, 0x8000_0000L, 1L << 16}) {
            GgufParts g = model.copy();
            g.dimCountOverride.put("v.class_embd", dims);
            add("tensor-dims-" + dims, g, Expect.MALFORMED);
        }
    }

    private static int indexOfKey(GgufParts g, String key) {
        for (int i = 0; i < g.kvs.size(); i++) {
            if (g.kvs.get(i).key().equals(key)) {
                return i;
            }
        }
        throw new IllegalArgumentException(key);
    }

    // ---- where tensor data lies ----------------------------------------------------------------

    private void tensorPlacement(GgufParts model) {
        String last = model.tensors.getLast().name();
        long lastOffset = model.tensors.getLast().offset();
        for (long offset : new long[] {1L << 62, -32L, lastOffset + 1024 * 1024, lastOffset + 32 * 1024}) {
            add("offset-past-end-" + Long.toUnsignedString(offset), model.copy().editTensor(last, t -> t.withOffset(offset)),
                    Expect.MALFORMED);
        }
        String second = model.tensors.get(1).name();
        String first = model.tensors.get(0).name();
        add("overlapping-tensors", model.copy().editTensor(second, t -> t.withOffset(model.tensors.get(0).offset())),
                Expect.MALFORMED);
        add("overlapping-by-32", model.copy().editTensor(second, t -> t.withOffset(t.offset() - 32)), Expect.MALFORMED);
        add("misaligned-tensor", model.copy().editTensor(second, t -> t.withOffset(t.offset() + 4)), Expect.MALFORMED);
        add("misaligned-first-tensor", model.copy().editTensor(first, t -> t.withOffset(8)), Expect.MALFORMED);
        add("gap-before-tensor", model.copy().editTensor(last, t -> t.withOffset(t.offset() + 32)), Expect.MALFORMED);
        // two tensors of one size with their offsets swapped: in bounds, no overlap, but not in info order
        GgufParts swapped = model.copy();
        int a = swapped.tensorIndex("t.blk.0.ln1.weight");
        int b = swapped.tensorIndex("t.blk.0.ln1.bias");
        long offA = swapped.tensors.get(a).offset();
        swapped.tensors.set(a, swapped.tensors.get(a).withOffset(swapped.tensors.get(b).offset()));
        swapped.tensors.set(b, swapped.tensors.get(b).withOffset(offA));
        add("offsets-out-of-order", swapped, Expect.MALFORMED);
        // a tensor's type changed without its size: the data no longer fits the declared layout
        add("type-f16-size-of-f32", model.copy().editTensor("t.post_ln.weight",
                t -> new Tensor(t.name(), t.ne(), GgufParts.GGML_F16, t.offset(), t.data())), Expect.MALFORMED);
    }

    // ---- shapes and types --------------------------------------------------------------------

    private void shapes(GgufParts model) {
        String name = "t.token_embd.weight";
        add("dims-overflow-2^32x2^32", model.copy().editTensor(name, t -> t.withShape(1L << 32, 1L << 32)), Expect.MALFORMED);
        add("dims-overflow-2^62x4", model.copy().editTensor(name, t -> t.withShape(1L << 62, 4)), Expect.MALFORMED);
        add("dims-negative", model.copy().editTensor(name, t -> t.withShape(-1L, 4)), Expect.MALFORMED);
        add("dims-huge-in-range", model.copy().editTensor(name, t -> t.withShape(32, 1L << 55)), Expect.MALFORMED);
        add("dims-bytes-overflow-f32", model.copy().editTensor(name, t -> t.withShape(1L << 31, 1L << 31)), Expect.MALFORMED);
        add("dims-zero", model.copy().editTensor(name, t -> t.withShape(32, 0)), Expect.MALFORMED);
        add("dims-4d-all-big", model.copy().editTensor(name, t -> t.withShape(1L << 16, 1L << 16, 1L << 16, 1L << 16)),
                Expect.MALFORMED);
        for (int type : new int[] {4, 5, 31, 43, 99, -1}) {
            add("tensor-type-" + type, model.copy().editTensor(name, t -> new Tensor(t.name(), t.ne(), type, t.offset(), t.data())),
                    Expect.MALFORMED);
        }
        // q4_K needs rows of 256: a 32-wide row is not a whole block
        add("tensor-type-q4_K-partial-block", model.copy().editTensor(name, t -> t.retyped(12, 256, 144)).layOut(),
                Expect.MALFORMED);
        // well-formed, but a type the engine does not run, or does not allow for vectors
        add("tensor-type-bf16-matrix", model.copy().editTensor("text_projection.weight", t -> t.retyped(30, 1, 2)).layOut(),
                Expect.ENGINE_REJECTS);
        add("tensor-type-q8_0-vector", model.copy().editTensor("t.post_ln.weight",
                t -> t.retyped(GgufParts.GGML_Q8_0, 32, 34)).layOut(), Expect.ENGINE_REJECTS);
        add("tensor-type-i32-matrix", model.copy().editTensor("text_projection.weight", t -> t.retyped(26, 1, 4)).layOut(),
                Expect.ENGINE_REJECTS);
        add("tensor-wrong-shape", model.copy().editTensor("v.blk.1.attn_k.weight",
                t -> t.withShape(TinyClip.WIDTH / 2, TinyClip.WIDTH * 2)), Expect.ENGINE_REJECTS);
        add("tensor-extra-dim", model.copy().editTensor("v.blk.1.attn_k.bias", t -> t.withShape(TinyClip.WIDTH / 2, 2)),
                Expect.ENGINE_REJECTS);
        GgufParts missing = model.copy();
        missing.tensors.remove(missing.tensorIndex("t.blk.0.ffn_down.bias"));
        add("tensor-missing", missing.layOut(), Expect.ENGINE_REJECTS);
        GgufParts extra = model.copy();
        extra.tensors.add(new Tensor("extra.q4_K", new long[] {256}, 12, 0, new byte[144]));
        add("extra-tensor-q4_K", extra.layOut(), Expect.VALID);
        GgufParts scalar = model.copy();
        scalar.tensors.add(new Tensor("extra.scalar", new long[0], GgufParts.GGML_F32, 0, new byte[4]));
        add("extra-tensor-0-dims", scalar.layOut(), Expect.MALFORMED);
        GgufParts empty = model.copy();
        empty.tensors.add(new Tensor("", new long[] {4}, GgufParts.GGML_F32, 0, new byte[16]));
        add("tensor-name-empty", empty.layOut(), Expect.MALFORMED);
        GgufParts nul = model.copy();
        nul.tensors.add(new Tensor("a\0b", new long[] {4}, GgufParts.GGML_F32, 0, new byte[16]));
        add("tensor-name-with-nul", nul.layOut(), Expect.MALFORMED);
        GgufParts many = model.copy();
        many.tensorCount = 8193L;
        add("tensor-count-8193", many, Expect.MALFORMED);
    }

    // ---- names -------------------------------------------------------------------------------

    private void names(GgufParts model) {
        GgufParts dup = model.copy();
        dup.tensors.set(3, dup.tensors.get(3).withName(dup.tensors.get(2).name()));
        add("duplicate-tensor-name", dup, Expect.MALFORMED);
        GgufParts dupSameData = model.copy();
        dupSameData.tensors.add(model.tensors.get(0));
        add("duplicate-tensor-appended", dupSameData.layOut(), Expect.MALFORMED);
        String longName = "x".repeat(64);
        GgufParts longer = model.copy();
        longer.tensors.add(new Tensor(longName, new long[] {4}, GgufParts.GGML_F32, 0, new byte[16]));
        add("tensor-name-64-bytes", longer.layOut(), Expect.MALFORMED);
        GgufParts ok63 = model.copy();
        ok63.tensors.add(new Tensor("x".repeat(63), new long[] {4}, GgufParts.GGML_F32, 0, new byte[16]));
        add("tensor-name-63-bytes", ok63.layOut(), Expect.VALID);
        add("tensor-name-invalid-utf8", model.copy().editTensor("v.class_embd",
                t -> t.withName(new String(new byte[] {'v', '.', (byte) 0xC3}, StandardCharsets.ISO_8859_1))),
                Expect.ENGINE_REJECTS);
    }

    // ---- well-formed files with values the engine must refuse --------------------------------

    private void semantics(GgufParts model) {
        for (Object[] c : new Object[][] {
                {"heads-3", "clip.text.attention.head_count", Value.u32(3)},
                {"heads-0", "clip.vision.attention.head_count", Value.u32(0)},
                {"blocks-0", "clip.text.block_count", Value.u32(0)},
                {"blocks-huge", "clip.vision.block_count", Value.u32(0x7FFF_FFFF)},
                {"width-2^31", "clip.text.embedding_length", Value.u64(1L << 31)},
                {"width-negative", "clip.vision.embedding_length", Value.i32(-32)},
                {"width-u64-max", "clip.vision.embedding_length", Value.u64(-1L)},
                {"image-size-0", "clip.vision.image_size", Value.u32(0)},
                {"image-size-not-multiple", "clip.vision.image_size", Value.u32(40)},
                {"patch-size-0", "clip.vision.patch_size", Value.u32(0)},
                {"patch-size-huge", "clip.vision.patch_size", Value.u32(1 << 30)},
                {"context-1", "clip.text.context_length", Value.u32(1)},
                {"context-huge", "clip.text.context_length", Value.u32(0x7FFF_FFFF)},
                {"eps-0", "clip.text.attention.layer_norm_epsilon", Value.f32(0f)},
                {"eps-nan", "clip.vision.attention.layer_norm_epsilon", Value.f32(Float.NaN)},
                {"eps-negative", "clip.vision.attention.layer_norm_epsilon", Value.f32(-1f)},
                {"std-zero", "clip.vision.image_std", Value.floats(0f, 0.2f, 0.2f)},
                {"std-nan", "clip.vision.image_std", Value.floats(Float.NaN, 0.2f, 0.2f)},
                {"bos-outside-vocabulary", "tokenizer.ggml.bos_token_id", Value.u32(100_000)},
                {"eos-negative", "tokenizer.ggml.eos_token_id", Value.i32(-1)},
                {"merge-without-space", "tokenizer.ggml.merges", Value.strings(List.of("hel"))},
                {"merge-unknown-token", "tokenizer.ggml.merges", Value.strings(List.of("q \u4e00"))},
                {"vocabulary-short", "tokenizer.ggml.tokens", Value.strings(TinyClip.vocabulary().subList(0, 100))},
                {"vocabulary-empty", "tokenizer.ggml.tokens", Value.strings(List.of())},
        }) {
            add("value-" + c[0], model.copy().put((String) c[1], (Value) c[2]), Expect.ENGINE_REJECTS);
        }
        // a projection_dim that disagrees with the projection matrix is what monatis/clip.cpp's
        // converter writes (512 whatever the projection): the engine uses the matrix's shape
        for (String key : List.of("clip.vision.projection_dim", "clip.text.projection_dim")) {
            add("value-" + key + "-differs-from-the-matrix", model.copy().put(key, Value.u32(512)), Expect.VALID);
        }
        // no merges and a vocabulary out of CLIP's merge order: the merges cannot be rebuilt
        List<String> outOfOrder = new ArrayList<>(TinyClip.vocabulary());
        java.util.Collections.swap(outOfOrder, 512, 513);
        add("merges-missing-vocabulary-out-of-order", model.copy().remove("tokenizer.ggml.merges")
                .put("tokenizer.ggml.tokens", Value.strings(outOfOrder)), Expect.ENGINE_REJECTS);
        // a vocabulary of the right size that lacks a byte token
        List<String> vocab = new ArrayList<>(TinyClip.vocabulary());
        vocab.set(5, "not-a-byte");
        add("value-vocabulary-without-byte-token", model.copy().put("tokenizer.ggml.tokens", Value.strings(vocab)),
                Expect.ENGINE_REJECTS);
        add("value-mean-nan", model.copy().put("clip.vision.image_mean", Value.floats(Float.NaN, 0f, 0f)), Expect.EITHER);
        add("value-huge-weights", model.copy().editTensor("v.blk.0.attn_q.weight", t -> {
            byte[] d = t.data().clone();
            for (int i = 0; i + 3 < d.length; i += 4) {
                System.arraycopy(GgufParts.le(4, Float.floatToRawIntBits(i % 8 == 0 ? Float.NaN : Float.MAX_VALUE)), 0, d, i, 4);
            }
            return new Tensor(t.name(), t.ne(), t.type(), t.offset(), d);
        }), Expect.EITHER); // loads; encoders refuse non-finite outputs with a clean error
    }

    // ---- other models ------------------------------------------------------------------------

    private void otherModels(GgufParts model) {
        add("architecture-llama", model.copy().put("general.architecture", Value.string("llama")), Expect.ENGINE_REJECTS);
        add("architecture-empty", model.copy().put("general.architecture", Value.string("")), Expect.ENGINE_REJECTS);
        add("architecture-missing", model.copy().remove("general.architecture"), Expect.ENGINE_REJECTS);
        add("no-tensors-no-keys", new GgufParts(), Expect.ENGINE_REJECTS);
        GgufParts keysOnly = model.copy();
        keysOnly.tensors.clear();
        add("keys-only", keysOnly, Expect.ENGINE_REJECTS);
        add("llava-projector", llava(), Expect.ENGINE_REJECTS);
        GgufParts flagged = TinyClip.model(false, true).put("clip.projector_type", Value.string("mlp"));
        add("projector-type-key", flagged, Expect.ENGINE_REJECTS);
        GgufParts noTowers = model.copy().put("clip.has_text_encoder", Value.bool(false))
                .put("clip.has_vision_encoder", Value.bool(false));
        add("no-towers", noTowers, Expect.EITHER);
    }

    /**
     * A vision-only file as llama.cpp writes for LLaVA ("mmproj"): projector flag and type, mm.* tensors,
     * and a vision tower that stops before its last block, with no post-LN and no visual projection.
     */
    static GgufParts llava() {
        GgufParts g = TinyClip.model(false, true);
        g.put("clip.has_llava_projector", Value.bool(true));
        g.put("clip.projector_type", Value.string("mlp"));
        g.tensors.removeIf(t -> t.name().startsWith("v.blk." + (TinyClip.VISION_BLOCKS - 1) + ".")
                || t.name().startsWith("v.post_ln") || t.name().equals("visual_projection.weight"));
        g.tensors.add(new Tensor("mm.0.weight", new long[] {TinyClip.WIDTH, 64}, GgufParts.GGML_F32, 0,
                new byte[TinyClip.WIDTH * 64 * 4]));
        g.tensors.add(new Tensor("mm.0.bias", new long[] {64}, GgufParts.GGML_F32, 0, new byte[64 * 4]));
        return g.layOut();
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static byte[] patch(byte[] bytes, int at, byte[] with) {
        byte[] copy = bytes.clone();
        System.arraycopy(with, 0, copy, at, with.length);
        return copy;
    }

    private void add(String name, GgufParts parts, Expect expect) {
        add(name, parts.bytes().bytes(), expect);
    }

    private void add(String name, byte[] bytes, Expect expect) {
        Path file = dir.resolve(name.replaceAll("[^A-Za-z0-9._^-]", "_") + ".gguf");
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        inputs.add(new Input(name, file, expect));
    }
}
