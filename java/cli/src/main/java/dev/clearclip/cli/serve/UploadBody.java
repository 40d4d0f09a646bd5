package dev.clearclip.cli.serve;

import io.javalin.http.Context;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A request body read whole before the request is admitted: in memory up to {@value #IN_MEMORY} bytes,
 * beyond in a private temporary file, so that many waiting uploads cost disk rather than heap.
 */
final class UploadBody implements AutoCloseable {

    /** Request attribute under which {@link UploadGate} leaves the body for the handlers. */
    static final String ATTRIBUTE = UploadBody.class.getName();
    static final int IN_MEMORY = 1 << 20;

    private final Path dir;
    private ByteArrayOutputStream memory = new ByteArrayOutputStream();
    private Path file;
    private OutputStream fileOut;
    private long size;

    UploadBody(Path dir) {
        this.dir = dir;
    }

    static UploadBody of(Context ctx) {
        Object body = ctx.req().getAttribute(ATTRIBUTE);
        if (body instanceof UploadBody b) {
            return b;
        }
        // the gate reads the body of every POST; a request without one has an empty body
        return new UploadBody(null);
    }

    void write(byte[] b, int off, int len) throws IOException {
        if (file == null && memory.size() + len > IN_MEMORY) {
            file = Files.createTempFile(dir, "body-", ".bin");
            fileOut = Files.newOutputStream(file);
            memory.writeTo(fileOut);
            memory = null;
        }
        if (file != null) {
            fileOut.write(b, off, len);
        } else {
            memory.write(b, off, len);
        }
        size += len;
    }

    /** Called once the whole body has been written. */
    void finish() throws IOException {
        if (fileOut != null) {
            fileOut.close();
            fileOut = null;
        }
    }

    long size() {
        return size;
    }

    InputStream open() throws IOException {
        if (file != null) {
            return Files.newInputStream(file);
        }
        return new ByteArrayInputStream(memory == null ? new byte[0] : memory.toByteArray());
    }

    byte[] bytes() throws IOException {
        if (file != null) {
            return Files.readAllBytes(file);
        }
        return memory == null ? new byte[0] : memory.toByteArray();
    }

    @Override
    public void close() {
        try {
            if (fileOut != null) {
                fileOut.close();
            }
            if (file != null) {
                Files.deleteIfExists(file);
            }
        } catch (IOException ignored) {
            // in the server's temporary folder, deleted at close
        }
        memory = null;
    }
}
