package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Method presets: each method's reference settings on top of a benchmark preset's. */
class MethodTest {

    @Test
    void naclipTakesItsWindowsScaleAndPamrAndKeepsTheBenchmarksClassesSettings() {
        SegmentOptions o = Method.NACLIP.options(Preset.VOC21);
        assertThat(o.mode()).isEqualTo(BlockMode.NACLIP);
        assertThat(o.crop()).isEqualTo(224);
        assertThat(o.stride()).isEqualTo(112);
        assertThat(o.logitScale()).isEqualTo(40f);
        assertThat(o.naclipStd()).isEqualTo(5f);
        assertThat(o.pamrSteps()).isEqualTo(10);
        assertThat(o.pamrDilations()).containsExactly(8, 16);
        assertThat(o.probThreshold()).isEqualTo(Preset.VOC21.options().probThreshold());
        assertThat(o.shortSide()).isEqualTo(Preset.VOC21.options().shortSide());
    }

    @Test
    void clearclipIsTheLibraryDefaultAndKeepsCityscapesWindows() {
        assertThat(Method.CLEARCLIP.options(null)).isEqualTo(SegmentOptions.defaults());
        SegmentOptions city = Method.CLEARCLIP.options(Preset.CITYSCAPES);
        assertThat(city).isEqualTo(Preset.CITYSCAPES.options());
        assertThat(city.pamrSteps()).isZero();
    }

    @Test
    void sclipAndMaskclipChangeOnlyTheBlock() {
        assertThat(Method.SCLIP.options(Preset.ADE20K))
                .isEqualTo(Preset.ADE20K.options().toBuilder().mode(BlockMode.SCLIP).build());
        assertThat(Method.MASKCLIP.options(Preset.ADE20K).mode()).isEqualTo(BlockMode.MASKCLIP);
    }

    @Test
    void parsesNamesAndRejectsOthers() {
        assertThat(Method.parse(" NaCLIP ")).isEqualTo(Method.NACLIP);
        assertThatThrownBy(() -> Method.parse("clip"))
                .hasMessage("unknown method 'clip' (expected one of clearclip, naclip, sclip, maskclip)");
        assertThat(BlockMode.parse("naclip")).isEqualTo(BlockMode.NACLIP);
    }

    @Test
    void pamrAndNaclipSettingsAreChecked() {
        assertThatThrownBy(() -> SegmentOptions.builder().pamrSteps(-1).build())
                .hasMessageContaining("pamrSteps");
        assertThatThrownBy(() -> SegmentOptions.builder().pamrDilations().build())
                .hasMessageContaining("1 to 4 dilations, got 0");
        assertThatThrownBy(() -> SegmentOptions.builder().pamrDilations(1, 2, 3, 4, 5).build())
                .hasMessageContaining("got 5");
        assertThatThrownBy(() -> SegmentOptions.builder().pamrDilations(8, 0).build())
                .hasMessageContaining(">= 1, got 0");
        assertThatThrownBy(() -> SegmentOptions.builder().naclipStd(0f).build())
                .hasMessageContaining("naclipStd");
        int[] dil = {8, 16};
        SegmentOptions o = SegmentOptions.builder().pamrDilations(dil).build();
        dil[0] = 99;
        assertThat(o.pamrDilations()).containsExactly(8, 16);
        o.pamrDilations()[0] = 99;
        assertThat(o.pamrDilations()).containsExactly(8, 16);
    }
}
