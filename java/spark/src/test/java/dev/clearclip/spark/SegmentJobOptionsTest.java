package dev.clearclip.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.testing.SegmentSettingsCases;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Issue #23: the Spark job reads the segmentation settings from core's SegmentSettings, as `clearclip segment` and
 * the server do (java/cli's SegmentSettingsAgreementTest): same names, defaults and resulting options. No Spark
 * session is started: the arguments are only parsed.
 */
class SegmentJobOptionsTest {

    @Test
    void theJobDeclaresEverySettingAsCoreDoes() {
        CommandLine cl = new CommandLine(new SegmentJob());
        SegmentSettingsCases.assertDeclaresTheSettings(cl.getCommandSpec());
        assertThat(cl.getCommandSpec().findOption("--max-side").defaultValue()).isEqualTo("4096");
        assertThat(cl.getCommandSpec().findOption("--format").completionCandidates()).containsExactly("parquet", "json");
    }

    @Test
    void theJobAndTheFormGiveTheSameOptions() {
        SegmentSettingsCases.assertSameResults(c -> {
            List<String> args = new ArrayList<>(List.of("-m", "x.gguf", "--input", "in", "--output", "out"));
            if (c.preset() == null) {
                args.addAll(List.of("--classes", "a;b"));
            }
            args.addAll(c.args());
            SegmentJob job = new SegmentJob();
            new CommandLine(job).parseArgs(args.toArray(String[]::new));
            SegmentSpec spec = job.spec();
            return new SegmentSettingsCases.Result(spec.options(), spec.maxSide());
        });
    }

    @Test
    void theFormatTakesAnyCase() {
        SegmentJob job = new SegmentJob();
        new CommandLine(job).parseArgs("-m", "x.gguf", "--input", "in", "--output", "out", "--preset", "VOC21",
                "--format", "JSON");
        assertThat(job.format).isEqualTo(SegmentJob.Format.JSON);
    }
}
