package example;

// README:begin
import dev.clearclip.*;
import java.nio.file.Path;
// README:end

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * The library snippet of the top-level README, run as written. {@code main(README.md, this file)} first
 * checks that the README's java block equals the two README regions of this file (imports, then the
 * body of {@link #snippet()}, indentation removed), so the README cannot drift from code that compiles
 * and runs; then runs the snippet in the current folder (clip-b16.gguf and street.jpg).
 */
public final class ReadmeExample {

    static int[] labels;
    static double[] fractions;

    static void snippet() {
        // README:begin
        try (ClipModel model = ClipModel.load(Path.of("clip-b16.gguf"), ModelOptions.defaults())) {
            SegmentationResult result = model.segment(Path.of("street.jpg"),
                    ClassSet.parse("sky;road;car,truck;person"), SegmentOptions.defaults());
            int[] labels = result.labels();              // width * height class indices, row-major
            double[] fractions = result.fractions();     // share of pixels per class
            ReadmeExample.labels = labels;               // README:skip (for the checks below)
            ReadmeExample.fractions = fractions;         // README:skip
        }
        // README:end
    }

    public static void main(String[] args) throws Exception {
        String readmeBlock = readmeLibraryBlock(Files.readString(Path.of(args[0])));
        String ours = regions(Files.readString(Path.of(args[1])));
        if (!readmeBlock.equals(ours)) {
            System.err.println("README.md's library snippet differs from " + args[1] + ":\n--- README\n" + readmeBlock
                    + "--- example\n" + ours);
            System.exit(1);
        }
        snippet();
        double sum = 0;
        for (double f : fractions) {
            sum += f;
        }
        java.awt.image.BufferedImage street = javax.imageio.ImageIO.read(Path.of("street.jpg").toFile());
        if (labels.length != street.getWidth() * street.getHeight() || fractions.length != 4 || Math.abs(sum - 1) > 1e-9) {
            System.err.println("unexpected result: " + labels.length + " labels for " + street.getWidth() + "x"
                    + street.getHeight() + ", " + fractions.length + " classes, fractions sum " + sum);
            System.exit(1);
        }
        System.out.printf("README snippet ran: %d labels, fractions %s%n", labels.length, java.util.Arrays.toString(fractions));
    }

    /** The first ```java block after the "## The library" heading, without its fences. */
    static String readmeLibraryBlock(String readme) {
        int section = readme.indexOf("\n## The library");
        int start = readme.indexOf("```java\n", section);
        int end = readme.indexOf("```", start + 8);
        if (section < 0 || start < 0 || end < 0) {
            throw new IllegalStateException("README.md has no ```java block under '## The library'");
        }
        return readme.substring(start + 8, end);
    }

    /** The README regions of this file, dedented, joined by one blank line, "README:skip" lines left out. */
    static String regions(String source) {
        List<String> parts = new ArrayList<>();
        int from = 0;
        while (true) {
            int b = source.indexOf("// README:begin\n", from);
            if (b < 0) {
                break;
            }
            int e = source.indexOf("// README:end", b);
            String region = source.substring(b + "// README:begin\n".length(), source.lastIndexOf('\n', e) + 1);
            List<String> lines = region.lines().filter(l -> !l.contains("README:skip")).toList();
            int indent = lines.stream().filter(l -> !l.isBlank())
                    .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
            StringBuilder kept = new StringBuilder();
            lines.forEach(l -> kept.append(l.isBlank() ? "" : l.substring(indent)).append('\n'));
            parts.add(kept.toString());
            from = e + 1;
        }
        return String.join("\n", parts);
    }
}
