package dev.clearclip;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Prompt templates: strings with one {@code {}} that a class name replaces. */
public final class PromptTemplates {

    private static final String IMAGENET_80 = "templates/imagenet_80.json";

    private PromptTemplates() {
    }

    /** The 80 ImageNet templates of the CLIP paper, in the ClearCLIP reference's order. */
    public static List<String> imagenet80() {
        return Holder.IMAGENET;
    }

    private static final class Holder {
        static final List<String> IMAGENET = load(IMAGENET_80);
    }

    private static List<String> load(String resource) {
        try (InputStream in = PromptTemplates.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("resource dev/clearclip/" + resource + " is missing from the jar");
            }
            List<String> templates = parseStringArray(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            for (String t : templates) {
                if (!t.contains("{}")) {
                    throw new IllegalStateException("template without {}: " + t);
                }
            }
            return List.copyOf(templates);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Fills a template: every {@code {}} becomes the class name. */
    public static String fill(String template, String className) {
        return template.replace("{}", className);
    }

    /**
     * Parses a JSON array of strings (the templates file format). Hand-written on purpose, and the
     * library's only JSON reader: the library reads no other JSON, and a JSON library (the CLI and
     * the GGUF tools use Jackson) would be a dependency of every program that embeds clearclip for
     * the sake of one bundled list. Should the library need more JSON, switch to Jackson then.
     */
    static List<String> parseStringArray(String json) {
        List<String> out = new ArrayList<>();
        int i = skipSpace(json, 0);
        expect(json, i++, '[');
        i = skipSpace(json, i);
        if (i < json.length() && json.charAt(i) == ']') {
            return out;
        }
        while (true) {
            i = skipSpace(json, i);
            expect(json, i++, '"');
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (i >= json.length()) {
                    throw new IllegalArgumentException("unterminated string in JSON array");
                }
                char c = json.charAt(i++);
                if (c == '"') {
                    break;
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e = json.charAt(i++);
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        sb.append((char) Integer.parseInt(json.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw new IllegalArgumentException("bad escape \\" + e + " in JSON string");
                }
            }
            out.add(sb.toString());
            i = skipSpace(json, i);
            if (i < json.length() && json.charAt(i) == ',') {
                i++;
                continue;
            }
            expect(json, i++, ']');
            if (skipSpace(json, i) != json.length()) {
                throw new IllegalArgumentException("trailing text after JSON array");
            }
            return out;
        }
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    private static void expect(String s, int i, char c) {
        if (i >= s.length() || s.charAt(i) != c) {
            throw new IllegalArgumentException("expected '" + c + "' at offset " + i + " of JSON array");
        }
    }
}
