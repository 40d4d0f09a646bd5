package dev.clearclip.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Writes a GGUF v3 file, streaming the tensor data: the header (metadata and tensor infos) is
 * written when the writer is created, then each tensor's bytes are passed in declaration order and
 * go straight to disk, so no more than one tensor is ever held in memory.
 *
 * <p>The file is written under a temporary name next to the target and moved into place by
 * {@link #close()} once every declared tensor has been written; a writer closed early (for
 * instance because conversion failed) deletes the partial file and leaves the target untouched.
 *
 * <pre>{@code
 * try (GgufWriter writer = GgufWriter.create(path, metadata, specs)) {
 *     for (GgufTensorSpec spec : specs) {
 *         writer.writeTensor(spec.name(), bytesOf(spec));
 *     }
 * }
 * }</pre>
 */
public final class GgufWriter implements AutoCloseable {
    public static final int VERSION = 3;
    private static final int CHUNK = 1 << 24;

    private final Path target;
    private final Path temporary;
    private final FileChannel channel;
    private final int alignment;
    private final List<GgufTensorInfo> infos;
    private final long dataOffset;
    private int next;
    private boolean closed;

    private GgufWriter(Path target, Path temporary, FileChannel channel, int alignment,
                       List<GgufTensorInfo> infos, long dataOffset) {
        this.target = target;
        this.temporary = temporary;
        this.channel = channel;
        this.alignment = alignment;
        this.infos = infos;
        this.dataOffset = dataOffset;
    }

    /**
     * Starts a file: validates the tensor list, lays out the data section and writes the header.
     * The alignment is {@code general.alignment} from {@code metadata} if present, else 32.
     *
     * @throws IllegalArgumentException for duplicate tensor names or a bad alignment
     * @throws ModelFileException if the file cannot be created
     */
    public static GgufWriter create(Path path, GgufMetadata metadata, List<GgufTensorSpec> tensors) {
        Objects.requireNonNull(path, "path");
        int alignment = alignmentOf(metadata);
        List<GgufTensorInfo> infos = layout(tensors, alignment);
        ByteBuffer header = encodeHeader(metadata, infos, alignment);
        long dataOffset = header.remaining();

        Path absolute = path.toAbsolutePath();
        Path directory = absolute.getParent();
        // Not Files.createTempFile: its owner-only permissions would stick to the finished model.
        Path temporary = directory.resolve("." + absolute.getFileName() + "." + ProcessHandle.current().pid()
                + "." + System.nanoTime() + ".part");
        FileChannel channel = null;
        try {
            Files.createDirectories(directory);
            channel = FileChannel.open(temporary, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
            writeFully(channel, header);
            return new GgufWriter(path, temporary, channel, alignment, infos, dataOffset);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            if (channel != null) {
                deleteQuietly(temporary);
            }
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new ModelFileException(path + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** The tensors with the offsets they get in the data section. */
    public List<GgufTensorInfo> tensorInfos() {
        return infos;
    }

    /** Absolute offset of the data section in the file. */
    public long dataOffset() {
        return dataOffset;
    }

    public int alignment() {
        return alignment;
    }

    /** The tensor {@link #writeTensor} expects next; empty once all are written. */
    public Optional<GgufTensorSpec> nextTensor() {
        return next < infos.size() ? Optional.of(infos.get(next).spec()) : Optional.empty();
    }

    /**
     * Writes the data of the next tensor, followed by the padding to the alignment.
     *
     * @throws IllegalStateException if {@code name} is not the next declared tensor or the writer is closed
     * @throws IllegalArgumentException if {@code data} does not have the tensor's exact byte size
     */
    public void writeTensor(String name, MemorySegment data) {
        if (closed) {
            throw new IllegalStateException(target + ": writer is closed");
        }
        if (next >= infos.size()) {
            throw new IllegalStateException(target + ": all " + infos.size() + " declared tensors are already written, got '" + name + "'");
        }
        GgufTensorInfo info = infos.get(next);
        if (!info.name().equals(name)) {
            throw new IllegalStateException(target + ": expected tensor '" + info.name() + "' (number " + next
                    + " in declaration order), got '" + name + "'");
        }
        if (data.byteSize() != info.byteSize()) {
            throw new IllegalArgumentException(target + ": tensor '" + name + "' (" + info.type() + " "
                    + Shapes.format(info.ne()) + ") needs " + info.byteSize() + " bytes, got " + data.byteSize());
        }
        try {
            for (long at = 0; at < data.byteSize(); at += CHUNK) {
                long length = Math.min(CHUNK, data.byteSize() - at);
                writeFully(channel, data.asSlice(at, length).asByteBuffer());
            }
            long padding = GgufFile.alignUp(info.byteSize(), alignment) - info.byteSize();
            writeFully(channel, ByteBuffer.allocate((int) padding));
        } catch (IOException e) {
            throw new ModelFileException(target + ": cannot write tensor '" + name + "': " + e.getMessage(), e);
        }
        next++;
    }

    /**
     * Finishes the file: if every declared tensor was written, moves it into place; otherwise
     * deletes the partial file and throws.
     *
     * @throws ModelFileException if tensors are missing or the file cannot be finished
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        boolean complete = next == infos.size();
        try {
            if (complete) {
                channel.force(false);
            }
            channel.close();
        } catch (IOException e) {
            deleteQuietly(temporary);
            throw new ModelFileException(target + ": cannot finish writing: " + e.getMessage(), e);
        }
        if (!complete) {
            deleteQuietly(temporary);
            throw new ModelFileException(target + ": not written: only " + next + " of " + infos.size()
                    + " tensors were supplied (next missing: '" + infos.get(next).name() + "')");
        }
        try {
            try {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            deleteQuietly(temporary);
            throw new ModelFileException(target + ": cannot move the finished file into place: " + e.getMessage(), e);
        }
    }

    private static int alignmentOf(GgufMetadata metadata) {
        if (!metadata.contains(GgufMetadata.ALIGNMENT_KEY)) {
            return GgufFile.DEFAULT_ALIGNMENT;
        }
        GgufValue value = metadata.get(GgufMetadata.ALIGNMENT_KEY).orElseThrow();
        if (!(value instanceof GgufValue.UInt32 u32) || u32.value() == 0 || Long.bitCount(u32.value()) != 1
                || u32.value() > (1 << 30)) {
            throw new IllegalArgumentException(GgufMetadata.ALIGNMENT_KEY + " must be a u32 power of two, got " + value);
        }
        return (int) u32.value();
    }

    private static List<GgufTensorInfo> layout(List<GgufTensorSpec> tensors, int alignment) {
        Set<String> names = new HashSet<>();
        List<GgufTensorInfo> infos = new ArrayList<>(tensors.size());
        long offset = 0;
        for (GgufTensorSpec spec : tensors) {
            if (!names.add(spec.name())) {
                throw new IllegalArgumentException("duplicate tensor name '" + spec.name() + "'");
            }
            infos.add(new GgufTensorInfo(spec, offset));
            offset = Math.addExact(offset, GgufFile.alignUp(spec.byteSize(), alignment));
        }
        return Collections.unmodifiableList(infos);
    }

    private static ByteBuffer encodeHeader(GgufMetadata metadata, List<GgufTensorInfo> infos, int alignment) {
        HeaderBuffer out = new HeaderBuffer();
        out.u32(GgufFile.MAGIC);
        out.u32(VERSION);
        out.u64(infos.size());
        out.u64(metadata.size());
        metadata.asMap().forEach((key, value) -> {
            out.string(key);
            out.u32(value.type().id());
            out.value(value);
        });
        for (GgufTensorInfo info : infos) {
            out.string(info.name());
            long[] ne = info.ne();
            out.u32(ne.length);
            for (long n : ne) {
                out.u64(n);
            }
            out.u32(info.type().id());
            out.u64(info.offset());
        }
        out.padTo(alignment);
        return out.finish();
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the write already failed; that failure is the one reported
            }
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // a leftover temporary file is harmless; the caller sees the original failure
        }
    }

    /** A growable little-endian buffer for the header. */
    private static final class HeaderBuffer {
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(long more) {
            if (buffer.remaining() < more) {
                long capacity = Math.max((long) buffer.capacity() * 2, buffer.position() + more);
                if (capacity > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException("GGUF header larger than 2 GB");
                }
                ByteBuffer bigger = ByteBuffer.allocate((int) capacity).order(ByteOrder.LITTLE_ENDIAN);
                bigger.put(buffer.flip());
                buffer = bigger;
            }
        }

        void u8(int v) {
            ensure(1);
            buffer.put((byte) v);
        }

        void u16(int v) {
            ensure(2);
            buffer.putShort((short) v);
        }

        void u32(long v) {
            ensure(4);
            buffer.putInt((int) v);
        }

        void u64(long v) {
            ensure(8);
            buffer.putLong(v);
        }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            u64(bytes.length);
            ensure(bytes.length);
            buffer.put(bytes);
        }

        void value(GgufValue value) {
            switch (value) {
                case GgufValue.UInt8 v -> u8(v.value());
                case GgufValue.Int8 v -> u8(v.value());
                case GgufValue.UInt16 v -> u16(v.value());
                case GgufValue.Int16 v -> u16(v.value());
                case GgufValue.UInt32 v -> u32(v.value());
                case GgufValue.Int32 v -> u32(v.value());
                case GgufValue.UInt64 v -> u64(v.value());
                case GgufValue.Int64 v -> u64(v.value());
                case GgufValue.Float32 v -> u32(Float.floatToRawIntBits(v.value()));
                case GgufValue.Float64 v -> u64(Double.doubleToRawLongBits(v.value()));
                case GgufValue.Bool v -> u8(v.value() ? 1 : 0);
                case GgufValue.Str v -> string(v.value());
                case GgufValue.Array v -> {
                    u32(v.elementType().id());
                    u64(v.size());
                    for (GgufValue element : v.elements()) {
                        value(element);
                    }
                }
            }
        }

        void padTo(int alignment) {
            int padding = (int) (GgufFile.alignUp(buffer.position(), alignment) - buffer.position());
            ensure(padding);
            buffer.put(new byte[padding]);
        }

        ByteBuffer finish() {
            return buffer.flip();
        }
    }
}
