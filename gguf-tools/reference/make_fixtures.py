#!/usr/bin/env python3
"""Random-init CLIP reference models and their goldens, made with the reference libraries.

Usage: make_fixtures.py --out DIR [--vitb16] [--force]

Writes DIR/manifest.json, DIR/tokenizer/ and one directory per model (see README.md beside
this file). A rerun with the same generator, libraries and models finds everything up to date
from the manifest alone, without importing torch, so `make test` stays fast.
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import time
from pathlib import Path

# The models are made here, never fetched: fail loudly instead of reaching for the hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent

# Bump when the meaning of the outputs changes; the source hash in generator_id() catches
# every other edit of the generator.
GENERATOR_VERSION = "1"
GENERATOR_SOURCES = ("make_fixtures.py", "clip_reference.py")
TOKENIZER_SOURCE = HERE / "tokenizer_fixture.py"

LIBRARIES = ("torch", "transformers", "open_clip_torch", "safetensors", "numpy")


def hf_recipe(seed, text, vision, projection_dim, torch_files=False):
    return {
        "kind": "hf",
        "seed": seed,
        # also the weights as PyTorch pickles (single and sharded) and preprocessor variants
        "torch_files": torch_files,
        # Sub-configs repeat projection_dim as real checkpoints do (else they keep a stale 512).
        "text": dict(text, vocab_size=49408, max_position_embeddings=77, hidden_act="quick_gelu",
                     projection_dim=projection_dim),
        "vision": dict(vision, image_size=224, patch_size=16, hidden_act="quick_gelu",
                       projection_dim=projection_dim),
        "projection_dim": projection_dim,
    }


# Widths are multiples of 32 so every quant type applies to the tiny models too.
RECIPES = {
    "hf-tiny": hf_recipe(
        1001,
        text=dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4),
        vision=dict(hidden_size=96, intermediate_size=256, num_hidden_layers=3, num_attention_heads=3),
        projection_dim=64,
        torch_files=True,
    ),
    "openclip-tiny": {
        "kind": "openclip",
        "seed": 1002,
        "model_cfg": {
            "embed_dim": 64,
            "quick_gelu": False,
            "vision_cfg": {"image_size": 224, "patch_size": 16, "width": 64, "layers": 3,
                           "head_width": 16, "mlp_ratio": 4},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
        },
    },
    "hf-vitb16": hf_recipe(
        1003,
        text=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8),
        vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12),
        projection_dim=512,
    ),
}


def log(msg):
    print(f"[fixtures] {msg}", flush=True)


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def generator_id():
    digest = hashlib.sha256()
    for name in GENERATOR_SOURCES:
        digest.update((HERE / name).read_bytes())
    return f"{GENERATOR_VERSION}-{digest.hexdigest()[:12]}"


def library_versions():
    # From the installed metadata: checking for staleness must not cost a torch import.
    return {lib: importlib.metadata.version(lib).split("+")[0] for lib in LIBRARIES}


def tokenizer_source_id():
    return sha256_file(TOKENIZER_SOURCE)[:12] if TOKENIZER_SOURCE.exists() else None


def import_tokenizer_fixture():
    """tokenizer_fixture.py (the tokenizer helper's module) when present, else None."""
    if not TOKENIZER_SOURCE.exists():
        return None
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import tokenizer_fixture

    return tokenizer_fixture


def files_present(out_dir, base, files):
    return all((out_dir / base / rel).exists() for rel in files)


def write_manifest(path, manifest):
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory (e.g. build/fixtures)")
    parser.add_argument("--vitb16", action="store_true", help="also make hf-vitb16 (ViT-B/16 dims, slower)")
    parser.add_argument("--force", action="store_true", help="regenerate everything")
    args = parser.parse_args()

    started = time.perf_counter()
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    gen, versions, tok_id = generator_id(), library_versions(), tokenizer_source_id()
    wanted = ["hf-tiny", "openclip-tiny"] + (["hf-vitb16"] if args.vitb16 else [])

    old = {}
    if manifest_path.exists() and not args.force:
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if old.get("generator") != gen or old.get("libraries") != versions:
            log("generator or libraries changed: regenerating everything")
            old = {}

    def still_valid(name):
        entry = old.get("models", {}).get(name)
        return entry is not None and entry.get("recipe") == RECIPES[name] and \
            files_present(out_dir, entry["dir"], entry["files"])

    old_tok = old.get("tokenizer")
    tokenizer_ok = old_tok is not None and old_tok.get("tokenizer_fixture_sha") == tok_id and \
        files_present(out_dir, "", old_tok["files"])
    # Models an earlier run made stay listed while valid: a run without --vitb16 after one with
    # it keeps hf-vitb16.
    kept = {name: old["models"][name] for name in RECIPES if still_valid(name)}
    todo = [name for name in wanted if name not in kept]

    def report_kept():
        for name in kept:
            log(f"{name}: up to date" if name in wanted else f"{name}: kept from an earlier run")

    if tokenizer_ok and not todo:
        log("tokenizer: up to date")
        report_kept()
        # Touched so a build tool using the manifest as its stamp sees the check as done.
        os.utime(manifest_path)
        log(f"up to date ({time.perf_counter() - started:.1f} s) -> {out_dir}")
        return

    import torch

    import clip_reference as ref

    torch.set_num_threads(2)
    manifest = {"generator": gen, "libraries": versions, "numerics": ref.numerics(),
                "tokenizer": old_tok if tokenizer_ok else None, "models": dict(kept)}
    for name in RECIPES:
        if name not in kept and name not in todo and (out_dir / name).exists():
            # Made by an older generator and not asked for now: stale, so not left lying around.
            shutil.rmtree(out_dir / name)

    if tokenizer_ok:
        log("tokenizer: up to date")
    else:
        t0 = time.perf_counter()
        module = import_tokenizer_fixture()
        if module is None:
            log("tokenizer: tokenizer_fixture.py not present, writing corpus.json only")
        entry = ref.make_tokenizer_fixture(out_dir, module)
        entry["tokenizer_fixture_sha"] = tok_id
        manifest["tokenizer"] = entry
        log(f"tokenizer: {len(entry['files'])} files, corpus from {entry['corpus_source']} "
            f"({time.perf_counter() - t0:.1f} s)")
    write_manifest(manifest_path, manifest)

    report_kept()
    for name in todo:
        recipe = RECIPES[name]
        t0 = time.perf_counter()
        log(f"{name}: building ({recipe['kind']}, seed {recipe['seed']})")
        model_dir = out_dir / name
        if model_dir.exists():
            shutil.rmtree(model_dir)
        model_dir.mkdir(parents=True)
        summary, files, checks, dense = ref.build_model(recipe, model_dir)
        elapsed = time.perf_counter() - t0
        manifest["models"][name] = {
            "kind": recipe["kind"], "dir": name, "config": summary, "recipe": recipe,
            "dense": dense, "checks": checks, "files": files, "seconds": round(elapsed, 2),
        }
        log(f"{name}: {len(files)} files in {elapsed:.1f} s; checks: "
            + ", ".join(f"{k}={v:.10g}" for k, v in checks.items()))
        # After each model, so an interrupted run keeps what is done.
        write_manifest(manifest_path, manifest)

    log(f"done in {time.perf_counter() - started:.1f} s -> {out_dir}")


if __name__ == "__main__":
    main()
