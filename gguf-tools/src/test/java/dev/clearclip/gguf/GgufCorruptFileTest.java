package dev.clearclip.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.clearclip.gguf.testing.RawGguf;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken files are rejected with a message naming the file and the problem. */
class GgufCorruptFileTest {
    @TempDir
    Path dir;

    private Path write(String name, byte[] bytes) throws Exception {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    private AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(Path file) {
        return assertThatThrownBy(() -> GgufFile.open(file).close())
                .isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(file + ": ");
    }

    /** A valid file: two KVs, one f32 tensor [4] at offset 0, default alignment. */
    private static RawGguf valid() {
        return new RawGguf().header(3, 1, 2)
                .kvU32("a.b", 1)
                .string("general.name").u32(8).string("x")
                .tensorInfo("t", 0, 0, 4)
                .pad(32)
                .zeros(16);
    }

    @Test
    void validHandMadeFileOpens() throws Exception {
        Path file = write("ok.gguf", valid().bytes());
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.tensors()).hasSize(1);
            assertThat(gguf.metadata().getString("general.name")).isEqualTo("x");
            assertThat(gguf.readFloats("t")).containsExactly(0, 0, 0, 0);
        }
    }

    @Test
    void missingFile() {
        Path file = dir.resolve("absent.gguf");
        assertThatThrownBy(() -> GgufFile.open(file))
                .isInstanceOf(ModelFileException.class)
                .hasMessage(file + ": no such file");
    }

    @Test
    void emptyAndTinyFiles() throws Exception {
        assertOpenFails(write("empty.gguf", new byte[0])).hasMessageEndingWith("not a GGUF file: only 0 bytes long");
        assertOpenFails(write("three.gguf", new byte[] {'G', 'G', 'U'})).hasMessageEndingWith("not a GGUF file: only 3 bytes long");
    }

    @Test
    void badMagic() throws Exception {
        byte[] bytes = valid().bytes();
        bytes[0] = 'X';
        assertOpenFails(write("magic.gguf", bytes))
                .hasMessageEndingWith("not a GGUF file: it starts with \"XGUF\" (bytes 58 47 55 46), expected \"GGUF\"");
        assertOpenFails(write("png.gguf", new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10}))
                .hasMessageContaining("\".PNG\" (bytes 89 50 4e 47)");
    }

    @Test
    void unsupportedVersions() throws Exception {
        assertOpenFails(write("v1.gguf", new RawGguf().header(1, 0, 0).bytes()))
                .hasMessageEndingWith("GGUF version 1 is not supported (only versions 2 and 3)");
        assertOpenFails(write("v4.gguf", new RawGguf().header(4, 0, 0).bytes()))
                .hasMessageEndingWith("unsupported GGUF version 4 (supported: 2, 3)");
        assertOpenFails(write("be.gguf", new RawGguf().header(0x0300_0000, 0, 0).bytes()))
                .hasMessageEndingWith("big-endian GGUF (version 3) is not supported");
    }

    @Test
    void version2IsRead() throws Exception {
        byte[] bytes = valid().bytes();
        bytes[4] = 2;
        try (GgufFile gguf = GgufFile.open(write("v2.gguf", bytes))) {
            assertThat(gguf.version()).isEqualTo(2);
        }
    }

    @Test
    void everyTruncationIsReported() throws Exception {
        byte[] bytes = valid().bytes();
        for (int length = 4; length < bytes.length; length++) {
            Path file = write("cut" + length + ".gguf", Arrays.copyOf(bytes, length));
            assertOpenFails(file).hasMessageContaining("truncated");
        }
    }

    @Test
    void tensorDataBeyondEndOfFile() throws Exception {
        byte[] bytes = valid().bytes();
        assertOpenFails(write("short.gguf", Arrays.copyOf(bytes, bytes.length - 1)))
                .hasMessageEndingWith("tensor 't' (f32 [4], 16 bytes at data offset 0) extends beyond the end of the file: "
                        + "the data section holds only 15 bytes (truncated file?)");
    }

    @Test
    void dataSectionMissingEntirely() throws Exception {
        RawGguf raw = new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 0, 4);
        assertOpenFails(write("nodata.gguf", raw.bytes()))
                .hasMessageContaining("truncated file: the data section would start at byte 64 but the file is 57 bytes long");
    }

    @Test
    void misalignedOffset() throws Exception {
        byte[] bytes = new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 8, 4).pad(32).zeros(64).bytes();
        assertOpenFails(write("misaligned.gguf", bytes))
                .hasMessageEndingWith("tensor 't' has data offset 8, not a multiple of the alignment 32");
    }

    @Test
    void overlappingTensors() throws Exception {
        byte[] bytes = new RawGguf().header(3, 2, 0)
                .tensorInfo("a", 0, 0, 16).tensorInfo("b", 0, 32, 4).pad(32).zeros(96).bytes();
        assertOpenFails(write("overlap.gguf", bytes)).hasMessageEndingWith("the data of tensors 'a' and 'b' overlap");
    }

    @Test
    void unknownTensorType() throws Exception {
        byte[] bytes = new RawGguf().header(3, 1, 0).tensorInfo("t", 4, 0, 32).pad(32).zeros(64).bytes();
        assertOpenFails(write("type4.gguf", bytes)).hasMessageEndingWith("tensor 't' has unknown ggml type id 4");
        bytes = new RawGguf().header(3, 1, 0).tensorInfo("t", 99, 0, 32).pad(32).zeros(64).bytes();
        assertOpenFails(write("type99.gguf", bytes)).hasMessageEndingWith("tensor 't' has unknown ggml type id 99");
    }

    @Test
    void knownButUndecodableTypeOpensAndRefusesDecoding() throws Exception {
        byte[] bytes = new RawGguf().header(3, 1, 0).tensorInfo("k", 12, 0, 256).pad(32).zeros(144).bytes();
        Path file = write("q4k.gguf", bytes);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.tensor("k").type()).isEqualTo(GgmlType.Q4_K);
            assertThat(gguf.tensor("k").byteSize()).isEqualTo(144);
            assertThatThrownBy(() -> gguf.readFloats("k"))
                    .isInstanceOf(ModelFileException.class)
                    .hasMessage(file + ": tensor 'k' has type q4_K, which the model tools cannot decode");
        }
    }

    @Test
    void rowsNotAWholeNumberOfBlocks() throws Exception {
        byte[] bytes = new RawGguf().header(3, 1, 0).tensorInfo("q", 8, 0, 16).pad(32).zeros(64).bytes();
        assertOpenFails(write("rows.gguf", bytes))
                .hasMessageEndingWith("tensor 'q' of type q8_0 has rows of 16 elements, not a multiple of the block size 32");
    }

    @Test
    void tooManyDimensions() throws Exception {
        byte[] bytes = new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 0, 1, 1, 1, 1, 1).pad(32).zeros(32).bytes();
        assertOpenFails(write("dims.gguf", bytes)).hasMessageEndingWith("tensor 't' has 5 dimensions (allowed: 1 to 4)");
    }

    @Test
    void unknownValueType() throws Exception {
        byte[] bytes = new RawGguf().header(3, 0, 1).string("k").u32(13).u32(0).bytes();
        assertOpenFails(write("vtype.gguf", bytes)).hasMessageEndingWith("key 'k' has unknown value type 13");
    }

    @Test
    void duplicateKeysAndTensors() throws Exception {
        byte[] bytes = new RawGguf().header(3, 0, 2).kvU32("k", 1).kvU32("k", 2).bytes();
        assertOpenFails(write("dupkey.gguf", bytes)).hasMessageEndingWith("duplicate metadata key 'k'");
        bytes = new RawGguf().header(3, 2, 0).tensorInfo("t", 0, 0, 1).tensorInfo("t", 0, 32, 1).pad(32).zeros(64).bytes();
        assertOpenFails(write("duptensor.gguf", bytes)).hasMessageEndingWith("duplicate tensor name 't'");
    }

    @Test
    void absurdCountsAreRejectedBeforeAllocating() throws Exception {
        assertOpenFails(write("kvcount.gguf", new RawGguf().header(3, 0, Long.MAX_VALUE).zeros(8).bytes()))
                .hasMessageContaining("declares 9223372036854775807 metadata entries but only 8 bytes follow");
        byte[] array = new RawGguf().header(3, 0, 1).string("arr").u32(9).u32(0).u64(1L << 40).zeros(4).bytes();
        assertOpenFails(write("arraycount.gguf", array))
                .hasMessageContaining("declares 1099511627776 elements of array 'arr' but only 4 bytes follow");
        byte[] string = new RawGguf().header(3, 0, 1).u64(1L << 50).zeros(16).bytes();
        assertOpenFails(write("stringlength.gguf", string))
                .hasMessageContaining("the key of metadata entry 0 claims 1125899906842624 bytes");
    }

    @Test
    void badAlignmentAndBool() throws Exception {
        byte[] bytes = new RawGguf().header(3, 0, 1).kvU32(GgufMetadata.ALIGNMENT_KEY, 48).bytes();
        assertOpenFails(write("align.gguf", bytes)).hasMessageEndingWith("general.alignment is 48, expected a power of two from 8 to 65536");
        assertOpenFails(write("align4.gguf", new RawGguf().header(3, 0, 1).kvU32(GgufMetadata.ALIGNMENT_KEY, 4).bytes()))
                .hasMessageEndingWith("general.alignment is 4, expected a power of two from 8 to 65536");
        // like the engine (ggml), any non-zero byte is a true bool
        bytes = new RawGguf().header(3, 0, 1).string("b").u32(7).u8(2).bytes();
        try (GgufFile gguf = GgufFile.open(write("bool.gguf", bytes))) {
            assertThat(gguf.metadata().getBoolean("b")).isTrue();
        }
    }

    @Test
    void invalidUtf8IsShownNotRefused() throws Exception {
        // the engine does not check string bytes, so neither does the reader: both must accept the same files
        byte[] bytes = new RawGguf().header(3, 0, 1).string("k").u32(8).u64(2).raw((byte) 0xC3, (byte) 0x28).bytes();
        try (GgufFile gguf = GgufFile.open(write("utf8.gguf", bytes))) {
            assertThat(gguf.metadata().getString("k")).isEqualTo("\uFFFD(");
        }
    }

    @Test
    void limitsOfTheEngine() throws Exception {
        assertOpenFails(write("tensors.gguf", new RawGguf().header(3, 8193, 0).zeros(8193 * 24).bytes()))
                .hasMessageEndingWith("the header declares 8193 tensors, more than the 8192 allowed");
        assertOpenFails(write("keys.gguf", new RawGguf().header(3, 0, 4097).zeros(4097 * 13).bytes()))
                .hasMessageEndingWith("the header declares 4097 metadata entries, more than the 4096 allowed");
        assertOpenFails(write("longkey.gguf", new RawGguf().header(3, 0, 1).kvU32("k".repeat(1025), 1).bytes()))
                .hasMessageEndingWith("the key of metadata entry 0 is 1025 bytes long, more than the 1024 allowed");
        assertOpenFails(write("nulkey.gguf", new RawGguf().header(3, 0, 1).kvU32("a\0b", 1).bytes()))
                .hasMessageEndingWith("the key of metadata entry 0 holds a NUL byte");
        assertOpenFails(write("emptyname.gguf", new RawGguf().header(3, 1, 0).tensorInfo("", 0, 0, 4).pad(32).zeros(32).bytes()))
                .hasMessageEndingWith("tensor 0 has an empty name");
        assertOpenFails(write("zerodims.gguf", new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 0).pad(32).zeros(32).bytes()))
                .hasMessageEndingWith("tensor 't' has 0 dimensions (allowed: 1 to 4)");
        assertOpenFails(write("zerodim.gguf", new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 0, 4, 0).pad(32).zeros(32).bytes()))
                .hasMessageEndingWith("tensor 't' has dimension 1 of 0 (each must be at least 1)");
    }

    @Test
    void notRegularFilesAreRefusedWithoutOpening() throws Exception {
        Path fifo = dir.resolve("fifo.gguf");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        // opening a FIFO for reading would block until a writer comes: the refusal must come first
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThatThrownBy(() -> GgufFile.open(fifo))
                .isInstanceOf(ModelFileException.class)
                .hasMessage(fifo + ": not a regular file (a FIFO, socket or device), not a model file"));
        assertThatThrownBy(() -> GgufFile.open(Path.of("/dev/zero")))
                .hasMessage("/dev/zero: not a regular file (a FIFO, socket or device), not a model file");
        assertThatThrownBy(() -> GgufFile.open(dir)).hasMessage(dir + ": is a directory, not a model file");
    }

    @Test
    void emptyKeysAndNestedArrays() throws Exception {
        assertOpenFails(write("emptykey.gguf", new RawGguf().header(3, 0, 1).kvU32("", 1).bytes()))
                .hasMessageEndingWith("metadata entry 0 has an empty key");
        byte[] nested = new RawGguf().header(3, 0, 1).string("n").u32(9).u32(9).u64(1).u32(4).u64(1).u32(7).bytes();
        assertOpenFails(write("nested.gguf", nested)).hasMessageEndingWith("array 'n' holds arrays; nested arrays are not supported");
    }

    @Test
    void alignmentMustBeU32() throws Exception {
        byte[] bytes = new RawGguf().header(3, 0, 1).string(GgufMetadata.ALIGNMENT_KEY).u32(10).u64(32).bytes();
        assertOpenFails(write("align64.gguf", bytes)).hasMessageEndingWith("general.alignment has type u64, expected u32");
    }

    @Test
    void tensorNamesFitGgmlsField() throws Exception {
        byte[] bytes = new RawGguf().header(3, 1, 0).tensorInfo("x".repeat(64), 0, 0, 4).pad(32).zeros(32).bytes();
        assertOpenFails(write("longname.gguf", bytes))
                .hasMessageEndingWith("the name of tensor 0 is 64 bytes long, more than the 63 allowed");
        bytes = new RawGguf().header(3, 1, 0).tensorInfo("x".repeat(63), 0, 0, 4).pad(32).zeros(32).bytes();
        GgufFile.open(write("name63.gguf", bytes)).close();
    }

    @Test
    void tensorDataFollowsGgmlsLayout() throws Exception {
        byte[] gap = new RawGguf().header(3, 2, 0)
                .tensorInfo("a", 0, 0, 4).tensorInfo("b", 0, 64, 4).pad(32).zeros(96).bytes();
        assertOpenFails(write("gap.gguf", gap)).hasMessageEndingWith("tensor 'b' has data offset 64, expected 32 "
                + "(tensor data must follow the order of the tensor infos, each padded to the alignment 32)");
        byte[] swapped = new RawGguf().header(3, 2, 0)
                .tensorInfo("a", 0, 32, 4).tensorInfo("b", 0, 0, 4).pad(32).zeros(64).bytes();
        assertOpenFails(write("swapped.gguf", swapped)).hasMessageContaining("tensor 'a' has data offset 32, expected 0");
    }
}
