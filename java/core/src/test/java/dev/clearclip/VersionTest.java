package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The project has one version, the top-level pom's; the library and the engine both report it. */
class VersionTest {

    private static String pomVersion() throws IOException {
        Path pom = Path.of(System.getProperty("clearclip.repo.root", "../.."), "pom.xml");
        Matcher m = Pattern.compile("<artifactId>clearclip-parent</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(pom));
        assertThat(m.find()).as("version of clearclip-parent in " + pom).isTrue();
        return m.group(1);
    }

    @Test
    void libraryVersionIsTheMavenVersion() throws IOException {
        assertThat(ClipModel.libraryVersion()).isEqualTo(pomVersion());
    }

    @Test
    void engineVersionIsTheMavenVersionWithoutItsQualifier() throws IOException {
        assertThat(ClipModel.engineVersion()).isEqualTo(pomVersion().replaceFirst("-.*$", ""));
    }
}
