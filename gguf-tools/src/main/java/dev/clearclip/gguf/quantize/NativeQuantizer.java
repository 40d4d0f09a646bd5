package dev.clearclip.gguf.quantize;

import dev.clearclip.bindings.NativeCallException;
import dev.clearclip.bindings.NativeLibraryException;
import dev.clearclip.bindings.NativeQuantization;
import dev.clearclip.gguf.GgmlType;

/**
 * ggml's own quantization, reached through the engine's {@code clearclip_quantize} and
 * {@code clearclip_quantized_size} (via the bindings' {@link NativeQuantization}, the one place
 * that touches the engine for this module), so that blocks are bit-for-bit what ggml expects. The
 * native library is loaded on first use.
 */
public final class NativeQuantizer {
    private NativeQuantizer() {
    }

    /** Bytes ggml needs for {@code rows} rows of {@code perRow} values of {@code type}. */
    public static long quantizedSize(GgmlType type, long rows, long perRow) {
        checkType(type);
        try {
            return NativeQuantization.quantizedSize(type.id(), rows, perRow);
        } catch (NativeLibraryException e) {
            throw notLoaded(e);
        } catch (NativeCallException e) {
            throw failed(e, "clearclip_quantized_size(" + type + ", " + rows + " x " + perRow + ")");
        }
    }

    /**
     * Quantizes {@code rows x perRow} floats of {@code src} into {@code dst}, which must hold
     * exactly {@link #quantizedSize} bytes.
     */
    public static void quantize(GgmlType type, float[] src, long rows, long perRow, byte[] dst) {
        checkType(type);
        try {
            NativeQuantization.quantize(type.id(), src, rows, perRow, dst);
        } catch (NativeLibraryException e) {
            throw notLoaded(e);
        } catch (NativeCallException e) {
            throw failed(e, "clearclip_quantize(" + type + ", " + rows + " x " + perRow + ")");
        }
    }

    private static void checkType(GgmlType type) {
        if (!type.isOutputType()) {
            throw new IllegalArgumentException("clearclip_quantize does not produce " + type
                    + " (it produces f32, f16, q8_0, q5_1, q5_0, q4_1, q4_0)");
        }
    }

    private static QuantizationException notLoaded(NativeLibraryException e) {
        return new QuantizationException("quantization needs the clearclip native library, which could not be loaded: "
                + e.getMessage(), e);
    }

    private static QuantizationException failed(NativeCallException e, String call) {
        // a missing function explains itself; a refused call is named with its arguments
        return e.statusName() == null ? new QuantizationException(e.getMessage(), e)
                : new QuantizationException(call + " failed: " + e.getMessage(), e);
    }
}
