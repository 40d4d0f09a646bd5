package dev.clearclip.bindings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resolution rules of NativeLibrary that need no real library. */
class NativeLibraryTest {

    @Test
    void platformNamesFollowTheResourceLayout() {
        assertThat(NativeLibrary.platform("Linux", "amd64")).isEqualTo("linux-x86_64");
        assertThat(NativeLibrary.platform("Linux", "x86_64")).isEqualTo("linux-x86_64");
        assertThat(NativeLibrary.platform("Linux", "aarch64")).isEqualTo("linux-aarch64");
        assertThat(NativeLibrary.platform("Linux", "arm64")).isEqualTo("linux-aarch64");
        assertThat(NativeLibrary.platform("Mac OS X", "aarch64")).isEqualTo("macos-aarch64");
        assertThat(NativeLibrary.platform("Windows 11", "amd64")).isEqualTo("windows-x86_64");
    }

    @Test
    void indexListsNamesInOrderIgnoringBlankLines() {
        assertThat(NativeLibrary.parseIndex("libggml-base.so.0\n\nlibggml.so.0\r\nlibclearclip.so\n"))
                .containsExactly("libggml-base.so.0", "libggml.so.0", "libclearclip.so");
    }

    @Test
    void missingOverrideLocationIsReportedWithItsSource(@TempDir Path tmp) {
        Path missing = tmp.resolve("nowhere");
        assertThatThrownBy(() -> NativeLibrary.librariesInDirectory(missing, "test source=" + missing))
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("test source=" + missing)
                .hasMessageContaining("no such file or directory");
    }

    @Test
    void directoryWithoutEngineIsRejected(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("libggml.so"), "");
        assertThatThrownBy(() -> NativeLibrary.librariesInDirectory(tmp, "src"))
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("libclearclip.so not found in " + tmp);
    }

    @Test
    void directoryWithoutIndexLoadsGgmlBeforeTheEngine(@TempDir Path tmp) throws IOException {
        for (String name : new String[] {"libclearclip.so", "libggml.so", "libggml-cpu.so", "libggml-base.so"}) {
            Files.writeString(tmp.resolve(name), "");
        }
        assertThat(NativeLibrary.librariesInDirectory(tmp, "src"))
                .extracting(p -> p.getFileName().toString())
                .containsExactly("libggml-base.so", "libggml-cpu.so", "libggml.so", "libclearclip.so");
    }

    @Test
    void indexDecidesTheOrderAndMustNameExistingFiles(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("libggml-base.so.0"), "");
        Files.writeString(tmp.resolve("libclearclip.so"), "");
        Files.writeString(tmp.resolve(NativeLibrary.INDEX_NAME), "libggml-base.so.0\nlibclearclip.so\n");
        assertThat(NativeLibrary.librariesInDirectory(tmp.resolve("libclearclip.so"), "src"))
                .extracting(p -> p.getFileName().toString())
                .containsExactly("libggml-base.so.0", "libclearclip.so");

        Files.writeString(tmp.resolve(NativeLibrary.INDEX_NAME), "libggml.so.0\nlibclearclip.so\n");
        assertThatThrownBy(() -> NativeLibrary.librariesInDirectory(tmp, "src"))
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("lists libggml.so.0");
    }

    /** A class loader whose only resources are the files under root (a jar's layout, unpacked). */
    private static URLClassLoader resources(Path root) throws IOException {
        return new URLClassLoader(new URL[] {root.toUri().toURL()}, null);
    }

    private static void write(Path root, String resource, String text) throws IOException {
        Path file = root.resolve(resource);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    @Test
    void eachPlatformGetsTheFilesOfItsOwnDirectory(@TempDir Path jar, @TempDir Path tmp) throws IOException {
        for (String platform : List.of("linux-x86_64", "linux-aarch64")) {
            write(jar, NativeLibrary.RESOURCE_ROOT + platform + "/libclearclip.so", "engine for " + platform);
            write(jar, NativeLibrary.RESOURCE_ROOT + platform + "/" + NativeLibrary.INDEX_NAME, "libclearclip.so\n");
        }
        write(jar, NativeLibrary.RESOURCE_ROOT + NativeLibrary.PLATFORMS_INDEX, "linux-aarch64\nlinux-x86_64\n");
        String savedTmp = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", tmp.toString());
        try (URLClassLoader loader = resources(jar)) {
            for (String arch : List.of("arm64", "aarch64", "amd64")) {
                String platform = NativeLibrary.platform("Linux", arch);
                List<Path> files = NativeLibrary.extractFromJar(loader, platform);
                assertThat(files).hasSize(1);
                assertThat(files.getFirst()).hasContent("engine for " + platform);
            }
        } finally {
            System.setProperty("java.io.tmpdir", savedTmp);
        }
    }

    @Test
    void backendModulesAreExtractedBesideTheEngineButNotLoaded(@TempDir Path jar, @TempDir Path tmp)
            throws IOException {
        String base = NativeLibrary.RESOURCE_ROOT + "linux-x86_64/";
        write(jar, base + "libggml-base.so.0", "base");
        write(jar, base + "libclearclip.so", "engine");
        write(jar, base + NativeLibrary.INDEX_NAME, "libggml-base.so.0\nlibclearclip.so\n");
        write(jar, base + "libggml-cpu-haswell.so", "avx2 variant");
        write(jar, base + "libggml-cpu-zen4.so", "avx512 variant");
        write(jar, base + NativeLibrary.BACKENDS_INDEX, "libggml-cpu-haswell.so\nlibggml-cpu-zen4.so\n");
        String savedTmp = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", tmp.toString());
        try (URLClassLoader loader = resources(jar)) {
            List<Path> files = NativeLibrary.extractFromJar(loader, "linux-x86_64");
            assertThat(files).extracting(f -> f.getFileName().toString())
                    .containsExactly("libggml-base.so.0", "libclearclip.so");
            Path dir = files.getLast().getParent();
            assertThat(dir.resolve("libggml-cpu-haswell.so")).hasContent("avx2 variant");
            assertThat(dir.resolve("libggml-cpu-zen4.so")).hasContent("avx512 variant");

            // a listed module that is missing from the jar is named
            Files.delete(jar.resolve(base + "libggml-cpu-zen4.so"));
            assertThatThrownBy(() -> NativeLibrary.extractFromJar(loader, "linux-x86_64"))
                    .isInstanceOf(NativeLibraryException.class)
                    .hasMessageContaining(NativeLibrary.BACKENDS_INDEX + " lists libggml-cpu-zen4.so");
        } finally {
            System.setProperty("java.io.tmpdir", savedTmp);
        }
    }

    @Test
    void extractedFilesAreReusedOnlyWhileTheyHoldTheJarsBytes(@TempDir Path jar, @TempDir Path tmp)
            throws IOException {
        String base = NativeLibrary.RESOURCE_ROOT + "linux-x86_64/";
        // larger than the copy buffer, so that the streamed digests span several reads
        String engine = "engine ".repeat(30_000);
        write(jar, base + "libclearclip.so", engine);
        write(jar, base + NativeLibrary.INDEX_NAME, "libclearclip.so\n");
        String savedTmp = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", tmp.toString());
        try (URLClassLoader loader = resources(jar)) {
            Path first = NativeLibrary.extractFromJar(loader, "linux-x86_64").getFirst();
            assertThat(first).hasContent(engine);
            long modified = Files.getLastModifiedTime(first).toMillis();
            assertThat(NativeLibrary.extractFromJar(loader, "linux-x86_64").getFirst()).isEqualTo(first);
            assertThat(Files.getLastModifiedTime(first).toMillis()).isEqualTo(modified);

            // same size, one byte changed (damaged, or planted by another user of the temporary directory)
            Files.writeString(first, "Engine " + engine.substring(7));
            Path again = NativeLibrary.extractFromJar(loader, "linux-x86_64").getFirst();
            assertThat(again).isEqualTo(first).hasContent(engine);

            // another build's bytes get another directory
            write(jar, base + "libclearclip.so", "other " + engine);
            Path other = NativeLibrary.extractFromJar(loader, "linux-x86_64").getFirst();
            assertThat(other.getParent()).isNotEqualTo(first.getParent());
            assertThat(other).hasContent("other " + engine);
        } finally {
            System.setProperty("java.io.tmpdir", savedTmp);
        }
    }

    @Test
    void librariesAreStreamedNotHeldInTheHeap(@TempDir Path jar, @TempDir Path tmp) throws IOException {
        // issue 9: reading the ~17 MB of natives into byte arrays grew every CLI run's heap by twice that
        String base = NativeLibrary.RESOURCE_ROOT + "linux-x86_64/";
        Path lib = jar.resolve(base + "libclearclip.so");
        Files.createDirectories(lib.getParent());
        byte[] block = new byte[1 << 20];
        new java.util.Random(9).nextBytes(block);
        try (var out = Files.newOutputStream(lib)) {
            for (int i = 0; i < 32; i++) {
                out.write(block);
            }
        }
        write(jar, base + NativeLibrary.INDEX_NAME, "libclearclip.so\n");
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().threadId();
        String savedTmp = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", tmp.toString());
        try (URLClassLoader loader = resources(jar)) {
            for (String run : List.of("extracting", "reusing")) {
                long before = threads.getThreadAllocatedBytes(thread);
                Path file = NativeLibrary.extractFromJar(loader, "linux-x86_64").getFirst();
                long allocated = threads.getThreadAllocatedBytes(thread) - before;
                assertThat(Files.size(file)).isEqualTo(Files.size(lib));
                assertThat(allocated).as(run + " a 32 MB library allocated").isLessThan(4L << 20);
            }
            assertThat(Files.mismatch(lib, NativeLibrary.extractFromJar(loader, "linux-x86_64").getFirst()))
                    .isEqualTo(-1);
        } finally {
            System.setProperty("java.io.tmpdir", savedTmp);
        }
    }

    @Test
    void missingPlatformNamesThePlatformsTheJarHas(@TempDir Path jar) throws IOException {
        write(jar, NativeLibrary.RESOURCE_ROOT + "linux-x86_64/" + NativeLibrary.INDEX_NAME, "libclearclip.so\n");
        write(jar, NativeLibrary.RESOURCE_ROOT + NativeLibrary.PLATFORMS_INDEX, "linux-x86_64\n");
        try (URLClassLoader loader = resources(jar)) {
            assertThatThrownBy(() -> NativeLibrary.extractFromJar(loader, "linux-aarch64"))
                    .isInstanceOf(NativeLibraryException.class)
                    .hasMessageContaining("linux-aarch64")
                    .hasMessageContaining("this jar supports only linux-x86_64.")
                    .hasMessageContaining("ARM64=ON")
                    .hasMessageContaining(NativeLibrary.LIBRARY_PATH_PROPERTY);

            write(jar, NativeLibrary.RESOURCE_ROOT + NativeLibrary.PLATFORMS_INDEX, "linux-x86_64\nlinux-aarch64\n");
            assertThatThrownBy(() -> NativeLibrary.extractFromJar(loader, "linux-riscv64"))
                    .hasMessageContaining("linux-riscv64")
                    .hasMessageContaining("this jar supports only linux-x86_64, linux-aarch64.")
                    .hasMessageNotContaining("ARM64=ON");
        }
    }

    @Test
    void jarWithoutNativesSaysSo(@TempDir Path jar) throws IOException {
        try (URLClassLoader loader = resources(jar)) {
            assertThatThrownBy(() -> NativeLibrary.extractFromJar(loader, "linux-x86_64"))
                    .isInstanceOf(NativeLibraryException.class)
                    .hasMessageContaining("is the clearclip-native jar missing?");
        }
    }

    /**
     * The natives this build packaged (the clearclip-native module is on the test class path):
     * platforms.list names this JVM's platform, and every library of every listed platform is an
     * ELF file for that platform's CPU, so a cross build can never ship host libraries under the
     * aarch64 name (or the reverse).
     */
    @Test
    void packagedNativesAreBuiltForTheirPlatform() throws IOException {
        ClassLoader loader = NativeLibrary.class.getClassLoader();
        List<String> platforms = NativeLibrary.parseIndex(
                new String(readResource(loader, NativeLibrary.RESOURCE_ROOT + NativeLibrary.PLATFORMS_INDEX)));
        assertThat(platforms).contains(NativeLibrary.platform());
        for (String platform : platforms) {
            String base = NativeLibrary.RESOURCE_ROOT + platform + "/";
            List<String> names = NativeLibrary.parseIndex(new String(readResource(loader, base + NativeLibrary.INDEX_NAME)));
            assertThat(names).as(platform).isNotEmpty().last().isEqualTo(NativeLibrary.ENGINE_LIBRARY);
            int expected = switch (platform) {
                case "linux-x86_64" -> 62;   // EM_X86_64
                case "linux-aarch64" -> 183; // EM_AARCH64
                default -> throw new AssertionError("unexpected platform in the jar: " + platform);
            };
            List<String> all = new java.util.ArrayList<>(names);
            if (platform.equals("linux-x86_64")) {
                // the x86-64 jar carries ggml's CPU variants as modules (at least the AVX2 one,
                // haswell; the full build has x64 ... sapphirerapids), none of them in natives.list
                List<String> backends = NativeLibrary.parseIndex(
                        new String(readResource(loader, base + NativeLibrary.BACKENDS_INDEX)));
                assertThat(backends).contains("libggml-cpu-haswell.so")
                        .allMatch(b -> b.matches("libggml-[a-z0-9]+(-[a-z0-9_.]+)?\\.so"))
                        .doesNotContainAnyElementsOf(names);
                all.addAll(backends);
            }
            for (String name : all) {
                byte[] head = readResource(loader, base + name);
                assertThat(head).as(base + name).startsWith((byte) 0x7f, (byte) 'E', (byte) 'L', (byte) 'F');
                int machine = (head[18] & 0xff) | (head[19] & 0xff) << 8;
                assertThat(machine).as("ELF machine of " + base + name).isEqualTo(expected);
            }
        }
    }

    private static byte[] readResource(ClassLoader loader, String name) throws IOException {
        try (InputStream in = loader.getResourceAsStream(name)) {
            assertThat(in).as("resource " + name).isNotNull();
            return in.readAllBytes();
        }
    }
}
