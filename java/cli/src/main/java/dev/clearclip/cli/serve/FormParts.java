package dev.clearclip.cli.serve;

import jakarta.servlet.MultipartConfigElement;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.eclipse.jetty.server.MultiPartFormInputStream;

/**
 * The fields and files of a multipart/form-data body that {@link UploadGate} has already read whole, parsed
 * by Jetty's parser from that copy. Media type and parameter names are matched without regard to case
 * (RFC 9110), and a body without a boundary parameter is refused as such rather than read as empty.
 */
final class FormParts implements AutoCloseable {

    /** Most parts in one form: far more than any request of the API has. */
    static final int MAX_PARTS = 1000;

    private final MultiPartFormInputStream parser;
    private final List<Part> parts;

    private FormParts(MultiPartFormInputStream parser, List<Part> parts) {
        this.parser = parser;
        this.parts = parts;
    }

    /**
     * Parses {@code body}, given with the request's {@code contentType} (already known to be
     * multipart/form-data); files larger than {@code inMemory} bytes go to {@code dir}.
     */
    static FormParts parse(UploadBody body, String contentType, Path dir, long maxBytes) {
        String boundary = parameter(contentType, "boundary");
        if (boundary == null || boundary.isEmpty()) {
            throw ApiException.badRequest("bad_multipart", "the Content-Type multipart/form-data has no boundary "
                    + "parameter, so its parts cannot be found (let the client build the header, e.g. curl -F)");
        }
        if (boundary.length() > 70) {
            throw ApiException.badRequest("bad_multipart", "the multipart boundary is longer than 70 characters "
                    + "(RFC 2046)");
        }
        MultipartConfigElement config = new MultipartConfigElement(dir.toString(), maxBytes, maxBytes, UploadBody.IN_MEMORY);
        try {
            InputStream in = body.open();
            // Jetty's parser compares the media type case-sensitively: give it the canonical spelling
            MultiPartFormInputStream parser = new MultiPartFormInputStream(in, "multipart/form-data; boundary=\""
                    + boundary + "\"", config, dir.toFile());
            Collection<Part> all = parser.getParts();
            if (all.size() > MAX_PARTS) {
                parser.deleteParts();
                throw ApiException.badRequest("bad_multipart", "the form has " + all.size() + " parts; at most "
                        + MAX_PARTS);
            }
            return new FormParts(parser, new ArrayList<>(all));
        } catch (IOException | RuntimeException e) {
            if (e instanceof ApiException a) {
                throw a;
            }
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            throw ApiException.badRequest("bad_multipart", "the multipart body cannot be read: "
                    + (root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage()));
        }
    }

    /** A parameter of a header value such as {@code multipart/form-data; boundary="x"} (name in any case). */
    static String parameter(String headerValue, String name) {
        if (headerValue == null) {
            return null;
        }
        String[] pieces = headerValue.split(";");
        for (int i = 1; i < pieces.length; i++) {
            String p = pieces[i].strip();
            int eq = p.indexOf('=');
            if (eq > 0 && p.substring(0, eq).strip().toLowerCase(Locale.ROOT).equals(name)) {
                String v = p.substring(eq + 1).strip();
                if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                    v = v.substring(1, v.length() - 1);
                }
                return v;
            }
        }
        return null;
    }

    /** The values of the text fields (parts without a file name) called {@code name}, in order. */
    List<String> fields(String name) {
        List<String> out = new ArrayList<>();
        for (Part p : parts) {
            if (p.getSubmittedFileName() == null && name.equals(p.getName())) {
                try (InputStream in = p.getInputStream()) {
                    out.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw ApiException.badRequest("bad_multipart", "field '" + name + "' cannot be read: " + e.getMessage());
                }
            }
        }
        return out;
    }

    /** The first field called {@code name}, or null. */
    String field(String name) {
        List<String> all = fields(name);
        return all.isEmpty() ? null : all.get(0);
    }

    /** The file parts (with a file name) called {@code name}, in order. */
    List<Part> files(String name) {
        List<Part> out = new ArrayList<>();
        for (Part p : parts) {
            if (p.getSubmittedFileName() != null && name.equals(p.getName())) {
                out.add(p);
            }
        }
        return out;
    }

    @Override
    public void close() {
        try {
            parser.deleteParts();
        } catch (RuntimeException ignored) {
            // temporary files of the server's folder, deleted at close
        }
    }
}
