package dev.clearclip.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.Preset;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The check that every front end of the segmentation settings agrees with core's {@link SegmentSettings}: a
 * command's options (names, defaults, types, help) and, for the same inputs, its resulting {@link SegmentOptions}
 * and max side, against the form parser's the server uses. Shared by java/cli's and java/spark's tests through
 * core's test jar.
 */
public final class SegmentSettingsCases {

    private SegmentSettingsCases() {
    }

    /** One input: a preset (or none) and the flags given; the form gives the same values under the field names. */
    public record Case(Preset preset, List<String> flags) {
        /** The same settings as form fields: {@code --pamr-steps 3} is {@code pamr_steps=3}, a switch is "true". */
        public Map<String, String> form() {
            Map<String, String> form = new LinkedHashMap<>();
            for (int i = 0; i < flags.size(); i++) {
                String name = flags.get(i).substring(2).replace('-', '_');
                boolean isSwitch = i + 1 == flags.size() || flags.get(i + 1).startsWith("--");
                form.put(name, isSwitch ? "true" : flags.get(++i));
            }
            return form;
        }

        /** The flags with {@code --preset NAME} in front when there is a preset. */
        public List<String> args() {
            List<String> args = new ArrayList<>();
            if (preset != null) {
                args.add("--preset");
                args.add(preset.id());
            }
            args.addAll(flags);
            return args;
        }
    }

    /** What a front end made of a case. */
    public record Result(SegmentOptions options, int maxSide) {
    }

    /** Inputs covering every setting, names in several cases, with and without a preset. */
    public static final List<Case> CASES = List.of(
            new Case(null, List.of()),
            new Case(Preset.VOC21, List.of()),
            new Case(null, List.of("--method", "NACLIP", "--pamr-steps", "3", "--pamr-dilations", "4,8", "--threshold",
                    "0.3", "--background")),
            new Case(Preset.CITYSCAPES, List.of("--mode", "sclip", "--short-side", "336", "--crop", "224", "--stride",
                    "112", "--logit-scale", "40", "--naclip-std", "2.5", "--max-side", "2048")),
            new Case(Preset.COCO_OBJECT, List.of("--method", "maskclip", "--mode", "Vanilla", "--short-side", "0")));

    /** The options of core's mixin, as picocli reads them. */
    public static CommandSpec mixin() {
        return CommandSpec.forAnnotatedObject(new SegmentSettings());
    }

    /** Every option of the mixin is in {@code command} with the same names, default, type, label and help. */
    public static void assertDeclaresTheSettings(CommandSpec command) {
        for (OptionSpec expected : mixin().options()) {
            OptionSpec got = command.findOption(expected.longestName());
            String name = command.name() + " " + expected.longestName();
            assertThat(got).as(name).isNotNull();
            assertThat(got.names()).as(name).containsExactly(expected.names());
            assertThat(got.defaultValue()).as(name).isEqualTo(expected.defaultValue());
            assertThat(got.initialValue()).as(name).isEqualTo(expected.initialValue());
            assertThat(got.type()).as(name).isEqualTo(expected.type());
            assertThat(got.paramLabel()).as(name).isEqualTo(expected.paramLabel());
            assertThat(got.description()).as(name).containsExactly(expected.description());
            assertThat(Arrays.stream(got.converters()).map(Object::getClass).toList()).as(name)
                    .isEqualTo(Arrays.stream(expected.converters()).map(Object::getClass).toList());
            assertThat(got.completionCandidates() == null ? null : List.copyOf(toList(got.completionCandidates())))
                    .as(name).isEqualTo(expected.completionCandidates() == null ? null
                            : List.copyOf(toList(expected.completionCandidates())));
        }
    }

    private static List<String> toList(Iterable<String> values) {
        List<String> out = new ArrayList<>();
        values.forEach(out::add);
        return out;
    }

    /** For every case, {@code frontEnd} (a command's parse of the case's args) equals the form parser's result. */
    public static void assertSameResults(Function<Case, Result> frontEnd) {
        for (Case c : CASES) {
            SegmentSettings form = SegmentSettings.fromForm(c.form()::get);
            Result expected = new Result(form.options(c.preset()), form.maxSide());
            assertThat(frontEnd.apply(c)).as(c.args().toString()).isEqualTo(expected);
        }
    }
}
