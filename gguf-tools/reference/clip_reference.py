"""The torch side of make_fixtures.py: reference models, tokenizer corpus and goldens.

Every golden comes from transformers / open_clip: through the library's own forward path, or,
for the final-block variants of dense features, through code written here from the shared
numerics (README.md, "Numerics") on the library's weights and blocks. Arithmetic is float64, files float32.

Longer than our ~600-line guide on purpose: it is the one independent reference the engine is
judged against, and it reads top to bottom as a specification (text tower, vision tower, each
final-block mode, sliding windows, goldens); splitting it would scatter the rules it states.
"""

import gzip
import json
import math

import numpy as np
import torch
import torch.nn.functional as F

SOT_ID = 49406
EOT_ID = 49407
CONTEXT_LENGTH = 77

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# (W, H). 450x333 is not a patch multiple: it exercises the zero padding of dense inputs.
IMAGE_SIZES = [(224, 224), (448, 448), (672, 448), (450, 333)]
GLOBAL_SIZES = [(224, 224), (448, 448)]
DENSE_SIZES = [(448, 448), (672, 448), (450, 333)]
DENSE_MODES = ["clearclip", "vanilla", "maskclip", "sclip", "naclip"]
# NACLIP's Gaussian neighbourhood bias std (patches) and pipeline (Hajimiri et al., WACV 2025).
NACLIP_STD = 5.0
NACLIP_CROP, NACLIP_STRIDE, NACLIP_LOGIT_SCALE = 224, 112, 40.0
PAMR_STEPS, PAMR_DILATIONS = 10, (8, 16)
# PAMR alone on a small picture: (W, H, channels, steps, dilations).
PAMR_CASES = [(40, 30, 5, 10, (8, 16)), (23, 17, 3, 3, (1, 2, 5))]
# End-to-end NACLIP segmentation: (W, H, short side; 0 keeps the size).
NACLIP_SEGMENT_CASES = [(336, 224, 0), (300, 200, 224)]

PROMPTS = [
    "a photo of a fox",
    "a bad photo of a fox.",
    "a photo of the large cat.",
    "itap of a dog.",
    "a origami bird.",
    "",
    " .",
    "A Rendering Of A RED Truck!",
    "Sky, road & building: 3 cars; it's 2024 &amp; sunny",
    "café naïve façade",
    "There's a person riding a bicycle next to the red car, while two dogs are "
    "sleeping under a tree and a child is flying a kite in the park.",
    "a very long prompt " + " ".join(f"word{i} and thing{i}," for i in range(40)) + " the end",
]

# Used when tokenizer_fixture.py does not offer its cases. Kept to inputs whose cleaning is
# well defined (html unescape, whitespace, lower-casing, NFC); ftfy's mojibake repair is
# heuristic and deliberately left out.
CORPUS_TEXTS = [
    "a photo of a fox",
    "",
    "   ",
    "a",
    "A PHOTO OF A FOX",
    "a  bad\tphoto\nof a   fox.",
    "it's they're we've I'm you'll he'd don't",
    "IT'S THEY'RE",
    "1234567890 3.14 2,000",
    "hello, world!!! ...?",
    "email@example.com http://example.org/path?q=1",
    "&amp; &lt;tag&gt; &amp;amp; &quot;quoted&quot;",
    "café naïve façade résumé",
    "cafe\u0301",
    "straße Ærø łódź",
    "猫 犬 東京",
    "Привет мир",
    "🦊 fox emoji 🐱",
    "a photo of a {}.",
    "low-resolution, pixelated photo of the cat",
    "back-to-back (parenthesised) [bracketed] {braced}",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "the " * 100,
    " ".join(f"token{i}" for i in range(60)),
]


@torch.no_grad()
def make_non_degenerate(model, vision_positions, grid):
    """Give the random-init model the features a trained one has and a library init lacks.

    LayerNorms start at weight 1 / bias 0 and linear biases at 0, so a converter that swapped or
    dropped them would go unnoticed; they get small noise. Library inits also make attention
    almost uniform (HF scales q/k down with depth), which would hide attention bugs: q and k
    weights are rescaled to std width^-0.5 so the per-head logits spread about one unit, as in
    trained CLIP. Trained position embeddings are smooth over the patch grid and about as large
    as the patch embeddings, where random init gives faint white noise under which a wrong
    interpolation hardly shows: a smooth 2-D wave per channel is added.
    """
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.weight.copy_(1.0 + 0.1 * torch.randn_like(module.weight))
            module.bias.copy_(0.02 * torch.randn_like(module.bias))
        elif isinstance(module, torch.nn.MultiheadAttention):
            width = module.embed_dim
            for rows in (slice(0, width), slice(width, 2 * width)):
                w = module.in_proj_weight[rows]
                w.mul_(width ** -0.5 / w.std())
            # out_proj is an nn.Linear: the branch below perturbs its bias.
            module.in_proj_bias.add_(0.02 * torch.randn_like(module.in_proj_bias))
        elif isinstance(module, torch.nn.Linear) and module.bias is not None:
            module.bias.add_(0.02 * torch.randn_like(module.bias))
        elif type(module).__name__ == "CLIPAttention":
            width = module.embed_dim
            for proj in (module.q_proj, module.k_proj):
                proj.weight.mul_(width ** -0.5 / proj.weight.std())

    width = vision_positions.shape[1]
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    rows = rows.reshape(-1, 1).double() / grid
    cols = cols.reshape(-1, 1).double() / grid
    freq = 0.3 + 1.2 * torch.rand(2, width, dtype=torch.float64)
    phase = 2 * math.pi * torch.rand(width, dtype=torch.float64)
    wave = torch.sin(2 * math.pi * (rows * freq[0] + cols * freq[1]) + phase)
    vision_positions[1:] += (0.5 * wave).to(vision_positions.dtype)


# ---------------------------------------------------------------------------------------------
# Tokenizer


def open_clip_tokenizer():
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer(context_length=CONTEXT_LENGTH)


def token_ids(tokenizer, text):
    """open_clip's ids for one text, unpadded (77 context, truncated keeping EOT)."""
    full_len = len(tokenizer.encode(text)) + 2
    row = tokenizer(text)[0]
    ids = row[: min(full_len, CONTEXT_LENGTH)].tolist()
    assert ids[0] == SOT_ID and ids[-1] == EOT_ID
    return ids


def clip_bpe_vocab_and_merges():
    """The vocabulary and merges of open_clip's SimpleTokenizer, in HF CLIPTokenizer spelling."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe

    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    # Line 0 is a header; CLIP uses the first 49152 - 256 byte tokens - 2 specials merges.
    merges = lines[1 : 49152 - 256 - 2 + 1]
    byte_chars = list(bytes_to_unicode().values())
    vocab = byte_chars + [c + "</w>" for c in byte_chars]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408 and len(set(vocab)) == 49408
    assert vocab.index("<|startoftext|>") == SOT_ID
    return vocab, merges


def write_hf_tokenizer(model_dir):
    vocab, merges = clip_bpe_vocab_and_merges()
    with open(model_dir / "vocab.json", "w", encoding="utf-8") as f:
        json.dump({tok: i for i, tok in enumerate(vocab)}, f, ensure_ascii=False)
    with open(model_dir / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in merges:
            f.write(m + "\n")


def check_hf_tokenizer(model_dir, tokenizer):
    from transformers import CLIPTokenizer

    hf_tok = CLIPTokenizer.from_pretrained(str(model_dir))
    samples = ["a photo of a fox", "A Bad   photo of the FOX.", "it's 2024: 3 cats & dogs!",
               "café naïve", "", "a origami bird."]
    for s in samples:
        ours = token_ids(tokenizer, s)
        theirs = hf_tok(s)["input_ids"]
        if ours != theirs:
            raise SystemExit(f"HF CLIPTokenizer disagrees with open_clip on {s!r}: {theirs} vs {ours}")


def case_text(case):
    """A case is a string, a (text, ...) tuple or a {"text": ...} dict."""
    if isinstance(case, str):
        return case
    if isinstance(case, dict):
        return case["text"]
    return case[0]


def corpus_texts(tokenizer_module):
    """The tokenizer helper's cases when it offers them, so corpus.json and corpus.tsv agree."""
    if tokenizer_module is not None:
        for attr in ("corpus_texts", "CORPUS_TEXTS", "CASES"):
            cases = getattr(tokenizer_module, attr, None)
            if callable(cases):
                cases = cases()
            if cases:
                return [case_text(c) for c in cases], f"tokenizer_fixture.{attr}"
    return CORPUS_TEXTS, "clip_reference.CORPUS_TEXTS"


def make_tokenizer_fixture(out_dir, tokenizer_module):
    tok_dir = out_dir / "tokenizer"
    tok_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    if tokenizer_module is not None:
        # Given the fixtures root, it writes into root/tokenizer/.
        tokenizer_module.write_tokenizer_fixture(str(out_dir))
        for name in ("bpe_vocab.txt", "bpe_merges.txt", "corpus.tsv"):
            if not (tok_dir / name).exists():
                raise SystemExit(f"tokenizer_fixture.write_tokenizer_fixture({out_dir}) did not write {tok_dir / name}")
            files[f"tokenizer/{name}"] = {"bytes": (tok_dir / name).stat().st_size}
    tokenizer = open_clip_tokenizer()
    texts, source = corpus_texts(tokenizer_module)
    corpus = [{"text": t, "ids": token_ids(tokenizer, t)} for t in texts]
    # The check value ("a photo of a fox", ids from open_clip) guards against a tokenizer that loaded the wrong vocabulary.
    assert token_ids(tokenizer, "a photo of a fox") == [49406, 320, 1125, 539, 320, 3240, 49407]
    with open(tok_dir / "corpus.json", "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(e, ensure_ascii=False) for e in corpus) + "\n]\n")
    files["tokenizer/corpus.json"] = {"entries": len(corpus)}
    return {"corpus_source": source, "files": files}


# ---------------------------------------------------------------------------------------------
# Synthetic images


def synthetic_rgb(width, height):
    """Deterministic uint8 RGB [H, W, 3]: smooth gradients, a few flat shapes, some noise."""
    rng = np.random.default_rng(width * 10007 + height)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = xx / max(width - 1, 1), yy / max(height - 1, 1)
    img = np.stack([
        40 + 180 * u,
        30 + 200 * v,
        128 + 90 * np.sin(2 * math.pi * (1.5 * u + 0.7 * v)),
    ], axis=-1)
    for _ in range(6):
        color = rng.uniform(0, 255, size=3)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        size = rng.uniform(0.08, 0.3) * min(width, height)
        if rng.random() < 0.5:
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 < size ** 2
        else:
            mask = (np.abs(xx - cx) < size) & (np.abs(yy - cy) < 0.6 * size)
        img[mask] = color
    img += rng.normal(0, 8, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def normalise(rgb):
    """uint8 [H, W, 3] -> float32 [3, H, W] with CLIP mean/std on 0..1 values."""
    x = rgb.astype(np.float64) / 255.0
    x = (x - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
    return np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32)


def dense_padding(width, height, patch):
    """Zero padding (left, top, right, bottom) to patch multiples, split evenly, floor left/top."""
    pad_w = (-width) % patch
    pad_h = (-height) % patch
    left, top = pad_w // 2, pad_h // 2
    return left, top, pad_w - left, pad_h - top


# ---------------------------------------------------------------------------------------------
# Vision towers: the library's own modules for embeddings and stock blocks, plus the weights of
# the final block for the variants written below.


class VisionTower:
    """Uniform view over an HF or open_clip vision tower (all tensors float64)."""

    def __init__(self, *, patch_size, image_size, heads, conv, class_embedding, positional_embedding,
                 pre_ln, blocks, final, post_ln, proj, act, lib_image_features):
        self.patch_size = patch_size
        self.native_grid = image_size // patch_size
        self.heads = heads
        self.conv = conv
        self.class_embedding = class_embedding
        self.positional_embedding = positional_embedding  # [1 + g0*g0, W]
        self.pre_ln = pre_ln
        self.blocks = blocks  # callables [1, N, W] -> [1, N, W], the library's own blocks
        self.final = final  # dict of final-block weights
        self.post_ln = post_ln  # (weight, bias, eps)
        self.proj = proj  # [W, P]
        self.act = act
        self.lib_image_features = lib_image_features  # [1, 3, 224, 224] -> [1, P], library path

    def position_embeddings(self, gh, gw):
        g0 = self.native_grid
        if (gh, gw) == (g0, g0):
            return self.positional_embedding
        cls_pos, grid = self.positional_embedding[:1], self.positional_embedding[1:]
        width = grid.shape[-1]
        grid = grid.reshape(1, g0, g0, width).permute(0, 3, 1, 2)
        # The factor, not the size ratio, as the ClearCLIP reference does (README.md, "Numerics").
        grid = F.interpolate(grid, scale_factor=((gh + 0.1) / g0, (gw + 0.1) / g0),
                             mode="bicubic", align_corners=False)
        assert tuple(grid.shape[-2:]) == (gh, gw), (grid.shape, gh, gw)
        return torch.cat([cls_pos, grid.permute(0, 2, 3, 1).reshape(gh * gw, width)], dim=0)

    def embed(self, pixels):
        """[1, 3, H, W] (patch multiples) -> pre-LN'd tokens [1, 1 + gh*gw, W]."""
        patches = self.conv(pixels)
        gh, gw = patches.shape[-2:]
        patches = patches.flatten(2).transpose(1, 2)
        cls = self.class_embedding.reshape(1, 1, -1)
        x = torch.cat([cls, patches], dim=1) + self.position_embeddings(gh, gw).unsqueeze(0)
        return self.pre_ln(x), (gh, gw)

    def run_blocks(self, x, count):
        for block in self.blocks[:count]:
            x = block(x)
        return x

    def project(self, x):
        w, b, eps = self.post_ln
        return F.layer_norm(x, (x.shape[-1],), w, b, eps) @ self.proj

    def final_block(self, x, mode, grid=None):
        """The last block by mode, written from the shared numerics on the library's weights.
        grid (gh, gw) is needed by naclip only."""
        fb = self.final
        width = x.shape[-1]
        hd = width // self.heads
        scale = hd ** -0.5
        y = F.layer_norm(x, (width,), fb["ln1_w"], fb["ln1_b"], fb["eps"])

        def heads_of(t):
            return t.reshape(t.shape[0], t.shape[1], self.heads, hd).transpose(1, 2)

        q = heads_of(y @ fb["wq"].T + fb["bq"])
        k = heads_of(y @ fb["wk"].T + fb["bk"])
        v = heads_of(y @ fb["wv"].T + fb["bv"])
        if mode == "vanilla":
            mixed = torch.softmax(q @ k.transpose(-1, -2) * scale, dim=-1) @ v
        elif mode == "clearclip":
            mixed = torch.softmax(q @ q.transpose(-1, -2) * scale, dim=-1) @ v
        elif mode == "maskclip":
            mixed = v
        elif mode == "sclip":
            attn = (torch.softmax(q @ q.transpose(-1, -2) * scale, dim=-1)
                    + torch.softmax(k @ k.transpose(-1, -2) * scale, dim=-1))
            mixed = attn @ v
        elif mode == "naclip":
            # Key-key similarity plus the Gaussian bias (not scaled), as NACLIP's reference code does.
            bias = naclip_bias(grid[0], grid[1], NACLIP_STD).to(k.dtype)
            mixed = torch.softmax(k @ k.transpose(-1, -2) * scale + bias, dim=-1) @ v
        else:
            raise ValueError(mode)
        mixed = mixed.transpose(1, 2).reshape(x.shape)
        out = mixed @ fb["wo"].T + fb["bo"]
        if mode != "vanilla":
            return out
        h = x + out
        z = F.layer_norm(h, (width,), fb["ln2_w"], fb["ln2_b"], fb["eps"])
        z = self.act(z @ fb["fc1_w"].T + fb["fc1_b"]) @ fb["fc2_w"].T + fb["fc2_b"]
        return h + z


def naclip_bias(gh, gw, std):
    """[1 + gh*gw]^2: 0 on the CLS row and column, exp(-d^2 / (2 std^2)) between patches
    (d: distance on the patch grid, patches row-major)."""
    rows, cols = torch.meshgrid(torch.arange(gh, dtype=torch.float64),
                                torch.arange(gw, dtype=torch.float64), indexing="ij")
    r, c = rows.reshape(-1), cols.reshape(-1)
    d2 = (r[:, None] - r[None, :]) ** 2 + (c[:, None] - c[None, :]) ** 2
    bias = torch.zeros(1 + gh * gw, 1 + gh * gw, dtype=torch.float64)
    bias[1:, 1:] = torch.exp(-d2 / (2 * std * std))
    return bias


def pamr(image, logits, steps, dilations):
    """PAMR (Araslanov & Roth, CVPR 2020) from its definition, float64.

    image [3, H, W], logits [C, H, W]. For every pixel, the 8 neighbours at each dilation d
    (offsets in {-d, 0, d}^2 without the centre, border-replicated) get affinities
    -|I(p) - I(n)| / (1e-8 + 0.1 * sd(p)) per colour channel, sd the unbiased std of the 3x3
    taps (centre included) of all dilations together; mean over channels, softmax over all
    neighbours. Then steps times: logits(p) = sum_n w(p, n) logits(n)."""
    _, H, W = image.shape
    ys, xs = torch.arange(H), torch.arange(W)

    def shifted(t, dy, dx):
        return t[:, (ys + dy).clamp(0, H - 1)][:, :, (xs + dx).clamp(0, W - 1)]

    offsets = [(dy * d, dx * d) for d in dilations
               for dy, dx in [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]]
    taps = torch.stack([shifted(image, dy * d, dx * d) for d in dilations
                        for dy in (-1, 0, 1) for dx in (-1, 0, 1)])  # [9n, 3, H, W]
    sd = taps.std(dim=0, unbiased=True)  # [3, H, W]
    aff = torch.stack([-(image - shifted(image, dy, dx)).abs() / (1e-8 + 0.1 * sd)
                       for dy, dx in offsets])  # [K, 3, H, W]
    weights = torch.softmax(aff.mean(dim=1), dim=0)  # [K, H, W]
    for _ in range(steps):
        logits = sum(weights[j] * shifted(logits, dy, dx) for j, (dy, dx) in enumerate(offsets))
    return logits


def resize_rgb_bilinear(rgb, width, height):
    """uint8 [H, W, 3] -> [height, width, 3]: bilinear, half-pixel centres, rounded to nearest."""
    x = torch.from_numpy(rgb).double().permute(2, 0, 1).unsqueeze(0)
    y = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
    return torch.floor(y[0] + 0.5).clamp(0, 255).permute(1, 2, 0).numpy().astype(np.uint8)


@torch.no_grad()
def naclip_segment(tower, rgb, name_embeddings, short_side):
    """NACLIP's reference pipeline (sinahmr/NACLIP forward_slide + PAMR + predict), float64:
    short-side resize, 224 windows with stride 112, per window the NACLIP dense features scored
    against the names (cosine), upsampled bilinearly, averaged over overlaps, resized to the
    input size, PAMR (10 steps, dilations 8 and 16) with the resized image brought back to the
    input size, logit scale 40, softmax, argmax. Returns (labels [H, W], refined logits)."""
    height, width = rgb.shape[:2]
    small = rgb
    if short_side > 0:
        s = short_side / min(width, height)
        small = resize_rgb_bilinear(rgb, int(width * s + 0.5), int(height * s + 0.5))
    rh, rw = small.shape[:2]
    img = torch.from_numpy(normalise(small)).double().unsqueeze(0)
    emb = torch.from_numpy(name_embeddings).double()
    preds = torch.zeros(emb.shape[0], rh, rw, dtype=torch.float64)
    count = torch.zeros(rh, rw, dtype=torch.float64)
    crop, stride, p = NACLIP_CROP, NACLIP_STRIDE, tower.patch_size
    ny = max(rh - crop + stride - 1, 0) // stride + 1
    nx = max(rw - crop + stride - 1, 0) // stride + 1
    n_layers = len(tower.blocks)
    for iy in range(ny):
        for ix in range(nx):
            y1, x1 = iy * stride, ix * stride
            y2, x2 = min(y1 + crop, rh), min(x1 + crop, rw)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            window = img[:, :, y1:y2, x1:x2]
            ch, cw = window.shape[-2:]
            left, top, right, bottom = dense_padding(cw, ch, p)
            tokens, (gh, gw) = tower.embed(F.pad(window, (left, right, top, bottom)))
            out = tower.final_block(tower.run_blocks(tokens, n_layers - 1), "naclip", (gh, gw))
            feats = F.normalize(tower.project(out[0, 1:]), dim=-1)
            logits = (feats @ emb.T).T.reshape(1, -1, gh, gw)
            logits = F.interpolate(logits, size=(gh * p, gw * p), mode="bilinear", align_corners=False)
            preds[:, y1:y2, x1:x2] += logits[0, :, top:top + ch, left:left + cw]
            count[y1:y2, x1:x2] += 1
    preds = preds / count
    image = img
    if (rh, rw) != (height, width):
        preds = F.interpolate(preds.unsqueeze(0), size=(height, width), mode="bilinear",
                              align_corners=False)[0]
        image = F.interpolate(img, size=(height, width), mode="bilinear", align_corners=False)
    refined = pamr(image[0], preds, PAMR_STEPS, PAMR_DILATIONS)
    probs = torch.softmax(refined * NACLIP_LOGIT_SCALE, dim=0)
    return probs.argmax(dim=0).numpy().astype(np.uint8), refined


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def exact_gelu(x):
    return F.gelu(x, approximate="none")


def hf_vision_tower(model):
    vm = model.vision_model
    cfg = model.config.vision_config
    last = vm.encoder.layers[-1]
    att = last.self_attn
    assert cfg.hidden_act == "quick_gelu"
    final = {
        "eps": last.layer_norm1.eps,
        "ln1_w": last.layer_norm1.weight, "ln1_b": last.layer_norm1.bias,
        "wq": att.q_proj.weight, "bq": att.q_proj.bias,
        "wk": att.k_proj.weight, "bk": att.k_proj.bias,
        "wv": att.v_proj.weight, "bv": att.v_proj.bias,
        "wo": att.out_proj.weight, "bo": att.out_proj.bias,
        "ln2_w": last.layer_norm2.weight, "ln2_b": last.layer_norm2.bias,
        "fc1_w": last.mlp.fc1.weight, "fc1_b": last.mlp.fc1.bias,
        "fc2_w": last.mlp.fc2.weight, "fc2_b": last.mlp.fc2.bias,
    }
    return VisionTower(
        patch_size=cfg.patch_size, image_size=cfg.image_size, heads=cfg.num_attention_heads,
        conv=vm.embeddings.patch_embedding,
        class_embedding=vm.embeddings.class_embedding,
        positional_embedding=vm.embeddings.position_embedding.weight,
        pre_ln=vm.pre_layrnorm,
        blocks=[(lambda x, layer=layer: layer(x, None)) for layer in vm.encoder.layers],
        final=final,
        post_ln=(vm.post_layernorm.weight, vm.post_layernorm.bias, vm.post_layernorm.eps),
        proj=model.visual_projection.weight.T,
        act=quick_gelu,
        lib_image_features=lambda px: model.get_image_features(pixel_values=px).pooler_output,
    )


def openclip_vision_tower(model, quick):
    vis = model.visual
    last = vis.transformer.resblocks[-1]
    width = vis.class_embedding.shape[0]
    wq, wk, wv = last.attn.in_proj_weight.split(width, dim=0)
    bq, bk, bv = last.attn.in_proj_bias.split(width, dim=0)
    final = {
        "eps": last.ln_1.eps,
        "ln1_w": last.ln_1.weight, "ln1_b": last.ln_1.bias,
        "wq": wq, "bq": bq, "wk": wk, "bk": bk, "wv": wv, "bv": bv,
        "wo": last.attn.out_proj.weight, "bo": last.attn.out_proj.bias,
        "ln2_w": last.ln_2.weight, "ln2_b": last.ln_2.bias,
        "fc1_w": last.mlp.c_fc.weight, "fc1_b": last.mlp.c_fc.bias,
        "fc2_w": last.mlp.c_proj.weight, "fc2_b": last.mlp.c_proj.bias,
    }
    assert last.attn.batch_first
    return VisionTower(
        patch_size=vis.patch_size[0], image_size=vis.image_size[0], heads=last.attn.num_heads,
        conv=vis.conv1,
        class_embedding=vis.class_embedding,
        positional_embedding=vis.positional_embedding,
        pre_ln=vis.ln_pre,
        blocks=[(lambda x, block=block: block(x)) for block in vis.transformer.resblocks],
        final=final,
        post_ln=(vis.ln_post.weight, vis.ln_post.bias, vis.ln_post.eps),
        proj=vis.proj,
        act=quick_gelu if quick else exact_gelu,
        lib_image_features=lambda px: model.encode_image(px),
    )


# ---------------------------------------------------------------------------------------------
# Goldens


def cosine(a, b):
    return float(F.cosine_similarity(a.reshape(1, -1), b.reshape(1, -1)).item())


class GoldenWriter:
    def __init__(self, model_dir):
        self.model_dir = model_dir
        self.files = {}

    def npy(self, rel, array):
        if array.dtype != np.uint8:
            array = array.astype(np.float32)
        array = np.ascontiguousarray(array)
        path = self.model_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array)
        self.files[rel] = {"shape": list(array.shape), "dtype": str(array.dtype)}

    def json(self, rel, obj, **extra):
        path = self.model_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
        self.files[rel] = extra

    def existing(self, rel, **extra):
        self.files[rel] = dict(extra, bytes=(self.model_dir / rel).stat().st_size)


@torch.no_grad()
def write_goldens(writer, tower, encode_text, tokenizer):
    """Text, global and dense goldens. All arithmetic in float64; files are float32."""
    # Text: open_clip's ids for every model (the engine tokenizes like open_clip), the library's
    # own text path from there.
    ids = tokenizer(PROMPTS)
    text = F.normalize(encode_text(ids), dim=-1)
    writer.json("golden/prompts.json", PROMPTS, entries=len(PROMPTS))
    writer.json("golden/prompt_ids.json", [token_ids(tokenizer, p) for p in PROMPTS], entries=len(PROMPTS))
    writer.npy("golden/text_embeddings.npy", text.numpy())

    pixels = {}
    for (w, h) in IMAGE_SIZES:
        rgb = synthetic_rgb(w, h)
        chw = normalise(rgb)
        writer.npy(f"golden/inputs/{w}x{h}_rgb_u8.npy", rgb)
        writer.npy(f"golden/inputs/{w}x{h}.npy", chw)
        pixels[(w, h)] = torch.from_numpy(chw).double().unsqueeze(0)

    checks = {}
    n_layers = len(tower.blocks)
    for (w, h) in GLOBAL_SIZES:
        tokens, _ = tower.embed(pixels[(w, h)])
        out = tower.run_blocks(tokens, n_layers)
        emb = F.normalize(tower.project(out[:, 0]), dim=-1)[0]
        if (w, h) == (224, 224):
            lib = F.normalize(tower.lib_image_features(pixels[(w, h)]), dim=-1)[0]
            checks["embed_path_vs_lib_224"] = cosine(emb, lib)
            assert checks["embed_path_vs_lib_224"] > 0.9999999, checks
            # The golden at the native size is the library's own path.
            emb = lib
            # Hand-written stock final block (the "vanilla" mode) against the library.
            x = tower.final_block(tower.run_blocks(tokens, n_layers - 1), "vanilla")
            vanilla_cls = F.normalize(tower.project(x[:, 0]), dim=-1)[0]
            checks["vanilla_cls_vs_lib_224"] = cosine(vanilla_cls, lib)
            assert checks["vanilla_cls_vs_lib_224"] > 0.99999, checks
        writer.npy(f"golden/image_embedding_{w}x{h}.npy", emb.numpy())

    dense_meta = {}
    for (w, h) in DENSE_SIZES:
        left, top, right, bottom = dense_padding(w, h, tower.patch_size)
        padded = F.pad(pixels[(w, h)], (left, right, top, bottom))
        tokens, (gh, gw) = tower.embed(padded)
        before_last = tower.run_blocks(tokens, n_layers - 1)
        for mode in DENSE_MODES:
            out = tower.final_block(before_last, mode, (gh, gw))
            feats = F.normalize(tower.project(out[0, 1:]), dim=-1)
            assert feats.shape[0] == gh * gw
            if mode == "vanilla":
                lib_out = tower.blocks[-1](before_last)
                lib_feats = F.normalize(tower.project(lib_out[0, 1:]), dim=-1)
                diff = float((feats - lib_feats).abs().max())
                checks[f"vanilla_dense_vs_lib_{w}x{h}_maxabs"] = diff
                assert diff < 1e-9, checks
            writer.npy(f"golden/dense_{mode}_{w}x{h}.npy", feats.numpy())
        dense_meta[f"{w}x{h}"] = {"grid_hw": [gh, gw], "pad_ltrb": [left, top, right, bottom]}

    # PAMR alone: a synthetic picture and random logits (model-independent, small and quick).
    for (w, h, c, steps, dils) in PAMR_CASES:
        name = f"pamr_{w}x{h}_c{c}_s{steps}_d{'-'.join(map(str, dils))}"
        image = normalise(synthetic_rgb(w, h))
        logits = np.random.default_rng(w * 31 + h).normal(0, 1, size=(c, h, w)).astype(np.float32)
        refined = pamr(torch.from_numpy(image).double(), torch.from_numpy(logits).double(), steps, dils)
        writer.npy(f"golden/{name}_image.npy", image)
        writer.npy(f"golden/{name}_logits.npy", logits)
        writer.npy(f"golden/{name}_refined.npy", refined.numpy())

    # NACLIP end to end, the prompts' text embeddings as the names.
    for (w, h, short) in NACLIP_SEGMENT_CASES:
        rgb = synthetic_rgb(w, h)
        labels, _ = naclip_segment(tower, rgb, text.numpy().astype(np.float32), short)
        writer.npy(f"golden/inputs/{w}x{h}.npy", normalise(rgb))
        writer.npy(f"golden/naclip_segment_{w}x{h}_short{short}.npy", labels.astype(np.float32))
    return checks, dense_meta


# ---------------------------------------------------------------------------------------------
# Model builders


def build_hf(recipe, model_dir, tokenizer):
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(recipe["seed"])
    config = CLIPConfig(text_config=recipe["text"], vision_config=recipe["vision"],
                        projection_dim=recipe["projection_dim"])
    model = CLIPModel(config).eval()
    embeddings = model.vision_model.embeddings
    make_non_degenerate(model, embeddings.position_embedding.weight,
                        recipe["vision"]["image_size"] // recipe["vision"]["patch_size"])
    model.save_pretrained(str(model_dir))
    # Real checkpoints carry the image normalisation here; the library's defaults are OpenAI's.
    image_processor = CLIPImageProcessor()
    assert tuple(image_processor.image_mean) == CLIP_MEAN and tuple(image_processor.image_std) == CLIP_STD
    image_processor.save_pretrained(str(model_dir))
    write_hf_tokenizer(model_dir)
    check_hf_tokenizer(model_dir, tokenizer)

    # Goldens come from the files as written, so they describe exactly what converters read.
    model = CLIPModel.from_pretrained(str(model_dir), attn_implementation="sdpa").eval().double()
    tc, vc = model.config.text_config, model.config.vision_config
    summary = {
        "act": "quick_gelu",
        "projection_dim": model.config.projection_dim,
        "text": {"width": tc.hidden_size, "ffn": tc.intermediate_size, "layers": tc.num_hidden_layers,
                 "heads": tc.num_attention_heads, "context_length": tc.max_position_embeddings,
                 "vocab_size": tc.vocab_size, "layer_norm_eps": tc.layer_norm_eps},
        "vision": {"width": vc.hidden_size, "ffn": vc.intermediate_size, "layers": vc.num_hidden_layers,
                   "heads": vc.num_attention_heads, "patch_size": vc.patch_size,
                   "image_size": vc.image_size, "layer_norm_eps": vc.layer_norm_eps},
        "image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD),
        "logit_scale": model.logit_scale.exp().item(),
    }
    writer = GoldenWriter(model_dir)
    for f in ("config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"):
        writer.existing(f)
    if recipe.get("torch_files"):
        write_torch_files(model_dir, writer)
        write_preprocessor_variants(model_dir, writer)

    def encode_text(ids):
        return model.get_text_features(input_ids=ids).pooler_output

    checks, dense = write_goldens(writer, hf_vision_tower(model), encode_text, tokenizer)
    return summary, writer.files, checks, dense


def write_torch_files(model_dir, writer):
    """The same weights as PyTorch pickles, the layout older hub uploads have.

    pytorch_model.bin: torch.save of the state dict plus the int64 position_ids buffers that
    transformers kept in checkpoints before 4.31 (arange(n).expand((1, -1)), a stride-0 view), as
    openai/clip-vit-base-patch16's file has them. bin-sharded/: the state dict split in two
    torch.save files with the pytorch_model.bin.index.json transformers writes for shards.
    """
    from safetensors.torch import load_file

    state = load_file(str(model_dir / "model.safetensors"))
    with_buffers = dict(state)
    with_buffers["text_model.embeddings.position_ids"] = torch.arange(77).expand((1, -1))
    grid = state["vision_model.embeddings.position_embedding.weight"].shape[0]
    with_buffers["vision_model.embeddings.position_ids"] = torch.arange(grid).expand((1, -1))
    torch.save(with_buffers, model_dir / "pytorch_model.bin")
    writer.existing("pytorch_model.bin")

    shard_dir = model_dir / "bin-sharded"
    shard_dir.mkdir(parents=True, exist_ok=True)
    names = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
    parts = [{k: v for k, v in state.items() if k.startswith("text_model.")},
             {k: v for k, v in state.items() if not k.startswith("text_model.")}]
    weight_map, total = {}, 0
    for name, part in zip(names, parts):
        torch.save(part, shard_dir / name)
        writer.existing(f"bin-sharded/{name}")
        for key, tensor in part.items():
            weight_map[key] = name
            total += tensor.numel() * tensor.element_size()
    writer.json("bin-sharded/pytorch_model.bin.index.json",
                {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})


def write_preprocessor_variants(model_dir, writer):
    """preprocessor_config.json files other than the default, and what transformers reads from them.

    preprocessor-custom/: written by CLIPImageProcessor with other mean/std and a 256 short side.
    preprocessor-legacy/: the older CLIPFeatureExtractor form (plain numbers for size and
    crop_size) that openai/clip-vit-base-patch16 has. Each expected.json holds the values
    CLIPImageProcessor.from_pretrained reads back.
    """
    from transformers import CLIPImageProcessor

    custom = model_dir / "preprocessor-custom"
    CLIPImageProcessor(image_mean=[0.5, 0.4, 0.3], image_std=[0.2, 0.25, 0.3], size={"shortest_edge": 256},
                       crop_size={"height": 224, "width": 224}).save_pretrained(str(custom))
    legacy = model_dir / "preprocessor-legacy"
    legacy.mkdir(parents=True, exist_ok=True)
    (legacy / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": list(CLIP_MEAN),
        "image_std": list(CLIP_STD), "resample": 3, "size": 224}, indent=2) + "\n", encoding="utf-8")
    for variant in ("preprocessor-custom", "preprocessor-legacy"):
        writer.existing(f"{variant}/preprocessor_config.json")
        processor = CLIPImageProcessor.from_pretrained(str(model_dir / variant))
        crop = processor.crop_size
        writer.json(f"{variant}/expected.json", {
            "image_mean": [float(x) for x in processor.image_mean],
            "image_std": [float(x) for x in processor.image_std],
            "shortest_edge": int(processor.size["shortest_edge"]),
            "crop": [int(crop["height"]), int(crop["width"])],
            "do_normalize": bool(processor.do_normalize)})


def build_openclip(recipe, model_dir, tokenizer):
    from open_clip.model import CLIP
    from safetensors.torch import load_file, save_file

    cfg = recipe["model_cfg"]
    torch.manual_seed(recipe["seed"])
    model = CLIP(**cfg).eval()
    make_non_degenerate(model, model.visual.positional_embedding, model.visual.grid_size[0])
    model_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(model_dir / "open_clip_model.safetensors"))
    with open(model_dir / "open_clip_config.json", "w", encoding="utf-8") as f:
        json.dump({"model_cfg": cfg,
                   "preprocess_cfg": {"mean": list(CLIP_MEAN), "std": list(CLIP_STD)}}, f, indent=2)

    model = CLIP(**cfg).eval()
    model.load_state_dict(load_file(str(model_dir / "open_clip_model.safetensors")))
    check_openclip_names(model, cfg)
    model = model.double()
    vc, tc = cfg["vision_cfg"], cfg["text_cfg"]
    summary = {
        "act": "quick_gelu" if cfg["quick_gelu"] else "gelu",
        "projection_dim": cfg["embed_dim"],
        "text": {"width": tc["width"], "ffn": tc["width"] * 4, "layers": tc["layers"], "heads": tc["heads"],
                 "context_length": tc["context_length"], "vocab_size": tc["vocab_size"],
                 "layer_norm_eps": model.ln_final.eps},
        "vision": {"width": vc["width"], "ffn": int(vc["width"] * vc["mlp_ratio"]), "layers": vc["layers"],
                   "heads": vc["width"] // vc["head_width"], "patch_size": vc["patch_size"],
                   "image_size": vc["image_size"], "layer_norm_eps": model.visual.ln_post.eps},
        "image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD),
        "logit_scale": model.logit_scale.exp().item(),
    }
    writer = GoldenWriter(model_dir)
    for f in ("open_clip_model.safetensors", "open_clip_config.json"):
        writer.existing(f)
    checks, dense = write_goldens(writer, openclip_vision_tower(model, cfg["quick_gelu"]),
                                  model.encode_text, tokenizer)
    return summary, writer.files, checks, dense


def check_openclip_names(model, cfg):
    """The OpenAI-style names the Java converter reads (README lists them with shapes)."""
    sd = model.state_dict()
    vw, tw, p = cfg["vision_cfg"]["width"], cfg["text_cfg"]["width"], cfg["embed_dim"]
    expected = {
        "visual.conv1.weight": None, "visual.class_embedding": (vw,), "visual.positional_embedding": None,
        "visual.ln_pre.weight": (vw,), "visual.ln_post.weight": (vw,), "visual.proj": (vw, p),
        "visual.transformer.resblocks.0.attn.in_proj_weight": (3 * vw, vw),
        "visual.transformer.resblocks.0.attn.in_proj_bias": (3 * vw,),
        "visual.transformer.resblocks.0.attn.out_proj.weight": (vw, vw),
        "visual.transformer.resblocks.0.ln_1.weight": (vw,), "visual.transformer.resblocks.0.ln_2.bias": (vw,),
        "visual.transformer.resblocks.0.mlp.c_fc.weight": None, "visual.transformer.resblocks.0.mlp.c_proj.bias": (vw,),
        "token_embedding.weight": (cfg["text_cfg"]["vocab_size"], tw), "positional_embedding": (CONTEXT_LENGTH, tw),
        "transformer.resblocks.0.attn.in_proj_weight": (3 * tw, tw), "ln_final.weight": (tw,),
        "text_projection": (tw, p), "logit_scale": (),
    }
    for name, shape in expected.items():
        assert name in sd, f"open_clip state dict lacks {name}"
        assert shape is None or tuple(sd[name].shape) == shape, (name, tuple(sd[name].shape), shape)


BUILDERS = {"hf": build_hf, "openclip": build_openclip}


def numerics():
    """What every model's goldens share, for the manifest."""
    return {
        "dense_modes": DENSE_MODES,
        "naclip": {"std": NACLIP_STD, "crop": NACLIP_CROP, "stride": NACLIP_STRIDE,
                   "logit_scale": NACLIP_LOGIT_SCALE, "pamr_steps": PAMR_STEPS,
                   "pamr_dilations": list(PAMR_DILATIONS),
                   "pamr_cases": [list(c[:4]) + [list(c[4])] for c in PAMR_CASES],
                   "segment_cases": [list(c) for c in NACLIP_SEGMENT_CASES]},
        "image_sizes_wh": [list(s) for s in IMAGE_SIZES],
        "global_sizes_wh": [list(s) for s in GLOBAL_SIZES],
        "dense_sizes_wh": [list(s) for s in DENSE_SIZES],
        "image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD),
        "sot_id": SOT_ID, "eot_id": EOT_ID, "context_length": CONTEXT_LENGTH,
    }


def build_model(recipe, model_dir):
    """Write one model and its goldens; returns (config summary, files, checks, dense grids)."""
    return BUILDERS[recipe["kind"]](recipe, model_dir, open_clip_tokenizer())
