package dev.clearclip;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Reads pictures for inference: JPEG (including CMYK/YCCK, through TwelveMonkeys), PNG, WebP, BMP, GIF, TIFF,
 * with the EXIF orientation applied. Very large pictures are downscaled while they are decoded
 * (source subsampling) and then area-averaged, so memory stays bounded by the target size.
 *
 * <p>Decompression bombs: a small file can claim an enormous picture (a PNG of a few hundred bytes
 * can claim 100000x100000 pixels), which would take minutes to decode even with subsampling. A picture
 * whose header claims more than a limit of pixels is therefore refused before any pixel is decoded:
 * by default {@value #DEFAULT_MAX_PIXELS} pixels, changed with the system property
 * {@value #MAX_PIXELS_PROPERTY}, {@link ModelOptions.Builder#maxImagePixels(long)}, the
 * {@code maxPixels} argument of {@link #read(Path, int, long)} or the CLI option
 * {@code --max-image-pixels}.
 */
public final class Images {

    /** Default bound of the longer side of a picture handed to the engine. */
    public static final int DEFAULT_MAX_SIDE = 4096;

    /**
     * Longest side the engine accepts, for the picture and for the picture resized to the short side
     * of {@link SegmentOptions#shortSide()}. {@link ClipModel#segment(Path, ClassSet, SegmentOptions)}
     * reads pictures up to this size unreduced.
     */
    public static final int ENGINE_MAX_SIDE = 16384;

    /** Default bound of the pixels (width x height) a picture's header may claim: 100 megapixels. */
    public static final long DEFAULT_MAX_PIXELS = 100_000_000L;

    /** System property that replaces {@link #DEFAULT_MAX_PIXELS} (a positive whole number of pixels). */
    public static final String MAX_PIXELS_PROPERTY = "clearclip.image.maxPixels";

    static {
        ImageIO.scanForPlugins();
        ImageIO.setUseCache(false);
    }

    private Images() {
    }

    /**
     * The pixel limit in force when nothing else is given: system property {@value #MAX_PIXELS_PROPERTY}
     * if set, else {@value #DEFAULT_MAX_PIXELS}.
     *
     * @throws IllegalArgumentException if the property is not a positive whole number
     */
    public static long defaultMaxPixels() {
        return ImageLimits.defaultMaxPixels();
    }

    /**
     * Reads a picture at its displayed size, downscaled only if its longer side exceeds
     * {@value #ENGINE_MAX_SIDE}: the picture {@link ClipModel#segment(Path, ClassSet, SegmentOptions)}
     * computes on, so its label map and this picture have the same size (e.g. for
     * {@link LabelImages#overlay}).
     */
    public static RgbImage read(Path file) {
        return read(file, ENGINE_MAX_SIDE);
    }

    /**
     * Reads a picture as displayed (EXIF orientation applied), its longer side at most {@code maxSide}
     * pixels, with the pixel limit of {@link #defaultMaxPixels()}.
     *
     * @throws ImageReadException naming the file when it is missing, unreadable, not a supported picture
     *                            or larger than the pixel limit
     */
    public static RgbImage read(Path file, int maxSide) {
        return read(file, maxSide, defaultMaxPixels());
    }

    /**
     * Reads a picture as displayed (EXIF orientation applied), its longer side at most {@code maxSide}
     * pixels. A picture whose header claims more than {@code maxPixels} pixels (width x height) is refused
     * before it is decoded.
     *
     * @throws ImageReadException naming the file when it is missing, unreadable, not a supported picture,
     *                            or claims more than {@code maxPixels} pixels (the message gives both sizes)
     */
    public static RgbImage read(Path file, int maxSide, long maxPixels) {
        if (maxSide < 1) {
            throw new IllegalArgumentException("maxSide must be >= 1, got " + maxSide);
        }
        if (maxPixels < 1) {
            throw new IllegalArgumentException("maxPixels must be >= 1, got " + maxPixels);
        }
        if (!Files.exists(file)) {
            throw new ImageReadException(file + ": no such file");
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ImageReadException(file + ": not a readable file");
        }
        RgbImage image;
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new ImageReadException(file + ": cannot open");
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new ImageReadException(file + ": not a supported image (JPEG, PNG, WebP, BMP, GIF or TIFF expected)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                if (w < 1 || h < 1) {
                    throw new ImageReadException(file + ": image has no pixels (" + w + "x" + h + ")");
                }
                // Only the header has been read so far: refuse a decompression bomb before decoding it.
                long claimed = (long) w * h;
                if (claimed > maxPixels) {
                    throw new ImageReadException(file + ": image claims " + w + "x" + h + " = " + claimed
                            + " pixels, more than the limit of " + maxPixels + " pixels; refused before decoding"
                            + " (raise the limit with system property " + MAX_PIXELS_PROPERTY
                            + " or the max-image-pixels option if the picture is genuine)");
                }
                ImageReadParam param = reader.getDefaultReadParam();
                int longSide = Math.max(w, h);
                // Decode at most about twice the target size; the rest is done by area averaging.
                int step = Math.max(1, longSide / (2 * maxSide));
                if (step > 1) {
                    param.setSourceSubsampling(step, step, 0, 0);
                }
                BufferedImage decoded = reader.read(0, param);
                image = toRgb(decoded);
            } finally {
                reader.dispose();
            }
        } catch (ImageReadException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new ImageReadException(file + ": cannot decode image: " + why, e);
        }
        if (Math.max(image.width(), image.height()) > maxSide) {
            double scale = (double) maxSide / Math.max(image.width(), image.height());
            int tw = Math.max(1, (int) Math.round(image.width() * scale));
            int th = Math.max(1, (int) Math.round(image.height() * scale));
            image = Resample.areaAverage(image, tw, th);
        }
        int orientation;
        try {
            orientation = ExifOrientation.read(file);
        } catch (IOException e) {
            orientation = ExifOrientation.NORMAL;
        }
        return ExifOrientation.apply(image, orientation);
    }

    /**
     * Width and height of a picture as displayed (EXIF orientation applied), from its header only.
     *
     * @throws ImageReadException naming the file when it is missing or not a supported picture
     */
    public static int[] displayedSize(Path file) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ImageReadException(file + (Files.exists(file) ? ": not a readable file" : ": no such file"));
        }
        int w;
        int h;
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new ImageReadException(file + ": not a supported image (JPEG, PNG, WebP, BMP, GIF or TIFF expected)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                w = reader.getWidth(0);
                h = reader.getHeight(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ImageReadException ire) {
                throw ire;
            }
            throw new ImageReadException(file + ": cannot read the image header: " + e.getMessage(), e);
        }
        int orientation;
        try {
            orientation = ExifOrientation.read(file);
        } catch (IOException e) {
            orientation = ExifOrientation.NORMAL;
        }
        return orientation >= 5 ? new int[] {h, w} : new int[] {w, h};
    }

    /**
     * Converts a decoded image to 8-bit RGB. Grey images keep their stored values (replicated to R, G, B)
     * rather than going through Java2D's linear-grey to sRGB conversion, as other decoders do.
     */
    static RgbImage toRgb(BufferedImage image) {
        Raster raster = image.getRaster();
        ColorSpace cs = image.getColorModel().getColorSpace();
        int bands = raster.getNumBands();
        if (cs.getType() == ColorSpace.TYPE_GRAY && (bands == 1 || bands == 2)) {
            int w = image.getWidth();
            int h = image.getHeight();
            int bits = image.getColorModel().getComponentSize(0);
            int max = (1 << bits) - 1;
            byte[] rgb = new byte[w * h * 3];
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = bits == 8 ? row[x] : (row[x] * 255 + max / 2) / max;
                    int o = (y * w + x) * 3;
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) v;
                }
            }
            return new RgbImage(w, h, rgb);
        }
        return RgbImage.of(image);
    }

    /**
     * The standard CLIP input: bicubic resize of the short side to {@code size} (Pillow's antialiased
     * bicubic, as torchvision applies to PIL images), then a centred {@code size x size} crop.
     */
    public static RgbImage clipPreprocess(RgbImage image, int size) {
        int w = image.width();
        int h = image.height();
        int nw;
        int nh;
        if (w <= h) {
            nw = size;
            nh = (int) ((long) size * h / w);
        } else {
            nh = size;
            nw = (int) ((long) size * w / h);
        }
        RgbImage resized = (nw == w && nh == h) ? image : Resample.bicubic(image, nw, nh);
        int top = (int) Math.rint((nh - size) / 2.0);
        int left = (int) Math.rint((nw - size) / 2.0);
        return Resample.crop(resized, left, top, size, size);
    }
}
