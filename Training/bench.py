"""Swift fp32 and int8 transforms beside PyTorch's on the same image, in one run.

    python Training/bench.py [--image Samples/kodim23.png] [--pane .build/release/pane] [--threads 2]
    python Training/bench.py --kodak ../shared/data/kodak      # plus whole-process medians on Kodak

Times PyTorch fp32 eager g_a and g_s (median of --repeats, torch threads = --threads) on the
exported model's weights, then `pane bench --json` on the same image with Models/pane.json (fp32)
and Models/pane-int8.json, and prints the times with the ratios. Everything runs one after the
other, so load on the machine affects all alike. With --kodak, also the median over the
directory's images of whole `pane encode` / `pane decode` processes (PNG in, PNG out) for both
models, beside the classical codecs' times from ../shared/anchors (same machine kind).
"""
from __future__ import annotations

import argparse
import csv
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
    ap.add_argument("--kodak", type=Path, help="also time whole encode/decode processes on these PNGs")
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
    runs = {}
    for kind, model in (("fp32", "pane.json"), ("int8", "pane-int8.json")):
        out = subprocess.run([str(args.pane), "bench", str(args.image), "--json", "--repeats", str(args.repeats),
                              "--threads", str(args.threads), "-q", str(args.quality),
                              "--model", str(ROOT / "Models" / model)],
                             check=True, capture_output=True, text=True, cwd=ROOT)
        runs[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    swift = runs["fp32"]
    print(f"{args.image.name} {swift['width']}x{swift['height']}, {args.threads} threads, median of {args.repeats}")
    print()
    fp32, int8 = label("pane.json"), label("pane-int8.json")
    print(f"| transform | PyTorch fp32 eager | Pane {fp32} | Pane {int8} | {int8} vs PyTorch |")
    print("|---|---|---|---|---|")
    for k in ("g_a", "g_s"):
        a, b = runs["fp32"][f"{k}_ms"], runs["int8"][f"{k}_ms"]
        print(f"| {k} ({swift[f'{k}_gmac']:.2f} GMAC) | {torch_ms[k]:.0f} ms | {a:.0f} ms | {b:.0f} ms | "
              f"{torch_ms[k] / b:.2f}x |")
    print()
    print(f"| stage | Pane {fp32} | Pane {int8} |")
    print("|---|---|---|")
    for stage in ("load_model", "read", "g_a", "entropy_encode", "entropy_decode", "g_s", "write_png", "encode", "decode"):
        print(f"| {stage.replace('_', ' ')} | {runs['fp32'][stage + '_ms']:.0f} ms | {runs['int8'][stage + '_ms']:.0f} ms |")
    if args.kodak:
        print()
        whole_process_table(args)


def label(model: str) -> str:
    """'fp32' or 'int8', with '+ pruned' when the manifest's config records pruned widths."""
    cfg = json.loads((ROOT / "Models" / model).read_text()).get("config", {})
    kind = "int8" if "int8" in model else "fp32"
    return f"{kind} + pruned" if cfg.get("mlp_hidden") or cfg.get("attn_heads") else kind


def whole_process_table(args):
    """Median whole-process times over the images of args.kodak, with the anchors' codecs."""
    import tempfile

    images = sorted(args.kodak.glob("*.png"))
    rows = []
    for model in ("pane.json", "pane-int8.json"):
        enc, dec = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for img in images:
                stream, png = Path(tmp) / "a.pane", Path(tmp) / "a.png"
                for times, cmd in ((enc, ["encode", str(img), "-o", str(stream), "-q", str(args.quality), "-f"]),
                                   (dec, ["decode", str(stream), "-o", str(png), "-f"])):
                    t = time.perf_counter()
                    subprocess.run([str(args.pane), *cmd, "--model", str(ROOT / "Models" / model),
                                    "--threads", str(args.threads)], check=True,
                                   capture_output=True, cwd=ROOT)
                    times.append((time.perf_counter() - t) * 1e3)
        rows.append((f"Pane {label(model)} (q{args.quality:g})", statistics.median(enc), statistics.median(dec)))
    anchors = ROOT.parent / "shared" / "anchors" / "kodak_classical_curves.csv"
    if anchors.exists():
        best = {}
        with open(anchors) as f:
            for r in csv.DictReader(f):
                gap = abs(float(r["avg_bpp"]) - 0.5)
                if r["codec"] in ("jpeg_turbo", "webp", "jxl", "avif", "bpg") and gap < best.get(r["codec"], (9, None))[0]:
                    best[r["codec"]] = (gap, r)
        for codec, (_, r) in sorted(best.items()):
            rows.append((f"{codec} (anchors, {float(r['avg_bpp']):.2f} bpp)", float(r["median_enc_s"]) * 1e3,
                         float(r["median_dec_s"]) * 1e3))
    print(f"Whole process, median over {len(images)} images of {args.kodak} ({args.threads} threads):")
    print()
    print("| codec | encode | decode |")
    print("|---|---|---|")
    for name, e, d in rows:
        print(f"| {name} | {e:.0f} ms | {d:.0f} ms |")


if __name__ == "__main__":
    main()
