package dev.clearclip.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on stderr. On a terminal it redraws in place; otherwise (logs, pipes) it
 * prints a line at every tenth of the work so output stays short.
 */
public final class ProgressBar {

    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final String label;
    private final long total;
    private final boolean bytes;
    private final boolean terminal;
    private final long started = System.nanoTime();
    private int lastTenth = -1;
    private long lastDraw;

    public ProgressBar(PrintWriter err, String label, long total, boolean bytes) {
        this(err, label, total, bytes, System.console() != null && System.console().isTerminal());
    }

    ProgressBar(PrintWriter err, String label, long total, boolean bytes, boolean terminal) {
        this.err = err;
        this.label = label;
        this.total = total;
        this.bytes = bytes;
        this.terminal = terminal;
    }

    public void update(long done) {
        if (terminal) {
            long now = System.nanoTime();
            if (now - lastDraw < 100_000_000L && done < total) {
                return;
            }
            lastDraw = now;
            err.print("\r" + render(done));
            err.flush();
            return;
        }
        int tenth = total > 0 ? (int) Math.min(10, done * 10 / total) : 0;
        if (tenth != lastTenth) {
            lastTenth = tenth;
            err.println(render(done));
            err.flush();
        }
    }

    public void finish(long done) {
        if (terminal) {
            lastDraw = 0;
            err.print("\r" + render(done) + "\n");
            err.flush();
        } else if (lastTenth != 10) {
            lastTenth = -1;
            update(done);
        }
    }

    String render(long done) {
        StringBuilder sb = new StringBuilder(label).append(' ');
        if (total > 0) {
            int filled = (int) Math.min(WIDTH, done * WIDTH / total);
            sb.append('[').append("#".repeat(filled)).append(" ".repeat(WIDTH - filled)).append("] ");
            sb.append(String.format(Locale.ROOT, "%3d%% ", done * 100 / total));
        }
        sb.append(bytes ? size(done) + (total > 0 ? "/" + size(total) : "") : done + (total > 0 ? "/" + total : ""));
        double seconds = (System.nanoTime() - started) / 1e9;
        if (bytes && seconds > 0.5) {
            sb.append(' ').append(size((long) (done / seconds))).append("/s");
        }
        if (total > 0 && done > 0 && done < total && seconds >= 1) {
            sb.append(" ETA ").append(duration(seconds * (total - done) / done));
        }
        return sb.toString();
    }

    /** h:mm:ss, or m:ss below an hour. */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600
                ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    static String size(long n) {
        if (n < 1024) {
            return n + " B";
        }
        if (n < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        }
        if (n < 1024L * 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f MiB", n / (1024.0 * 1024));
        }
        return String.format(Locale.ROOT, "%.2f GiB", n / (1024.0 * 1024 * 1024));
    }
}
