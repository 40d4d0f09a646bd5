#!/usr/bin/env python3
"""Writes the small reference files the gguf-tools tests read, with independent writers.

  src/test/resources/gguf/reference.gguf          written by the `gguf` package (gguf-py, llama.cpp's
  src/test/resources/gguf/reference.json          Python GGUF writer): every metadata value type, f32,
                                                  f16, bf16 and the five classic quantized types (blocks
                                                  made by gguf-py's numpy quantizer), alignment 64; the
                                                  JSON lists what the file holds and the values gguf-py
                                                  dequantizes the blocks to.
  src/test/resources/safetensors/dtypes.safetensors   written by safetensors (torch): F32, F16, BF16, F64,
  src/test/resources/safetensors/dtypes.json          I64 and a 0-d scalar; the JSON holds torch's values
                                                  (widened to float32) as float32 bit patterns.

Needs: gguf==0.19.0, numpy, torch, safetensors. Run from anywhere:
  python gguf-tools/src/test/python/make_test_files.py
The outputs are committed; rerun only when changing this script.
"""

import json
import struct
from pathlib import Path

import numpy as np

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def f32_bits(values):
    return [struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in np.asarray(values, dtype=np.float32).ravel()]


def write_json(path, document):
    """JSON with one line per top-level list element or key, so the committed files read well in a diff."""
    def block(value):
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return "[\n" + ",\n".join(json.dumps(e) for e in value) + "\n]"
        if isinstance(value, dict):
            return "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()) + "\n}"
        return json.dumps(value)
    text = "{\n" + ",\n".join(f"{json.dumps(k)}: {block(v)}" for k, v in document.items()) + "\n}\n"
    json.loads(text)
    path.write_text(text)
    path.chmod(0o644)


def write_gguf():
    import gguf
    from gguf import GGMLQuantizationType as Q
    from gguf import GGUFValueType as V

    out = RESOURCES / "gguf"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "reference.gguf"
    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_custom_alignment(64)
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -100)
    writer.add_uint16("test.u16", 60000)
    writer.add_int16("test.i16", -30000)
    writer.add_uint32("test.u32", 4_000_000_000)
    writer.add_int32("test.i32", -2_000_000_000)
    writer.add_float32("test.f32", 3.25)
    writer.add_uint64("test.u64", 2**64 - 1)
    writer.add_int64("test.i64", -(2**63))
    writer.add_float64("test.f64", -1.5e300)
    writer.add_bool("test.bool_true", True)
    writer.add_bool("test.bool_false", False)
    writer.add_string("test.string", "h\u00e9llo \u2713 </w>")
    writer.add_key_value("test.array_u32", [1, 2, 4_000_000_000], V.ARRAY, sub_type=V.UINT32)
    writer.add_key_value("test.array_f32", [0.5, -2.0, 1e-3], V.ARRAY, sub_type=V.FLOAT32)
    writer.add_key_value("test.array_string", ["a", "", "\u0120the</w>"], V.ARRAY, sub_type=V.STRING)
    writer.add_key_value("test.array_nested", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)

    rng = np.random.default_rng(7)
    expected = []

    def add_plain(name, array, type_name):
        writer.add_tensor(name, array)
        expected.append({"name": name, "type": type_name, "ne": list(reversed(array.shape)),
                         "values_f32_bits": f32_bits(array.astype(np.float32))})

    add_plain("plain.f32", (np.arange(15, dtype=np.float32).reshape(3, 5) - 7) / 4, "f32")
    add_plain("plain.f16", np.array([0, 1, -2.5, 65504, 6e-8, -0.0, 0.1], dtype=np.float16), "f16")

    for qtype, name in ((Q.Q8_0, "q8_0"), (Q.Q4_0, "q4_0"), (Q.Q4_1, "q4_1"), (Q.Q5_0, "q5_0"), (Q.Q5_1, "q5_1")):
        source = rng.normal(size=(2, 64)).astype(np.float32)
        blocks = gguf.quants.quantize(source, qtype)
        writer.add_tensor("quant." + name, blocks, raw_dtype=qtype)
        expected.append({"name": "quant." + name, "type": name, "ne": [64, 2],
                         "values_f32_bits": f32_bits(gguf.quants.dequantize(blocks, qtype))})

    bf16_values = np.array([1.0, -3.140625, 1e30, 2.0**-130], dtype=np.float32)
    bf16_bits = (bf16_values.view(np.uint32) >> 16).astype(np.uint16)
    writer.add_tensor("plain.bf16", bf16_bits.view(np.uint8), raw_dtype=Q.BF16)
    expected.append({"name": "plain.bf16", "type": "bf16", "ne": [4],
                     "values_f32_bits": f32_bits((bf16_bits.astype(np.uint32) << 16).view(np.float32))})

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    path.chmod(0o644)
    write_json(out / "reference.json", {"generator": "gguf " + gguf_version(), "alignment": 64, "tensors": expected})


def gguf_version():
    import importlib.metadata
    return importlib.metadata.version("gguf")


def write_safetensors():
    import torch
    from safetensors.torch import save_file

    out = RESOURCES / "safetensors"
    out.mkdir(parents=True, exist_ok=True)
    tensors = {
        "f32": torch.tensor([[1.5, -2.0, 3.0], [0.0, 1e-20, -7.25]], dtype=torch.float32),
        "f16": torch.tensor([1.0, -0.5, 65504.0, float("inf"), 6e-8], dtype=torch.float16),
        "bf16": torch.tensor([[3.14159, -1e20], [0.1, 7.0]], dtype=torch.bfloat16),
        "f64": torch.tensor([0.1, -1e-300], dtype=torch.float64),
        "i64": torch.tensor([1, -2, 3], dtype=torch.int64),
        "scalar": torch.tensor(2.6592, dtype=torch.float32),
    }
    save_file(tensors, str(out / "dtypes.safetensors"), metadata={"format": "pt"})
    (out / "dtypes.safetensors").chmod(0o644)
    expected = {name: {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                       "values_f32_bits": f32_bits(t.to(torch.float32).numpy()) if t.is_floating_point() else None}
                for name, t in tensors.items()}
    write_json(out / "dtypes.json", expected)


if __name__ == "__main__":
    write_gguf()
    write_safetensors()
    print("wrote", RESOURCES)
