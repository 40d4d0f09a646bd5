package dev.clearclip;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where a command's classes come from: {@code --classes}, {@code --classes-file} or {@code --preset}. A picocli
 * argument group, declared once here for {@code clearclip segment}, {@code clearclip classify} and the Spark job,
 * which take it as {@code @ArgGroup(exclusive = true, multiplicity = "1")}: picocli itself refuses none or two of
 * them (usage error, exit code 2).
 */
public final class ClassSource {

    @Option(names = "--classes", paramLabel = "LIST",
            description = "Classes separated by ';', synonyms of a class by ',', e.g. \"cat,kitten;dog;sky\".")
    String classes;

    @Option(names = "--classes-file", paramLabel = "FILE",
            description = "File with one class per line (synonyms comma-separated, '#' comments), read where the "
                    + "command runs (for the Spark job: on the driver).")
    Path classesFile;

    @Option(names = "--preset", paramLabel = "NAME", converter = CommandLineValues.Presets.class,
            completionCandidates = CommandLineValues.Presets.class,
            description = "Benchmark classes and settings: ${COMPLETION-CANDIDATES}.")
    Preset preset;

    /** Whether the classes were given as text ({@code --classes}): a bad list is then a usage error. */
    public boolean isText() {
        return classes != null;
    }

    /** The --preset, or null. */
    public Preset preset() {
        return preset;
    }

    /**
     * The classes.
     *
     * @throws IllegalArgumentException for an empty --classes list (a usage error); a --classes-file that
     *                                  cannot be read throws what {@link ClassSet#read} throws
     */
    public ClassSet load() {
        if (classes != null) {
            try {
                return ClassSet.parse(classes);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--classes: " + e.getMessage(), e);
            }
        }
        if (classesFile != null) {
            return ClassSet.read(classesFile);
        }
        return preset.classes();
    }
}
