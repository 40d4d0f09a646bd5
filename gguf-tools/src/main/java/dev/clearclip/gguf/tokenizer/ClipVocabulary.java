package dev.clearclip.gguf.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.ModelFileException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * CLIP's byte-level BPE vocabulary: the tokens in id order, spelled with CLIP's byte-to-unicode
 * mapping ({@code </w>} ending a word), and the merges in rank order, each "left right". This is
 * what goes into a GGUF as {@code tokenizer.ggml.tokens} and {@code tokenizer.ggml.merges}.
 *
 * <p>It can be read from a Hugging Face tokenizer ({@code vocab.json} + {@code merges.txt}) or
 * built from CLIP's merge list ({@code bpe_simple_vocab_16e6.txt.gz}, as shipped by open_clip and
 * OpenAI's CLIP) the way CLIP builds it: the 256 byte symbols, the same with {@code </w>}, one
 * token per merge, then {@code <|startoftext|>} and {@code <|endoftext|>}.
 */
public record ClipVocabulary(List<String> tokens, List<String> merges) {
    public static final String START_OF_TEXT = "<|startoftext|>";
    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String VOCAB_JSON = "vocab.json";
    public static final String MERGES_TXT = "merges.txt";
    /** CLIP uses the first 49152 - 256 - 2 merges of its merge list (49408 tokens in all). */
    public static final int CLIP_MERGE_COUNT = 49152 - 256 - 2;

    private static final ObjectMapper JSON = new ObjectMapper();

    public ClipVocabulary {
        tokens = List.copyOf(tokens);
        merges = List.copyOf(merges);
        if (!tokens.contains(START_OF_TEXT) || !tokens.contains(END_OF_TEXT)) {
            throw new IllegalArgumentException("a CLIP vocabulary needs the tokens " + START_OF_TEXT + " and " + END_OF_TEXT);
        }
    }

    /** Id of {@code <|startoftext|>} (49406 in CLIP). */
    public int startOfTextId() {
        return tokens.indexOf(START_OF_TEXT);
    }

    /** Id of {@code <|endoftext|>} (49407 in CLIP). */
    public int endOfTextId() {
        return tokens.indexOf(END_OF_TEXT);
    }

    /**
     * Reads a vocabulary from {@code source}: a directory holding {@code vocab.json} and
     * {@code merges.txt}, or a CLIP merge list ({@code *.txt.gz} or {@code *.txt}).
     *
     * @throws ModelFileException naming what is missing or malformed
     */
    public static ClipVocabulary load(Path source) {
        if (Files.isDirectory(source)) {
            Path vocab = source.resolve(VOCAB_JSON);
            Path merges = source.resolve(MERGES_TXT);
            if (!Files.isRegularFile(vocab) || !Files.isRegularFile(merges)) {
                throw new ModelFileException(source + ": a tokenizer directory needs " + VOCAB_JSON + " and " + MERGES_TXT
                        + (Files.isRegularFile(vocab) ? " (" + MERGES_TXT + " is missing)"
                        : Files.isRegularFile(merges) ? " (" + VOCAB_JSON + " is missing)" : " (both are missing)"));
            }
            return fromHuggingFace(vocab, merges);
        }
        if (!Files.exists(source)) {
            throw new ModelFileException(source + ": no such tokenizer file or directory");
        }
        return fromClipMerges(source);
    }

    /** True if {@code directory} holds {@code vocab.json} and {@code merges.txt}. */
    public static boolean isHuggingFaceTokenizerDir(Path directory) {
        return Files.isRegularFile(directory.resolve(VOCAB_JSON)) && Files.isRegularFile(directory.resolve(MERGES_TXT));
    }

    /** Reads a Hugging Face byte-level BPE tokenizer: token-to-id JSON and a merges file. */
    public static ClipVocabulary fromHuggingFace(Path vocabJson, Path mergesTxt) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(vocabJson, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new ModelFileException(vocabJson + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw unreadable(vocabJson, e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFileException(vocabJson + ": expected a JSON object mapping tokens to ids");
        }
        String[] byId = new String[root.size()];
        for (Map.Entry<String, JsonNode> entry : root.properties()) {
            JsonNode id = entry.getValue();
            if (!id.isIntegralNumber() || id.asLong() < 0 || id.asLong() >= byId.length) {
                throw new ModelFileException(vocabJson + ": token '" + entry.getKey() + "' has id " + id
                        + ", expected an integer in 0.." + (byId.length - 1) + " (ids must be contiguous)");
            }
            int i = id.asInt();
            if (byId[i] != null) {
                throw new ModelFileException(vocabJson + ": tokens '" + byId[i] + "' and '" + entry.getKey()
                        + "' share id " + i);
            }
            byId[i] = entry.getKey();
        }
        List<String> merges = readMerges(mergesTxt, Integer.MAX_VALUE);
        return checked(vocabJson, List.of(byId), merges);
    }

    /** Builds CLIP's vocabulary from its merge list, gzipped ({@code .gz}) or plain. */
    public static ClipVocabulary fromClipMerges(Path mergeList) {
        List<String> merges = readMerges(mergeList, CLIP_MERGE_COUNT);
        if (merges.size() < CLIP_MERGE_COUNT) {
            throw new ModelFileException(mergeList + ": holds " + merges.size() + " merges, CLIP's vocabulary needs "
                    + CLIP_MERGE_COUNT + " (is this bpe_simple_vocab_16e6.txt.gz?)");
        }
        List<String> byteSymbols = ByteSymbols.symbols();
        List<String> tokens = new ArrayList<>(2 * byteSymbols.size() + merges.size() + 2);
        tokens.addAll(byteSymbols);
        for (String symbol : byteSymbols) {
            tokens.add(symbol + "</w>");
        }
        for (String merge : merges) {
            tokens.add(merge.replace(" ", ""));
        }
        tokens.add(START_OF_TEXT);
        tokens.add(END_OF_TEXT);
        return checked(mergeList, tokens, merges);
    }

    /**
     * A vocabulary stored without its merges (as monatis/clip.cpp's converter writes
     * {@code tokenizer.ggml.tokens}): the merges are rebuilt from the token order, see
     * {@link MergeRebuilder}.
     *
     * @throws MergeRebuilder.NotOrderedException if the tokens are not in CLIP's order
     */
    public static ClipVocabulary fromOrderedTokens(List<String> tokens) {
        return new ClipVocabulary(tokens, MergeRebuilder.rebuild(tokens));
    }

    /**
     * Reads merges, one "left right" pair a line, skipping a first line that is a version header
     * ("#version: ..." in Hugging Face files, "bpe_simple_vocab_16e6.txt#version: 0.2" in CLIP's).
     */
    private static List<String> readMerges(Path file, int limit) {
        List<String> merges = new ArrayList<>();
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
             BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            int lineNumber = 0;
            while ((line = reader.readLine()) != null && merges.size() < limit) {
                lineNumber++;
                if (lineNumber == 1 && line.contains("#version")) {
                    continue;
                }
                if (line.isEmpty()) {
                    continue;
                }
                int space = line.indexOf(' ');
                if (space <= 0 || space == line.length() - 1 || line.indexOf(' ', space + 1) >= 0) {
                    throw new ModelFileException(file + ": line " + lineNumber + " is not a merge \"left right\": '" + line + "'");
                }
                merges.add(line);
            }
        } catch (NoSuchFileException e) {
            throw new ModelFileException(file + ": no such file");
        } catch (IOException e) {
            throw unreadable(file, e);
        }
        return Collections.unmodifiableList(merges);
    }

    private static ClipVocabulary checked(Path source, List<String> tokens, List<String> merges) {
        if (!tokens.contains(START_OF_TEXT) || !tokens.contains(END_OF_TEXT)) {
            throw new ModelFileException(source + ": the vocabulary lacks " + START_OF_TEXT + " or " + END_OF_TEXT
                    + ", so it is not a CLIP tokenizer");
        }
        return new ClipVocabulary(tokens, merges);
    }

    private static ModelFileException unreadable(Path file, IOException e) {
        return new ModelFileException(file + ": cannot read: " + e.getMessage(), e);
    }
}
