package dev.clearclip.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI reads its arguments as UTF-8 whatever the locale. */
class Utf8ArgumentsTest {

    @TempDir
    static Path shared;

    static Path model;

    @BeforeAll
    static void convert() {
        model = Fixtures.hfTinyGguf(shared);
    }

    static byte[] cmdline(String... entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String e : entries) {
            out.writeBytes(e.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    @Test
    void argumentsMangledByAnAsciiLocaleAreRecovered() {
        byte[] raw = cmdline("/usr/bin/java", "-cp", "x.jar", "dev.clearclip.cli.Main", "tokenize", "", "café", "日本");
        // what the JVM made of them with sun.jnu.encoding=ANSI_X3.4-1968: one U+FFFD per non-ASCII byte
        String[] jvm = {"tokenize", "", "caf\uFFFD\uFFFD", "\uFFFD".repeat(6)};
        assertThat(Utf8Arguments.fromCmdline(raw, jvm)).containsExactly("tokenize", "", "café", "日本");
    }

    @Test
    void entriesThatDoNotLineUpAreLeftAlone() {
        byte[] raw = cmdline("java", "Main", "tokenize", "café");
        String[] other = {"segment", "caf\uFFFD\uFFFD"};
        assertThat(Utf8Arguments.fromCmdline(raw, other)).containsExactly(other);
        String[] tooMany = {"a", "b", "c", "d", "e"};
        assertThat(Utf8Arguments.fromCmdline(raw, tooMany)).containsExactly(tooMany);
    }

    @Test
    void bytesThatAreNotUtf8KeepTheJvmsDecoding() {
        // a Latin-1 terminal: "café" is 63 61 66 E9, not UTF-8; the JVM (ISO-8859-1 locale) decoded it right
        byte[] raw = {'j', 0, 'c', 'a', 'f', (byte) 0xE9, 0};
        assertThat(Utf8Arguments.fromCmdline(raw, new String[] {"café"})).containsExactly("café");
    }

    /** Runs the CLI's main in a child JVM with exactly this environment; returns stdout. */
    static String runCli(List<String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        for (String p : System.getProperties().stringPropertyNames()) {
            if (p.startsWith("clearclip.")) {
                cmd.add("-D" + p + "=" + System.getProperty(p));
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear(); // as env -i
        for (String kv : env) {
            int eq = kv.indexOf('=');
            pb.environment().put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        pb.redirectErrorStream(true);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        return text;
    }

    static String jnuEncodingWithEmptyEnvironment() throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XshowSettings:properties", "-version");
        pb.environment().clear();
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.lines().map(String::strip).filter(l -> l.startsWith("sun.jnu.encoding = "))
                .map(l -> l.substring("sun.jnu.encoding = ".length())).findFirst().orElse("");
    }

    @Test
    void tokenizeGivesTheSameIdsWithLangUnsetAsUnderUtf8() throws Exception {
        assumeThat(Files.isReadable(Path.of("/proc/self/cmdline"))).as("Linux /proc").isTrue();
        // The premise: with an empty environment the JVM decodes arguments as ASCII, not UTF-8.
        assumeThat(jnuEncodingWithEmptyEnvironment()).isNotIn("UTF-8", "");
        String[] args = {"tokenize", "-m", model.toString(), "café", "naïve façade", "日本の🦊", "plain"};
        String utf8 = runCli(List.of("LANG=C.UTF-8", "LC_ALL=C.UTF-8"), args);
        String none = runCli(List.of(), args);
        assertThat(none).isEqualTo(utf8);
        assertThat(none.lines()).hasSize(4);
        // and they are the ids of the real texts, not of "caf\uFFFD\uFFFD"
        Cli inProcess = Cli.run("tokenize", "-m", model.toString(), "café", "caf\uFFFD\uFFFD");
        List<String> lines = inProcess.out().lines().toList();
        assertThat(none.lines().findFirst()).contains(lines.get(0));
        assertThat(lines.get(0)).isNotEqualTo(lines.get(1));
    }
}
