package dev.clearclip.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command-line arguments as UTF-8, whatever the locale. The JVM decodes {@code argv} with
 * {@code sun.jnu.encoding}, which follows the locale: with {@code LANG} unset it is ASCII and every
 * non-ASCII byte becomes U+FFFD, so {@code tokenize café} would tokenize another text. On Linux the
 * original bytes are still in {@code /proc/self/cmdline}; the program's arguments are its last entries
 * (the launcher expands {@code @argfiles} and {@code JDK_JAVA_OPTIONS} only before the main class).
 *
 * <p>An argument is replaced only if its bytes are valid UTF-8, and only if the entries lined up with
 * the JVM's arguments agree with them on every ASCII character, so a mismatch (another launcher, an
 * unexpected layout) leaves the JVM's arguments alone. Bytes that are not UTF-8 (say a Latin-1
 * terminal) keep the JVM's decoding, which then is the right one.
 */
final class Utf8Arguments {

    private static final Path CMDLINE = Path.of("/proc/self/cmdline");

    private Utf8Arguments() {
    }

    /** The arguments re-read as UTF-8 when the JVM decoded them with another charset, else {@code args}. */
    static String[] recover(String[] args) {
        String jnu = System.getProperty("sun.jnu.encoding", "");
        if (args.length == 0 || jnu.equalsIgnoreCase("UTF-8") || jnu.equalsIgnoreCase("UTF8")) {
            return args;
        }
        byte[] raw;
        try {
            raw = Files.readAllBytes(CMDLINE);
        } catch (IOException | RuntimeException e) {
            return args; // not Linux, or /proc not mounted: nothing better to offer
        }
        return fromCmdline(raw, args);
    }

    /** {@code args} with each argument replaced by the UTF-8 decoding of its entry in {@code cmdline}. */
    static String[] fromCmdline(byte[] cmdline, String[] args) {
        List<byte[]> entries = split(cmdline);
        if (entries.size() < args.length) {
            return args;
        }
        List<byte[]> tail = entries.subList(entries.size() - args.length, entries.size());
        String[] out = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            byte[] bytes = tail.get(i);
            if (!asciiSkeleton(bytes).equals(asciiSkeleton(args[i]))) {
                return args;
            }
            String utf8 = strictUtf8(bytes);
            out[i] = utf8 != null ? utf8 : args[i];
        }
        return out;
    }

    /** The NUL-terminated entries of a cmdline file (an empty argument is an empty entry). */
    static List<byte[]> split(byte[] cmdline) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < cmdline.length; i++) {
            if (cmdline[i] == 0) {
                out.add(java.util.Arrays.copyOfRange(cmdline, start, i));
                start = i + 1;
            }
        }
        if (start < cmdline.length) {
            out.add(java.util.Arrays.copyOfRange(cmdline, start, cmdline.length));
        }
        return out;
    }

    private static String strictUtf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * The printable ASCII characters other than {@code ?}: what every ASCII-compatible decoding keeps
     * (the JVM turns bytes it cannot decode into {@code ?} or U+FFFD, which are left out on both sides).
     */
    private static String asciiSkeleton(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            if (b >= 0x20 && b < 0x7f && b != '?') {
                sb.append((char) b);
            }
        }
        return sb.toString();
    }

    private static String asciiSkeleton(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '?') {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
