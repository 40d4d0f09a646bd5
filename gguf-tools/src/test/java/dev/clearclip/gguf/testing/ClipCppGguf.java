package dev.clearclip.gguf.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorSpec;
import dev.clearclip.gguf.GgufWriter;
import dev.clearclip.gguf.Shapes;
import dev.clearclip.gguf.quantize.TensorEncoder;
import dev.clearclip.gguf.safetensors.SafetensorsFile;
import dev.clearclip.gguf.safetensors.SafetensorsTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes a Hugging Face CLIP checkpoint (the reference fixtures) the way monatis/clip.cpp's
 * {@code convert_hf_to_gguf.py} and {@code clip_model_quantize} lay out the CLIP GGUFs published on
 * the Hugging Face hub, so that tests can load such files without downloading one. What makes those
 * files differ from ours, as read from that converter (this code is ours, not a copy):
 * <ul>
 *   <li>tensor names are the transformers names put through a chain of substring replacements
 *       ({@code text_model} to {@code t}, {@code encoder.layers} to {@code blk}, {@code mlp.fc1} to
 *       {@code ffn_down}, {@code mlp.fc2} to {@code ffn_up}, ...), so fc1 and fc2 swap names
 *       relative to ours; the projections keep their names;</li>
 *   <li>tensors are squeezed, then stored in ggml order; in f16 files every 2-D {@code .weight} and
 *       the 4-D patch embedding are f16 and everything else f32; the quantizer then stores every
 *       2-D {@code .weight} (token and position embeddings and projections included) in the
 *       quantized type and writes the ggml type id as {@code general.file_type};</li>
 *   <li>{@code clip.{text,vision}.projection_dim} come from the config's tower sections, which
 *       transformers fills with 512 whatever the model's projection is: written as 512 here;</li>
 *   <li>{@code tokenizer.ggml.tokens} is {@code vocab.json}'s keys in file order, with no merges,
 *       no {@code tokenizer.ggml.model} and no BOS/EOS keys; {@code general.description} says
 *       which towers.</li>
 * </ul>
 */
public final class ClipCppGguf {
    /** What clip.cpp's converter wrote for projection_dim from a typical config. */
    public static final int WRONG_PROJECTION_DIM = 512;

    private static final ObjectMapper JSON = new ObjectMapper();

    private ClipCppGguf() {
    }

    /** The file's storage: clip.cpp's f32 or f16 converter output, or its quantizer's output. */
    public enum Kind {
        F32, F16, Q8_0, Q4_1
    }

    /** clip.cpp's tensor name for a transformers tensor name. */
    public static String tensorName(String hf) {
        if (hf.contains("projection")) {
            return hf;
        }
        String[][] steps = {
            {"text_model", "t"}, {"vision_model", "v"}, {"encoder.layers", "blk"}, {"embeddings.", ""},
            {"_proj", ""}, {"self_attn.", "attn_"}, {"layer_norm", "ln"}, {"layernorm", "ln"},
            {"mlp.fc1", "ffn_down"}, {"mlp.fc2", "ffn_up"}, {"embedding", "embd"}, {"final", "post"},
            {"layrnorm", "ln"},
        };
        String name = hf;
        for (String[] step : steps) {
            name = name.replace(step[0], step[1]);
        }
        return name;
    }

    /** Writes both towers of the Hugging Face checkpoint in {@code hfDir} to {@code out}. */
    public static Path write(Path hfDir, Path out, Kind kind) {
        return write(hfDir, out, kind, true, true);
    }

    public static Path write(Path hfDir, Path out, Kind kind, boolean text, boolean vision) {
        JsonNode config = readJson(hfDir.resolve("config.json"));
        JsonNode t = config.get("text_config");
        JsonNode v = config.get("vision_config");
        GgufMetadata.Builder kv = GgufMetadata.builder()
                .putString("general.architecture", "clip")
                .putBool("clip.has_text_encoder", text)
                .putBool("clip.has_vision_encoder", vision)
                .putU32("general.file_type", switch (kind) {
                    case F32 -> 0;
                    case F16 -> 1;
                    case Q8_0 -> GgmlType.Q8_0.id();
                    case Q4_1 -> GgmlType.Q4_1.id();
                })
                .putString("general.name", hfDir.getFileName().toString())
                .putString("general.description", text && vision ? "two-tower CLIP model"
                        : text ? "text-only CLIP model" : "vision-only CLIP model");
        if (text) {
            kv.putU32("clip.text.context_length", t.get("max_position_embeddings").asLong())
                    .putU32("clip.text.embedding_length", t.get("hidden_size").asLong())
                    .putU32("clip.text.feed_forward_length", t.get("intermediate_size").asLong())
                    .putU32("clip.text.projection_dim", WRONG_PROJECTION_DIM)
                    .putU32("clip.text.attention.head_count", t.get("num_attention_heads").asLong())
                    .putF32("clip.text.attention.layer_norm_epsilon", (float) t.get("layer_norm_eps").asDouble())
                    .putU32("clip.text.block_count", t.get("num_hidden_layers").asLong())
                    .putStringArray("tokenizer.ggml.tokens", vocabularyInFileOrder(hfDir.resolve("vocab.json")));
        }
        if (vision) {
            kv.putU32("clip.vision.image_size", v.get("image_size").asLong())
                    .putU32("clip.vision.patch_size", v.get("patch_size").asLong())
                    .putU32("clip.vision.embedding_length", v.get("hidden_size").asLong())
                    .putU32("clip.vision.feed_forward_length", v.get("intermediate_size").asLong())
                    .putU32("clip.vision.projection_dim", WRONG_PROJECTION_DIM)
                    .putU32("clip.vision.attention.head_count", v.get("num_attention_heads").asLong())
                    .putF32("clip.vision.attention.layer_norm_epsilon", (float) v.get("layer_norm_eps").asDouble())
                    .putU32("clip.vision.block_count", v.get("num_hidden_layers").asLong())
                    .putF32Array("clip.vision.image_mean", 0.48145466f, 0.4578275f, 0.40821073f)
                    .putF32Array("clip.vision.image_std", 0.26862954f, 0.26130258f, 0.27577711f);
        }
        kv.putBool("clip.use_gelu", v.get("hidden_act").asText().equals("gelu"));

        try (SafetensorsFile weights = SafetensorsFile.open(hfDir.resolve("model.safetensors"))) {
            List<String> sources = new ArrayList<>();
            List<GgufTensorSpec> specs = new ArrayList<>();
            for (Map.Entry<String, SafetensorsTensor> entry : weights.tensors().entrySet()) {
                String hf = entry.getKey();
                if (hf.equals("logit_scale") || hf.endsWith("position_ids")
                        || (!text && hf.startsWith("t")) || (!vision && hf.startsWith("v"))) {
                    continue;
                }
                long[] squeezed = Arrays.stream(entry.getValue().shape()).filter(d -> d != 1).toArray();
                long[] ne = Shapes.reversed(squeezed);
                String name = tensorName(hf);
                specs.add(GgufTensorSpec.of(name, type(kind, name, ne), ne));
                sources.add(hf);
            }
            try (GgufWriter writer = GgufWriter.create(out, kv.build(), specs)) {
                for (int i = 0; i < specs.size(); i++) {
                    try (Arena arena = Arena.ofConfined()) {
                        writer.writeTensor(specs.get(i).name(),
                                TensorEncoder.encode(weights.readFloats(sources.get(i)), specs.get(i), arena));
                    }
                }
            }
        }
        return out;
    }

    private static GgmlType type(Kind kind, String name, long[] ne) {
        boolean matrix = name.endsWith(".weight") && ne.length == 2;
        return switch (kind) {
            case F32 -> ne.length == 4 ? GgmlType.F16 : GgmlType.F32;
            case F16 -> ne.length == 4 || matrix ? GgmlType.F16 : GgmlType.F32;
            case Q8_0 -> matrix ? GgmlType.Q8_0 : ne.length == 4 ? GgmlType.F16 : GgmlType.F32;
            case Q4_1 -> matrix ? GgmlType.Q4_1 : ne.length == 4 ? GgmlType.F16 : GgmlType.F32;
        };
    }

    /** The keys of vocab.json in the order the file lists them (json.load keeps it). */
    private static List<String> vocabularyInFileOrder(Path vocabJson) {
        List<String> tokens = new ArrayList<>();
        readJson(vocabJson).fieldNames().forEachRemaining(tokens::add);
        return tokens;
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
