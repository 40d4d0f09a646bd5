package dev.clearclip.cli;

import java.io.PrintWriter;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * What the CLI does with the engine's and ggml's messages (System.Logger {@code dev.clearclip.native},
 * which defaults to java.util.logging): printed as they are to stderr with {@code --verbose}, dropped
 * otherwise, so that errors show as the CLI's one clear line without ggml's lines before it.
 */
final class NativeLogs {

    static final String LOGGER = "dev.clearclip.native";

    /** Held here: java.util.logging keeps its loggers weakly, and would forget the level set below. */
    private static final Logger JUL = Logger.getLogger(LOGGER);
    private static Handler installed;

    private NativeLogs() {
    }

    static synchronized void configure(boolean verbose, PrintWriter err) {
        if (installed != null) {
            JUL.removeHandler(installed);
            installed = null;
        }
        JUL.setUseParentHandlers(false);
        if (!verbose) {
            JUL.setLevel(Level.OFF);
            return;
        }
        JUL.setLevel(Level.ALL);
        installed = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (isLoggable(r)) {
                    err.println(r.getMessage());
                    err.flush();
                }
            }

            @Override
            public void flush() {
                err.flush();
            }

            @Override
            public void close() {
            }
        };
        installed.setLevel(Level.ALL);
        installed.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                return r.getMessage() + System.lineSeparator();
            }
        });
        JUL.addHandler(installed);
    }
}
