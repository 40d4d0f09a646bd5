package dev.clearclip;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.ObjIntConsumer;
import java.util.function.Supplier;

/**
 * The zero-shot side of a {@link ClipModel}: class embeddings from a prompt ensemble (cached on
 * disk when enabled) and the one rule that turns name similarities into class probabilities.
 *
 * <p><b>Synonyms.</b> A class may have several names. Segmentation and classification combine
 * them the same way, the way the ClearCLIP reference does per pixel: the logits of <em>all
 * names</em> (cosine times the logit scale) go through one softmax, then each class takes the
 * best probability among its names ({@link #classProbabilities}). The engine applies this rule per
 * pixel in C ({@code native/src/segment.c}); {@code classify} applies it here to the picture's
 * global embedding. With one name per class it is the plain softmax over classes. With synonyms
 * the class probabilities need not sum to 1.
 */
final class ZeroShot {

    /**
     * How many prompts go to the engine in one text-encoding call. The engine runs its own batches
     * of a few hundred tokens, so this only bounds the memory of one call (token ids and output
     * rows, about 2.3 KiB per prompt for a 512-wide model) and sets how many prompts can share
     * their beginnings: 21 classes x 80 templates go in one call.
     */
    static final int TEXT_BATCH = 2048;

    /**
     * The text tower as the ensemble uses it: hands the L2-normalised embedding of each text to
     * {@code rows} with its index, in order, in an array it may reuse for the next row. The
     * ensemble only adds each row to its name's sum, so no call keeps a batch of rows on the heap.
     */
    @FunctionalInterface
    interface TextEncoder {
        void encode(List<String> texts, ObjIntConsumer<float[]> rows);
    }

    private final TextEncoder encodeText;
    private final int dim;
    private final Optional<TextEmbeddingCache> textCache;
    private final Supplier<String> modelHash;

    /**
     * @param encodeText the text tower
     * @param dim        the model's projection size
     * @param textCache  on-disk cache of class embeddings, if enabled
     * @param modelHash  the model file's hash, the cache key's first part (asked only when caching)
     */
    ZeroShot(TextEncoder encodeText, int dim, Optional<TextEmbeddingCache> textCache,
             Supplier<String> modelHash) {
        this.encodeText = encodeText;
        this.dim = dim;
        this.textCache = textCache;
        this.modelHash = modelHash;
    }

    /**
     * Embeds every name of every class with a prompt ensemble: each template filled with the name is
     * encoded (L2-normalised), the embeddings are averaged and the mean is normalised again.
     */
    ClassEmbeddings classEmbeddings(ClassSet classes, List<String> templates) {
        if (templates.isEmpty()) {
            throw new IllegalArgumentException("no prompt templates given");
        }
        // Class names were checked when the ClassSet was made; a filled template is then valid too.
        Texts.requireEncodable(templates, "prompt template");
        List<String> names = classes.allNames();
        Optional<String> key = textCache.map(c -> TextEmbeddingCache.key(modelHash.get(), names, templates));
        if (key.isPresent()) {
            Optional<float[][]> hit = textCache.get().load(key.get(), names.size(), dim);
            if (hit.isPresent()) {
                return new ClassEmbeddings(classes, templates, hit.get());
            }
        }
        // Template-major order: the engine shares the hidden states of the tokens that prompts
        // begin with, so a batch holding every name for a few templates ("a photo of a" once for
        // all names) costs far less than one holding every template for a few names.
        int nNames = names.size(), nTemplates = templates.size();
        double[][] sums = new double[nNames][dim];
        long total = (long) nNames * nTemplates;
        for (long start = 0; start < total; start += TEXT_BATCH) {
            int count = (int) Math.min(TEXT_BATCH, total - start);
            List<String> prompts = new ArrayList<>(count);
            for (long i = start; i < start + count; i++) {
                prompts.add(PromptTemplates.fill(templates.get((int) (i / nNames)), names.get((int) (i % nNames))));
            }
            long first = start;
            encodeText.encode(prompts, (row, r) -> addNormalised(row, sums[(int) ((first + r) % nNames)]));
        }
        float[][] embeddings = new float[nNames][];
        for (int n = 0; n < nNames; n++) {
            embeddings[n] = normalised(sums[n]);
        }
        if (key.isPresent()) {
            textCache.get().store(key.get(), embeddings);
        }
        return new ClassEmbeddings(classes, templates, embeddings);
    }

    /** Adds {@code row / |row|} to {@code sum}, in double precision. */
    private static void addNormalised(float[] row, double[] sum) {
        double norm = 0;
        for (float v : row) {
            norm += (double) v * v;
        }
        norm = Math.sqrt(norm);
        for (int j = 0; j < sum.length; j++) {
            sum[j] += row[j] / norm;
        }
    }

    /** {@code sum / |sum|}, as floats. */
    private static float[] normalised(double[] sum) {
        double norm = 0;
        for (double v : sum) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        float[] out = new float[sum.length];
        for (int j = 0; j < sum.length; j++) {
            out[j] = (float) (sum[j] / norm);
        }
        return out;
    }

    /**
     * The synonym rule (see the class comment): softmax over all names of {@code logitScale} times
     * {@code nameCosines}, then the best probability among each class's names.
     *
     * @param nameClass class index of each name, as {@link ClassSet#nameClasses()}
     */
    static double[] classProbabilities(double[] nameCosines, int[] nameClass, int nClasses, double logitScale) {
        double max = Arrays.stream(nameCosines).max().orElse(0);
        double[] p = new double[nameCosines.length];
        double sum = 0;
        for (int n = 0; n < p.length; n++) {
            p[n] = Math.exp(logitScale * (nameCosines[n] - max));
            sum += p[n];
        }
        double[] out = new double[nClasses];
        for (int n = 0; n < p.length; n++) {
            out[nameClass[n]] = Math.max(out[nameClass[n]], p[n] / sum);
        }
        return out;
    }

    /**
     * Zero-shot classification of a global image embedding: each class's probability by
     * {@link #classProbabilities}, its similarity the best cosine among its names; the
     * {@code topK} most probable, most probable first.
     */
    static List<Classification> classify(float[] image, ClassEmbeddings embeddings, double logitScale, int topK) {
        ClassSet classes = embeddings.classes();
        int[] nameClass = classes.nameClasses();
        double[] cosines = new double[nameClass.length];
        double[] best = new double[classes.size()];
        Arrays.fill(best, Double.NEGATIVE_INFINITY);
        for (int n = 0; n < nameClass.length; n++) {
            double cos = 0;
            float[] e = embeddings.nameEmbeddings()[n];
            for (int j = 0; j < e.length; j++) {
                cos += (double) e[j] * image[j];
            }
            cosines[n] = cos;
            best[nameClass[n]] = Math.max(best[nameClass[n]], cos);
        }
        double[] p = classProbabilities(cosines, nameClass, classes.size(), logitScale);
        List<Classification> out = new ArrayList<>();
        for (int c = 0; c < best.length; c++) {
            out.add(new Classification(c, classes.classNames().get(c), p[c], best[c]));
        }
        out.sort(Comparator.comparingDouble(Classification::probability).reversed());
        return List.copyOf(out.subList(0, Math.min(topK, out.size())));
    }
}
