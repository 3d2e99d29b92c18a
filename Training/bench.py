"""Swift fp32 transforms beside PyTorch's on the same image, in one run.

    python Training/bench.py [--image Samples/kodim23.png] [--pane .build/release/pane] [--threads 2]

Times PyTorch fp32 eager g_a and g_s (median of --repeats, torch threads = --threads) on the
exported model's weights, then `pane bench --json` on the same image, and prints both with
the ratio. The two run one after the other, so load on the machine affects both alike.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import codec as reference  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", type=Path, default=ROOT / "Samples" / "kodim23.png")
    ap.add_argument("--pane", type=Path, default=ROOT / ".build" / "release" / "pane")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quality", type=float, default=75)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    net = reference.Codec().net.eval()
    img = np.asarray(Image.open(args.image).convert("RGB"))
    x = torch.from_numpy(img.copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    times = {"g_a": [], "g_s": []}
    with torch.no_grad():
        pos = torch.tensor([net.quality_to_position(args.quality)])
        gain, inv = net.gains_at(pos)
        for _ in range(args.repeats):
            t = time.perf_counter()
            y = net.g_a(x)
            times["g_a"].append((time.perf_counter() - t) * 1e3)
            y_hat = torch.round(y * gain[:, :, None, None]) * inv[:, :, None, None]
            t = time.perf_counter()
            net.g_s(y_hat)
            times["g_s"].append((time.perf_counter() - t) * 1e3)
    torch_ms = {k: statistics.median(v) for k, v in times.items()}
    out = subprocess.run([str(args.pane), "bench", str(args.image), "--json", "--repeats", str(args.repeats),
                          "--threads", str(args.threads), "-q", str(args.quality)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    swift = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{args.image.name} {swift['width']}x{swift['height']}, {args.threads} threads, median of {args.repeats}")
    print("| transform | PyTorch fp32 eager | Pane Swift fp32 | speed-up |")
    print("|---|---|---|---|")
    for k in ("g_a", "g_s"):
        s = swift[f"{k}_ms"]
        print(f"| {k} ({swift[f'{k}_gmac']:.2f} GMAC) | {torch_ms[k]:.0f} ms | {s:.0f} ms | {torch_ms[k] / s:.2f}x |")
    print()
    print(f"whole encode {swift['encode_ms']:.0f} ms, decode {swift['decode_ms']:.0f} ms (Swift, incl. PNG I/O and entropy coding)")


if __name__ == "__main__":
    main()
