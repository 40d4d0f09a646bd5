package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.testing.SegmentSettingsCases;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import org.junit.jupiter.api.Test;

/** The one declaration of the segmentation settings: flags (picocli) and form fields read the same. */
class SegmentSettingsTest {

    @Test
    void theFormFieldsAreTheFlagsWithUnderscores() {
        List<String> flags = SegmentSettingsCases.mixin().options().stream().map(OptionSpec::longestName).toList();
        assertThat(SegmentSettings.FORM_FIELDS)
                .containsExactlyInAnyOrderElementsOf(flags.stream().map(f -> f.substring(2).replace('-', '_')).toList());
    }

    @Test
    void theDefaultsAreTheLibrarysAndMaxSideIs4096() {
        SegmentSettings none = new SegmentSettings();
        new CommandLine(none).parseArgs();
        assertThat(none.options(null)).isEqualTo(SegmentOptions.defaults());
        assertThat(none.options(Preset.CITYSCAPES)).isEqualTo(Preset.CITYSCAPES.options());
        assertThat(none.maxSide()).isEqualTo(4096).isEqualTo(Images.DEFAULT_MAX_SIDE);
        SegmentSettings empty = SegmentSettings.fromForm(Map.<String, String>of()::get);
        assertThat(empty.options(null)).isEqualTo(SegmentOptions.defaults());
        assertThat(empty.maxSide()).isEqualTo(4096);
    }

    @Test
    void flagsAndFormFieldsGiveTheSameOptions() {
        SegmentSettingsCases.assertSameResults(c -> {
            SegmentSettings s = new SegmentSettings();
            new CommandLine(s).parseArgs(c.flags().toArray(String[]::new));
            return new SegmentSettingsCases.Result(s.options(c.preset()), s.maxSide());
        });
        // and what they give is the rule's: the method first, single settings over it
        SegmentSettings naclip = SegmentSettings.fromForm(Map.of("method", "naclip", "crop", "336")::get);
        assertThat(naclip.options(Preset.VOC21))
                .isEqualTo(Method.NACLIP.options(Preset.VOC21).toBuilder().crop(336).build());
    }

    @Test
    void probThresholdIsReadAsThreshold() {
        SegmentSettings old = SegmentSettings.fromForm(Map.of("prob_threshold", "0.25")::get);
        SegmentSettings now = SegmentSettings.fromForm(Map.of("threshold", "0.25")::get);
        assertThat(old.options(null)).isEqualTo(now.options(null));
        assertThat(now.options(null).probThreshold()).isEqualTo(0.25f);
        assertThatThrownBy(() -> SegmentSettings.fromForm(Map.of("threshold", "0.2", "prob_threshold", "0.3")::get))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not both");
    }

    @Test
    void badFieldValuesNameTheField() {
        Map<String, String> bad = Map.of("method", "nope", "mode", "fancy", "pamr_steps", "many", "pamr_dilations",
                "8,x", "naclip_std", "wide", "short_side", "1.5", "background", "maybe", "max_side", "big");
        bad.forEach((field, value) -> assertThatThrownBy(() -> SegmentSettings.fromForm(Map.of(field, value)::get))
                .as(field).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'" + field + "'")
                .hasMessageContaining(value));
        assertThatThrownBy(() -> SegmentSettings.fromForm(Map.of("max_side", "0")::get))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..16384");
        assertThatThrownBy(() -> SegmentSettings.fromForm(Map.of("stride", "500")::get).options(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stride 500");
        assertThat(SegmentSettings.fromForm(Map.of("background", "On")::get).options(null).background()).isTrue();
    }

    @Test
    void enumOptionsTakeAnyCaseAndListTheirNames() {
        SegmentSettings s = new SegmentSettings();
        new CommandLine(s).parseArgs("--method", "NaClip", "--mode", "SCLIP");
        assertThat(s.options(null).mode()).isEqualTo(BlockMode.SCLIP);
        assertThat(s.method()).isEqualTo(Method.NACLIP);
        assertThat(new CommandLineValues.Methods()).containsExactly("clearclip", "naclip", "sclip", "maskclip");
        assertThat(new CommandLineValues.Modes())
                .containsExactlyElementsOf(Arrays.stream(BlockMode.values()).map(BlockMode::id).toList());
        assertThat(new CommandLineValues.Presets())
                .containsExactlyElementsOf(Arrays.stream(Preset.values()).map(Preset::id).toList());
        assertThat(new CommandLineValues.Presets().convert("COCO_object")).isEqualTo(Preset.COCO_OBJECT);
        String help = new CommandLine(new SegmentSettings()).getUsageMessage();
        assertThat(help).contains("clearclip, naclip, sclip, maskclip").contains("clearclip, vanilla, maskclip, sclip,");
        assertThatThrownBy(() -> new CommandLine(new SegmentSettings()).parseArgs("--mode", "fancy"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("Invalid value for option '--mode': unknown block mode 'fancy' (expected one of clearclip, "
                        + "vanilla, maskclip, sclip, naclip)");
    }
}
