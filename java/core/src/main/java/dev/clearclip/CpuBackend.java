package dev.clearclip;

import java.util.List;

/**
 * The CPU backend the engine computes with. The packaged ggml carries one CPU library per x86-64
 * generation and loads the best this CPU can run, so the same jar uses AVX-512 (and VNNI, AMX)
 * kernels where they exist and AVX2 ones elsewhere.
 *
 * @param variant  ggml's name of the variant ({@code haswell}, {@code skylakex}, {@code zen4},
 *                 {@code sapphirerapids}, ...), or {@code builtin} when the CPU backend is linked
 *                 into ggml (a build without run-time variants, e.g. native-tuned or linux-aarch64)
 * @param features what the variant was compiled for, as ggml names them ({@code AVX2},
 *                 {@code AVX512}, {@code AVX512_VNNI}, {@code LLAMAFILE}, ...); valued entries keep
 *                 their value ({@code NAME=value})
 * @param library  the file the CPU backend was loaded from
 * @param cpu      the CPU's description (its model name)
 */
public record CpuBackend(String variant, List<String> features, String library, String cpu) {

    public CpuBackend {
        features = List.copyOf(features);
    }

    /** Whether the variant was compiled for the named feature, e.g. {@code "AVX512"}. */
    public boolean has(String feature) {
        return features.contains(feature);
    }

    /** One line for logs and reports: {@code zen4 (AVX AVX2 ... AVX512_VNNI ...)}. */
    public String describe() {
        return variant + " (" + String.join(" ", features) + ")";
    }
}
