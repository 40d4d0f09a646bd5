package dev.clearclip.gguf.testing;

import dev.clearclip.gguf.testing.GgufParts.Tensor;
import dev.clearclip.gguf.testing.GgufParts.Value;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A tiny random-weight CLIP model in the layout of {@code models/README.md}, as {@link GgufParts}:
 * both towers 32 wide (text: 1 block, vision: 2 blocks, 32x32 input in 16x16 patches) and a real
 * byte-level BPE vocabulary (the 512 byte tokens, a few merges, the two special tokens), so every
 * engine call (tokenize, encode, segment) works on it. Small enough (about 240 KB) that hundreds of
 * corrupt copies are cheap.
 */
public final class TinyClip {
    public static final int WIDTH = 32;
    public static final int FFN = 64;
    public static final int HEADS = 2;
    public static final int PROJECTION = 16;
    public static final int CONTEXT = 16;
    public static final int IMAGE = 32;
    public static final int PATCH = 16;
    public static final int TEXT_BLOCKS = 1;
    public static final int VISION_BLOCKS = 2;
    public static final List<String> MERGES = List.of("h e", "he l", "hel l", "hell o</w>");

    private TinyClip() {
    }

    /** The vocabulary: byte symbols, byte symbols + {@code </w>}, the merge results, then the special tokens. */
    public static List<String> vocabulary() {
        List<String> symbols = byteSymbols();
        List<String> tokens = new ArrayList<>(symbols);
        symbols.forEach(s -> tokens.add(s + "</w>"));
        MERGES.forEach(m -> tokens.add(m.replace(" ", "")));
        tokens.add("<|startoftext|>");
        tokens.add("<|endoftext|>");
        return tokens;
    }

    /** CLIP's byte-to-unicode table in vocabulary order: printable Latin-1 bytes stand for themselves, the others get U+0100.. */
    static List<String> byteSymbols() {
        List<String> symbols = new ArrayList<>();
        boolean[] self = new boolean[256];
        for (int b = 0; b < 256; b++) {
            self[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            if (self[b]) {
                symbols.add(String.valueOf((char) b));
            }
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            if (!self[b]) {
                symbols.add(String.valueOf((char) next++));
            }
        }
        return symbols;
    }

    /** Both towers. */
    public static GgufParts model() {
        return model(true, true);
    }

    public static GgufParts model(boolean text, boolean vision) {
        Random random = new Random(42);
        GgufParts g = new GgufParts();
        List<String> vocab = vocabulary();
        g.put("general.architecture", Value.string("clip"));
        g.put("general.name", Value.string("tiny corpus model"));
        g.put("general.file_type", Value.u32(1));
        g.put("clip.has_text_encoder", Value.bool(text));
        g.put("clip.has_vision_encoder", Value.bool(vision));
        g.put("clip.use_gelu", Value.bool(false));
        if (text) {
            towerKeys(g, "text", TEXT_BLOCKS);
            g.put("clip.text.context_length", Value.u32(CONTEXT));
        }
        if (vision) {
            towerKeys(g, "vision", VISION_BLOCKS);
            g.put("clip.vision.image_size", Value.u32(IMAGE));
            g.put("clip.vision.patch_size", Value.u32(PATCH));
            g.put("clip.vision.image_mean", Value.floats(0.48145466f, 0.4578275f, 0.40821073f));
            g.put("clip.vision.image_std", Value.floats(0.26862954f, 0.26130258f, 0.27577711f));
        }
        g.put("tokenizer.ggml.model", Value.string("clip"));
        g.put("tokenizer.ggml.tokens", Value.strings(vocab));
        g.put("tokenizer.ggml.merges", Value.strings(MERGES));
        g.put("tokenizer.ggml.bos_token_id", Value.u32(vocab.size() - 2));
        g.put("tokenizer.ggml.eos_token_id", Value.u32(vocab.size() - 1));
        if (text) {
            g.tensors.add(f32(random, "t.token_embd.weight", 1f, 0f, WIDTH, vocab.size()));
            g.tensors.add(f32(random, "t.position_embd.weight", 0.5f, 0f, WIDTH, CONTEXT));
            blocks(g, random, "t", TEXT_BLOCKS);
            g.tensors.add(f32(random, "t.post_ln.weight", 0.2f, 1f, WIDTH));
            g.tensors.add(f32(random, "t.post_ln.bias", 0.1f, 0f, WIDTH));
            g.tensors.add(f32(random, "text_projection.weight", 0.6f, 0f, WIDTH, PROJECTION));
        }
        if (vision) {
            int grid = IMAGE / PATCH;
            g.tensors.add(f32(random, "v.class_embd", 1f, 0f, WIDTH));
            g.tensors.add(f16(random, "v.patch_embd.weight", 0.1f, PATCH, PATCH, 3, WIDTH));
            g.tensors.add(f32(random, "v.position_embd.weight", 0.5f, 0f, WIDTH, grid * grid + 1));
            g.tensors.add(f32(random, "v.pre_ln.weight", 0.2f, 1f, WIDTH));
            g.tensors.add(f32(random, "v.pre_ln.bias", 0.1f, 0f, WIDTH));
            blocks(g, random, "v", VISION_BLOCKS);
            g.tensors.add(f32(random, "v.post_ln.weight", 0.2f, 1f, WIDTH));
            g.tensors.add(f32(random, "v.post_ln.bias", 0.1f, 0f, WIDTH));
            g.tensors.add(f32(random, "visual_projection.weight", 0.6f, 0f, WIDTH, PROJECTION));
        }
        return g.layOut();
    }

    private static void towerKeys(GgufParts g, String tower, int blocks) {
        String p = "clip." + tower + ".";
        g.put(p + "embedding_length", Value.u32(WIDTH));
        g.put(p + "feed_forward_length", Value.u32(FFN));
        g.put(p + "block_count", Value.u32(blocks));
        g.put(p + "projection_dim", Value.u32(PROJECTION));
        g.put(p + "attention.head_count", Value.u32(HEADS));
        g.put(p + "attention.layer_norm_epsilon", Value.f32(1e-5f));
    }

    private static void blocks(GgufParts g, Random random, String prefix, int n) {
        for (int i = 0; i < n; i++) {
            String b = prefix + ".blk." + i + ".";
            for (String m : List.of("attn_q", "attn_k", "attn_v", "attn_out")) {
                g.tensors.add(f32(random, b + m + ".weight", 0.3f, 0f, WIDTH, WIDTH));
                g.tensors.add(f32(random, b + m + ".bias", 0.1f, 0f, WIDTH));
            }
            for (String ln : List.of("ln1", "ln2")) {
                g.tensors.add(f32(random, b + ln + ".weight", 0.2f, 1f, WIDTH));
                g.tensors.add(f32(random, b + ln + ".bias", 0.1f, 0f, WIDTH));
            }
            g.tensors.add(f32(random, b + "ffn_up.weight", 0.3f, 0f, WIDTH, FFN));
            g.tensors.add(f32(random, b + "ffn_up.bias", 0.1f, 0f, FFN));
            g.tensors.add(f32(random, b + "ffn_down.weight", 0.2f, 0f, FFN, WIDTH));
            g.tensors.add(f32(random, b + "ffn_down.bias", 0.1f, 0f, WIDTH));
        }
    }

    private static Tensor f32(Random random, String name, float scale, float offset, long... ne) {
        int n = (int) count(ne);
        ByteBuffer data = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            data.putFloat(offset + scale * (float) random.nextGaussian());
        }
        return new Tensor(name, ne, GgufParts.GGML_F32, 0, data.array());
    }

    private static Tensor f16(Random random, String name, float scale, long... ne) {
        int n = (int) count(ne);
        ByteBuffer data = ByteBuffer.allocate(n * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            data.putShort(Float.floatToFloat16(scale * (float) random.nextGaussian()));
        }
        return new Tensor(name, ne, GgufParts.GGML_F16, 0, data.array());
    }

    private static long count(long[] ne) {
        long n = 1;
        for (long d : ne) {
            n *= d;
        }
        return n;
    }
}
