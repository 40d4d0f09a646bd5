package dev.clearclip.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checked against the .npy format description of NumPy (NEP 1 / numpy.lib.format, version 1.0). */
class NpyTest {

    @TempDir
    Path tmp;

    @Test
    void headerAndDataFollowTheFormat() throws IOException {
        Path f = tmp.resolve("x.npy");
        float[] data = {1f, -2.5f, 3.25f, 0f, Float.MAX_VALUE, -0f};
        Npy.writeFloat32(f, data, 2, 3);
        byte[] b = Files.readAllBytes(f);
        assertThat(b[0] & 0xff).isEqualTo(0x93);
        assertThat(new String(b, 1, 5, StandardCharsets.US_ASCII)).isEqualTo("NUMPY");
        assertThat(b[6]).isEqualTo((byte) 1);
        assertThat(b[7]).isEqualTo((byte) 0);
        int headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        assertThat((10 + headerLen) % 64).isZero();
        String header = new String(b, 10, headerLen, StandardCharsets.US_ASCII);
        assertThat(header).startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }").endsWith("\n");
        assertThat(b.length).isEqualTo(10 + headerLen + 4 * data.length);
        ByteBuffer buf = ByteBuffer.wrap(b, 10 + headerLen, 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : data) {
            assertThat(Float.floatToRawIntBits(buf.getFloat())).isEqualTo(Float.floatToRawIntBits(v));
        }
    }

    @Test
    void oneDimensionalShapeHasTrailingComma() throws IOException {
        Path f = tmp.resolve("v.npy");
        Npy.writeFloat32(f, new float[] {1f, 2f, 3f}, 3);
        String header = new String(Files.readAllBytes(f), 10, 60, StandardCharsets.US_ASCII);
        assertThat(header).contains("'shape': (3,)");
    }
}
