package dev.clearclip.cli;

import dev.clearclip.ClassSet;
import dev.clearclip.Preset;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the classes come from: exactly one of --classes, --classes-file, --preset. */
final class ClassOptions {

    @Option(names = "--classes", paramLabel = "LIST",
            description = "Classes separated by ';', synonyms of a class by ',', e.g. \"cat,kitten;dog;sky\".")
    String classes;

    @Option(names = "--classes-file", paramLabel = "FILE",
            description = "File with one class per line (synonyms comma-separated, '#' comments).")
    Path classesFile;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Benchmark classes and settings: voc21, voc20, context60, context59, coco-object, "
                    + "coco-stuff, cityscapes, ade20k.")
    String preset;

    int given() {
        return (classes != null ? 1 : 0) + (classesFile != null ? 1 : 0) + (preset != null ? 1 : 0);
    }

    void requireOne() {
        if (given() != 1) {
            throw new UsageException(given() == 0
                    ? "give the classes with --classes, --classes-file or --preset"
                    : "give only one of --classes, --classes-file and --preset");
        }
    }

    /** The --preset, or null; an unknown name is a usage error. */
    Preset presetOrNull() {
        if (preset == null) {
            return null;
        }
        try {
            return Preset.parse(preset);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--preset: " + e.getMessage());
        }
    }

    ClassSet load() {
        requireOne();
        if (classes != null) {
            try {
                return ClassSet.parse(classes);
            } catch (IllegalArgumentException e) {
                // "" or ";;" is a mistake on the command line, not a runtime failure
                throw new UsageException("--classes: " + e.getMessage());
            }
        }
        if (classesFile != null) {
            return ClassSet.read(classesFile);
        }
        return presetOrNull().classes();
    }
}
