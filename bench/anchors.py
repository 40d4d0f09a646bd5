"""The anchors of the side-by-side benchmark: the runtimes a user could pick instead of the engine for
the same ClearCLIP 448 window (spec section 10). The PyTorch module of side_by_side.py (the same
random-init ViT-B/16 fixture, the same picture) is exported once to ONNX at a fixed 448x448 input and
run by ONNX Runtime (fp32, and int8 after dynamic quantization of the MatMuls) and by OpenVINO (f32;
its default on CPUs with AVX512_BF16 is bf16). Each runtime is timed after one warm-up with the same
thread count, and the cosine of its output against PyTorch's is reported beside its time, so that a
fast but wrong export cannot pass unnoticed.

Runs in a child process of side_by_side.py (`--anchors-worker`); a runtime whose package is not
installed (bench/requirements.txt) gets a row saying so instead of a time.
"""

import json
import os
import tempfile
import time
from pathlib import Path

# What a row of the anchors table is keyed by, in the order printed.
ANCHORS = [
    ("pytorch_fp32", "PyTorch fp32"),
    ("ort_fp32", "ONNX Runtime fp32"),
    ("ort_int8", "ONNX Runtime int8 (dynamic)"),
    ("openvino_f32", "OpenVINO f32"),
]


def cpu_description():
    """Model name and the SIMD flags that decide which kernels every runtime picks."""
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = [("avx2", "AVX2"), ("fma", "FMA"), ("avx512f", "AVX-512F"), ("avx512bw", "AVX-512BW"),
              ("avx512_vnni", "AVX-512 VNNI"), ("avx512_bf16", "AVX-512 BF16"), ("avx_vnni", "AVX-VNNI"),
              ("amx_tile", "AMX")]
    return {"cpu": model, "cpu_flags": [label for flag, label in wanted if flag in flags],
            "cpu_has_amx": "amx_tile" in flags}


def cosine(a, b):
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def anchors_worker(args, torch_clearclip, synthetic_rgb, stats, load_average):
    """Times PyTorch, ONNX Runtime fp32/int8 and OpenVINO f32 on one 448 window; prints one JSON line."""
    import numpy as np
    import torch
    from transformers import CLIPModel

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    out = {"side": "anchors", "threads": args.threads, "torch": torch.__version__,
           "load_average_before": load_average(), "rows": {}}
    out.update(cpu_description())
    model = CLIPModel.from_pretrained(str(args.fixture), attn_implementation="sdpa").eval()
    for p in model.parameters():
        p.requires_grad_(False)
    cc = torch_clearclip(model)
    picture = synthetic_rgb(448, 448, 2)     # the 448 window of side_by_side.py's PyTorch and engine rows
    pixels = cc.normalise(torch.from_numpy(picture).permute(2, 0, 1)[None].float()).contiguous()
    grid = 448 // cc.patch
    # interpolated once, as the engine does per graph; a constant of the export (the tracer would
    # see the grid size as tensors and miss the cache)
    positions = cc.positions(grid, grid).detach()
    cc.positions = lambda gh, gw: positions

    class Dense(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.clip = model

        def forward(self, x):
            return cc.dense(x)[0]

    module = Dense().eval()

    def timed(fn):
        fn()
        samples = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return stats(samples)

    with torch.inference_mode():
        reference = module(pixels).numpy()
        out["rows"]["pytorch_fp32"] = dict(timed(lambda: module(pixels)), cosine=1.0,
                                           version=torch.__version__)

    with tempfile.TemporaryDirectory(prefix="clearclip-anchors-") as tmp:
        onnx_path = Path(tmp) / "clearclip-448.onnx"
        # the legacy (TorchScript) exporter at a fixed 448x448 input, as spec section 10 says
        torch.onnx.export(module, (pixels,), str(onnx_path), opset_version=17, dynamo=False,
                          input_names=["pixels"], output_names=["features"])
        feed = pixels.numpy()

        try:
            import onnxruntime as ort
        except ImportError as e:
            for key in ("ort_fp32", "ort_int8"):
                out["rows"][key] = {"error": f"onnxruntime not installed ({e})"}
        else:
            def ort_row(path):
                so = ort.SessionOptions()
                so.intra_op_num_threads = args.threads
                so.inter_op_num_threads = 1
                so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
                run = lambda: sess.run(None, {"pixels": feed})[0]   # noqa: E731
                row = timed(run)
                row["cosine"] = cosine(run(), reference)
                row["version"] = ort.__version__
                return row

            out["rows"]["ort_fp32"] = ort_row(onnx_path)
            from onnxruntime.quantization import QuantType, quantize_dynamic

            int8_path = Path(tmp) / "clearclip-448-int8.onnx"
            quantize_dynamic(str(onnx_path), str(int8_path), weight_type=QuantType.QInt8)
            out["rows"]["ort_int8"] = ort_row(int8_path)

        try:
            import openvino as ov
        except ImportError as e:
            out["rows"]["openvino_f32"] = {"error": f"openvino not installed ({e})"}
        else:
            core = ov.Core()
            compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", {
                "INFERENCE_NUM_THREADS": args.threads, "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32"})
            request = compiled.create_infer_request()
            run = lambda: request.infer({0: feed})[compiled.output(0)]   # noqa: E731
            row = timed(run)
            row["cosine"] = cosine(run(), reference)
            row["version"] = ov.__version__.split("-")[0]
            out["rows"]["openvino_f32"] = row
    out["load_average_after"] = load_average()
    print(json.dumps(out))


def merge_anchor_rounds(results, stats):
    """One result from several rounds: each runtime's samples pooled."""
    merged = dict(results[-1])
    merged["load_average_before"] = results[0]["load_average_before"]
    merged["rows"] = {}
    for key, _ in ANCHORS:
        items = [r["rows"].get(key, {}) for r in results]
        timed = [it for it in items if "samples" in it]
        if not timed:
            merged["rows"][key] = items[-1]
            continue
        row = dict(timed[-1])
        row.update(stats([x for it in timed for x in it["samples"]]))
        row["cosine"] = min(it["cosine"] for it in timed)
        merged["rows"][key] = row
    return merged


def anchors_report(anchors, runs, window_key="window_448_s"):
    """Markdown lines: the anchors and the engine's file types on the 448 window, each against
    OpenVINO f32 and against our own f32, and the checks of issue 19's targets."""
    rows = anchors["rows"]
    lines = ["", "## The anchors: the 448 window in every CPU runtime", "",
             f"{anchors['cpu']} ({', '.join(anchors['cpu_flags']) or 'no AVX2'}), {anchors['threads']} threads; "
             f"medians (min) of all rounds, seconds. Load average {anchors['load_average_before']} -> "
             f"{anchors['load_average_after']}.", "",
             "| runtime | 448 window | vs OpenVINO f32 | cosine vs PyTorch |", "|---|---|---|---|"]
    ov = rows.get("openvino_f32", {}).get("median")
    for key, label in ANCHORS:
        r = rows.get(key, {})
        if "median" not in r:
            lines.append(f"| {label} | {r.get('error', 'not measured')} | | |")
            continue
        vs = f"{r['median'] / ov:.2f}x" if ov else ""
        lines.append(f"| {label} {r.get('version', '')} | {r['median']:.3f} ({r['min']:.3f}) | {vs} | "
                     f"{r['cosine']:.6f} |")
    for r in runs:
        w = r[window_key]
        vs = f"{w['median'] / ov:.2f}x" if ov else ""
        lines.append(f"| clearclip {r['file_type']} | {w['median']:.3f} ({w['min']:.3f}) | {vs} | |")

    checks = []
    by_type = {r["file_type"]: r[window_key]["median"] for r in runs}
    if ov and by_type:
        best = min(by_type, key=by_type.get)
        checks.append((f"448 window, fastest file type ({best}) <= 0.8x OpenVINO f32",
                       f"{by_type[best] / ov:.2f}x", by_type[best] / ov <= 0.8))
        if "f32" in by_type:
            checks.append(("448 window f32 <= 1.0x OpenVINO f32", f"{by_type['f32'] / ov:.2f}x",
                           by_type["f32"] / ov <= 1.0))
    if "f32" in by_type:
        for t in ("q8_0", "q4_0"):
            if t in by_type:
                q = by_type[t] / by_type["f32"]
                checks.append((f"448 window {t} <= 0.8x our f32", f"{q:.2f}x", q <= 0.8))
    return lines, checks
