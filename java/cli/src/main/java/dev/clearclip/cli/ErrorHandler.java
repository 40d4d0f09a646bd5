package dev.clearclip.cli;

import dev.clearclip.ClearClipException;
import dev.clearclip.gguf.ModelFileException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/** Turns exceptions into one clear line on stderr and exit code 1; stack traces only with --verbose. */
public final class ErrorHandler implements IExecutionExceptionHandler {

    private final Main main;

    ErrorHandler(Main main) {
        this.main = main;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cli, ParseResult parseResult) {
        if (ex instanceof UsageException usage) {
            cli.getErr().println("clearclip: " + usage.getMessage());
            cli.getErr().println("Try 'clearclip " + cli.getCommandName() + " --help' for the options.");
            return Main.EXIT_USAGE;
        }
        cli.getErr().println("clearclip: error: " + message(ex));
        if (main.verbose) {
            ex.printStackTrace(cli.getErr());
        }
        return Main.EXIT_RUNTIME;
    }

    public static String message(Throwable ex) {
        Throwable t = ex instanceof UncheckedIOException u && u.getCause() != null && u.getMessage() == null ? u.getCause() : ex;
        if (t instanceof NoSuchFileException e) {
            return e.getFile() + ": no such file or directory";
        }
        if (t instanceof AccessDeniedException e) {
            return e.getFile() + ": permission denied";
        }
        if (t instanceof FileAlreadyExistsException e) {
            return e.getFile() + ": already exists";
        }
        if (t instanceof FileNotFoundException || t instanceof ClearClipException || t instanceof ModelFileException
                || t instanceof IllegalArgumentException || t instanceof IllegalStateException
                || t instanceof IOException || t instanceof UncheckedIOException) {
            String m = t.getMessage();
            return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
        }
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
