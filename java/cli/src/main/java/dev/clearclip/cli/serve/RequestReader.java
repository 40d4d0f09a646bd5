package dev.clearclip.cli.serve;

import dev.clearclip.ClassSet;
import dev.clearclip.ImageReadException;
import dev.clearclip.Images;
import dev.clearclip.Preset;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentSettings;
import io.javalin.http.Context;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * Reads and checks the parts of a {@code clearclip serve} request: its content type, form fields, preset,
 * classes, segmentation options and pictures. Every bad part becomes an {@link ApiException} with the
 * client's status (400, 413, 415), never a 500. The body itself has been read whole by {@link UploadGate}.
 */
final class RequestReader {

    /** Longest {@code classes} text accepted: far more than any benchmark preset (ADE20K is ~2 KB). */
    static final int MAX_CLASSES_CHARS = 64 * 1024;
    /** Most classes in one request; every class costs 80 prompt embeddings the first time. */
    static final int MAX_CLASSES = 1000;
    /**
     * Most names (classes and their synonyms together) in one request: each name, not each class, costs 80
     * prompt embeddings and a text-cache entry, so one class with 10,000 synonyms must not pass.
     */
    static final int MAX_NAMES = 2000;

    private final Path uploads;
    private final long maxUploadBytes;
    private final long maxPixels;

    /** {@code uploads} is the server's private temporary folder, which it deletes at close. */
    RequestReader(Path uploads, long maxUploadBytes, long maxPixels) {
        this.uploads = uploads;
        this.maxUploadBytes = maxUploadBytes;
        this.maxPixels = maxPixels;
    }

    long maxPixels() {
        return maxPixels;
    }

    /** The media type of the request, lower case, without parameters ("" when absent). */
    static String contentType(Context ctx) {
        String type = ctx.header("Content-Type");
        if (type == null) {
            return "";
        }
        int semi = type.indexOf(';');
        return (semi >= 0 ? type.substring(0, semi) : type).strip().toLowerCase(Locale.ROOT);
    }

    static ApiException unsupported(Context ctx, String expected) {
        String type = ctx.header("Content-Type");
        return new ApiException(415, "unsupported_media_type", "expected " + expected + ", got "
                + (type == null ? "no Content-Type" : "'" + shorten(type) + "'"));
    }

    /** The request's multipart form (refused with 415 when the body is something else). */
    FormParts form(Context ctx) {
        if (!contentType(ctx).equals("multipart/form-data")) {
            throw unsupported(ctx, "multipart/form-data");
        }
        return FormParts.parse(UploadBody.of(ctx), ctx.header("Content-Type"), uploads, maxUploadBytes);
    }

    static String field(FormParts form, String name) {
        String v = form.field(name);
        return v == null || v.isBlank() ? null : v.strip();
    }

    Preset preset(FormParts form) {
        String name = field(form, "preset");
        if (name == null) {
            return null;
        }
        try {
            return Preset.parse(name);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("unknown_preset", e.getMessage());
        }
    }

    ClassSet classes(FormParts form, Preset preset) {
        String text = form.field("classes");
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
        return classes(text);
    }

    /** Parses and bounds a class list given as text (characters, classes and names). */
    static ClassSet classes(String text) {
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
        int names = classes.allNames().size();
        if (names > MAX_NAMES) {
            throw ApiException.badRequest("bad_option", names + " names (classes and synonyms); at most " + MAX_NAMES);
        }
        return classes;
    }

    /**
     * The request's segmentation settings: the fields of core's {@link SegmentSettings#FORM_FIELDS}, the flags of
     * {@code segment} with '_' for '-' ({@code prob_threshold} is also read as {@code threshold}).
     */
    static SegmentSettings segmentSettings(FormParts form) {
        try {
            return SegmentSettings.fromForm(name -> field(form, name));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("bad_option", e.getMessage());
        }
    }

    /** The preset's options (the defaults without one) with the request's settings, by segment's rule. */
    static SegmentOptions segmentOptions(SegmentSettings settings, Preset preset) {
        SegmentOptions options;
        try {
            options = settings.options(preset);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("bad_option", e.getMessage());
        }
        // PAMR runs at the computed picture's full size after the windows, where neither --max-windows bounds it
        // nor --request-timeout can stop it (the engine checks its abort flag per window): up to 1000 steps over
        // 16 million pixels would hold a context for hours
        if (options.pamrSteps() > 0) {
            throw ApiException.badRequest("bad_option", "PAMR refinement (pamr_steps " + options.pamrSteps()
                    + (settings.method() != null ? ", from method " + settings.method().id() : "") + ") is not offered "
                    + "by this server: it cannot be stopped at the request's deadline; give pamr_steps=0");
        }
        return options;
    }

    static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    /** The one 'image' file of a form. */
    static Part pictureFile(FormParts form) {
        List<Part> files = form.files("image");
        if (files.isEmpty()) {
            throw ApiException.badRequest("bad_image", "no 'image' file in the form");
        }
        if (files.size() > 1) {
            throw ApiException.badRequest("bad_image", "one 'image' file per request, got " + files.size());
        }
        return files.get(0);
    }

    /** An uploaded picture stored in a private temporary file, its header read: not yet decoded. */
    final class Picture implements AutoCloseable {
        final Path file;
        final String name;
        final int width;
        final int height;

        private Picture(Path file, String name, int width, int height) {
            this.file = file;
            this.name = name;
            this.width = width;
            this.height = height;
        }

        long pixels() {
            return (long) width * height;
        }

        /** Decodes the picture at most at the engine's largest side (classify, embeddings). */
        RgbImage decode() {
            return decode(Images.ENGINE_MAX_SIDE);
        }

        /**
         * Decodes the picture exactly as {@code segment} reads a file (same reader, EXIF orientation, size
         * limits, {@code max_side}); the server path never reaches the client.
         */
        RgbImage decode(int maxSide) {
            try {
                return Images.read(file, maxSide, maxPixels);
            } catch (ImageReadException e) {
                throw ApiException.badRequest("bad_image", e.getMessage().replace(file.toString(), name));
            }
        }

        @Override
        public void close() {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // removed with the folder at close
            }
        }
    }

    Picture picture(Part f) {
        String name = f.getSubmittedFileName() == null || f.getSubmittedFileName().isBlank() ? "image"
                : shorten(f.getSubmittedFileName());
        try (InputStream in = f.getInputStream()) {
            return picture(in, name);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store the upload", e);
        }
    }

    /**
     * Stores a picture and reads its header: one that is not a picture, or whose header claims more than the
     * pixel limit, is refused here, before any decode permit or model context is asked for.
     */
    Picture picture(InputStream content, String name) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile(uploads, "upload-", ".img");
            Files.copy(content, tmp, StandardCopyOption.REPLACE_EXISTING);
            if (Files.size(tmp) == 0) {
                throw ApiException.badRequest("bad_image", "the '" + name + "' file is empty");
            }
            int[] size = Images.displayedSize(tmp);
            long claimed = (long) size[0] * size[1];
            if (size[0] < 1 || size[1] < 1) {
                throw ApiException.badRequest("bad_image", name + ": image has no pixels (" + size[0] + "x" + size[1] + ")");
            }
            if (claimed > maxPixels) {
                throw ApiException.badRequest("bad_image", name + ": image claims " + size[0] + "x" + size[1] + " = "
                        + claimed + " pixels, more than this server's limit of " + maxPixels + " pixels (--max-pixels);"
                        + " refused before decoding");
            }
            Picture p = new Picture(tmp, name, size[0], size[1]);
            tmp = null;
            return p;
        } catch (ImageReadException e) {
            throw ApiException.badRequest("bad_image", e.getMessage().replace(String.valueOf(tmp), name));
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
