package dev.clearclip.gguf.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class NpyTest {

    /** The bytes numpy.save writes for a format-1.0 array (header padded to 64 bytes, ending in a newline). */
    private static byte[] npy(String descr, String shape, float... values) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        StringBuilder header = new StringBuilder(dict);
        while ((10 + header.length() + 1) % 64 != 0) {
            header.append(' ');
        }
        header.append('\n');
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
        out.writeBytes(header.toString().getBytes(StandardCharsets.ISO_8859_1));
        ByteBuffer data = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            data.putFloat(v);
        }
        out.writeBytes(data.array());
        return out.toByteArray();
    }

    @Test
    void parsesFloat32CArrays() {
        Npy matrix = Npy.parse(npy("<f4", "(2, 3)", 1, 2, 3, 4, 5, 6), "m.npy");
        assertThat(matrix.shape()).containsExactly(2, 3);
        assertThat(matrix.rows()).isEqualTo(2);
        assertThat(matrix.row(1)).containsExactly(4, 5, 6);
        assertThat(Npy.parse(npy("<f4", "(4,)", 1, 2, 3, 4), "v.npy").shape()).containsExactly(4);
        assertThat(Npy.parse(npy("<f4", "()", 7), "s.npy").data()).containsExactly(7);
    }

    @Test
    void rejectsOtherLayouts() {
        assertThatThrownBy(() -> Npy.parse(npy("|u1", "(3,)"), "u8.npy")).hasMessage("u8.npy: dtype |u1, expected <f4 (little-endian float32)");
        assertThatThrownBy(() -> Npy.parse(npy("<f4", "(3,)", 1, 2), "short.npy"))
                .hasMessage("short.npy: shape [3] needs 12 data bytes, the file has 8");
        assertThatThrownBy(() -> Npy.parse(new byte[12], "zero.npy")).hasMessage("zero.npy: not a .npy file");
    }

    @Test
    void cosineStatistics() {
        CosineStats same = CosineStats.of(new float[] {1, 0, 0, 2}, new float[] {2, 0, 0, 1}, 2);
        assertThat(same.min()).isEqualTo(1.0);
        CosineStats orthogonal = CosineStats.of(new float[] {1, 0}, new float[] {0, 1}, 2);
        assertThat(orthogonal.mean()).isEqualTo(0.0);
        assertThat(orthogonal.maxAbsDiff()).isEqualTo(1.0);
        assertThat(CosineStats.of(new float[] {1, 1}, new float[] {1, 0}, 2).min()).isCloseTo(Math.sqrt(0.5), within(1e-12));
    }

    /** The golden text embeddings are L2-normalised rows (README of the fixtures). */
    @Test
    void readsAFixtureGolden() {
        Npy embeddings = Npy.read(Fixtures.file("hf-tiny/golden/text_embeddings.npy"));
        assertThat(embeddings.shape()).hasSize(2);
        for (int r = 0; r < embeddings.rows(); r++) {
            double norm = 0;
            for (float v : embeddings.row(r)) {
                norm += (double) v * v;
            }
            assertThat(Math.sqrt(norm)).isCloseTo(1.0, within(1e-5));
        }
    }
}
