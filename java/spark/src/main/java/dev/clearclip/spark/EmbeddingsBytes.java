package dev.clearclip.spark;

import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClassSet;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link ClassEmbeddings} as bytes for a broadcast. A byte array broadcasts with whichever serializer the
 * cluster is configured with (Java or Kryo), whereas the library's records are not Serializable.
 */
final class EmbeddingsBytes {

    private EmbeddingsBytes() {
    }

    static byte[] encode(ClassEmbeddings e) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            List<ClassSet.ClassSpec> classes = e.classes().classes();
            out.writeInt(classes.size());
            for (ClassSet.ClassSpec c : classes) {
                writeStrings(out, c.names());
            }
            writeStrings(out, e.templates());
            float[][] v = e.nameEmbeddings();
            out.writeInt(v.length);
            out.writeInt(e.dim());
            for (float[] row : v) {
                for (float f : row) {
                    out.writeFloat(f);
                }
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return bytes.toByteArray();
    }

    static ClassEmbeddings decode(byte[] data) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int n = in.readInt();
            List<ClassSet.ClassSpec> classes = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                classes.add(new ClassSet.ClassSpec(readStrings(in)));
            }
            List<String> templates = readStrings(in);
            int rows = in.readInt();
            int dim = in.readInt();
            float[][] v = new float[rows][dim];
            for (float[] row : v) {
                for (int j = 0; j < dim; j++) {
                    row[j] = in.readFloat();
                }
            }
            return new ClassEmbeddings(ClassSet.of(classes), templates, v);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static void writeStrings(DataOutputStream out, List<String> s) throws IOException {
        out.writeInt(s.size());
        for (String x : s) {
            out.writeUTF(x);
        }
    }

    private static List<String> readStrings(DataInputStream in) throws IOException {
        int n = in.readInt();
        List<String> s = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            s.add(in.readUTF());
        }
        return s;
    }
}
