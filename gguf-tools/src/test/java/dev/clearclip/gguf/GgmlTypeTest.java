package dev.clearclip.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GgmlTypeTest {

    @Test
    void blockLayoutsFollowGgmlBlockStructs() {
        // 32 values per block; f16 scale d (2 bytes), f16 min m where present, u32 high bits qh
        // for the 5-bit types, then 32 x 8, 4 (16 bytes) or 5 bits of quants.
        assertThat(GgmlType.Q8_0.typeSize()).isEqualTo(2 + 32);
        assertThat(GgmlType.Q4_0.typeSize()).isEqualTo(2 + 16);
        assertThat(GgmlType.Q4_1.typeSize()).isEqualTo(2 + 2 + 16);
        assertThat(GgmlType.Q5_0.typeSize()).isEqualTo(2 + 4 + 16);
        assertThat(GgmlType.Q5_1.typeSize()).isEqualTo(2 + 2 + 4 + 16);
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1}) {
            assertThat(t.blockSize()).isEqualTo(32);
            assertThat(t.isQuantized()).isTrue();
        }
        assertThat(GgmlType.F32.typeSize()).isEqualTo(4);
        assertThat(GgmlType.F16.typeSize()).isEqualTo(2);
        assertThat(GgmlType.BF16.typeSize()).isEqualTo(2);
    }

    /** The ids handed to the engine's clearclip_quantize are the header's clearclip_type values. */
    @Test
    void outputTypeIdsAreTheEnginesTypeConstants() throws Exception {
        for (GgmlType t : GgmlType.outputTypes()) {
            java.lang.reflect.Method constant = dev.clearclip.bindings.ffi.ClearClipNative.class
                    .getMethod("CLEARCLIP_TYPE_" + t.name());
            assertThat(t.id()).as(t.ggmlName()).isEqualTo(constant.invoke(null));
        }
    }

    @Test
    void idsAreGgmlEnumValues() {
        assertThat(GgmlType.F32.id()).isZero();
        assertThat(GgmlType.F16.id()).isEqualTo(1);
        assertThat(GgmlType.Q4_0.id()).isEqualTo(2);
        assertThat(GgmlType.Q4_1.id()).isEqualTo(3);
        assertThat(GgmlType.Q5_0.id()).isEqualTo(6);
        assertThat(GgmlType.Q5_1.id()).isEqualTo(7);
        assertThat(GgmlType.Q8_0.id()).isEqualTo(8);
        assertThat(GgmlType.BF16.id()).isEqualTo(30);
        assertThat(GgmlType.byId(4)).isEmpty();
        assertThat(GgmlType.byId(12)).contains(GgmlType.Q4_K);
        assertThat(GgmlType.byId(-1)).isEmpty();
        assertThat(GgmlType.byId(1000)).isEmpty();
    }

    @Test
    void sizesOfRowsAndTensors() {
        // a 768 x 3072 matrix: 768/32 = 24 blocks a row
        assertThat(GgmlType.Q8_0.rowSize(768)).isEqualTo(24 * 34);
        assertThat(GgmlType.Q8_0.byteSize(new long[] {768, 3072})).isEqualTo(24L * 34 * 3072);
        assertThat(GgmlType.F16.byteSize(new long[] {16, 16, 3, 768})).isEqualTo(2L * 16 * 16 * 3 * 768);
        assertThat(GgmlType.F32.byteSize(new long[0])).isEqualTo(4);
        assertThatThrownBy(() -> GgmlType.Q4_0.rowSize(48))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("multiple of 32");
    }

    @Test
    void llamaFileTypesFollowModelsReadme() {
        assertThat(GgmlType.F32.llamaFileType()).isZero();
        assertThat(GgmlType.F16.llamaFileType()).isEqualTo(1);
        assertThat(GgmlType.Q4_0.llamaFileType()).isEqualTo(2);
        assertThat(GgmlType.Q4_1.llamaFileType()).isEqualTo(3);
        assertThat(GgmlType.Q8_0.llamaFileType()).isEqualTo(7);
        assertThat(GgmlType.Q5_0.llamaFileType()).isEqualTo(8);
        assertThat(GgmlType.Q5_1.llamaFileType()).isEqualTo(9);
        assertThatThrownBy(GgmlType.Q4_K::llamaFileType).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void parsesOutputTypeNames() {
        assertThat(GgmlType.parseOutputType("Q8_0")).isEqualTo(GgmlType.Q8_0);
        assertThat(GgmlType.parseOutputType(" f16 ")).isEqualTo(GgmlType.F16);
        assertThatThrownBy(() -> GgmlType.parseOutputType("q4_K"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown output type 'q4_K'")
                .hasMessageContaining("q8_0");
    }
}
