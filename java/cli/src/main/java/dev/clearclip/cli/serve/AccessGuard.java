package dev.clearclip.cli.serve;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who may use the server, checked before a byte of the body is read: the API key, CORS, and without a key
 * the {@code Host} and {@code Origin} of the request.
 *
 * <p>Without {@code --api-key} the server trusts whoever can reach it, which on loopback means the programs
 * of this machine, but also any web page a browser of this machine shows: a page of another site could
 * post a form to {@code http://127.0.0.1:8080/v1/segment} (the browser sends it with the page's
 * {@code Origin}), or reach the server under a name of its own that resolves to 127.0.0.1 (DNS
 * rebinding; the browser then sends that name as {@code Host}). So without a key, a request whose
 * {@code Host} is not the bound address (a loopback address or {@code localhost} when bound to loopback,
 * any address literal when bound to all interfaces) nor a name given with {@code --allow-host} is refused,
 * and so is one whose {@code Origin} is neither the server's own nor the {@code --cors} origin.
 */
final class AccessGuard {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private final String apiKey;
    private final String corsOrigin;
    private final boolean boundToAll;
    private final boolean boundToLoopback;
    private final Set<String> hosts = new HashSet<>();

    AccessGuard(String apiKey, String corsOrigin, String bindHost, List<String> allowedHosts) {
        this.apiKey = apiKey;
        this.corsOrigin = corsOrigin;
        String bind = bare(bindHost);
        this.boundToAll = bind.isEmpty() || bind.equals("0.0.0.0") || bind.equals("::") || bind.equals("*");
        this.boundToLoopback = isLoopback(bind);
        hosts.add(bind);
        for (String h : allowedHosts) {
            hosts.add(bare(h));
        }
    }

    /** Paths open without the key: the page and the health check (also with a trailing slash). */
    static boolean open(String path) {
        String p = trimSlashes(path);
        return p.equals("/") || p.equals("/health");
    }

    static String trimSlashes(String path) {
        String p = path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    /** Sets the CORS answer headers and returns the refusal of this request, or null to let it in. */
    ApiException check(HttpServletRequest req, HttpServletResponse res) {
        String origin = req.getHeader("Origin");
        if (corsOrigin != null && origin != null && (corsOrigin.equals("*") || corsOrigin.equals(origin))) {
            res.setHeader("Access-Control-Allow-Origin", corsOrigin.equals("*") ? "*" : origin);
            res.setHeader("Vary", "Origin");
        }
        if (apiKey == null) {
            String host = req.getHeader("Host");
            if (host != null && !hostAllowed(host)) {
                return new ApiException(403, "forbidden_host", "Host '" + RequestReader.shorten(host) + "' is not "
                        + "this server's address; without --api-key only the bound address (or --allow-host "
                        + "names) is answered");
            }
            if (origin != null && !originAllowed(origin, host)) {
                return new ApiException(403, "forbidden_origin", "requests from pages of '"
                        + RequestReader.shorten(origin) + "' are not allowed (see --cors)");
            }
        }
        if ("OPTIONS".equals(req.getMethod())) {
            return null;
        }
        if (apiKey != null && !open(req.getRequestURI()) && !keyMatches(req)) {
            return new ApiException(401, "unauthorized", "missing or wrong API key (send 'Authorization: Bearer KEY' "
                    + "or 'X-API-Key: KEY')");
        }
        return null;
    }

    private boolean keyMatches(HttpServletRequest req) {
        String given = req.getHeader("X-API-Key");
        String auth = req.getHeader("Authorization");
        String bearer = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).strip() : null;
        // either header may carry the key: an empty X-API-Key (a client's default) must not hide a right Bearer
        return matches(given) | matches(bearer);
    }

    /** Constant time, so that the key cannot be guessed byte by byte from response times. */
    private boolean matches(String given) {
        return given != null && !given.isBlank() && MessageDigest.isEqual(given.strip().getBytes(StandardCharsets.UTF_8),
                apiKey.getBytes(StandardCharsets.UTF_8));
    }

    boolean hostAllowed(String hostHeader) {
        String name = bare(hostHeader);
        if (hosts.contains(name)) {
            return true;
        }
        if (boundToLoopback || boundToAll) {
            if (name.equals("localhost") || isLoopback(name)) {
                return true;
            }
        }
        // bound to all interfaces: any address literal is one of the machine's (a name could be anyone's)
        return boundToAll && (IPV4.matcher(name).matches() || name.contains(":"));
    }

    private boolean originAllowed(String origin, String hostHeader) {
        if (corsOrigin != null && (corsOrigin.equals("*") || corsOrigin.equals(origin))) {
            return true;
        }
        // the server's own page: its origin is this very scheme://host:port
        return hostHeader != null && (origin.equalsIgnoreCase("http://" + hostHeader)
                || origin.equalsIgnoreCase("https://" + hostHeader));
    }

    /** The host name of a Host header or address, lower case, without port and brackets. */
    static String bare(String host) {
        if (host == null) {
            return "";
        }
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end > 0 ? h.substring(1, end) : h;
        }
        int colon = h.indexOf(':');
        if (colon >= 0 && colon == h.lastIndexOf(':')) {
            h = h.substring(0, colon);
        }
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    private static boolean isLoopback(String name) {
        return name.equals("localhost") || name.equals("::1") || name.equals("0:0:0:0:0:0:0:1")
                || (IPV4.matcher(name).matches() && name.startsWith("127."));
    }
}
