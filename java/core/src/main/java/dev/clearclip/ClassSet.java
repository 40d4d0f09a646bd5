package dev.clearclip;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The classes to segment or classify, in label order. Each class has one or more names (synonyms);
 * the score of a class is the best score among its names, and the label of a class is its index.
 */
public final class ClassSet {

    /** Name of the class that the benchmarks put at index 0 and that thresholded pixels fall back to. */
    public static final String BACKGROUND = "background";

    /** One class: its names, the first being the display name. */
    public record ClassSpec(List<String> names) {
        public ClassSpec {
            names = List.copyOf(names);
            if (names.isEmpty()) {
                throw new IllegalArgumentException("a class needs at least one name");
            }
            for (String n : names) {
                if (n.isBlank()) {
                    throw new IllegalArgumentException("class names must not be blank");
                }
                Texts.requireEncodable(n, "class name");
            }
        }

        public static ClassSpec of(String... names) {
            return new ClassSpec(List.of(names));
        }

        /** The display name: the first name. */
        public String name() {
            return names.get(0);
        }
    }

    private final List<ClassSpec> classes;

    private ClassSet(List<ClassSpec> classes) {
        if (classes.isEmpty()) {
            throw new IllegalArgumentException("no classes given");
        }
        this.classes = List.copyOf(classes);
        Map<String, Integer> owner = new HashMap<>();
        for (int c = 0; c < this.classes.size(); c++) {
            for (String n : this.classes.get(c).names()) {
                Integer previous = owner.putIfAbsent(n.toLowerCase(Locale.ROOT), c);
                if (previous != null && previous != c) {
                    throw new IllegalArgumentException("the name '" + n + "' is given for class " + previous
                            + " (" + this.classes.get(previous).name() + ") and class " + c
                            + " (" + this.classes.get(c).name() + ")");
                }
            }
        }
    }

    public static ClassSet of(List<ClassSpec> classes) {
        return new ClassSet(classes);
    }

    /** One class per name, no synonyms. */
    public static ClassSet ofNames(List<String> names) {
        return new ClassSet(names.stream().map(n -> ClassSpec.of(n.trim())).toList());
    }

    /**
     * Parses the command-line form: classes separated by {@code ;}, synonyms within a class by {@code ,},
     * e.g. {@code "cat,kitten;dog;sky"}. Surrounding spaces are trimmed, empty entries skipped.
     *
     * @throws IllegalArgumentException "no classes given" when nothing is left
     */
    public static ClassSet parse(String text) {
        List<ClassSpec> out = new ArrayList<>();
        for (String cls : text.split(";", -1)) {
            List<String> names = splitNames(cls);
            if (!names.isEmpty()) {
                out.add(new ClassSpec(names));
            }
        }
        return new ClassSet(out);
    }

    /**
     * Parses a class file: one class per line, synonyms separated by commas. Blank lines and lines
     * starting with {@code #} are skipped, so the label of a class is its index among the remaining lines.
     */
    public static ClassSet parseLines(List<String> lines) {
        List<ClassSpec> out = new ArrayList<>();
        for (String raw : lines) {
            String line = raw.strip();
            if (line.startsWith("\uFEFF")) {
                line = line.substring(1).strip();
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            List<String> names = splitNames(line);
            if (!names.isEmpty()) {
                out.add(new ClassSpec(names));
            }
        }
        return new ClassSet(out);
    }

    /** Reads a class file (UTF-8), see {@link #parseLines(List)}. */
    public static ClassSet read(Path file) {
        try {
            return parseLines(Files.readAllLines(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read class file " + file + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);        } catch (InvalidTextException e) {
            throw new InvalidTextException(file + ": " + e.getMessage(), e.index());
        }
    }

    private static List<String> splitNames(String cls) {
        LinkedHashSet<String> names = new LinkedHashSet<>();
        for (String n : cls.split(",", -1)) {
            String name = n.strip().replaceAll("\\s+", " ");
            if (!name.isEmpty()) {
                names.add(name);
            }
        }
        return List.copyOf(names);
    }

    /** This set with a {@value #BACKGROUND} class at index 0 (unchanged if class 0 is already called so). */
    public ClassSet withBackground() {
        if (hasBackground()) {
            return this;
        }
        List<ClassSpec> out = new ArrayList<>(classes.size() + 1);
        out.add(ClassSpec.of(BACKGROUND));
        out.addAll(classes);
        return new ClassSet(out);
    }

    /** Whether class 0 is the {@value #BACKGROUND} class. */
    public boolean hasBackground() {
        return classes.get(0).names().stream().anyMatch(n -> n.equalsIgnoreCase(BACKGROUND));
    }

    public List<ClassSpec> classes() {
        return classes;
    }

    public int size() {
        return classes.size();
    }

    /** Display names (first name of each class), in label order. */
    public List<String> classNames() {
        return classes.stream().map(ClassSpec::name).toList();
    }

    /** Every name of every class, class by class. */
    public List<String> allNames() {
        return classes.stream().flatMap(c -> c.names().stream()).toList();
    }

    /** Class index of each entry of {@link #allNames()}. */
    public int[] nameClasses() {
        int[] out = new int[allNames().size()];
        int i = 0;
        for (int c = 0; c < classes.size(); c++) {
            for (int k = 0; k < classes.get(c).names().size(); k++) {
                out[i++] = c;
            }
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClassSet other && other.classes.equals(classes);
    }

    @Override
    public int hashCode() {
        return classes.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (ClassSpec c : classes) {
            if (!sb.isEmpty()) {
                sb.append(';');
            }
            sb.append(String.join(",", c.names()));
        }
        return sb.toString();
    }
}
