package dev.clearclip;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Finds the EXIF Orientation tag (0x0112) of a JPEG (APP1 "Exif"), PNG (eXIf chunk) or WebP (EXIF chunk)
 * file by walking its segments, without decoding pixels. ImageIO's readers ignore this tag, so camera
 * pictures would otherwise come out sideways.
 */
final class ExifOrientation {

    /** TIFF orientation value when the file says nothing: pixels are stored as displayed. */
    static final int NORMAL = 1;

    private static final int MAX_EXIF_BYTES = 1 << 20;

    private ExifOrientation() {
    }

    /** Orientation 1..8 of the file, or {@link #NORMAL} when absent, malformed or not applicable. */
    static int read(Path file) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            byte[] head = new byte[12];
            int n = raf.read(head);
            if (n >= 2 && (head[0] & 0xff) == 0xFF && (head[1] & 0xff) == 0xD8) {
                return fromJpeg(raf);
            }
            if (n >= 8 && (head[0] & 0xff) == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G') {
                return fromPng(raf);
            }
            if (n >= 12 && head[0] == 'R' && head[1] == 'I' && head[2] == 'F' && head[3] == 'F'
                    && head[8] == 'W' && head[9] == 'E' && head[10] == 'B' && head[11] == 'P') {
                return fromWebp(raf);
            }
            return NORMAL;
        }
    }

    private static int fromJpeg(RandomAccessFile raf) throws IOException {
        long pos = 2;
        long size = raf.length();
        while (pos + 4 <= size) {
            raf.seek(pos);
            int ff = raf.read();
            int marker = raf.read();
            if (ff != 0xFF) {
                return NORMAL;
            }
            if (marker == 0xFF) {
                pos++; // fill byte
                continue;
            }
            if (marker == 0xD9 || marker == 0xDA) {
                return NORMAL; // end of image / start of scan: no metadata after this point
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                pos += 2;
                continue;
            }
            int length = raf.readUnsignedShort();
            if (length < 2) {
                return NORMAL;
            }
            if (marker == 0xE1 && length >= 8) {
                byte[] id = new byte[6];
                raf.readFully(id);
                if (id[0] == 'E' && id[1] == 'x' && id[2] == 'i' && id[3] == 'f' && id[4] == 0 && id[5] == 0) {
                    return fromTiff(readBytes(raf, length - 8));
                }
            }
            pos += 2 + length;
        }
        return NORMAL;
    }

    private static int fromPng(RandomAccessFile raf) throws IOException {
        long pos = 8;
        long size = raf.length();
        while (pos + 8 <= size) {
            raf.seek(pos);
            long length = raf.readInt() & 0xffffffffL;
            byte[] type = new byte[4];
            raf.readFully(type);
            String t = new String(type, java.nio.charset.StandardCharsets.ISO_8859_1);
            if (t.equals("eXIf")) {
                return fromTiff(readBytes(raf, length));
            }
            if (t.equals("IDAT") || t.equals("IEND")) {
                return NORMAL; // eXIf must precede the image data
            }
            pos += 12 + length;
        }
        return NORMAL;
    }

    private static int fromWebp(RandomAccessFile raf) throws IOException {
        long pos = 12;
        long size = raf.length();
        while (pos + 8 <= size) {
            raf.seek(pos);
            byte[] type = new byte[4];
            raf.readFully(type);
            long length = Integer.reverseBytes(raf.readInt()) & 0xffffffffL;
            if (type[0] == 'E' && type[1] == 'X' && type[2] == 'I' && type[3] == 'F') {
                byte[] data = readBytes(raf, length);
                // Some writers keep the JPEG-style "Exif\0\0" prefix inside the chunk.
                if (data.length >= 6 && data[0] == 'E' && data[1] == 'x' && data[2] == 'i' && data[3] == 'f') {
                    byte[] rest = new byte[data.length - 6];
                    System.arraycopy(data, 6, rest, 0, rest.length);
                    data = rest;
                }
                return fromTiff(data);
            }
            pos += 8 + length + (length & 1);
        }
        return NORMAL;
    }

    private static byte[] readBytes(RandomAccessFile raf, long length) throws IOException {
        if (length < 0 || length > MAX_EXIF_BYTES || raf.getFilePointer() + length > raf.length()) {
            return new byte[0];
        }
        byte[] data = new byte[(int) length];
        raf.readFully(data);
        return data;
    }

    /** Orientation from a TIFF structure (byte-order mark, magic 42, IFD0 offset). */
    static int fromTiff(byte[] tiff) {
        if (tiff.length < 8) {
            return NORMAL;
        }
        ByteBuffer b = ByteBuffer.wrap(tiff);
        if (tiff[0] == 'I' && tiff[1] == 'I') {
            b.order(ByteOrder.LITTLE_ENDIAN);
        } else if (tiff[0] == 'M' && tiff[1] == 'M') {
            b.order(ByteOrder.BIG_ENDIAN);
        } else {
            return NORMAL;
        }
        if ((b.getShort(2) & 0xffff) != 42) {
            return NORMAL;
        }
        long ifd = b.getInt(4) & 0xffffffffL;
        if (ifd + 2 > tiff.length) {
            return NORMAL;
        }
        int entries = b.getShort((int) ifd) & 0xffff;
        for (int i = 0; i < entries; i++) {
            int e = (int) ifd + 2 + i * 12;
            if (e + 12 > tiff.length) {
                return NORMAL;
            }
            int tag = b.getShort(e) & 0xffff;
            int type = b.getShort(e + 2) & 0xffff;
            if (tag == 0x0112) {
                int value = type == 3 ? b.getShort(e + 8) & 0xffff
                        : type == 4 ? b.getInt(e + 8) : -1;
                return value >= 1 && value <= 8 ? value : NORMAL;
            }
        }
        return NORMAL;
    }

    /** The image as it is meant to be displayed, given its stored pixels and EXIF orientation. */
    static RgbImage apply(RgbImage src, int orientation) {
        if (orientation <= NORMAL || orientation > 8) {
            return src;
        }
        int w = src.width();
        int h = src.height();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] in = src.rgb();
        byte[] out = new byte[in.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; } // 8
                }
                int si = (sy * w + sx) * 3;
                int di = (y * ow + x) * 3;
                out[di] = in[si];
                out[di + 1] = in[si + 1];
                out[di + 2] = in[si + 2];
            }
        }
        return new RgbImage(ow, oh, out);
    }
}
