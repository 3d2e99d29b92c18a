"""Kodak rate-distortion of the exported model from real bitstreams.

    python Training/evaluate.py                           # Python reference codec (slow, exact)
    python Training/evaluate.py --pane .build/release/pane # the Swift codec (same streams, faster)
    python Training/evaluate.py --rd-csv REPORT/rd.csv     # Pane's rows of a `pane rd` run

Every point is a real `.pane` stream: bpp = bytes·8 / pixels, PSNR and MS-SSIM of
the decoded image. Writes Training/results/kodak.json as
[{"quality", "bpp", "psnr", "msssim"}] (averages over the images at each
quality), per-image rows and BD-rates in kodak_details.json, and prints BD-rate against the classical anchors
in ../shared/anchors/kodak_classical_curves.csv.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics import bd_rate, ms_ssim, psnr  # noqa: E402
from data import DEFAULT_KODAK_DIR  # noqa: E402

ROOT = Path(__file__).resolve().parent
ANCHORS = ROOT.parent.parent / "shared" / "anchors" / "kodak_classical_curves.csv"
QUALITIES = [5, 20, 35, 50, 62, 75, 87, 100]


def swift_round_trip(binary: Path, image_path: Path, quality: float, work: Path):
    stream, decoded = work / "s.pane", work / "d.png"
    subprocess.run([str(binary), "encode", str(image_path), "-o", str(stream), "-q", str(quality), "-f"],
                   check=True, capture_output=True)
    subprocess.run([str(binary), "decode", str(stream), "-o", str(decoded), "-f"], check=True, capture_output=True)
    return stream.stat().st_size, np.asarray(Image.open(decoded).convert("RGB"))


def python_round_trip(codec, image: np.ndarray, quality: float):
    data = codec.encode(image, quality)
    decoded = codec.decode(data)[0]
    return len(data), decoded


def in_bd_range(points):
    """The (bpp, PSNR) points of an anchor curve inside the range BD-rates are taken over."""
    return [p for p in points if 0.1 <= p[0] <= 2.0]


def anchor_curves(path: Path = ANCHORS):
    curves = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            curves.setdefault(row["codec"], []).append((float(row["avg_bpp"]), float(row["avg_psnr_rgb"])))
    return curves


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pane", type=Path, help="use this Swift `pane` binary instead of the Python reference codec")
    ap.add_argument("--rd-csv", type=Path, help="take Pane's real-bitstream rows from a `pane rd` report instead")
    ap.add_argument("--images", type=int, default=24, help="first N Kodak images")
    ap.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "kodak.json")
    args = ap.parse_args(argv)
    qualities = [float(q) for q in args.qualities.split(",")]
    files = sorted(DEFAULT_KODAK_DIR.glob("kodim*.png"))[: args.images]
    if args.rd_csv:
        with open(args.rd_csv) as f:
            rows = [{"image": r["image"], "quality": float(r["quality_param"]), "bytes": int(r["bytes"]),
                     "bpp": float(r["bpp"]), "psnr": float(r["psnr_rgb"]), "msssim": float(r["msssim_rgb"])}
                    for r in csv.DictReader(f) if r["codec"] == "pane"]
        qualities = sorted({r["quality"] for r in rows})
        files = sorted({r["image"] for r in rows})
        return report(args, rows, qualities, files, "swift (pane rd)")
    codec = None
    if args.pane is None:
        import torch
        torch.set_num_threads(2)
        import codec as reference_codec
        codec = reference_codec.ReferenceCodec()
    rows = []
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            original = np.asarray(Image.open(f).convert("RGB"))
            for q in qualities:
                if codec is None:
                    size, decoded = swift_round_trip(args.pane, f, q, Path(tmp))
                else:
                    size, decoded = python_round_trip(codec, original, q)
                rows.append({"image": f.name, "quality": q, "bytes": size,
                             "bpp": size * 8 / (original.shape[0] * original.shape[1]),
                             "psnr": psnr(original, decoded), "msssim": ms_ssim(original, decoded)})
            print(f"{f.name}: done ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    return report(args, rows, qualities, files, "swift" if args.pane else "python-reference")


def report(args, rows, qualities, files, source):
    curve = []
    for q in qualities:
        sel = [r for r in rows if r["quality"] == q]
        curve.append({"quality": q, "bpp": float(np.mean([r["bpp"] for r in sel])),
                      "psnr": float(np.mean([r["psnr"] for r in sel])),
                      "msssim": float(np.mean([r["msssim"] for r in sel]))})
    pane = [(c["bpp"], c["psnr"]) for c in curve]
    anchors = anchor_curves()
    bd = {name: bd_rate(in_bd_range(pts), pane) for name, pts in anchors.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(curve, indent=1) + "\n")
    details = {"codec": source, "images": len(files),
               "bd_rate_psnr_vs": bd, "per_image": rows}
    args.out.with_name(args.out.stem + "_details.json").write_text(json.dumps(details, indent=1) + "\n")
    for c in curve:
        print(f"q{c['quality']:5.1f}: {c['bpp']:.4f} bpp  {c['psnr']:.2f} dB  MS-SSIM {c['msssim']:.4f}")
    for name, v in bd.items():
        print(f"BD-rate vs {name}: {'n/a' if v is None else f'{v:+.1f}%'}")


if __name__ == "__main__":
    main()
