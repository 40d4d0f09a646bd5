package dev.clearclip.cli.pull;

import dev.clearclip.cli.UsageException;
import dev.clearclip.gguf.GgmlType;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which GGUF file of a hub repository {@code pull} takes. Repositories of CLIP GGUFs (monatis/clip.cpp's
 * uploads, for one) hold one file per type, often also text-only and vision-only variants, and LLaVA
 * repositories hold projector ("mmproj") files: the type is read from the file name, and a whole
 * two-tower model is preferred to a single tower or a projector.
 */
final class GgufChoice {
    private static final Pattern PARTIAL = Pattern.compile("mmproj|projector|(text|vision)[-_.](model|only|encoder)");

    private GgufChoice() {
    }

    /** The type a file name announces ({@code ..._ggml-model-q4_0.gguf}, {@code model.Q8_0.gguf}, {@code fp16}). */
    static Optional<GgmlType> typeOf(String fileName) {
        String name = fileName.toLowerCase(Locale.ROOT);
        name = name.substring(name.lastIndexOf('/') + 1).replace("fp16", "f16").replace("fp32", "f32");
        for (GgmlType type : GgmlType.outputTypes()) {
            if (Pattern.compile("(^|[^a-z0-9])" + Pattern.quote(type.toString()) + "([^a-z0-9]|$)").matcher(name).find()) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }

    /** Single-tower variants and LLaVA projectors, which are not what a plain {@code pull} means. */
    static boolean isPartial(String fileName) {
        return PARTIAL.matcher(fileName.toLowerCase(Locale.ROOT)).find();
    }

    /**
     * The file to pull among {@code ggufs} (paths in the repository).
     *
     * @throws UsageException listing the files when none or several fit
     */
    static String pick(String repo, List<String> ggufs, Optional<GgmlType> type) {
        List<String> candidates = type.isEmpty() ? ggufs
                : ggufs.stream().filter(f -> typeOf(f).equals(type)).toList();
        if (candidates.size() > 1) {
            List<String> whole = candidates.stream().filter(f -> !isPartial(f)).toList();
            if (!whole.isEmpty()) {
                candidates = whole;
            }
        }
        if (candidates.size() == 1) {
            return candidates.getFirst();
        }
        String listing = ggufs.stream()
                .map(f -> "  " + f + typeOf(f).map(t -> "  (" + t + ")").orElse("") + (isPartial(f) ? "  [partial]" : ""))
                .collect(Collectors.joining("\n"));
        String problem = candidates.isEmpty()
                ? repo + " has no GGUF file of type " + type.orElseThrow()
                : repo + " holds " + candidates.size() + " GGUF files" + type.map(t -> " of type " + t).orElse("");
        throw new UsageException(problem + "; choose one with --type T or --file NAME:\n" + listing);
    }
}
