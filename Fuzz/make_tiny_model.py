"""Writes Fuzz/model/tiny.{json,safetensors}: Pane's architecture at a few channels, random weights.

The fuzz targets that need a model (decoder, rans, manifest) use it so that one iteration costs
microseconds, not the shipped model's milliseconds; every layer type is still there.

    .venv/bin/python Fuzz/make_tiny_model.py
"""
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Training"))
import export  # noqa: E402
from model import Config, PaneNet  # noqa: E402

if __name__ == "__main__":
    torch.manual_seed(0)
    net = PaneNet(Config(N=16, M=16, Nz=8, slices=2, slice_hidden=8, head_dim=8, mlp_ratio=1))
    manifest = export.export(net, "tiny", ROOT / "Fuzz" / "model")
    print("Fuzz/model/tiny.json", manifest["sha256"])
