package dev.clearclip.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** --max-image-pixels: pictures over the limit are refused with a one-line error naming the file. */
class ImageLimitCliTest extends TinyModelCliTest {


    private Path picture(int w, int h) throws IOException {
        Path file = tmp.resolve("pic-" + w + "x" + h + ".png");
        ImageIO.write(new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB), "png", file.toFile());
        return file;
    }

    @Test
    void everyImageCommandHonoursTheLimit() throws IOException {
        Path pic = picture(60, 40);
        String m = model.toString();
        String[][] commands = {
            {"segment", "-m", m, "--image", pic.toString(), "--classes", "a;b", "-o", tmp.resolve("out").toString()},
            {"classify", "-m", m, "--image", pic.toString(), "--classes", "a;b"},
            {"embed", "-m", m, "--image", pic.toString()},
            {"features", "-m", m, "--image", pic.toString(), "-o", tmp.resolve("f.npy").toString()},
        };
        for (String[] command : commands) {
            String[] limited = new String[command.length + 2];
            limited[0] = "--max-image-pixels";
            limited[1] = "2399";
            System.arraycopy(command, 0, limited, 2, command.length);
            Cli r = Cli.run(limited);
            assertThat(r.exit()).as(command[0] + ": " + r.err()).isEqualTo(Main.EXIT_RUNTIME);
            assertThat(r.err()).as(command[0]).startsWith("clearclip: error: ").contains(pic.toString())
                    .contains("60x40 = 2400 pixels", "limit of 2399 pixels").doesNotContain("\tat ");
            limited[1] = "2400";
            Cli ok = Cli.run(limited);
            assertThat(ok.exit()).as(command[0] + ": " + ok.err()).isZero();
        }
        assertThat(Cli.run("--max-image-pixels", "0", "embed", "-m", m, "--image", pic.toString()).exit())
                .isEqualTo(Main.EXIT_USAGE);
    }
}
