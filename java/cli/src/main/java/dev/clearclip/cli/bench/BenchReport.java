package dev.clearclip.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The reports of {@code clearclip bench}: the markdown table and the bar chart of its JSON. */
final class BenchReport {

    private static final List<String[]> ROWS = BenchCommand.ROWS;

    private BenchReport() {
    }

    static String markdown(JsonNode report) {
        StringBuilder sb = new StringBuilder();
        sb.append("# clearclip bench\n\n");
        sb.append(String.format(Locale.ROOT, "%s, %d cores, %s; engine %s, ggml CPU variant %s (%s); %d timed runs "
                        + "per cell (median, min in parentheses); load average %s at the start, %s at the end.%n%n",
                report.path("cpu").asText(), report.path("cores").asInt(), report.path("date").asText(),
                report.path("engine_version").asText(), report.path("cpu_variant").asText("?"),
                report.path("cpu_variant_features").asText("?"), report.path("repeat").asInt(),
                report.path("load_average_start").asText(), report.path("load_average_end").asText()));
        sb.append("| model | type | threads |");
        for (String[] row : ROWS) {
            sb.append(' ').append(row[1]).append(" |");
        }
        sb.append(" 500x375 (img/s) | segmentation peak RSS (MB) | peak RSS (MB) | CLI segment peak RSS (MB) |\n"
                + "|---|---|---|");
        sb.append("---|".repeat(ROWS.size() + 4)).append('\n');
        for (JsonNode run : report.path("runs")) {
            sb.append("| ").append(run.path("name").asText()).append(" | ").append(run.path("file_type").asText())
                    .append(" | ").append(run.path("threads").asInt()).append(" |");
            for (String[] row : ROWS) {
                JsonNode s = run.path(row[0]);
                sb.append(String.format(Locale.ROOT, " %s (%s) |", fmt(s.path("median").asDouble()),
                        fmt(s.path("min").asDouble())));
            }
            sb.append(String.format(Locale.ROOT, " %.2f | %.0f | %.0f | %s |%n", run.path("segment_images_per_s").asDouble(),
                    run.path("rss_mb").path("peak_segment").asDouble(), run.path("rss_mb").path("peak").asDouble(),
                    run.has("cli_segment_rss_mb")
                            ? String.format(Locale.ROOT, "%.0f", run.path("cli_segment_rss_mb").asDouble()) : "-"));
        }
        for (JsonNode run : report.path("runs")) {
            if (run.has("pamr_500x375_s")) {
                sb.append(String.format(Locale.ROOT, "%nPAMR (%s, %s threads): %s s per 500x375 picture (segment %s s "
                                + "with, %s s without).%n", run.path("name").asText(), run.path("threads").asInt(),
                        fmt(run.path("pamr_500x375_s").asDouble()),
                        fmt(run.path("segment_500x375_s").path("median").asDouble()),
                        fmt(run.path("segment_500x375_no_pamr_s").path("median").asDouble())));
            }
        }
        boolean shared = !report.path("process_per_run").asBoolean(true);
        sb.append(String.format(Locale.ROOT, "%nWindows: dense ClearCLIP features of one 224x224 / 448x448 picture. "
                + "Segment: the whole VOC21 pipeline (short side 448; with --method clearclip 448 crops, stride 224: "
                + "2 windows; naclip 224 crops, stride 112, and PAMR) on a "
                + "generated 500x375 picture with precomputed class embeddings. Prompts: 21 VOC classes x 80 "
                + "templates through the text tower, no cache. Segmentation peak RSS: VmHWM after loading, the "
                + "class embeddings and the segmentation runs (what `clearclip segment` does); peak RSS: after all "
                + "rows. VmHWM of %s. CLI segment peak RSS: VmHWM of a whole `clearclip segment` process run "
                + "through the launcher on the same picture with --preset voc21 and an empty text cache (first run), "
                + "once per model at the largest thread count.%n",
                shared ? "the one process that measured all rows so far (cumulative)"
                        : "the process that measured the row (one JVM per row)"));
        for (JsonNode run : report.path("runs")) {
            JsonNode cli = run.path("cli_segment");
            if (cli.has("error")) {
                sb.append(String.format(Locale.ROOT, "%nCLI segment of %s not measured: %s.%n",
                        run.path("name").asText(), cli.path("error").asText()));
            } else if (cli.has("rss_mb")) {
                sb.append(String.format(Locale.ROOT, "%nCLI segment of %s: %.0f MB, %s s wall, %d threads; JVM options "
                                + "%s%s.%n", run.path("name").asText(), cli.path("rss_mb").asDouble(),
                        fmt(cli.path("wall_s").asDouble()), cli.path("threads").asInt(),
                        cli.path("jvm_args").asText(), cli.path("malloc_env").asText().isEmpty() ? ""
                                : "; " + cli.path("malloc_env").asText()));
            }
        }
        return sb.toString();
    }

    private static String fmt(double seconds) {
        return seconds >= 10 ? String.format(Locale.ROOT, "%.1f", seconds)
                : seconds >= 0.1 ? String.format(Locale.ROOT, "%.3f", seconds)
                : String.format(Locale.ROOT, "%.4f", seconds);
    }

    /** One panel per timed row (medians, seconds), one bar per run. */
    static BufferedImage chart(JsonNode report) {
        List<JsonNode> runs = new ArrayList<>();
        report.path("runs").forEach(runs::add);
        List<String[]> rows = ROWS.subList(1, ROWS.size());
        int cols = 3;
        int panelW = 420;
        int barH = 18;
        int panelH = 50 + Math.max(1, runs.size()) * (barH + 6);
        int gridRows = (rows.size() + cols - 1) / cols;
        BufferedImage img = new BufferedImage(cols * panelW, 40 + gridRows * panelH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString("clearclip bench: median seconds (shorter is faster), " + report.path("cpu").asText(), 10, 24);
        Color[] palette = {new Color(0x4E79A7), new Color(0xF28E2B), new Color(0x59A14F), new Color(0xE15759),
            new Color(0x76B7B2), new Color(0xEDC948), new Color(0xB07AA1), new Color(0xFF9DA7)};
        for (int p = 0; p < rows.size(); p++) {
            int x0 = (p % cols) * panelW + 10;
            int y0 = 40 + (p / cols) * panelH;
            String key = rows.get(p)[0];
            double max = runs.stream().mapToDouble(r -> r.path(key).path("median").asDouble()).max().orElse(1);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            g.drawString(rows.get(p)[1], x0, y0 + 16);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            int labelW = 150;
            int maxBar = panelW - labelW - 80;
            for (int i = 0; i < runs.size(); i++) {
                JsonNode run = runs.get(i);
                double v = run.path(key).path("median").asDouble();
                int y = y0 + 28 + i * (barH + 6);
                String label = run.path("file_type").asText() + ", " + run.path("threads").asInt() + "t";
                g.setColor(Color.DARK_GRAY);
                g.drawString(label, x0, y + barH - 5);
                g.setColor(palette[i % palette.length]);
                int w = max > 0 ? (int) Math.round(maxBar * v / max) : 0;
                g.fillRect(x0 + labelW, y, Math.max(1, w), barH);
                g.setColor(Color.BLACK);
                g.drawString(fmt(v), x0 + labelW + w + 4, y + barH - 5);
            }
            g.setColor(Color.LIGHT_GRAY);
            g.setStroke(new BasicStroke(1));
            g.drawLine(x0 + labelW, y0 + 24, x0 + labelW, y0 + 28 + runs.size() * (barH + 6));
        }
        g.dispose();
        return img;
    }
}
