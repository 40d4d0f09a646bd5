package dev.clearclip.gguf.testing;

import dev.clearclip.gguf.safetensors.SafetensorsFile;
import dev.clearclip.gguf.safetensors.SafetensorsTensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a safetensors file's float32 tensors in the layout {@code torch.save} gives a state dict
 * (a zip holding {@code archive/data.pkl}, a protocol-2 pickle of an {@code OrderedDict} of tensors
 * rebuilt by {@code torch._utils._rebuild_tensor_v2}, and one {@code archive/data/N} entry per
 * storage), for tests that need a whole model as an open_clip {@code .bin} without PyTorch at test
 * time. The reader itself is checked against files PyTorch wrote ({@code resources/torch}).
 */
public final class TorchZip {
    private TorchZip() {
    }

    public static Path fromSafetensors(Path safetensors, Path out) {
        try (SafetensorsFile in = SafetensorsFile.open(safetensors);
             ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(out))) {
            ByteArrayOutputStream pickle = new ByteArrayOutputStream();
            pickle.write(new byte[] {(byte) 0x80, 2});
            global(pickle, "collections", "OrderedDict");
            pickle.write(')');
            pickle.write('R');
            pickle.write('(');
            int key = 0;
            for (Map.Entry<String, SafetensorsTensor> e : in.tensors().entrySet()) {
                SafetensorsTensor t = e.getValue();
                String storage = Integer.toString(key++);
                unicode(pickle, e.getKey());
                global(pickle, "torch._utils", "_rebuild_tensor_v2");
                pickle.write('(');
                pickle.write('(');
                unicode(pickle, "storage");
                global(pickle, "torch", "FloatStorage");
                unicode(pickle, storage);
                unicode(pickle, "cpu");
                integer(pickle, t.elementCount());
                pickle.write('t');
                pickle.write('Q');
                integer(pickle, 0);
                pickle.write('(');
                for (long d : t.shape()) {
                    integer(pickle, d);
                }
                pickle.write('t');
                pickle.write('(');
                long stride = 1;
                long[] strides = new long[t.shape().length];
                for (int d = strides.length - 1; d >= 0; d--) {
                    strides[d] = stride;
                    stride *= t.shape()[d];
                }
                for (long s : strides) {
                    integer(pickle, s);
                }
                pickle.write('t');
                pickle.write(0x89);
                global(pickle, "collections", "OrderedDict");
                pickle.write(')');
                pickle.write('R');
                pickle.write('t');
                pickle.write('R');
                float[] values = in.readFloats(e.getKey());
                ByteBuffer data = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                data.asFloatBuffer().put(values);
                entry(zip, "archive/data/" + storage, data.array());
            }
            pickle.write('u');
            pickle.write('.');
            entry(zip, "archive/data.pkl", pickle.toByteArray());
            entry(zip, "archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            entry(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static void entry(ZipOutputStream zip, String name, byte[] data) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(data);
        zip.closeEntry();
    }

    private static void global(OutputStream out, String module, String name) throws IOException {
        out.write('c');
        out.write((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void unicode(OutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        out.write(b);
    }

    private static void integer(OutputStream out, long v) throws IOException {
        out.write('J');
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(Math.toIntExact(v)).array());
    }

}
