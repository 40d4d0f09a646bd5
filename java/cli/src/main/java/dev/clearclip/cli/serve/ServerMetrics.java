package dev.clearclip.cli.serve;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntSupplier;

/**
 * The counters behind {@code GET /metrics}, written in the Prometheus text exposition format (version 0.0.4).
 * A handful of counters does not justify a metrics library: the format is plain lines of
 * {@code name{labels} value}.
 */
final class ServerMetrics {

    /** Upper bounds of the latency histogram, in seconds (a segmentation takes from tens of ms to seconds). */
    static final double[] BUCKETS = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final Map<String, AtomicLong> requests = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final AtomicLong windows = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final IntSupplier queueDepth;
    private final IntSupplier running;
    private volatile IntSupplier refusedConnections = () -> 0;
    private volatile IntSupplier slowHeaders = () -> 0;

    ServerMetrics(IntSupplier queueDepth, IntSupplier running) {
        this.queueDepth = queueDepth;
        this.running = running;
    }

    private static final class Histogram {
        final AtomicLongArray counts = new AtomicLongArray(BUCKETS.length);
        final AtomicLong count = new AtomicLong();
        // sum in nanoseconds, so that it can be an exact long
        final AtomicLong sumNanos = new AtomicLong();
    }

    /** One finished request: its route (the matched path, never the raw URL, to bound the label set). */
    void record(String method, String route, int status, long nanos) {
        requests.computeIfAbsent(method + " " + route + " " + status, k -> new AtomicLong()).incrementAndGet();
        Histogram h = latency.computeIfAbsent(route, k -> new Histogram());
        double seconds = nanos / 1e9;
        for (int i = 0; i < BUCKETS.length; i++) {
            if (seconds <= BUCKETS[i]) {
                h.counts.incrementAndGet(i);
            }
        }
        h.count.incrementAndGet();
        h.sumNanos.addAndGet(nanos);
    }

    /** The transport's counters: connections over the per-address limit, connections cut for slow headers. */
    void transport(IntSupplier refusedConnections, IntSupplier slowHeaders) {
        this.refusedConnections = refusedConnections;
        this.slowHeaders = slowHeaders;
    }

    void windowDone() {
        windows.incrementAndGet();
    }

    void rejected() {
        rejected.incrementAndGet();
    }

    long windows() {
        return windows.get();
    }

    String render() {
        StringBuilder b = new StringBuilder();
        b.append("# HELP clearclip_http_requests_total HTTP requests answered, by method, route and status.\n");
        b.append("# TYPE clearclip_http_requests_total counter\n");
        for (Map.Entry<String, AtomicLong> e : new TreeMap<>(requests).entrySet()) {
            String[] k = e.getKey().split(" ", 3);
            b.append("clearclip_http_requests_total{method=\"").append(k[0]).append("\",route=\"").append(escape(k[1]))
                    .append("\",status=\"").append(k[2]).append("\"} ").append(e.getValue().get()).append('\n');
        }
        b.append("# HELP clearclip_http_request_duration_seconds Time from request to response, by route.\n");
        b.append("# TYPE clearclip_http_request_duration_seconds histogram\n");
        for (Map.Entry<String, Histogram> e : new TreeMap<>(latency).entrySet()) {
            String route = escape(e.getKey());
            Histogram h = e.getValue();
            for (int i = 0; i < BUCKETS.length; i++) {
                b.append("clearclip_http_request_duration_seconds_bucket{route=\"").append(route).append("\",le=\"")
                        .append(format(BUCKETS[i])).append("\"} ").append(h.counts.get(i)).append('\n');
            }
            b.append("clearclip_http_request_duration_seconds_bucket{route=\"").append(route).append("\",le=\"+Inf\"} ")
                    .append(h.count.get()).append('\n');
            b.append("clearclip_http_request_duration_seconds_sum{route=\"").append(route).append("\"} ")
                    .append(format(h.sumNanos.get() / 1e9)).append('\n');
            b.append("clearclip_http_request_duration_seconds_count{route=\"").append(route).append("\"} ")
                    .append(h.count.get()).append('\n');
        }
        b.append("# HELP clearclip_queue_depth Inference requests waiting for a free model context.\n");
        b.append("# TYPE clearclip_queue_depth gauge\n");
        b.append("clearclip_queue_depth ").append(queueDepth.getAsInt()).append('\n');
        b.append("# HELP clearclip_inference_running Inference requests holding a model context.\n");
        b.append("# TYPE clearclip_inference_running gauge\n");
        b.append("clearclip_inference_running ").append(running.getAsInt()).append('\n');
        b.append("# HELP clearclip_rejected_total Inference requests refused because the queue was full.\n");
        b.append("# TYPE clearclip_rejected_total counter\n");
        b.append("clearclip_rejected_total ").append(rejected.get()).append('\n');
        b.append("# HELP clearclip_connections_refused_total Connections closed at once: their client address had "
                + "--max-client-connections open.\n");
        b.append("# TYPE clearclip_connections_refused_total counter\n");
        b.append("clearclip_connections_refused_total ").append(refusedConnections.getAsInt()).append('\n');
        b.append("# HELP clearclip_slow_headers_total Connections closed because their request headers did not "
                + "arrive within --upload-timeout.\n");
        b.append("# TYPE clearclip_slow_headers_total counter\n");
        b.append("clearclip_slow_headers_total ").append(slowHeaders.getAsInt()).append('\n');
        b.append("# HELP clearclip_windows_total Sliding windows computed by segmentations.\n");
        b.append("# TYPE clearclip_windows_total counter\n");
        b.append("clearclip_windows_total ").append(windows.get()).append('\n');
        return b.toString();
    }

    private static String format(double v) {
        return String.format(Locale.ROOT, "%s", v);
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
