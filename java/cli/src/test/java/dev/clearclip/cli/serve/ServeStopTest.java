package dev.clearclip.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.cli.Fixtures;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing the server (what SIGTERM does) while an answer is still being sent: the answer arrives whole.
 * Javalin writes a handler's result after the handler returns; a server that counted only the handler
 * stopped Jetty in the middle of the body (found by ServeProcessTest on a loaded machine, as the
 * client's "EOF reached while reading").
 */
class ServeStopTest {

    @TempDir
    Path tmp;

    @Test
    void closeLetsAnAnswerThatIsBeingSentFinish() throws Exception {
        Path model = Fixtures.hfTinyGguf(tmp);
        // an overlay PNG of full RGB noise does not compress: about 9 MB, more than the server's socket
        // send buffer (at most 4 MB by Linux's default tcp_wmem) and the client's receive buffer together
        int w = 2000;
        int h = 1500;
        byte[] picture = ServeApiTest.png(noise(w, h));
        StringWriter log = new StringWriter();
        try (ClipModel clip = ClipModel.load(model, ModelOptions.builder().contexts(1).threads(2).noTextCache().build());
             ClearClipServer server = ClearClipServer.start(clip, new ClearClipServer.Config("127.0.0.1", 0, 64L << 20,
                     100_000_000L, 4, null, null), new PrintWriter(log, true));
             Socket socket = new Socket()) {
            socket.setReceiveBufferSize(4096);
            socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 10_000);
            socket.setSoTimeout(120_000);
            Http.Form form = new Http.Form().file("image", "noise.png", "image/png", picture).field("classes", "sky;grass");
            byte[] body = form.body();
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: image/png\r\n"
                    + "Content-Type: " + form.contentType() + "\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();

            InputStream in = new BufferedInputStream(socket.getInputStream());
            // the head comes with the first bytes of the body, so the handler has returned by now
            String head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 200");
            // the client reads nothing more for a while, so the server's write waits on it; the server is
            // closed meanwhile, and must wait for the answer
            CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close, Thread::startVirtualThread);
            Thread.sleep(1000);
            assertThat(closing).as("close() waits for the answer being sent").isNotDone();

            byte[] png = readBody(in, head);
            assertThat(png.length).as("the answer outgrows the socket buffers").isGreaterThan(6 << 20);
            BufferedImage overlay = ImageIO.read(new ByteArrayInputStream(png));
            assertThat(overlay).as("a whole PNG").isNotNull();
            assertThat(overlay.getHeight()).isEqualTo(h);
            assertThat(overlay.getWidth()).as("the picture and its legend").isGreaterThan(w);
            closing.get(60, TimeUnit.SECONDS);
        }
        assertThat(log.toString()).doesNotContain("internal error");
    }

    static BufferedImage noise(int w, int h) {
        Random rnd = new Random(3);
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, rnd.nextInt(1 << 24));
            }
        }
        return image;
    }

    /** The status line and headers, up to the empty line. */
    static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("the connection ended inside the head: " + head);
            }
            head.write(b);
            matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : b == '\r' ? 1 : 0;
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    /** The whole body, by Content-Length or chunked; an EOFException if the connection ends before it does. */
    static byte[] readBody(InputStream in, String head) throws IOException {
        String lower = head.toLowerCase(Locale.ROOT);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (lower.contains("\r\ntransfer-encoding: chunked")) {
            while (true) {
                String size = readLine(in);
                int semicolon = size.indexOf(';');
                int n = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
                if (n == 0) {
                    readLine(in); // the empty line after the last chunk (no trailers are sent)
                    return body.toByteArray();
                }
                byte[] chunk = in.readNBytes(n);
                body.write(chunk);
                if (chunk.length < n) {
                    throw new EOFException("the body ended after " + body.size() + " bytes, inside a chunk");
                }
                readLine(in);
            }
        }
        int at = lower.indexOf("\r\ncontent-length:");
        assertThat(at).as("a length or chunks: %s", head).isNotNegative();
        long length = Long.parseLong(lower.substring(at + 17, lower.indexOf("\r\n", at + 2)).trim());
        byte[] bytes = in.readNBytes((int) length);
        if (bytes.length < length) {
            throw new EOFException("the body ended after " + bytes.length + " of " + length + " bytes");
        }
        return bytes;
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b < 0) {
                throw new EOFException("the body ended inside a chunk header after: " + line);
            }
            if (b != '\r') {
                line.append((char) b);
            }
        }
        return line.toString();
    }
}
