package dev.clearclip.cli.commands;

import dev.clearclip.ClassSet;
import dev.clearclip.ClassSource;
import dev.clearclip.cli.UsageException;

/** The classes of a command's {@link ClassSource} (--classes, --classes-file or --preset, one of them). */
final class ClassOptions {

    private ClassOptions() {
    }

    /** The classes; an empty --classes list is a usage error, a bad --classes-file a runtime error. */
    static ClassSet load(ClassSource source) {
        try {
            return source.load();
        } catch (IllegalArgumentException e) {
            if (source.isText()) {
                // "" or ";;" is a mistake on the command line, not a runtime failure
                throw new UsageException(e.getMessage());
            }
            throw e;
        }
    }
}
