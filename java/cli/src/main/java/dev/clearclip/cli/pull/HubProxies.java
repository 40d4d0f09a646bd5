package dev.clearclip.cli.pull;

import dev.clearclip.cli.UsageException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * The proxy of each request. Java's HttpClient reads no proxy variables, only the JVM's
 * {@code https.proxyHost}/{@code http.proxyHost} properties (with {@code http.nonProxyHosts}):
 * when those are set they win; otherwise {@code https_proxy}/{@code HTTPS_PROXY} for https,
 * {@code http_proxy}/{@code HTTP_PROXY} for http (then {@code all_proxy}/{@code ALL_PROXY}),
 * and {@code no_proxy}/{@code NO_PROXY} (lower case first, as Python's requests and curl read them).
 */
final class HubProxies extends ProxySelector {

    private final Optional<InetSocketAddress> https;
    private final Optional<InetSocketAddress> http;
    private final List<String> noProxy;
    private final ProxySelector jvm;

    private HubProxies(Optional<InetSocketAddress> https, Optional<InetSocketAddress> http, List<String> noProxy,
                       ProxySelector jvm) {
        this.https = https;
        this.http = http;
        this.noProxy = noProxy;
        this.jvm = jvm;
    }

    static HubProxies from(Function<String, String> env) {
        boolean jvmProperties = System.getProperty("https.proxyHost") != null || System.getProperty("http.proxyHost") != null;
        ProxySelector jvm = jvmProperties ? ProxySelector.getDefault() : null;
        Optional<InetSocketAddress> all = address(env, "all_proxy", "ALL_PROXY");
        Optional<InetSocketAddress> https = address(env, "https_proxy", "HTTPS_PROXY").or(() -> all);
        Optional<InetSocketAddress> http = address(env, "http_proxy", "HTTP_PROXY").or(() -> all);
        List<String> noProxy = new ArrayList<>();
        String list = first(env, "no_proxy", "NO_PROXY");
        if (list != null) {
            for (String entry : list.split(",")) {
                String e = entry.strip().toLowerCase(Locale.ROOT);
                if (!e.isEmpty()) {
                    noProxy.add(e.startsWith("*.") ? e.substring(1) : e);
                }
            }
        }
        return new HubProxies(https, http, List.copyOf(noProxy), jvm);
    }

    @Override
    public List<Proxy> select(URI uri) {
        if (jvm != null) {
            return jvm.select(uri);
        }
        Optional<InetSocketAddress> proxy = "https".equalsIgnoreCase(uri.getScheme()) ? https : http;
        if (proxy.isEmpty() || bypass(uri.getHost(), uri.getPort())) {
            return List.of(Proxy.NO_PROXY);
        }
        // resolved here, per request: the HTTP client does not resolve a proxy's name itself
        return List.of(new Proxy(Proxy.Type.HTTP, new InetSocketAddress(proxy.get().getHostString(), proxy.get().getPort())));
    }

    @Override
    public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
        // nothing to remember: each pull is short
    }

    /** NO_PROXY entries: "*" (everything), a host or domain (its subdomains too), an IP, each optionally with :port. */
    boolean bypass(String host, int port) {
        if (host == null) {
            return false;
        }
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        for (String entry : noProxy) {
            if (entry.equals("*")) {
                return true;
            }
            String name = entry;
            int colon = entry.lastIndexOf(':');
            if (colon > 0 && entry.indexOf(':') == colon && entry.substring(colon + 1).matches("\\d+")) {
                if (Integer.parseInt(entry.substring(colon + 1)) != port) {
                    continue;
                }
                name = entry.substring(0, colon);
            }
            if (name.startsWith(".")) {
                name = name.substring(1);
            }
            if (h.equals(name) || h.endsWith("." + name)) {
                return true;
            }
        }
        return false;
    }

    private static String first(Function<String, String> env, String lower, String upper) {
        String v = env.apply(lower);
        if (v == null || v.isBlank()) {
            v = env.apply(upper);
        }
        return v == null || v.isBlank() ? null : v.strip();
    }

    private static Optional<InetSocketAddress> address(Function<String, String> env, String lower, String upper) {
        String v = first(env, lower, upper);
        if (v == null) {
            return Optional.empty();
        }
        String variable = v.equals(env.apply(lower) == null ? null : env.apply(lower).strip()) ? lower : upper;
        URI uri;
        try {
            uri = URI.create(v.contains("://") ? v : "http://" + v);
        } catch (IllegalArgumentException e) {
            throw new UsageException(variable + " is not a proxy URL like http://proxy.example:3128");
        }
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new UsageException(variable + ": a " + scheme + " proxy; Java's HTTP client goes through HTTP "
                    + "proxies only (http://host:port)");
        }
        if (uri.getRawUserInfo() != null) {
            // the credentials are not repeated: they are a secret like the token
            throw new UsageException(variable + ": proxies that need a user name and password are not supported");
        }
        if (uri.getHost() == null) {
            throw new UsageException(variable + " is not a proxy URL like http://proxy.example:3128");
        }
        int port = uri.getPort() >= 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
        return Optional.of(InetSocketAddress.createUnresolved(uri.getHost(), port));
    }
}
