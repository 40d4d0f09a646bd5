"""Writes gguf-tools/src/test/resources/torch/: small checkpoints saved by PyTorch itself (torch.save),
and the values the Java reader must find in them (JSON), for TorchCheckpointTest.

Run with the project's venv: .venv/bin/python gguf-tools/src/test/python/make_torch_files.py
"""
import collections
import json
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parents[1] / "resources" / "torch"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    base = torch.randn(4, 6, generator=g)
    sd = collections.OrderedDict()
    sd["linear.weight"] = torch.nn.Parameter(torch.randn(3, 5, generator=g))  # a Parameter, as in modules
    sd["linear.bias"] = torch.randn(3, generator=g)
    sd["half"] = torch.randn(2, 8, generator=g).half()
    sd["bf16"] = torch.randn(7, generator=g).bfloat16()
    sd["double"] = torch.randn(2, 2, generator=g).double()
    sd["transposed"] = base.t()  # a view with strides (1, 6)
    sd["slice"] = base[1:3, 2:5]  # a view with an offset
    sd["scalar"] = torch.tensor(4.6052)
    sd["cube"] = torch.randn(2, 3, 4, generator=g)
    sd._metadata = collections.OrderedDict({"": {"version": 1}})  # as Module.state_dict() sets it
    torch.save(sd, OUT / "state_dict.bin")
    expected = {name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                       "values": [float(v) for v in t.detach().float().flatten()]} for name, t in sd.items()}
    (OUT / "state_dict.json").write_text(json.dumps(expected, indent=1) + "\n")
    # a training checkpoint: the weights under "state_dict", next to other things
    torch.save({"epoch": 3, "state_dict": {"w": torch.ones(2, 2)}}, OUT / "training.bin")
    # an integer tensor, which a CLIP checkpoint never has
    torch.save({"ids": torch.arange(5)}, OUT / "integers.bin")
    # the legacy (pre-1.6) format
    torch.save({"w": torch.ones(2)}, OUT / "legacy.bin", _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main()
