package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The one rule by which command-line flags change a preset's options (segment and the Spark job). */
class SegmentOverridesTest {

    private static SegmentOverrides none() {
        return new SegmentOverrides(null, null, null, null, null, null, null, null, null, null, false);
    }

    @Test
    void noFlagKeepsThePresetsOptions() {
        assertThat(none().applyTo(Preset.CITYSCAPES.options())).isEqualTo(Preset.CITYSCAPES.options());
        assertThat(none().applyTo(SegmentOptions.defaults())).isEqualTo(SegmentOptions.defaults());
    }

    @Test
    void theMethodComesFirstAndSingleFlagsOverrideIt() {
        SegmentOverrides o = new SegmentOverrides(Method.NACLIP, null, 3f, 2, new int[] {4}, 336, null, 100, null, 0.4f, true);
        SegmentOptions got = o.applyTo(Preset.VOC21.options());
        SegmentOptions method = Method.NACLIP.options(Preset.VOC21);
        assertThat(got.mode()).isEqualTo(BlockMode.NACLIP);
        assertThat(got.crop()).isEqualTo(method.crop());
        assertThat(got.logitScale()).isEqualTo(method.logitScale());
        assertThat(got.naclipStd()).isEqualTo(3f);
        assertThat(got.pamrSteps()).isEqualTo(2);
        assertThat(got.pamrDilations()).containsExactly(4);
        assertThat(got.shortSide()).isEqualTo(336);
        assertThat(got.stride()).isEqualTo(100);
        assertThat(got.probThreshold()).isEqualTo(0.4f);
        assertThat(got.background()).isTrue();
    }

    @Test
    void anExplicitModeWinsOverTheMethodsBlock() {
        SegmentOverrides o = new SegmentOverrides(Method.NACLIP, BlockMode.VANILLA, null, null, null, null, null, null, null, null, false);
        assertThat(o.applyTo(SegmentOptions.defaults()).mode()).isEqualTo(BlockMode.VANILLA);
    }

    @Test
    void badValuesAreIllegalArguments() {
        assertThatThrownBy(() -> new SegmentOverrides(null, null, null, null, null, null, 0, null, null, null, false)
                .applyTo(SegmentOptions.defaults())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theDilationsAreCopied() {
        int[] d = {8, 16};
        SegmentOverrides o = new SegmentOverrides(null, null, null, null, d, null, null, null, null, null, false);
        d[0] = 1;
        assertThat(o.pamrDilations()).containsExactly(8, 16);
    }
}
