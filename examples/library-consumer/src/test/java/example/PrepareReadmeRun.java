package example;

import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.convert.ClipConverter;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Puts the files the README snippet names into a folder: clip-b16.gguf (the tiny reference checkpoint,
 * converted; no real CLIP weights can be downloaded where this project is built) and street.jpg (the
 * sample scene as a JPEG).
 *   PrepareReadmeRun CHECKPOINT_DIR SCENE.png OUT_DIR
 */
public final class PrepareReadmeRun {

    public static void main(String[] args) throws IOException {
        Path out = Files.createDirectories(Path.of(args[2]));
        ClipConverter.detect(Path.of(args[0])).outputType(GgmlType.F32)
                .write(out.resolve("clip-b16.gguf"), ProgressListener.NONE);
        BufferedImage scene = ImageIO.read(Path.of(args[1]).toFile());
        BufferedImage rgb = new BufferedImage(scene.getWidth(), scene.getHeight(), BufferedImage.TYPE_INT_RGB);
        rgb.createGraphics().drawImage(scene, 0, 0, null);
        if (!ImageIO.write(rgb, "jpg", out.resolve("street.jpg").toFile())) {
            throw new IOException("no JPEG writer");
        }
    }
}
