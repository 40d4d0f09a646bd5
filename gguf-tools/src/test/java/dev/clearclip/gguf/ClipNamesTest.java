package dev.clearclip.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link ClipNames} is the format description of models/README.md: the names of its "Keys" and
 * "Tensors" tables, read from the markdown here, are exactly the table's.
 */
class ClipNamesTest {

    private static final Path README = Path.of(System.getProperty("clearclip.repo.root", ".."), "models", "README.md");

    /** The backticked names of the first column of the table under {@code heading}, expanded. */
    private static Set<String> tableNames(String heading, int blocks) throws IOException {
        List<String> lines = Files.readAllLines(README);
        int start = lines.indexOf(heading);
        assertThat(start).as(heading + " in " + README).isGreaterThanOrEqualTo(0);
        Set<String> names = new LinkedHashSet<>();
        for (int i = start + 1; i < lines.size() && !lines.get(i).startsWith("## "); i++) {
            String line = lines.get(i);
            if (!line.startsWith("| `")) {
                continue;
            }
            String firstCell = line.substring(1, line.indexOf(" | ", 1));
            Matcher m = Pattern.compile("`([^`]+)`").matcher(firstCell);
            String previous = null;
            while (m.find()) {
                String item = resolve(m.group(1), previous);
                previous = item;
                for (String name : expand(item)) {
                    for (int b = 0; b < blocks; b++) {
                        names.add(name.replace(".N.", "." + b + "."));
                    }
                }
            }
        }
        return names;
    }

    /**
     * The README abbreviates a name that follows another in one cell: {@code .bias} after
     * {@code x.ffn_up.weight}, {@code .ln2.*} after {@code x.ln1.{weight,bias}}: a leading dot
     * replaces as many trailing components of the previous name, {@code *} keeps the previous one.
     */
    private static String resolve(String item, String previous) {
        if (!item.startsWith(".")) {
            return item;
        }
        List<String> prev = new ArrayList<>(Arrays.asList(previous.split("\\.(?![^{]*})")));
        String[] tail = item.substring(1).split("\\.");
        int from = prev.size() - tail.length;
        for (int k = 0; k < tail.length; k++) {
            if (!tail[k].equals("*")) {
                prev.set(from + k, tail[k]);
            }
        }
        return String.join(".", prev);
    }

    /** {@code a{b,c}d} -> {@code abd, acd}, recursively. */
    private static List<String> expand(String pattern) {
        int open = pattern.indexOf('{');
        if (open < 0) {
            return List.of(pattern);
        }
        int close = pattern.indexOf('}', open);
        List<String> out = new ArrayList<>();
        for (String alt : pattern.substring(open + 1, close).split(",")) {
            out.addAll(expand(pattern.substring(0, open) + alt + pattern.substring(close + 1)));
        }
        return out;
    }

    @Test
    void keysAreTheReadmesKeys() throws IOException {
        Set<String> readme = tableNames("## Keys", 1);
        assertThat(readme).hasSizeGreaterThan(20);
        assertThat(new LinkedHashSet<>(ClipNames.keys(true, true))).containsExactlyInAnyOrderElementsOf(readme);
    }

    @Test
    void tensorNamesAreTheReadmesTensors() throws IOException {
        Set<String> readme = tableNames("## Tensors", 2);
        assertThat(readme).hasSizeGreaterThan(40);
        assertThat(ClipNames.tensorNames(2, 2)).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(readme);
    }

    @Test
    void oneTowerHasOnlyItsOwnNames() {
        assertThat(ClipNames.tensorNames(3, 0)).allMatch(n -> n.startsWith("t.") || n.equals(ClipNames.TEXT_PROJECTION));
        assertThat(ClipNames.tensorNames(0, 3)).allMatch(n -> n.startsWith("v.") || n.equals(ClipNames.VISUAL_PROJECTION));
        assertThat(ClipNames.keys(false, true)).noneMatch(k -> k.startsWith("clip.text.") || k.startsWith("tokenizer."));
    }
}
