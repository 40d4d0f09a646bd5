package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ExifOrientationTest {

    /** Minimal TIFF: header, IFD0 with one entry (tag 0x0112, SHORT, count 1). */
    private static byte[] tiff(boolean littleEndian, int value) {
        byte[] b = new byte[8 + 2 + 12 + 4];
        if (littleEndian) {
            b[0] = 'I'; b[1] = 'I'; b[2] = 42; b[4] = 8;
            b[8] = 1;
            b[10] = 0x12; b[11] = 0x01; b[12] = 3; b[14] = 1; b[18] = (byte) value;
        } else {
            b[0] = 'M'; b[1] = 'M'; b[3] = 42; b[7] = 8;
            b[9] = 1;
            b[10] = 0x01; b[11] = 0x12; b[13] = 3; b[17] = 1; b[19] = (byte) value;
        }
        return b;
    }

    @Test
    void readsBothByteOrders() {
        assertThat(ExifOrientation.fromTiff(tiff(true, 6))).isEqualTo(6);
        assertThat(ExifOrientation.fromTiff(tiff(false, 8))).isEqualTo(8);
    }

    @Test
    void malformedOrOutOfRangeMeansNormal() {
        assertThat(ExifOrientation.fromTiff(tiff(true, 9))).isEqualTo(1);
        assertThat(ExifOrientation.fromTiff(new byte[] {'I', 'I', 42, 0, (byte) 200, 0, 0, 0})).isEqualTo(1);
        assertThat(ExifOrientation.fromTiff(new byte[3])).isEqualTo(1);
    }

    @Test
    void rotationMovesPixelsAsAViewerWould() {
        // 3x2 image, pixel value = index
        byte[] rgb = new byte[18];
        for (int i = 0; i < 6; i++) {
            rgb[i * 3] = (byte) i;
        }
        RgbImage src = new RgbImage(3, 2, rgb);
        // stored:  0 1 2      orientation 6 (rotate 90 clockwise):  3 0
        //          3 4 5                                             4 1
        //                                                            5 2
        RgbImage cw = ExifOrientation.apply(src, 6);
        assertThat(cw.width()).isEqualTo(2);
        assertThat(cw.height()).isEqualTo(3);
        int[] expected = {3, 0, 4, 1, 5, 2};
        for (int i = 0; i < 6; i++) {
            assertThat(cw.rgb()[i * 3]).isEqualTo((byte) expected[i]);
        }
    }
}
