package dev.clearclip.cli.commands;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Expands the {@code --image} arguments: files as given, folders to the pictures inside them (recursively),
 * and glob patterns ({@code photos/*.jpg}, {@code data/**.png}) that the shell did not expand.
 */
final class ImageInputs {

    static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff");

    private ImageInputs() {
    }

    static List<Path> expand(List<String> args) throws IOException {
        LinkedHashSet<Path> out = new LinkedHashSet<>();
        for (String arg : args) {
            if (isGlob(arg)) {
                List<Path> matches = glob(arg);
                if (matches.isEmpty()) {
                    throw new IOException(arg + ": no file matches this pattern");
                }
                out.addAll(matches);
                continue;
            }
            Path p = Path.of(arg);
            if (Files.isDirectory(p)) {
                List<Path> found = picturesUnder(p);
                if (found.isEmpty()) {
                    throw new IOException(p + ": folder has no pictures (" + String.join(", ", EXTENSIONS.stream().sorted().toList()) + ")");
                }
                out.addAll(found);
            } else {
                out.add(p); // a missing file is reported when it is read, with its name
            }
        }
        return new ArrayList<>(out);
    }

    static boolean isGlob(String arg) {
        return arg.contains("*") || arg.contains("?") || arg.contains("[") || arg.contains("{");
    }

    static boolean isPicture(Path p) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1));
    }

    private static List<Path> picturesUnder(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).filter(ImageInputs::isPicture).sorted().toList();
        }
    }

    private static List<Path> glob(String pattern) throws IOException {
        // Walk from the longest leading part of the pattern that has no wildcard.
        String normalized = pattern.replace('\\', '/');
        int firstWild = normalized.length();
        for (char c : new char[] {'*', '?', '[', '{'}) {
            int i = normalized.indexOf(c);
            if (i >= 0) {
                firstWild = Math.min(firstWild, i);
            }
        }
        int slash = normalized.lastIndexOf('/', firstWild);
        Path base = slash < 0 ? Path.of(".") : Path.of(slash == 0 ? "/" : normalized.substring(0, slash));
        String rest = slash < 0 ? normalized : normalized.substring(slash + 1);
        if (!Files.isDirectory(base)) {
            return List.of();
        }
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + rest);
        try (Stream<Path> s = Files.walk(base)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> matcher.matches(base.relativize(p)))
                    .map(p -> slash < 0 ? base.relativize(p) : p)
                    .sorted()
                    .toList();
        }
    }
}
