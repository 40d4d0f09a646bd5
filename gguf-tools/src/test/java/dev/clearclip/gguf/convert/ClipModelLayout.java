package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.GgmlType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensor names and ggml shapes models/README.md prescribes for given tower sizes, written
 * out from the README's table (not from the converter) to check converted files against.
 */
final class ClipModelLayout {
    private ClipModelLayout() {
    }

    static Map<String, long[]> text(long width, long ffn, int blocks, long vocab, long context, long projection) {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("t.token_embd.weight", new long[] {width, vocab});
        m.put("t.position_embd.weight", new long[] {width, context});
        blocks(m, "t", width, ffn, blocks);
        m.put("t.post_ln.weight", new long[] {width});
        m.put("t.post_ln.bias", new long[] {width});
        m.put("text_projection.weight", new long[] {width, projection});
        return m;
    }

    static Map<String, long[]> vision(long width, long ffn, int blocks, long patch, long positions, long projection) {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("v.class_embd", new long[] {width});
        m.put("v.patch_embd.weight", new long[] {patch, patch, 3, width});
        m.put("v.position_embd.weight", new long[] {width, positions});
        m.put("v.pre_ln.weight", new long[] {width});
        m.put("v.pre_ln.bias", new long[] {width});
        blocks(m, "v", width, ffn, blocks);
        m.put("v.post_ln.weight", new long[] {width});
        m.put("v.post_ln.bias", new long[] {width});
        m.put("visual_projection.weight", new long[] {width, projection});
        return m;
    }

    private static void blocks(Map<String, long[]> m, String tower, long width, long ffn, int blocks) {
        for (int i = 0; i < blocks; i++) {
            String p = tower + ".blk." + i + ".";
            for (String a : new String[] {"q", "k", "v", "out"}) {
                m.put(p + "attn_" + a + ".weight", new long[] {width, width});
                m.put(p + "attn_" + a + ".bias", new long[] {width});
            }
            for (String ln : new String[] {"ln1", "ln2"}) {
                m.put(p + ln + ".weight", new long[] {width});
                m.put(p + ln + ".bias", new long[] {width});
            }
            m.put(p + "ffn_up.weight", new long[] {width, ffn});
            m.put(p + "ffn_up.bias", new long[] {ffn});
            m.put(p + "ffn_down.weight", new long[] {ffn, width});
            m.put(p + "ffn_down.bias", new long[] {width});
        }
    }

    /**
     * The README's storage rule: f32 files all f32; otherwise 2-D weight matrices and the token
     * and patch embeddings in the target type (f16 when their rows do not fill whole blocks), the
     * rest (1-D, norms, class and position embeddings) f32.
     */
    static GgmlType expectedType(String name, long[] ne, GgmlType target) {
        boolean compressed = name.equals("t.token_embd.weight") || name.equals("v.patch_embd.weight")
                || (ne.length == 2 && name.endsWith(".weight") && !name.contains("position_embd"));
        if (target == GgmlType.F32 || !compressed) {
            return GgmlType.F32;
        }
        return ne[0] % target.blockSize() == 0 ? target : GgmlType.F16;
    }
}
