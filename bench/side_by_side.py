#!/usr/bin/env python3
"""Side-by-side benchmark: PyTorch (transformers CLIP + the ClearCLIP final block, fp32) against the
clearclip engine, on the same machine, with the same thread count and the same random-init
ViT-B/16 weights (build/fixtures/hf-vitb16, converted to GGUF by our own converter).

Rows: model load, one 224 and one 448 window (dense ClearCLIP features), whole segmentation of a
500x375 picture (VOC21 settings: short side 448, crop 448, stride 224, threshold 0.5), 21 classes x
80 templates of prompt embeddings, and the global 224 embedding (transformers get_image_features).
Each side runs in its own process, so that peak RSS figures do not mix. The 448 window is also run
by the anchors (bench/anchors.py: the same module exported to ONNX Runtime fp32/int8 and OpenVINO
f32), each with the cosine of its output against PyTorch's.

Usage (from the repository root, after `make build fixtures`; `make bench` does all of it):
  .venv/bin/python bench/side_by_side.py [--threads 2] [--repeat 5] [--types f32,f16,q8_0,q4_0]
Results go to build/bench/ (side_by_side.{json,md}, ours.{json,md,png}, side_by_side.png).
"""

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from anchors import anchors_report, anchors_worker, merge_anchor_rounds

REPO = Path(__file__).resolve().parent.parent
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SEG_W, SEG_H = 500, 375

# (JSON key of `clearclip bench`, label). The PyTorch worker uses the same keys.
ROWS = [
    ("load_s", "model load"),
    ("window_224_s", "224 window (dense)"),
    ("window_448_s", "448 window (dense)"),
    ("segment_500x375_s", "500x375 segmentation"),
    ("text_21x80_s", "21x80 prompt embeddings"),
    ("global_224_s", "global 224 embedding"),
]

# Targets of issue 9: ours / PyTorch for one 448 window, per type (quantized must beat float).
WINDOW_TARGETS = {"q4_0": 0.75, "q8_0": 0.90, "f32": 0.95}
SEGMENT_TARGET = 0.80    # 500x375 picture end to end, q4_0, ours / PyTorch
RSS_TARGET_MB = 200      # whole process segmenting 500x375, q4_0
TEXT_TARGET_S = 8.0      # 21x80 prompt embeddings, q8_0
SCALING_TARGET = 1.8     # 448 window q4_0: time at 1 thread / time at 2 threads
LOAD_TARGET_S = 0.5


def load_average():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def stats(samples):
    return {"median": statistics.median(samples), "min": min(samples), "samples": samples}


def merge_rounds(results, runs_key=None):
    """One result from several rounds of the same measurements: the samples of every timed row
    pooled (median and min over all of them), the highest peak RSS, the first and last load
    averages."""
    def merge_one(items):
        out = dict(items[-1])
        for key, _ in ROWS:
            out[key] = stats([x for it in items for x in it[key]["samples"]])
        out["segment_images_per_s"] = 1.0 / out["segment_500x375_s"]["median"]
        out["rss_mb"] = dict(items[-1]["rss_mb"], **{k: max(it["rss_mb"][k] for it in items)
                                                     for k in ("peak", "peak_segment")})
        # the CLI's own segment process (measured once per model, at the largest thread count): the highest
        cli = [it["cli_segment_rss_mb"] for it in items if "cli_segment_rss_mb" in it]
        if cli:
            out["cli_segment_rss_mb"] = max(cli)
        for k in ("load_average_before", "load_average_start"):
            if k in items[0]:
                out[k] = items[0][k]
        return out

    if runs_key is None:
        return merge_one(results)
    merged = dict(results[-1])
    merged["load_average_start"] = results[0]["load_average_start"]
    merged["rounds"] = len(results)
    merged[runs_key] = [merge_one([r[runs_key][i] for r in results])
                        for i in range(len(results[0][runs_key]))]
    return merged


# ---------------------------------------------------------------------------------------------
# PyTorch side (runs in a child process: `side_by_side.py --torch-worker`)


def synthetic_rgb(width, height, seed):
    """Gradients, a few flat shapes and noise (uint8 [H, W, 3]); the content does not change the cost."""
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = xx / width, yy / height
    img = np.stack([40 + 180 * u, 30 + 200 * v, 128 + 90 * np.sin(2 * math.pi * (1.5 * u + 0.7 * v))], axis=-1)
    for _ in range(6):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        size = rng.uniform(10, min(width, height) / 3)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < size ** 2] = rng.uniform(0, 255, size=3)
    img += rng.normal(0, 8, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


class TorchClearClip:
    """transformers' CLIPModel for the stock parts; the ClearCLIP final block written from the paper:
    y = ln_1(x); out = W_o softmax(q q^T / sqrt(d)) v + b_o, no residual, no FFN; patch tokens only,
    post-LN, projection, L2-normalised.

    Not gguf-tools/reference/clip_reference.py on purpose: that is the numerics reference (float64,
    every final-block mode, explicit matmuls), the source of the goldens the tests compare with; this
    is the speed baseline, PyTorch's fastest ordinary path (float32, SDPA), so the two answer
    different questions and neither can stand in for the other."""

    def __init__(self, model):
        import torch

        self.torch = torch
        self.model = model
        self.vm = model.vision_model
        cfg = model.config.vision_config
        self.patch = cfg.patch_size
        self.g0 = cfg.image_size // cfg.patch_size
        self.heads = cfg.num_attention_heads
        self.pos_cache = {}
        self.mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)

    def positions(self, gh, gw):
        """Position embeddings for a gh x gw grid: bicubic with the reference's scale factor, cached per
        grid as the engine caches them per graph."""
        F = self.torch.nn.functional
        key = (gh, gw)
        if key not in self.pos_cache:
            pos = self.vm.embeddings.position_embedding.weight
            if key == (self.g0, self.g0):
                self.pos_cache[key] = pos
            else:
                grid = pos[1:].reshape(1, self.g0, self.g0, -1).permute(0, 3, 1, 2)
                grid = F.interpolate(grid, scale_factor=((gh + 0.1) / self.g0, (gw + 0.1) / self.g0),
                                     mode="bicubic", align_corners=False)
                self.pos_cache[key] = self.torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)])
        return self.pos_cache[key]

    def dense(self, pixels):
        """[1, 3, H, W] normalised, patch multiples -> [gh*gw, P] L2-normalised ClearCLIP features."""
        torch, F = self.torch, self.torch.nn.functional
        emb = self.vm.embeddings
        patches = emb.patch_embedding(pixels)
        gh, gw = patches.shape[-2:]
        cls = emb.class_embedding.reshape(1, 1, -1)
        x = torch.cat([cls, patches.flatten(2).transpose(1, 2)], dim=1) + self.positions(gh, gw)
        x = self.vm.pre_layrnorm(x)
        for layer in self.vm.encoder.layers[:-1]:
            x = layer(x, None)
            if isinstance(x, tuple):
                x = x[0]
        last = self.vm.encoder.layers[-1]
        att = last.self_attn
        y = last.layer_norm1(x)
        b, n, w = y.shape
        hd = w // self.heads
        q = att.q_proj(y).view(b, n, self.heads, hd).transpose(1, 2)
        v = att.v_proj(y).view(b, n, self.heads, hd).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, q, v)  # scale hd^-0.5
        o = att.out_proj(o.transpose(1, 2).reshape(b, n, w))
        feats = self.model.visual_projection(self.vm.post_layernorm(o[0, 1:]))
        return F.normalize(feats, dim=-1), (gh, gw)

    def normalise(self, rgb_chw):
        return (rgb_chw / 255.0 - self.mean) / self.std

    def segment(self, rgb, text, short_side=448, crop=448, stride=224, logit_scale=50.0, threshold=0.5):
        """The reference sliding-window pipeline on uint8 [H, W, 3]; text: [C, P] normalised, class 0
        background. Returns the label map [H, W]."""
        torch, F = self.torch, self.torch.nn.functional
        h, w = rgb.shape[:2]
        s = short_side / min(w, h)
        rw, rh = int(w * s + 0.5), int(h * s + 0.5)
        img = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
        img = F.interpolate(img, size=(rh, rw), mode="bilinear", align_corners=False).round().clamp(0, 255)
        img = self.normalise(img)
        n_cls = text.shape[0]
        acc = torch.zeros(1, n_cls, rh, rw)
        count = torch.zeros(1, 1, rh, rw)

        def windows(size):
            n = max(size - crop + stride - 1, 0) // stride + 1
            for i in range(n):
                end = min(i * stride + crop, size)
                yield max(end - crop, 0), end

        for y0, y1 in windows(rh):
            for x0, x1 in windows(rw):
                win = img[:, :, y0:y1, x0:x1]
                ch, cw = win.shape[-2:]
                pad_w, pad_h = (-cw) % self.patch, (-ch) % self.patch
                left, top = pad_w // 2, pad_h // 2
                win = F.pad(win, (left, pad_w - left, top, pad_h - top))
                feats, (gh, gw) = self.dense(win)
                logits = (feats @ text.T).T.reshape(1, n_cls, gh, gw)
                logits = F.interpolate(logits, size=(gh * self.patch, gw * self.patch), mode="bilinear",
                                       align_corners=False)
                acc[:, :, y0:y1, x0:x1] += logits[:, :, top:top + ch, left:left + cw]
                count[:, :, y0:y1, x0:x1] += 1
        logits = F.interpolate(acc / count, size=(h, w), mode="bilinear", align_corners=False)
        probs = torch.softmax(logit_scale * logits[0], dim=0)
        best, labels = probs.max(dim=0)
        labels[best < threshold] = 0
        return labels


def torch_worker(args):
    import torch
    import torch.nn.functional as F
    from transformers import AutoTokenizer, CLIPModel

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    fixture = str(args.fixture)
    out = {"side": "pytorch", "torch": torch.__version__, "threads": args.threads,
           "load_average_before": load_average()}
    import transformers
    out["transformers"] = transformers.__version__

    loads = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        model = CLIPModel.from_pretrained(fixture, attn_implementation="sdpa").eval()
        loads.append(time.perf_counter() - t0)
        del model
    out["load_s"] = stats(loads)
    model = CLIPModel.from_pretrained(fixture, attn_implementation="sdpa").eval()
    cc = TorchClearClip(model)

    def timed(fn, warmups=1):
        for _ in range(warmups):
            fn()
        t = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        return stats(t)

    # Text: the 80 templates for each VOC21 class, tokenised and encoded (batches of 256 padded to
    # their longest prompt), each prompt embedding normalised, averaged per class, normalised again.
    tokenizer = AutoTokenizer.from_pretrained(fixture)
    templates = json.loads((REPO / "models/templates/imagenet_80.json").read_text())
    classes = [l.strip() for l in (REPO / "models/presets/voc21.txt").read_text().splitlines()
               if l.strip() and not l.startswith("#")]
    assert len(classes) == 21 and len(templates) == 80

    def embed_classes():
        rows = []
        prompts = [t.replace("{}", c) for c in classes for t in templates]
        for i in range(0, len(prompts), 256):
            ids = tokenizer(prompts[i:i + 256], padding=True, return_tensors="pt")
            f = model.get_text_features(**ids)
            f = getattr(f, "pooler_output", f)
            rows.append(F.normalize(f, dim=-1))
        e = torch.cat(rows).reshape(len(classes), len(templates), -1).mean(1)
        return F.normalize(e, dim=-1)

    text = embed_classes()
    out["text_21x80_s"] = timed(embed_classes, warmups=0)
    out["text_prompts"] = len(classes) * len(templates)

    picture = synthetic_rgb(SEG_W, SEG_H, 1)
    out["segment_500x375_s"] = timed(lambda: cc.segment(picture, text))
    out["segment_images_per_s"] = 1.0 / out["segment_500x375_s"]["median"]
    peak_segment = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    w224 = cc.normalise(torch.from_numpy(picture[:224, :224]).permute(2, 0, 1)[None].float())
    w448 = cc.normalise(torch.from_numpy(synthetic_rgb(448, 448, 2)).permute(2, 0, 1)[None].float())
    out["window_224_s"] = timed(lambda: cc.dense(w224))
    out["window_448_s"] = timed(lambda: cc.dense(w448))

    def global_224():
        f = model.get_image_features(pixel_values=w224)
        return F.normalize(getattr(f, "pooler_output", f), dim=-1)

    out["global_224_s"] = timed(global_224)
    out["rss_mb"] = {"peak_segment": peak_segment,
                     "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    out["load_average_after"] = load_average()
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------
# Driver


def find_java():
    """A JDK >= 22 (the engine's bindings need the FFM API): JAVA_HOME, else the newest under /usr/lib/jvm."""
    def major(home):
        try:
            for line in (Path(home) / "release").read_text().splitlines():
                if line.startswith("JAVA_VERSION="):
                    return int(line.split("=", 1)[1].strip('"').split(".")[0])
        except (OSError, ValueError):
            pass
        return 0

    homes = [os.environ.get("JAVA_HOME", "")] + sorted(str(p) for p in Path("/usr/lib/jvm").glob("*"))
    best = max((h for h in homes if h and major(h) >= 22 and (Path(h) / "bin/java").exists()),
               key=major, default=None)
    if best is None:
        sys.exit("no JDK >= 22 found: set JAVA_HOME")
    return str(Path(best) / "bin/java")


def run(cmd, **kw):
    print("+ " + " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def convert_models(java, jar, fixture, types, model_dir):
    """GGUF files of the fixture made by our converter, remade when the checkpoint is newer."""
    model_dir.mkdir(parents=True, exist_ok=True)
    source = fixture / "model.safetensors"
    paths = []
    for t in types:
        path = model_dir / f"{fixture.name}-{t}.gguf"
        if not path.exists() or path.stat().st_mtime < source.stat().st_mtime:
            run([java, "-jar", jar, "convert", fixture, "--type", t, "-o", path])
        paths.append(path)
    return paths


def ratio(ours, theirs):
    return ours / theirs if theirs > 0 else float("nan")


def report(torch_res, ours_res, threads, jvm_args, jar=None, anchors=None):
    runs = [r for r in ours_res["runs"] if r["threads"] == threads]
    lines = ["# clearclip vs PyTorch, side by side", ""]
    jar_mb = f"{jar.stat().st_size / 1e6:.1f} MB" if jar and jar.exists() else "?"
    lines.append(f"ggml CPU variant: {ours_res.get('cpu_variant', '?')} "
                 f"({ours_res.get('cpu_variant_features', '?')}); CLI jar {jar_mb}.")
    lines.append("")
    lines.append(f"{ours_res.get('cpu', '?')}, {ours_res.get('cores', '?')} cores, {threads} threads; "
                 f"PyTorch {torch_res['torch']} (transformers {torch_res['transformers']}) fp32 vs clearclip "
                 f"{ours_res.get('engine_version', '?')}. {ours_res.get('rounds', 1)} rounds (PyTorch, then ours) of "
                 f"{ours_res.get('repeat')} timed runs each: medians over all runs (min in parentheses), seconds; "
                 f"ratio = ours / PyTorch of the medians (below 1: ours faster). Engine JVM options: "
                 f"{jvm_args or 'defaults'}. Load average: PyTorch "
                 f"{torch_res['load_average_before']} -> {torch_res['load_average_after']}, ours "
                 f"{ours_res.get('load_average_start')} -> {ours_res.get('load_average_end')}.")
    lines.append("")
    header = "| row | PyTorch fp32 |" + "".join(f" {r['file_type']} | ratio |" for r in runs)
    lines += [header, "|---|---|" + "---|---|" * len(runs)]
    for key, label in ROWS:
        t = torch_res[key]
        cells = f"| {label} | {t['median']:.3f} ({t['min']:.3f}) |"
        for r in runs:
            o = r[key]
            cells += f" {o['median']:.3f} ({o['min']:.3f}) | {ratio(o['median'], t['median']):.2f}x |"
        lines.append(cells)
    for key, label in (("peak_segment", "segmentation peak RSS (MB)"), ("peak", "peak RSS (MB)")):
        cells = f"| {label} | {torch_res['rss_mb'][key]:.0f} |"
        for r in runs:
            cells += f" {r['rss_mb'][key]:.0f} | {ratio(r['rss_mb'][key], torch_res['rss_mb'][key]):.2f}x |"
        lines.append(cells)
    lines.append("| CLI segment peak RSS (MB) | - |" + "".join(
        f" {r['cli_segment_rss_mb']:.0f} | |" if "cli_segment_rss_mb" in r else " - | |" for r in runs))
    singles = [r for r in ours_res["runs"] if r["threads"] == 1 and threads != 1]
    if singles:
        lines += ["", "clearclip on 1 thread (same rounds):", "",
                  "| row |" + "".join(f" {r['file_type']} |" for r in singles),
                  "|---|" + "---|" * len(singles)]
        for key, label in ROWS:
            lines.append(f"| {label} |" + "".join(f" {r[key]['median']:.3f} ({r[key]['min']:.3f}) |"
                                                  for r in singles))
    lines += ["", "RSS: VmHWM of the process (ours: one JVM per model, about 87 MB of it before the model is "
              "loaded; PyTorch: the worker's ru_maxrss, torch itself included). Segmentation peak: after loading, "
              "the class embeddings and the segmentation runs, before the other rows; peak: after all rows. "
              "The highest of all rounds. CLI segment peak RSS: VmHWM of a whole `clearclip segment` process "
              "started through bin/clearclip (the launcher's JVM options) on the 500x375 picture with --preset voc21 "
              "and an empty text cache (first run: the 21x80 prompts are encoded in it).", "", "## Targets", "", "| target | measured | met |", "|---|---|---|"]

    by_type = {r["file_type"]: r for r in runs}
    checks = []
    w_torch = torch_res["window_448_s"]["median"]
    for t, limit in WINDOW_TARGETS.items():
        if t in by_type:
            q = ratio(by_type[t]["window_448_s"]["median"], w_torch)
            checks.append((f"448 window {t} <= {limit}x PyTorch", f"{q:.2f}x", q <= limit))
    if "q4_0" in by_type:
        q = ratio(by_type["q4_0"]["segment_500x375_s"]["median"], torch_res["segment_500x375_s"]["median"])
        checks.append((f"500x375 picture end to end q4_0 <= {SEGMENT_TARGET}x PyTorch", f"{q:.2f}x",
                       q <= SEGMENT_TARGET))
        one = [r for r in ours_res["runs"] if r["threads"] == 1 and r["file_type"] == "q4_0"]
        if one and threads == 2:
            sc = ratio(one[0]["window_448_s"]["median"], by_type["q4_0"]["window_448_s"]["median"])
            checks.append((f"thread scaling 1 -> 2, 448 window q4_0 >= {SCALING_TARGET}x", f"{sc:.2f}x",
                           sc >= SCALING_TARGET))
        # issue 9's target is the CLI's own process; the in-JVM figure of the bench worker stays a row above
        cli = by_type["q4_0"].get("cli_segment_rss_mb")
        checks.append((f"peak RSS of the CLI segmenting a 500x375 picture, q4_0, voc21 preset, first run "
                       f"<= {RSS_TARGET_MB} MB",
                       f"{cli:.0f} MB" if cli is not None else "not measured: "
                       + by_type["q4_0"].get("cli_segment", {}).get("error", "no cli_segment_rss_mb"),
                       cli is not None and cli <= RSS_TARGET_MB))
    if "q8_0" in by_type:
        s = by_type["q8_0"]["text_21x80_s"]["median"]
        checks.append((f"21x80 prompt embeddings q8_0 <= {TEXT_TARGET_S:g} s", f"{s:.2f} s", s <= TEXT_TARGET_S))
    for r in runs:
        s = r["load_s"]["median"]
        checks.append((f"model load {r['file_type']} < {LOAD_TARGET_S} s", f"{s:.3f} s", s < LOAD_TARGET_S))
    if anchors:
        anchor_lines, anchor_checks = anchors_report(anchors, runs)
        checks += anchor_checks
    for name, value, ok in checks:
        lines.append(f"| {name} | {value} | {'yes' if ok else 'NO'} |")
    if anchors:
        lines += anchor_lines
    return "\n".join(lines) + "\n", [{"target": n, "measured": v, "met": ok} for n, v, ok in checks]


def chart(torch_res, ours_res, threads, path):
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install -r bench/requirements.txt): no chart", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in ours_res["runs"] if r["threads"] == threads]
    rows = ROWS[1:]
    fig, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.6))
    for ax, (key, label) in zip(axes, rows):
        names = ["PyTorch"] + [r["file_type"] for r in runs]
        values = [torch_res[key]["median"]] + [r[key]["median"] for r in runs]
        ax.bar(names, values, color=["#888888"] + ["#4E79A7"] * len(runs))
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("seconds (median)", fontsize=8)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    fig.suptitle(f"clearclip vs PyTorch fp32, {threads} threads", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--types", default="f32,f16,q8_0,q4_0")
    p.add_argument("--fixture", type=Path, default=REPO / "build/fixtures/hf-vitb16")
    p.add_argument("--jar", type=Path, default=REPO / "java/cli/target/clearclip.jar")
    p.add_argument("--out", type=Path, default=REPO / "build/bench")
    p.add_argument("--ours-json", type=Path, help="reuse this `clearclip bench` JSON instead of running it")
    p.add_argument("--torch-json", type=Path, help="reuse this PyTorch worker JSON instead of running it")
    p.add_argument("--anchors-json", type=Path, help="reuse this anchors worker JSON instead of running it")
    p.add_argument("--no-anchors", action="store_true",
                   help="skip the ONNX Runtime / OpenVINO anchors (bench/anchors.py)")
    p.add_argument("--anchors-only", action="store_true",
                   help="run only the anchors (PyTorch, ONNX Runtime, OpenVINO on the 448 window) and print them")
    p.add_argument("--rounds", type=int, default=2, help="turns of PyTorch then clearclip (default 2)")
    p.add_argument("--jvm-args", default="", help="options of the JVMs that run the engine, e.g. "
                   "'-XX:+UseSerialGC -Xmx128m' (passed on to the per-model child JVMs)")
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--anchors-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_worker:
        torch_worker(args)
        return
    if args.anchors_worker:
        anchors_worker(args, TorchClearClip, synthetic_rgb, stats, load_average)
        return

    def run_anchors():
        print(f"anchors ({args.threads} threads, load average {load_average()})", file=sys.stderr, flush=True)
        proc = run([sys.executable, __file__, "--anchors-worker", "--threads", args.threads, "--repeat",
                    args.repeat, "--fixture", args.fixture], stdout=subprocess.PIPE, text=True)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    if args.anchors_only:
        if not (args.fixture / "model.safetensors").exists():
            sys.exit(f"{args.fixture} is missing: run `make fixtures` (make_fixtures.py --vitb16)")
        args.out.mkdir(parents=True, exist_ok=True)
        anchors = merge_anchor_rounds([run_anchors() for _ in range(args.rounds)], stats)
        (args.out / "anchors.json").write_text(json.dumps(anchors, indent=1) + "\n")
        print("\n".join(anchors_report(anchors, [])[0]))
        return
    if not (args.fixture / "model.safetensors").exists():
        sys.exit(f"{args.fixture} is missing: run `make fixtures` (make_fixtures.py --vitb16)")
    if not args.jar.exists():
        sys.exit(f"{args.jar} is missing: run `make build`")
    args.out.mkdir(parents=True, exist_ok=True)
    java = find_java()

    models = None if args.ours_json else convert_models(java, args.jar, args.fixture, args.types.split(","),
                                                        args.out / "models")
    # The machine's speed drifts over minutes (shared cores): both sides run in turns, and every
    # row pools the samples of all rounds.
    torch_rounds, ours_rounds, anchor_rounds = [], [], []
    for r in range(args.rounds):
        if not args.torch_json:
            print(f"round {r + 1}/{args.rounds}: PyTorch ({args.threads} threads, load average {load_average()})",
                  file=sys.stderr, flush=True)
            proc = run([sys.executable, __file__, "--torch-worker", "--threads", args.threads, "--repeat",
                        args.repeat, "--fixture", args.fixture], stdout=subprocess.PIPE, text=True)
            torch_rounds.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        if not args.anchors_json and not args.no_anchors:
            anchor_rounds.append(run_anchors())
        if not args.ours_json:
            print(f"round {r + 1}/{args.rounds}: clearclip (load average {load_average()})", file=sys.stderr,
                  flush=True)
            cmd = [java] + args.jvm_args.split() + ["--enable-native-access=ALL-UNNAMED", "-jar", args.jar,
                                                    "bench"]
            for m in models:
                cmd += ["-m", m]
            # 1 thread too: the 1-thread figures and the thread-scaling target
            counts = "1," + str(args.threads) if args.threads > 1 else str(args.threads)
            cmd += ["--thread-counts", counts, "--repeat", args.repeat, "--json",
                    args.out / f"ours-round{r + 1}.json", "--markdown", args.out / "ours.md", "--chart",
                    args.out / "ours.png"]
            run(cmd, stdout=subprocess.DEVNULL)
            ours_rounds.append(json.loads((args.out / f"ours-round{r + 1}.json").read_text()))
    torch_res = json.loads(args.torch_json.read_text()) if args.torch_json else merge_rounds(torch_rounds)
    ours_res = json.loads(args.ours_json.read_text()) if args.ours_json else merge_rounds(ours_rounds, "runs")
    anchors = (json.loads(args.anchors_json.read_text()) if args.anchors_json
               else merge_anchor_rounds(anchor_rounds, stats) if anchor_rounds else None)
    if anchor_rounds:
        (args.out / "anchors.json").write_text(json.dumps(anchors, indent=1) + "\n")
    if not args.torch_json:
        (args.out / "pytorch.json").write_text(json.dumps(torch_res, indent=1) + "\n")
    if not args.ours_json:
        (args.out / "ours.json").write_text(json.dumps(ours_res, indent=1) + "\n")

    table, checks = report(torch_res, ours_res, args.threads, args.jvm_args, args.jar, anchors)
    print(table)
    (args.out / "side_by_side.md").write_text(table)
    (args.out / "side_by_side.json").write_text(json.dumps(
        {"threads": args.threads, "jvm_args": args.jvm_args, "pytorch": torch_res, "ours": ours_res,
         "anchors": anchors, "targets": checks}, indent=1) + "\n")
    chart(torch_res, ours_res, args.threads, args.out / "side_by_side.png")


if __name__ == "__main__":
    main()
