package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Class counts and settings are those of the benchmarks (the ClearCLIP reference configs; docs/methods.md). */
class PresetTest {

    @Test
    void classCountsAndBackgrounds() {
        assertThat(Preset.VOC21.classes().size()).isEqualTo(21);
        assertThat(Preset.VOC20.classes().size()).isEqualTo(20);
        assertThat(Preset.CONTEXT60.classes().size()).isEqualTo(60);
        assertThat(Preset.CONTEXT59.classes().size()).isEqualTo(59);
        assertThat(Preset.COCO_OBJECT.classes().size()).isEqualTo(81);
        assertThat(Preset.COCO_STUFF.classes().size()).isEqualTo(171);
        assertThat(Preset.CITYSCAPES.classes().size()).isEqualTo(19);
        assertThat(Preset.ADE20K.classes().size()).isEqualTo(150);
        for (Preset p : new Preset[] {Preset.VOC21, Preset.CONTEXT60, Preset.COCO_OBJECT}) {
            assertThat(p.classes().classNames().get(0)).isEqualTo("background");
        }
        for (Preset p : new Preset[] {Preset.VOC20, Preset.CONTEXT59, Preset.COCO_STUFF, Preset.CITYSCAPES,
                Preset.ADE20K}) {
            assertThat(p.classes().hasBackground()).isFalse();
        }
    }

    @Test
    void knownNamesAtKnownLabels() {
        assertThat(Preset.VOC21.classes().classNames().get(15)).isEqualTo("person");
        assertThat(Preset.VOC20.classes().classNames().get(19)).isEqualTo("tvmonitor");
        assertThat(Preset.CITYSCAPES.classes().classNames().get(0)).isEqualTo("road");
        assertThat(Preset.CONTEXT60.classes().classNames().get(59)).isEqualTo("wood");
        assertThat(Preset.ADE20K.classes().classNames().get(149)).isEqualTo("flag");
    }

    @Test
    void thresholdsAndWindows() {
        assertThat(Preset.VOC21.options().probThreshold()).isEqualTo(0.5f);
        assertThat(Preset.CONTEXT60.options().probThreshold()).isEqualTo(0.15f);
        assertThat(Preset.COCO_OBJECT.options().probThreshold()).isEqualTo(0.4f);
        assertThat(Preset.ADE20K.options().probThreshold()).isZero();
        assertThat(Preset.CITYSCAPES.options().crop()).isEqualTo(224);
        assertThat(Preset.CITYSCAPES.options().stride()).isEqualTo(224);
        assertThat(Preset.VOC20.options().crop()).isEqualTo(448);
        assertThat(Preset.VOC20.options().stride()).isEqualTo(224);
        for (Preset p : Preset.values()) {
            assertThat(p.options().shortSide()).isEqualTo(448);
            assertThat(p.options().logitScale()).isEqualTo(50f);
            assertThat(p.options().mode()).isEqualTo(BlockMode.CLEARCLIP);
        }
    }

    @Test
    void parsesCommandLineNames() {
        assertThat(Preset.parse("coco-object")).isEqualTo(Preset.COCO_OBJECT);
        assertThat(Preset.parse("COCO_STUFF")).isEqualTo(Preset.COCO_STUFF);
        assertThatThrownBy(() -> Preset.parse("voc")).hasMessageContaining("voc21, voc20");
    }

    @Test
    void segmentOptionsValidate() {
        assertThatThrownBy(() -> SegmentOptions.builder().stride(500).build()).hasMessageContaining("stride");
        assertThatThrownBy(() -> SegmentOptions.builder().probThreshold(1.5f).build())
                .hasMessageContaining("probThreshold");
        assertThat(SegmentOptions.builder().probThreshold(0.3f).build().usesBackground()).isTrue();
        assertThat(SegmentOptions.defaults().usesBackground()).isFalse();
    }
}
