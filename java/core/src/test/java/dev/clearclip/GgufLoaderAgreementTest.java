package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.testing.BadGgufCorpus.Expect;
import dev.clearclip.gguf.testing.BadGgufCorpus.Input;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #7: the Java GGUF reader ({@link GgufFile}, behind {@code clearclip info}, the quantizer and
 * the converter's checks) and the engine's loader ({@code clearclip_model_load}, called directly,
 * without {@link ClipModel#load}'s own checks in front) agree on what is a well-formed GGUF file:
 * a file the Java reader refuses, the engine refuses too, and a file the engine refuses as
 * {@code CLEARCLIP_ERR_FORMAT} (or as not a file: {@code CLEARCLIP_ERR_IO}), the Java reader refuses
 * too. The engine refusing more (wrong keys, shapes, types: {@code CLEARCLIP_ERR_MODEL} and others)
 * is expected, since the Java reader knows nothing of CLIP.
 */
class GgufLoaderAgreementTest {
    @TempDir
    Path dir;

    record Verdict(boolean accepted, ClearClipException.Status status, String message) {
        static final Verdict OK = new Verdict(true, null, "accepted");

        @Override
        public String toString() {
            return accepted ? "accepted" : "refused (" + status + "): " + message;
        }
    }

    static Verdict javaReader(Path file) {
        try (GgufFile ignored = GgufFile.open(file)) {
            return Verdict.OK;
        } catch (RuntimeException e) {
            return new Verdict(false, null, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    static Verdict engine(Path file) {
        try {
            NativeEngine.ModelHandle model = NativeEngine.loadModel(file, true);
            NativeEngine.freeModel(model);
            return Verdict.OK;
        } catch (ClearClipException e) {
            return new Verdict(false, e.status(), e.getMessage());
        }
    }

    @Test
    void javaReaderAndEngineAgreeOnEveryCorpusFile() {
        List<Input> corpus = CorpusSupport.write(dir);
        List<String> disagreements = new ArrayList<>();
        int clean = 0;
        for (Input input : corpus) {
            Verdict[] verdicts = new Verdict[2];
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                verdicts[0] = javaReader(input.path());
                verdicts[1] = engine(input.path());
            }, () -> input + " did not finish");
            Verdict java = verdicts[0];
            Verdict c = verdicts[1];
            boolean structural = !c.accepted()
                    && (c.status() == ClearClipException.Status.FORMAT || c.status() == ClearClipException.Status.IO);
            if (!java.accepted() && c.accepted()) {
                disagreements.add(input + ": the Java reader refuses it, the engine loads it\n    java:   " + java
                        + "\n    engine: " + c);
            } else if (structural && java.accepted()) {
                disagreements.add(input + ": the engine refuses it as malformed, the Java reader accepts it\n    java:   "
                        + java + "\n    engine: " + c);
            }
            if (input.expect() == Expect.MALFORMED && java.accepted() && c.accepted()) {
                disagreements.add(input + ": malformed, yet accepted\n    java:   " + java + "\n    engine: " + c);
            }
            clean += (java.accepted() ? 0 : 1) + (c.accepted() ? 0 : 1);
        }
        System.out.printf("GGUF agreement: %d inputs, %d clean refusals (Java reader + engine), %d disagreements%n",
                corpus.size(), clean, disagreements.size());
        assertThat(disagreements).as("inputs on which the Java reader and the engine disagree").isEmpty();
    }
}
