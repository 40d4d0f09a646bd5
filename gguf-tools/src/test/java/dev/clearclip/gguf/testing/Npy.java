package dev.clearclip.gguf.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A float32 array read from a NumPy {@code .npy} file (format versions 1-3, little-endian
 * {@code <f4}, C order), as the reference goldens are written. Anything else is rejected with a
 * message, not guessed at.
 */
public record Npy(long[] shape, float[] data) {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    public Npy {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public static Npy read(Path file) {
        try {
            return parse(Files.readAllBytes(file), file.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    public static Npy parse(byte[] bytes, String name) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
            throw new IllegalArgumentException(name + ": not a .npy file");
        }
        int major = bytes[6];
        int headerLength;
        int headerStart;
        if (major == 1) {
            headerLength = Short.toUnsignedInt(buffer.getShort(8));
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            headerLength = buffer.getInt(8);
            headerStart = 12;
        } else {
            throw new IllegalArgumentException(name + ": unsupported .npy version " + major);
        }
        String header = new String(bytes, headerStart, headerLength,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, name, "descr");
        if (!descr.equals("<f4")) {
            throw new IllegalArgumentException(name + ": dtype " + descr + ", expected <f4 (little-endian float32)");
        }
        if (group(FORTRAN, header, name, "fortran_order").equals("True")) {
            throw new IllegalArgumentException(name + ": Fortran order is not supported");
        }
        String dims = group(SHAPE, header, name, "shape").trim();
        long[] shape = dims.isEmpty() ? new long[0]
                : Arrays.stream(dims.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToLong(Long::parseLong).toArray();
        long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        int dataStart = headerStart + headerLength;
        if (bytes.length - dataStart != count * 4) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " needs " + count * 4
                    + " data bytes, the file has " + (bytes.length - dataStart));
        }
        float[] data = new float[(int) count];
        buffer.position(dataStart);
        buffer.asFloatBuffer().get(data);
        return new Npy(shape, data);
    }

    private static String group(Pattern pattern, String header, String name, String what) {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            throw new IllegalArgumentException(name + ": header has no " + what + ": " + header);
        }
        return m.group(1);
    }

    /** Number of rows of a 2-D array (or 1 for a vector). */
    public int rows() {
        return shape.length < 2 ? 1 : (int) shape[0];
    }

    /** Row {@code i} of a 2-D array (the whole vector for 1-D). */
    public float[] row(int i) {
        int columns = data.length / rows();
        return Arrays.copyOfRange(data, i * columns, (i + 1) * columns);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Npy other && Arrays.equals(shape, other.shape) && Arrays.equals(data, other.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Npy" + Arrays.toString(shape);
    }
}
