package dev.clearclip.bindings;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ABI handshake: NativeLibrary's expected ABI is the header's, the generated bindings were made
 * from a header of that ABI, and an engine of another ABI (or one predating the check) is refused by
 * NativeLibrary.load() with a message saying so. The refusals run in child JVMs, since a library once
 * loaded cannot be unloaded from this one; the engines there are stand-ins compiled by the test with
 * the system C compiler, each exporting only what the case needs.
 */
class AbiVersionTest {
    private static final Pattern HEADER_ABI = Pattern.compile("#define\\s+CLEARCLIP_ABI_VERSION\\s+(\\d+)");
    private static final Pattern GENERATED_ABI =
            Pattern.compile("int\\s+CLEARCLIP_ABI_VERSION\\s*=\\s*\\(int\\)(\\d+)L;");

    @Test
    void expectedAbiIsTheHeadersAndTheGeneratedBindings() throws IOException {
        Path header = HeaderCoverageTest.headerPath();
        int headerAbi = find(HEADER_ABI, Files.readString(header), header);
        Path generated = Path.of(System.getProperty("clearclip.generated.dir", "src/main/java/dev/clearclip/bindings/ffi"),
                "ClearClipNative.java");
        int generatedAbi = find(GENERATED_ABI, Files.readString(generated), generated);
        assertThat(NativeLibrary.ABI_VERSION)
                .as("NativeLibrary.ABI_VERSION against %s", header).isEqualTo(headerAbi)
                .as("CLEARCLIP_ABI_VERSION in %s (rerun bindings/regenerate.sh)", generated).isEqualTo(generatedAbi);
    }

    @Test
    void engineOfAnotherAbiIsRefusedBeforeAnyCall(@TempDir Path tmp) throws Exception {
        int other = NativeLibrary.ABI_VERSION + 1;
        Path dir = fakeEngine(tmp, "#include <stdint.h>\nint32_t clearclip_abi_version(void) { return " + other + "; }\n");
        String out = loadInChildJvm(dir);
        assertThat(out).contains("NativeLibraryException")
                .contains("has engine ABI " + other + " but these bindings need ABI " + NativeLibrary.ABI_VERSION)
                .contains("use the engine built with this jar");
        // a refused engine stays refused: the probe's second load() fails the same way
        assertThat(out.split("has engine ABI", -1)).hasSize(3);
    }

    @Test
    void engineWithoutAbiFunctionIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = fakeEngine(tmp, "const char * clearclip_version(void) { return \"0.0.1\"; }\n");
        assertThat(loadInChildJvm(dir)).contains("NativeLibraryException")
                .contains("has no clearclip_abi_version()")
                .contains("older than these bindings (ABI " + NativeLibrary.ABI_VERSION + ")");
    }

    @Test
    void engineOfTheSameAbiLoads(@TempDir Path tmp) throws Exception {
        Path dir = fakeEngine(tmp, "#include <stdint.h>\nint32_t clearclip_abi_version(void) { return "
                + NativeLibrary.ABI_VERSION + "; }\n");
        assertThat(loadInChildJvm(dir)).contains("loaded " + dir.resolve(NativeLibrary.ENGINE_LIBRARY))
                .doesNotContain("Exception");
    }

    private static int find(Pattern pattern, String text, Path where) {
        Matcher m = pattern.matcher(text);
        assertThat(m.find()).as("%s in %s", pattern, where).isTrue();
        return Integer.parseInt(m.group(1));
    }

    /** A directory holding only a libclearclip built from {@code source}. */
    private static Path fakeEngine(Path tmp, String source) throws Exception {
        Path c = tmp.resolve("fake_engine.c");
        Files.writeString(c, source);
        Path dir = Files.createDirectories(tmp.resolve("lib"));
        Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o",
                dir.resolve(NativeLibrary.ENGINE_LIBRARY).toString(), c.toString())
                .redirectErrorStream(true).start();
        String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(cc.waitFor()).as("cc: %s", log).isZero();
        return dir;
    }

    /** Runs {@link Probe} in a child JVM with the library path set to {@code dir}; its output. */
    private static String loadInChildJvm(Path dir) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-D" + NativeLibrary.LIBRARY_PATH_PROPERTY + "=" + dir,
                "-cp", System.getProperty("java.class.path"), Probe.class.getName()))
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("child JVM ended: %s", out).isTrue();
        assertThat(p.exitValue()).as("child JVM exit: %s", out).isZero();
        return out;
    }

    /** Child JVM entry point: loads twice and prints what happened each time. */
    public static final class Probe {
        public static void main(String[] args) {
            for (int i = 0; i < 2; i++) {
                try {
                    NativeLibrary.load();
                    System.out.println("loaded " + NativeLibrary.loadedLibraries().getLast());
                } catch (NativeLibraryException e) {
                    System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
        }
    }
}
