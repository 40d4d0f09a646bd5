package dev.clearclip.cli;

/** A command line that parses but makes no sense (e.g. two class sources); exit code 2. */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
