package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The CPU variant ggml picks at run time matches what the kernel says this CPU can do: an AVX-512
 * variant where /proc/cpuinfo lists avx512f, an AVX2 (and not AVX-512) one where it lists only
 * avx2. The reference is the kernel's own flag list, independent of ggml's CPU detection.
 */
class CpuBackendTest {

    /** The flags of the first CPU in /proc/cpuinfo; empty where there is no such file or line. */
    private static Optional<List<String>> cpuFlags() throws IOException {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(cpuinfo)) {
            return Optional.empty();
        }
        return Files.readAllLines(cpuinfo).stream()
                .filter(l -> l.startsWith("flags"))
                .findFirst()
                .map(l -> List.of(l.substring(l.indexOf(':') + 1).trim().split("\\s+")));
    }

    @Test
    void variantMatchesTheCpuFlags() throws IOException {
        CpuBackend cpu = ClipModel.cpuBackend();
        assertThat(cpu.variant()).isNotBlank();
        assertThat(cpu.features()).isNotEmpty();
        Optional<List<String>> flags = cpuFlags();
        if (flags.isEmpty()) {
            // not Linux x86: the variant need only be described
            assertThat(cpu.library()).isNotBlank();
            return;
        }
        if (flags.get().contains("avx512f")) {
            assertThat(cpu.has("AVX512")).as("this CPU has avx512f; variant %s", cpu.describe()).isTrue();
        } else if (flags.get().contains("avx2")) {
            assertThat(cpu.has("AVX2")).as("this CPU has avx2; variant %s", cpu.describe()).isTrue();
            assertThat(cpu.has("AVX512")).as("no avx512f here; variant %s", cpu.describe()).isFalse();
        }
        if (System.getProperty("os.arch").matches("amd64|x86_64")) {
            // the packaged x86-64 natives choose a variant at run time rather than link one in
            assertThat(cpu.variant()).isNotEqualTo("builtin");
            assertThat(Path.of(cpu.library()).getFileName().toString()).startsWith("libggml-cpu-" + cpu.variant());
        }
    }

    @Test
    void systemInfoNamesTheSameVariant() {
        assertThat(ClipModel.systemInfo()).contains("CPU variant " + ClipModel.cpuBackend().variant());
    }

    @Test
    void repeatedQueriesAgree() {
        assertThat(ClipModel.cpuBackend()).isEqualTo(ClipModel.cpuBackend());
    }
}
