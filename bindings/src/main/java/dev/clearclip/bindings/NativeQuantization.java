package dev.clearclip.bindings;

import dev.clearclip.bindings.ffi.ClearClipNative;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml's own block quantization ({@code clearclip_quantize}, {@code clearclip_quantized_size})
 * behind plain Java arrays. It sits here, beside {@link NativeLibrary}, so that the GGUF tools
 * reach the engine through one small hand-written class and never see a generated binding or an
 * FFM type. Types are {@code clearclip_type} values, which are ggml's own type ids
 * ({@code CLEARCLIP_TYPE_Q8_0 == GGML_TYPE_Q8_0}).
 */
public final class NativeQuantization {
    private NativeQuantization() {
    }

    /**
     * Bytes ggml needs for {@code rows} rows of {@code perRow} values of {@code type}.
     *
     * @throws NativeLibraryException if the native libraries cannot be loaded
     * @throws NativeCallException if the engine refuses (unknown type, rows not a whole number of blocks)
     */
    public static long quantizedSize(int type, long rows, long perRow) {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(ValueLayout.JAVA_LONG);
            int status;
            try {
                status = ClearClipNative.clearclip_quantized_size(type, rows, perRow, size);
            } catch (LinkageError e) {
                throw missingSymbol("clearclip_quantized_size", e);
            }
            check(status);
            return size.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /**
     * Quantizes {@code rows x perRow} floats of {@code src} into {@code dst}, which must be exactly
     * {@link #quantizedSize} bytes long.
     *
     * @throws IllegalArgumentException if {@code src} does not hold {@code rows x perRow} values
     * @throws NativeLibraryException if the native libraries cannot be loaded
     * @throws NativeCallException if the engine refuses
     */
    public static void quantize(int type, float[] src, long rows, long perRow, byte[] dst) {
        if (src.length != Math.multiplyExact(rows, perRow)) {
            throw new IllegalArgumentException("source holds " + (long) src.length * Float.BYTES + " bytes, expected "
                    + rows + " x " + perRow + " floats");
        }
        NativeLibrary.load();
        // The engine reads and writes native memory: copy in and out of one confined arena.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(ValueLayout.JAVA_FLOAT, src.length);
            MemorySegment.copy(src, 0, in, ValueLayout.JAVA_FLOAT, 0, src.length);
            MemorySegment out = arena.allocate(dst.length, 64);
            int status;
            try {
                status = ClearClipNative.clearclip_quantize(type, in, rows, perRow, out, out.byteSize());
            } catch (LinkageError e) {
                throw missingSymbol("clearclip_quantize", e);
            }
            check(status);
            MemorySegment.copy(out, ValueLayout.JAVA_BYTE, 0, dst, 0, dst.length);
        }
    }

    /** The library loaded is not the one the bindings were generated for (typically an older build). */
    private static NativeCallException missingSymbol(String function, LinkageError e) {
        return new NativeCallException(null, "the clearclip native library loaded from " + NativeLibrary.origin()
                + " cannot provide " + function + " (" + e + "); it is probably older than these bindings: rebuild native/", e);
    }

    private static void check(int status) {
        if (status != ClearClipNative.CLEARCLIP_OK()) {
            String name = ClearClipNative.clearclip_status_name(status).reinterpret(Long.MAX_VALUE).getString(0);
            String message = ClearClipNative.clearclip_last_error().reinterpret(Long.MAX_VALUE).getString(0);
            throw new NativeCallException(name, name + ": " + message, null);
        }
    }
}
