package dev.clearclip.cli;

import dev.clearclip.BlockMode;
import dev.clearclip.ClassSet;
import dev.clearclip.ImageReadException;
import dev.clearclip.Images;
import dev.clearclip.Preset;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import io.javalin.http.Context;
import io.javalin.http.UploadedFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * Reads and checks the parts of a {@code clearclip serve} request: its content type, multipart fields,
 * preset, classes, segmentation options and picture. Every bad part becomes an {@link ApiException} with the
 * client's status (400, 413, 415), never a 500. Kept apart from {@link ClearClipServer}, which owns the server's
 * lifecycle, routing, admission control, endpoints and answers.
 */
final class RequestReader {

    /** Longest {@code classes} text accepted: far more than any benchmark preset (ADE20K is ~2 KB). */
    static final int MAX_CLASSES_CHARS = 64 * 1024;
    /** Most classes in one request; every class costs 80 prompt embeddings the first time. */
    static final int MAX_CLASSES = 1000;

    private final Path uploads;
    private final long maxUploadBytes;
    private final long maxPixels;

    /** {@code uploads} is the server's private temporary folder, which it deletes at close. */
    RequestReader(Path uploads, long maxUploadBytes, long maxPixels) {
        this.uploads = uploads;
        this.maxUploadBytes = maxUploadBytes;
        this.maxPixels = maxPixels;
    }

    /** The answer to a body over the upload limit; {@code length} is shown when known (above 0). */
    ApiException tooLarge(long length) {
        return new ApiException(413, "too_large", "the request "
                + (length > 0 ? "is " + length + " bytes, " : "is ")
                + "more than the upload limit of " + maxUploadBytes + " bytes");
    }

    static String contentType(Context ctx) {
        String type = ctx.contentType();
        if (type == null) {
            return "";
        }
        int semi = type.indexOf(';');
        return (semi >= 0 ? type.substring(0, semi) : type).strip().toLowerCase(Locale.ROOT);
    }

    static ApiException unsupported(Context ctx) {
        String type = ctx.contentType();
        return new ApiException(415, "unsupported_media_type", "expected multipart/form-data"
                + (ctx.path().equals("/v1/embed") ? " or application/json" : "") + ", got "
                + (type == null ? "no Content-Type" : "'" + type + "'"));
    }

    static void requireMultipart(Context ctx) {
        if (!contentType(ctx).equals("multipart/form-data")) {
            throw unsupported(ctx);
        }
    }

    /**
     * Reads from the multipart body, which Jetty parses on first use: a body over the limits, or one that is
     * not well-formed multipart, is the client's fault, never a 500.
     */
    <T> T multipart(java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (Exception e) { // Jetty's IOException/ServletException reach here undeclared through Kotlin code
            for (Throwable t = e; t != null; t = t.getCause()) {
                String m = t.getMessage();
                if (m != null && (m.contains("exceeds max") || m.contains("exceeds maxRequestSize")
                        || m.contains("Request exceeds") || m.contains("max filesize") || m.contains("too large"))) {
                    throw tooLarge(-1);
                }
            }
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            throw ApiException.badRequest("bad_multipart", "the multipart body cannot be read: "
                    + (root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage()));
        }
    }

    String field(Context ctx, String name) {
        String v = multipart(() -> ctx.formParam(name));
        return v == null || v.isBlank() ? null : v.strip();
    }

    Preset preset(Context ctx) {
        String name = field(ctx, "preset");
        if (name == null) {
            return null;
        }
        try {
            return Preset.parse(name);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("unknown_preset", e.getMessage());
        }
    }

    ClassSet classes(Context ctx, Preset preset) {
        String text = multipart(() -> ctx.formParam("classes"));
        if (text != null && preset != null) {
            throw ApiException.badRequest("bad_option", "give either 'classes' or 'preset', not both");
        }
        if (preset != null) {
            return preset.classes();
        }
        if (text == null) {
            throw ApiException.badRequest("empty_classes", "give 'classes' (';' between classes, ',' between "
                    + "synonyms) or 'preset'");
        }
        if (text.length() > MAX_CLASSES_CHARS) {
            throw ApiException.badRequest("bad_option", "'classes' is " + text.length() + " characters; at most "
                    + MAX_CLASSES_CHARS);
        }
        ClassSet classes;
        try {
            classes = ClassSet.parse(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("empty_classes", "'classes': " + e.getMessage());
        }
        if (classes.size() > MAX_CLASSES) {
            throw ApiException.badRequest("bad_option", classes.size() + " classes; at most " + MAX_CLASSES);
        }
        return classes;
    }

    SegmentOptions segmentOptions(Context ctx, Preset preset) {
        SegmentOptions.Builder b = preset != null ? preset.options().toBuilder() : SegmentOptions.builder();
        try {
            String mode = field(ctx, "mode");
            if (mode != null) {
                b.mode(BlockMode.parse(mode));
            }
            Integer shortSide = intField(ctx, "short_side");
            if (shortSide != null) {
                b.shortSide(shortSide);
            }
            Integer crop = intField(ctx, "crop");
            if (crop != null) {
                b.crop(crop);
            }
            Integer stride = intField(ctx, "stride");
            if (stride != null) {
                b.stride(stride);
            }
            String threshold = field(ctx, "prob_threshold");
            if (threshold != null) {
                float p;
                try {
                    p = Float.parseFloat(threshold);
                } catch (NumberFormatException e) {
                    throw ApiException.badRequest("bad_option", "'prob_threshold' must be a number, got '"
                            + shorten(threshold) + "'");
                }
                b.probThreshold(p);
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("bad_option", e.getMessage());
        }
    }

    Integer intField(Context ctx, String name) {
        String v = field(ctx, name);
        if (v == null) {
            return null;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("bad_option", "'" + name + "' must be a whole number, got '" + shorten(v) + "'");
        }
    }

    static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    RgbImage picture(Context ctx) {
        List<UploadedFile> files = multipart(() -> ctx.uploadedFiles("image"));
        if (files.isEmpty()) {
            throw ApiException.badRequest("bad_image", "no 'image' file in the form");
        }
        if (files.size() > 1) {
            throw ApiException.badRequest("bad_image", "one 'image' file per request, got " + files.size());
        }
        return readPicture(files.get(0));
    }

    /**
     * Decodes an upload exactly as {@code segment} reads a file (same reader, EXIF orientation, size limits),
     * by going through a private temporary file; the server path never reaches the client.
     */
    RgbImage readPicture(UploadedFile f) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile(uploads, "upload-", ".img");
            try (InputStream in = f.content()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            if (Files.size(tmp) == 0) {
                throw ApiException.badRequest("bad_image", "the 'image' file is empty");
            }
            // as segment reads pictures: the label map then has the upload's size (up to the engine's limit)
            return Images.read(tmp, Images.ENGINE_MAX_SIDE, maxPixels);
        } catch (ImageReadException e) {
            String name = f.filename() == null || f.filename().isBlank() ? "image" : f.filename();
            String message = e.getMessage().replace(tmp.toString(), name);
            throw ApiException.badRequest("bad_image", message);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store the upload", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // removed with the folder at close
                }
            }
        }
    }
}
