package dev.clearclip.gguf.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Recovers CLIP's BPE merges from its vocabulary alone, for files that store
 * {@code tokenizer.ggml.tokens} without {@code tokenizer.ggml.merges} (monatis/clip.cpp's
 * converter). CLIP builds its vocabulary in a fixed order: the 256 byte symbols, the same with
 * {@code </w>}, one token per merge in merge order (the two halves joined), then
 * {@code <|startoftext|>} and {@code <|endoftext|>}. So token {@code 512 + r} is the result of
 * merge {@code r}, and its two halves are what BPE with merges {@code 0..r-1} makes of its
 * spelling: before merge {@code r} existed, those merges were exactly what had turned the word
 * pieces into the two symbols that merge {@code r} joins. Checked against CLIP's real merge list
 * (all 48,894 merges come back, in order) by the tests.
 */
public final class MergeRebuilder {
    private static final String END_OF_WORD = "</w>";
    private static final int FIRST_MERGE_TOKEN = 512;

    private MergeRebuilder() {
    }

    /** Why a vocabulary is not CLIP's ordered layout, so that its merges cannot be rebuilt. */
    public static final class NotOrderedException extends IllegalArgumentException {
        NotOrderedException(String message) {
            super(message);
        }
    }

    /**
     * The merges ("left right", in rank order) that produce {@code tokens}.
     *
     * @throws NotOrderedException naming the first token that does not fit CLIP's layout
     */
    public static List<String> rebuild(List<String> tokens) {
        List<String> bytes = ByteSymbols.symbols();
        int n = tokens.size();
        if (n < FIRST_MERGE_TOKEN + 2) {
            throw new NotOrderedException("the vocabulary has " + n + " tokens; CLIP's has at least the 512 byte "
                    + "tokens and the two special tokens");
        }
        for (int i = 0; i < 256; i++) {
            check(tokens, i, bytes.get(i), "byte symbol");
            check(tokens, 256 + i, bytes.get(i) + END_OF_WORD, "byte symbol with </w>");
        }
        check(tokens, n - 2, ClipVocabulary.START_OF_TEXT, "start-of-text token");
        check(tokens, n - 1, ClipVocabulary.END_OF_TEXT, "end-of-text token");

        Map<String, Integer> ranks = new HashMap<>(2 * n);
        List<String> merges = new ArrayList<>(n - FIRST_MERGE_TOKEN - 2);
        for (int id = FIRST_MERGE_TOKEN; id < n - 2; id++) {
            String token = tokens.get(id);
            List<String> pieces = encode(symbols(token, id), ranks);
            if (pieces.size() != 2) {
                throw new NotOrderedException("token " + id + " '" + token + "' is not one merge of two earlier tokens "
                        + "(the merges before it make " + pieces + " of it), so the vocabulary is not in CLIP's merge "
                        + "order");
            }
            String merge = pieces.get(0) + " " + pieces.get(1);
            ranks.put(merge, merges.size());
            merges.add(merge);
        }
        return merges;
    }

    private static void check(List<String> tokens, int id, String expected, String what) {
        if (!tokens.get(id).equals(expected)) {
            throw new NotOrderedException("token " + id + " is '" + tokens.get(id) + "' where CLIP's vocabulary has the "
                    + what + " '" + expected + "'");
        }
    }

    /** The initial BPE symbols of a token: its characters, {@code </w>} staying with the last one. */
    private static List<String> symbols(String token, int id) {
        boolean endOfWord = token.endsWith(END_OF_WORD);
        String core = endOfWord ? token.substring(0, token.length() - END_OF_WORD.length()) : token;
        if (core.isEmpty()) {
            throw new NotOrderedException("token " + id + " '" + token + "' is empty before </w>");
        }
        List<String> symbols = new ArrayList<>();
        core.codePoints().forEach(cp -> symbols.add(Character.toString(cp)));
        if (endOfWord) {
            symbols.set(symbols.size() - 1, symbols.getLast() + END_OF_WORD);
        }
        return symbols;
    }

    /** CLIP's BPE: repeatedly join every occurrence of the lowest-ranked adjacent pair. */
    private static List<String> encode(List<String> symbols, Map<String, Integer> ranks) {
        while (symbols.size() > 2) {
            int best = Integer.MAX_VALUE;
            String bestPair = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = ranks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < best) {
                    best = rank;
                    bestPair = symbols.get(i) + " " + symbols.get(i + 1);
                }
            }
            if (bestPair == null) {
                break;
            }
            List<String> joined = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && bestPair.equals(symbols.get(i) + " " + symbols.get(i + 1))) {
                    joined.add(symbols.get(i) + symbols.get(i + 1));
                    i++;
                } else {
                    joined.add(symbols.get(i));
                }
            }
            symbols = joined;
        }
        return symbols;
    }
}
