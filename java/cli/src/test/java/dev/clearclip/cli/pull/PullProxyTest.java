package dev.clearclip.cli.pull;

import static dev.clearclip.cli.pull.PullHubSupport.hfTiny;
import static dev.clearclip.cli.pull.PullHubSupport.pull;
import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.cli.Cli;
import dev.clearclip.cli.UsageException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Audit point 2: {@code pull} through an HTTP proxy taken from the environment, against a small proxy
 * on 127.0.0.1 that tunnels CONNECT (what an https hub needs) and forwards absolute-form requests
 * (plain http), and forwards only to 127.0.0.1.
 */
@Timeout(120)
class PullProxyTest {

    @TempDir
    Path tmp;
    FakeHub hub;
    TestProxy proxy;
    Map<String, String> env;

    @BeforeEach
    void start() throws IOException {
        proxy = new TestProxy();
        System.setProperty("clearclip.cache.dir", tmp.resolve("cache").toString());
        env = new LinkedHashMap<>(Map.of("HF_HOME", tmp.resolve("hf-home").toString()));
    }

    @AfterEach
    void stop() {
        if (hub != null) {
            hub.close();
        }
        proxy.close();
        PullCommand.sslContext = null;
        System.clearProperty("clearclip.cache.dir");
    }

    /** A self-signed certificate for 127.0.0.1, made by the JDK's keytool, trusted by the pull's client. */
    private SSLContext selfSigned() throws Exception {
        Path store = tmp.resolve("hub.p12");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "hub", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
                "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ssl;
    }

    @Test
    void httpsHubThroughHttpsProxyTunnel() throws Exception {
        SSLContext ssl = selfSigned();
        hub = new FakeHub(ssl);
        hub.add("org/tiny", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        PullCommand.sslContext = ssl;
        env.put("https_proxy", "http://127.0.0.1:" + proxy.port());
        Cli pull = pull(env, "pull", "org/tiny", "--endpoint", hub.endpoint(), "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        String hubAuthority = URI.create(hub.endpoint()).getAuthority();
        assertThat(proxy.requests).contains("CONNECT " + hubAuthority, "CONNECT " + hub.storageHost());
        assertThat(hub.requestsTo("storage")).isNotEmpty();
    }

    @Test
    void httpHubThroughHttpProxyAndNoProxy() throws IOException {
        hub = new FakeHub();
        hub.add("org/tiny", hfTiny("config.json", "model.safetensors", "vocab.json", "merges.txt"));
        env.put("HTTP_PROXY", "127.0.0.1:" + proxy.port());
        Cli pull = pull(env, "pull", "org/tiny", "--endpoint", hub.endpoint(), "--no-default");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(proxy.requests).anyMatch(r -> r.startsWith("GET " + hub.endpoint() + "/api/models/org/tiny"))
                .anyMatch(r -> r.startsWith("GET http://" + hub.storageHost() + "/"));

        proxy.requests.clear();
        env.put("NO_PROXY", "localhost,127.0.0.1");
        Cli direct = pull(env, "pull", "org/tiny", "--endpoint", hub.endpoint(), "--no-default", "--type", "f16");
        assertThat(direct.exit()).as(direct.err()).isZero();
        assertThat(proxy.requests).isEmpty();
    }

    /** A proxy that is not there: the message names it (and the attempts are bounded). */
    @Test
    void unreachableProxyIsNamed() throws IOException {
        hub = new FakeHub();
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        env.put("http_proxy", "http://127.0.0.1:" + closedPort);
        Cli pull = pull(env, "pull", "org/tiny", "--endpoint", hub.endpoint(), "--no-default");
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("org/tiny: cannot reach the hub after 5 attempts: cannot connect to 127.0.0.1 "
                + "through the proxy 127.0.0.1:" + closedPort);
        assertThat(hub.requests).isEmpty();
    }

    @Test
    void proxyVariablesAreReadAsCurlAndRequestsReadThem() {
        Map<String, String> e = new LinkedHashMap<>();
        e.put("HTTPS_PROXY", "http://upper.invalid:3128");
        e.put("https_proxy", "http://lower.invalid:8080");
        e.put("no_proxy", ".internal.example, 10.0.0.1, *.corp.example, mirror.local:8443");
        HubProxies p = HubProxies.from(e::get);
        assertThat(((java.net.InetSocketAddress) p.select(URI.create("https://huggingface.co/x")).get(0).address())
                .getHostString()).isEqualTo("lower.invalid");
        assertThat(p.select(URI.create("http://huggingface.co/x"))).containsExactly(Proxy.NO_PROXY);
        for (String bypassed : List.of("https://hub.internal.example/x", "https://internal.example/", "https://10.0.0.1/",
                "https://a.corp.example/", "https://mirror.local:8443/")) {
            assertThat(p.select(URI.create(bypassed))).as(bypassed).containsExactly(Proxy.NO_PROXY);
        }
        assertThat(p.select(URI.create("https://mirror.local/"))).doesNotContain(Proxy.NO_PROXY);
        assertThat(p.select(URI.create("https://notinternal.example/"))).doesNotContain(Proxy.NO_PROXY);
        assertThat(HubProxies.from(Map.of("HTTPS_PROXY", "http://proxy:1", "NO_PROXY", "*")::get)
                .select(URI.create("https://huggingface.co/"))).containsExactly(Proxy.NO_PROXY);
        // credentials in the URL are refused without being repeated
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HubProxies.from(
                        Map.of("HTTPS_PROXY", "http://user:s3cret@proxy:1")::get))
                .isInstanceOf(UsageException.class).hasMessageNotContaining("s3cret");
    }

    /** The JVM's own proxy properties win over the environment, as -Dhttps.proxyHost users expect. */
    @Test
    void jvmPropertiesWin() {
        System.setProperty("https.proxyHost", "jvm.invalid");
        System.setProperty("https.proxyPort", "3129");
        try {
            HubProxies p = HubProxies.from(Map.of("HTTPS_PROXY", "http://env.invalid:1")::get);
            assertThat(((java.net.InetSocketAddress) p.select(URI.create("https://huggingface.co/")).get(0).address())
                    .getHostString()).isEqualTo("jvm.invalid");
        } finally {
            System.clearProperty("https.proxyHost");
            System.clearProperty("https.proxyPort");
        }
    }

    /** An HTTP proxy for the test: CONNECT tunnels and absolute-form forwarding, to 127.0.0.1 only. */
    static final class TestProxy implements AutoCloseable {
        final List<String> requests = new CopyOnWriteArrayList<>();
        private final ServerSocket server;
        private final List<Socket> open = new CopyOnWriteArrayList<>();

        TestProxy() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread accept = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket client = server.accept();
                        open.add(client);
                        Thread t = new Thread(() -> serve(client));
                        t.setDaemon(true);
                        t.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            accept.setDaemon(true);
            accept.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void serve(Socket client) {
            try (client) {
                InputStream in = client.getInputStream();
                OutputStream out = client.getOutputStream();
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                String[] lines = head.split("\r\n");
                String[] first = lines[0].split(" ");
                requests.add(first[0] + " " + first[1]);
                URI target = first[0].equals("CONNECT") ? URI.create("tcp://" + first[1]) : URI.create(first[1]);
                if (!"127.0.0.1".equals(target.getHost())) {
                    out.write("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    return;
                }
                try (Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target.getPort())) {
                    open.add(upstream);
                    if (first[0].equals("CONNECT")) {
                        out.write("HTTP/1.1 200 Connection Established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    } else {
                        StringBuilder forwarded = new StringBuilder(first[0] + " " + target.getRawPath()
                                + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery()) + " HTTP/1.1\r\n");
                        for (int i = 1; i < lines.length; i++) {
                            String lower = lines[i].toLowerCase(java.util.Locale.ROOT);
                            if (!lower.startsWith("proxy-connection:") && !lower.startsWith("connection:")) {
                                forwarded.append(lines[i]).append("\r\n");
                            }
                        }
                        forwarded.append("Connection: close\r\n\r\n");
                        upstream.getOutputStream().write(forwarded.toString().getBytes(StandardCharsets.ISO_8859_1));
                        upstream.getOutputStream().flush();
                    }
                    Thread up = new Thread(() -> pipe(in, upstream));
                    up.setDaemon(true);
                    up.start();
                    upstream.getInputStream().transferTo(out);
                }
            } catch (IOException e) {
                // a closed connection ends the exchange
            }
        }

        private static void pipe(InputStream from, Socket to) {
            try {
                from.transferTo(to.getOutputStream());
            } catch (IOException e) {
                // either side closed
            }
        }

        private static String readHead(InputStream in) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) >= 0) {
                b.write(c);
                byte[] a = b.toByteArray();
                int n = a.length;
                if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') {
                    return new String(a, 0, n - 4, StandardCharsets.ISO_8859_1);
                }
                if (n > 65536) {
                    return null;
                }
            }
            return null;
        }

        @Override
        public void close() {
            try {
                server.close();
            } catch (IOException e) {
                // closing
            }
            for (Socket s : open) {
                try {
                    s.close();
                } catch (IOException e) {
                    // closing
                }
            }
        }
    }
}
