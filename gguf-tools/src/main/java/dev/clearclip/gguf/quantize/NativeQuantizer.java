package dev.clearclip.gguf.quantize;

import dev.clearclip.bindings.NativeLibrary;
import dev.clearclip.bindings.NativeLibraryException;
import dev.clearclip.bindings.ffi.ClearClipNative;
import dev.clearclip.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml's own quantization, reached through the engine's {@code clearclip_quantize} and
 * {@code clearclip_quantized_size}, so that blocks are bit-for-bit what ggml expects. The native
 * library is loaded on first use.
 */
public final class NativeQuantizer {
    private NativeQuantizer() {
    }

    /** Bytes ggml needs for {@code rows} rows of {@code perRow} values of {@code type}. */
    public static long quantizedSize(GgmlType type, long rows, long perRow) {
        checkType(type);
        ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(ValueLayout.JAVA_LONG);
            int status;
            try {
                status = ClearClipNative.clearclip_quantized_size(type.id(), rows, perRow, size);
            } catch (LinkageError e) {
                throw missingSymbol("clearclip_quantized_size", e);
            }
            check(status, "clearclip_quantized_size(" + type + ", " + rows + " x " + perRow + ")");
            return size.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /**
     * Quantizes {@code rows x perRow} floats ({@code src}, native-endian f32) into {@code dst},
     * which must hold exactly {@link #quantizedSize} bytes.
     */
    public static void quantize(GgmlType type, MemorySegment src, long rows, long perRow, MemorySegment dst) {
        checkType(type);
        if (src.byteSize() != Math.multiplyExact(rows, perRow) * Float.BYTES) {
            throw new IllegalArgumentException("source holds " + src.byteSize() + " bytes, expected " + rows + " x " + perRow + " floats");
        }
        ensureLoaded();
        int status;
        try {
            status = ClearClipNative.clearclip_quantize(type.id(), src, rows, perRow, dst, dst.byteSize());
        } catch (LinkageError e) {
            throw missingSymbol("clearclip_quantize", e);
        }
        check(status, "clearclip_quantize(" + type + ", " + rows + " x " + perRow + ")");
    }

    private static void checkType(GgmlType type) {
        if (!type.isOutputType()) {
            throw new IllegalArgumentException("clearclip_quantize does not produce " + type
                    + " (it produces f32, f16, q8_0, q5_1, q5_0, q4_1, q4_0)");
        }
    }

    private static void ensureLoaded() {
        try {
            NativeLibrary.load();
        } catch (NativeLibraryException e) {
            throw new QuantizationException("quantization needs the clearclip native library, which could not be loaded: "
                    + e.getMessage(), e);
        }
    }

    /** The library loaded is not the one the bindings were generated for (typically an older build). */
    private static QuantizationException missingSymbol(String function, LinkageError e) {
        return new QuantizationException("the clearclip native library loaded from " + NativeLibrary.origin()
                + " cannot provide " + function + " (" + e + "); it is probably older than these bindings: rebuild native/", e);
    }

    private static void check(int status, String call) {
        if (status != ClearClipNative.CLEARCLIP_OK()) {
            String name = ClearClipNative.clearclip_status_name(status).reinterpret(Long.MAX_VALUE).getString(0);
            String message = ClearClipNative.clearclip_last_error().reinterpret(Long.MAX_VALUE).getString(0);
            throw new QuantizationException(call + " failed: " + name + ": " + message);
        }
    }
}
