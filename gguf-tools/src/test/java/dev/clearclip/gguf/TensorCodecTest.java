package dev.clearclip.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Decoding of hand-assembled ggml blocks, values worked out by hand from the block layouts. */
class TensorCodecTest {

    private static ByteBuffer block(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float[] decode(GgmlType type, ByteBuffer bytes, int count) {
        return TensorCodec.decode(type, MemorySegment.ofArray(bytes.array()), count);
    }

    @Test
    void q8_0() {
        ByteBuffer b = block(34).putShort((short) 0x3800); // d = 0.5
        b.put(new byte[] {-128, -1, 0, 1, 127});
        float[] v = decode(GgmlType.Q8_0, b, 32);
        assertThat(v).startsWith(-64f, -0.5f, 0f, 0.5f, 63.5f);
        assertThat(v[31]).isZero();
    }

    @Test
    void q4_0() {
        ByteBuffer b = block(18).putShort((short) 0x4000); // d = 2
        b.put((byte) 0x0F).put((byte) 0x98);
        for (int j = 2; j < 16; j++) {
            b.put((byte) 0x88);
        }
        float[] v = decode(GgmlType.Q4_0, b, 32);
        assertThat(v[0]).isEqualTo((15 - 8) * 2f);
        assertThat(v[16]).isEqualTo((0 - 8) * 2f);
        assertThat(v[1]).isZero();
        assertThat(v[17]).isEqualTo(2f);
        assertThat(v[5]).isZero();
    }

    @Test
    void q4_1() {
        ByteBuffer b = block(20).putShort((short) 0x3400).putShort((short) 0xBC00); // d = 0.25, m = -1
        b.put((byte) 0xF1);
        float[] v = decode(GgmlType.Q4_1, b, 32);
        assertThat(v[0]).isEqualTo(0.25f * 1 - 1);
        assertThat(v[16]).isEqualTo(0.25f * 15 - 1);
        assertThat(v[1]).isEqualTo(-1f);
    }

    @Test
    void q5_0() {
        ByteBuffer b = block(22).putShort((short) 0x3C00); // d = 1
        b.putInt((1 << 0) | (1 << 16));                    // fifth bits of elements 0 and 16
        b.put((byte) 0x21);
        float[] v = decode(GgmlType.Q5_0, b, 32);
        assertThat(v[0]).isEqualTo((1 | 16) - 16);
        assertThat(v[16]).isEqualTo((2 | 16) - 16);
        assertThat(v[1]).isEqualTo(-16f);
        assertThat(v[17]).isEqualTo(-16f);
    }

    @Test
    void q5_1() {
        ByteBuffer b = block(24).putShort((short) 0x3800).putShort((short) 0x3C00); // d = 0.5, m = 1
        b.putInt(1 << 31);                                                          // fifth bit of element 31
        b.position(8 + 15);
        b.put((byte) 0xF0);
        float[] v = decode(GgmlType.Q5_1, b, 32);
        assertThat(v[15]).isEqualTo(1f);
        assertThat(v[31]).isEqualTo(0.5f * 31 + 1);
        assertThat(v[0]).isEqualTo(1f);
    }

    @Test
    void halfAndBfloatSpecialValues() {
        ByteBuffer b = block(10).putShort((short) 0x7C00).putShort((short) 0xFC00).putShort((short) 0x0001)
                .putShort((short) 0x7BFF).putShort((short) 0x7E00);
        float[] v = decode(GgmlType.F16, b, 5);
        assertThat(v[0]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(v[1]).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(v[2]).isEqualTo((float) Math.pow(2, -24));
        assertThat(v[3]).isEqualTo(65504f);
        assertThat(v[4]).isNaN();
        ByteBuffer bf = block(4).putShort((short) 0x3F80).putShort((short) 0xC049);
        assertThat(decode(GgmlType.BF16, bf, 2)).containsExactly(1f, -3.140625f);
    }

    @Test
    void halfEncodingRoundsToNearestEven() {
        float[] values = {1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 65520f, 1e-8f, -2f};
        MemorySegment out = MemorySegment.ofArray(new byte[values.length * 2]);
        TensorCodec.encodeF16(values, out);
        ByteBuffer b = out.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getShort(0)).isEqualTo((short) 0x3C00);
        assertThat(b.getShort(2)).isEqualTo((short) 0x3C02);
        assertThat(b.getShort(4)).isEqualTo((short) 0x7C00);
        assertThat(b.getShort(6)).isEqualTo((short) 0);
        assertThat(b.getShort(8)).isEqualTo((short) 0xC000);
    }

    @Test
    void refusesWhatItCannotDecode() {
        MemorySegment data = MemorySegment.ofArray(new byte[144]);
        assertThatThrownBy(() -> TensorCodec.decode(GgmlType.Q4_K, data, 256)).hasMessage("cannot decode ggml type q4_K");
        assertThatThrownBy(() -> TensorCodec.decode(GgmlType.Q8_0, data, 160)).hasMessage("160 values of q8_0 need 170 bytes, got 144");
    }
}
