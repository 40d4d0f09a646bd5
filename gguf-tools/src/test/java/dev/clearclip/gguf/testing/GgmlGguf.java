package dev.clearclip.gguf.testing;

import dev.clearclip.bindings.NativeLibrary;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * ggml's own GGUF reader ({@code gguf_init_from_file} in libggml-base, loaded with the engine by
 * {@link NativeLibrary}), called directly: an independent judge of the files our writer makes.
 */
public final class GgmlGguf {
    /** One tensor as ggml's reader sees it. */
    public record Tensor(String name, int type, long offset, long size) {
    }

    /** What ggml's reader reports about a file. */
    public record Summary(long alignment, long dataOffset, long keyCount, List<Tensor> tensors) {
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout INIT_PARAMS = MemoryLayout.structLayout(
            ValueLayout.JAVA_BOOLEAN.withName("no_alloc"), MemoryLayout.paddingLayout(7), ValueLayout.ADDRESS.withName("ctx"));

    private GgmlGguf() {
    }

    private static MethodHandle function(String name, FunctionDescriptor descriptor) {
        NativeLibrary.load();
        MemorySegment address = NativeLibrary.symbolLookup().find(name)
                .orElseThrow(() -> new IllegalStateException(name + " not found in the loaded ggml libraries"));
        return LINKER.downcallHandle(address, descriptor);
    }

    /**
     * Reads {@code file}'s header with ggml.
     *
     * @throws IllegalStateException if ggml refuses the file
     */
    public static Summary read(Path file) throws Throwable {
        MethodHandle init = function("gguf_init_from_file", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, INIT_PARAMS));
        MethodHandle free = function("gguf_free", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        MethodHandle alignment = function("gguf_get_alignment", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
        MethodHandle dataOffset = function("gguf_get_data_offset", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
        MethodHandle nKv = function("gguf_get_n_kv", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
        MethodHandle nTensors = function("gguf_get_n_tensors", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
        MethodHandle name = function("gguf_get_tensor_name",
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MethodHandle type = function("gguf_get_tensor_type",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MethodHandle offset = function("gguf_get_tensor_offset",
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MethodHandle size = function("gguf_get_tensor_size",
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(INIT_PARAMS);
            params.set(ValueLayout.JAVA_BOOLEAN, 0, true);
            params.set(ValueLayout.ADDRESS, 8, MemorySegment.NULL);
            MemorySegment ctx = (MemorySegment) init.invokeExact(arena.allocateFrom(file.toString()), params);
            if (ctx.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("ggml's gguf_init_from_file refused " + file);
            }
            try {
                long n = (long) nTensors.invokeExact(ctx);
                List<Tensor> tensors = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    MemorySegment tensorName = (MemorySegment) name.invokeExact(ctx, i);
                    tensors.add(new Tensor(tensorName.reinterpret(Long.MAX_VALUE).getString(0),
                            (int) type.invokeExact(ctx, i), (long) offset.invokeExact(ctx, i), (long) size.invokeExact(ctx, i)));
                }
                return new Summary((long) alignment.invokeExact(ctx), (long) dataOffset.invokeExact(ctx),
                        (long) nKv.invokeExact(ctx), tensors);
            } finally {
                free.invokeExact(ctx);
            }
        }
    }
}
