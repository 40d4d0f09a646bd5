package dev.clearclip.gguf.tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * CLIP's (and GPT-2's) reversible byte-to-unicode table: every byte gets a printable character,
 * so that BPE can work on strings. Bytes that are printable Latin-1 characters ('!'..'~',
 * '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes, in increasing order, get the
 * characters U+0100, U+0101, ...
 */
final class ByteSymbols {
    private ByteSymbols() {
    }

    /** The 256 symbols in CLIP's vocabulary order: the self-standing bytes first, then the rest. */
    static List<String> symbols() {
        List<String> symbols = new ArrayList<>(256);
        boolean[] selfStanding = new boolean[256];
        for (int b = 0; b < 256; b++) {
            if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
                selfStanding[b] = true;
                symbols.add(String.valueOf((char) b));
            }
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            if (!selfStanding[b]) {
                symbols.add(String.valueOf((char) next++));
            }
        }
        return Collections.unmodifiableList(symbols);
    }
}
