package dev.clearclip.cli.serve;

import dev.clearclip.Images;

/**
 * The memory side of {@code clearclip serve}'s defaults: how many pixels fit the heap.
 *
 * <p>A picture being served costs about {@value #HEAP_BYTES_PER_PIXEL} bytes of heap per pixel at its
 * peak: the decoded picture (ImageIO's raster, 3-4 bytes), the engine's RGB copy (3), the label map (4),
 * the overlay or label PNG's image and bytes (4-8), with room for the decoder's own buffers. Half the heap
 * is given to pictures; so the decode budget (pixels decoded or held at once, see {@link Inference}) is
 * {@code max heap / 2 / 24}, and the default {@code --max-pixels} is a quarter of it, so that four of the
 * largest pictures fit at once, at most {@link Images#DEFAULT_MAX_PIXELS}: with a 768 MiB heap about 4.2
 * megapixels, with the JVM's default heap on a 24 GiB machine (6 GiB) about 33.5. A 35-byte GIF claiming
 * 10000x10000 (100 megapixels, about 2 GB decoded) is then refused from its header.
 */
final class ServeLimits {

    static final long HEAP_BYTES_PER_PIXEL = 24;

    private ServeLimits() {
    }

    /** Pixels that may be decoded or held at once with a heap of {@code maxHeapBytes}. */
    static long decodePixels(long maxHeapBytes) {
        return Math.max(1, maxHeapBytes / 2 / HEAP_BYTES_PER_PIXEL);
    }

    /** The default per-picture pixel limit with a heap of {@code maxHeapBytes} (see the class comment). */
    static long defaultMaxPixels(long maxHeapBytes, long libraryDefault) {
        return Math.max(1, Math.min(libraryDefault, decodePixels(maxHeapBytes) / 4));
    }

    static long defaultMaxPixels() {
        return defaultMaxPixels(Runtime.getRuntime().maxMemory(), Images.defaultMaxPixels());
    }
}
