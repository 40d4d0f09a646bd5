package dev.clearclip.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.BlockMode;
import dev.clearclip.CommandLineValues;
import dev.clearclip.Method;
import dev.clearclip.Preset;
import dev.clearclip.SegmentSettings;
import dev.clearclip.cli.Main;
import dev.clearclip.eval.Benchmark;
import dev.clearclip.testing.SegmentSettingsCases;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Issue #23: `segment`, the server's form fields (and, in java/spark, the Spark job) read the segmentation settings
 * from core's one declaration, SegmentSettings: same names, defaults and resulting options. No model is needed.
 */
class SegmentSettingsAgreementTest {

    private static CommandLine cli() {
        CommandLine cli = new CommandLine(new Main());
        return cli;
    }

    private static CommandSpec command(String name) {
        return cli().getSubcommands().get(name).getCommandSpec();
    }

    @Test
    void segmentDeclaresEverySettingAsCoreDoes() {
        SegmentSettingsCases.assertDeclaresTheSettings(command("segment"));
        assertThat(command("segment").findOption("--max-side").defaultValue()).isEqualTo("4096");
    }

    @Test
    void segmentAndTheFormGiveTheSameOptions() {
        SegmentSettingsCases.assertSameResults(c -> {
            List<String> args = new ArrayList<>(List.of("segment", "-m", "x.gguf", "--image", "a.png"));
            if (c.preset() == null) {
                args.addAll(List.of("--classes", "a;b"));
            }
            args.addAll(c.args());
            CommandLine cli = cli();
            CommandLine.ParseResult parsed = cli.parseArgs(args.toArray(String[]::new));
            SegmentCommand segment = (SegmentCommand) parsed.subcommand().commandSpec().userObject();
            Preset preset = segment.classSource.preset();
            assertThat(preset).isEqualTo(c.preset());
            return new SegmentSettingsCases.Result(segment.options(preset), segment.settings.maxSide());
        });
    }

    @Test
    void theServerReadsTheSameFieldsAndItsOlderName() {
        // the server's own parse of a form (RequestReader.segmentSettings) is SegmentSettings.fromForm over its
        // fields; its old 'prob_threshold' still works
        SegmentSettings old = SegmentSettings.fromForm(Map.of("prob_threshold", "0.3", "short_side", "224")::get);
        SegmentCommand segment = (SegmentCommand) cli().parseArgs("segment", "-m", "x.gguf", "--image", "a.png",
                "--preset", "voc21", "--threshold", "0.3", "--short-side", "224").subcommand().commandSpec().userObject();
        assertThat(old.options(Preset.VOC21)).isEqualTo(segment.options(Preset.VOC21));
    }

    @Test
    void evalAndBenchTakeSegmentsMethodAndMode() {
        OptionSpec method = SegmentSettingsCases.mixin().findOption("--method");
        OptionSpec mode = SegmentSettingsCases.mixin().findOption("--mode");
        // eval: the same declaration (core's MethodChoice); bench: the same values, its own default and help
        assertThat(command("eval").findOption("--method").description()).containsExactly(method.description());
        assertThat(command("eval").findOption("--mode").description()).containsExactly(mode.description());
        for (String name : List.of("eval", "bench")) {
            OptionSpec m = command(name).findOption("--method");
            assertThat(m.type()).as(name).isEqualTo(method.type());
            assertThat(m.converters()[0]).as(name).isInstanceOf(CommandLineValues.Methods.class);
            assertThat(m.completionCandidates()).as(name).containsExactlyElementsOf(method.completionCandidates());
        }
        OptionSpec evalMode = command("eval").findOption("--mode");
        assertThat(evalMode.type()).isEqualTo(mode.type());
        assertThat(evalMode.completionCandidates()).containsExactlyElementsOf(mode.completionCandidates());
        assertThat(command("features").findOption("--mode").completionCandidates())
                .containsExactlyElementsOf(mode.completionCandidates());
    }

    @Test
    void enumOptionsListTheirValuesAndTakeAnyCase() {
        assertThat(command("eval").findOption("--dataset").description()[0])
                .isEqualTo("voc21, voc20, context60, context59, coco-object, coco-stuff, cityscapes, ade20k.");
        for (String name : List.of("convert", "quantize", "pull")) {
            assertThat(command(name).findOption("--type").completionCandidates()).as(name)
                    .containsExactly("f32", "f16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0");
        }
        assertThat(command("classify").findOption("--preset").completionCandidates()).contains("coco-object");
        CommandLine.ParseResult eval = cli().parseArgs("eval", "-m", "x.gguf", "--root", "/tmp", "--dataset",
                "COCO_Object", "--method", "NACLIP", "--mode", "Vanilla");
        // the values as parsed (eval's fields are its own package's business)
        CommandLine.ParseResult e = eval.subcommand();
        assertThat(e.<Benchmark>matchedOptionValue("--dataset", null).id()).isEqualTo("coco-object");
        assertThat(e.<Method>matchedOptionValue("--method", null).id()).isEqualTo("naclip");
        assertThat(e.<BlockMode>matchedOptionValue("--mode", null).id()).isEqualTo("vanilla");
        QuantizeCommand q = (QuantizeCommand) cli().parseArgs("quantize", "in.gguf", "-o", "o.gguf", "--type", "Q8_0")
                .subcommand().commandSpec().userObject();
        assertThat(q.t.ggmlName()).isEqualTo("q8_0");
    }
}
