package dev.clearclip;

/**
 * The pixel limit's default, apart from {@link Images} so that building {@link ModelOptions} does not
 * initialise ImageIO (its plug-in scan) before any picture is read.
 */
final class ImageLimits {

    private ImageLimits() {
    }

    static long defaultMaxPixels() {
        String value = System.getProperty(Images.MAX_PIXELS_PROPERTY);
        if (value == null || value.isBlank()) {
            return Images.DEFAULT_MAX_PIXELS;
        }
        long pixels;
        try {
            pixels = Long.parseLong(value.strip().replace("_", ""));
        } catch (NumberFormatException e) {
            pixels = -1;
        }
        if (pixels < 1) {
            throw new IllegalArgumentException("system property " + Images.MAX_PIXELS_PROPERTY
                    + " must be a positive number of pixels, got '" + value + "'");
        }
        return pixels;
    }
}
