package dev.clearclip;

import java.util.List;

/**
 * Checks that texts survive the trip to the engine unchanged. FFM turns a Java string into a
 * NUL-terminated UTF-8 C string: a NUL inside would cut the text there, and an unpaired surrogate
 * would be replaced by {@code ?}; both would give a different text than the caller's without a word.
 */
final class Texts {

    private Texts() {
    }

    /**
     * @param what how the message names the text, e.g. {@code "text"} or {@code "class name"}
     * @throws InvalidTextException naming the text, the character and its index
     */
    static String requireEncodable(String text, String what) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == 0) {
                throw new InvalidTextException(what + " " + quote(text) + " contains a NUL character (U+0000) at index "
                        + i + "; texts for the engine must not contain NUL", i);
            }
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new InvalidTextException(what + " " + quote(text) + " contains an unpaired surrogate U+"
                        + String.format("%04X", (int) c) + " at index " + i + "; it is not valid Unicode text", i);
            }
        }
        return text;
    }

    /** Checks every text of a list, naming each by its position in the list. */
    static void requireEncodable(List<String> texts, String what) {
        for (int i = 0; i < texts.size(); i++) {
            requireEncodable(texts.get(i), what + " " + i);
        }
    }

    /** The text in quotes, control characters and surrogates escaped as {@code \\uXXXX}, long texts shortened. */
    static String quote(String text) {
        StringBuilder sb = new StringBuilder("\"");
        int limit = 80;
        for (int i = 0; i < text.length(); i++) {
            if (i == limit) {
                sb.append("...(").append(text.length()).append(" chars)");
                break;
            }
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) && !isPairedAt(text, i)) {
                sb.append(String.format("\\u%04X", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    private static boolean isPairedAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
