"""Real streams against the model: for each image and quality, the size of the `.pane`
stream against the model's likelihood estimate (plus container overhead), and the decoded
PSNR against the float forward pass (`pane preview`).

    python Training/check_roundtrip.py [--images 24] [--qualities 0,20,40,60,80,100]
    python Training/check_roundtrip.py --rd-csv REPORT/rd.csv   # streams already measured by `pane rd`

With --rd-csv the stream sizes and decoded PSNRs come from Pane's rows of a `pane rd` report
(same streams); the container overhead is then the fixed header and section framing.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DEFAULT_KODAK_DIR  # noqa: E402
from metrics import psnr  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pane", type=Path, default=ROOT / ".build" / "release" / "pane")
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--qualities", default="0,20,40,60,80,100")
    ap.add_argument("--rd-csv", type=Path)
    args = ap.parse_args(argv)
    if args.rd_csv:
        return from_report(args)
    files = sorted(DEFAULT_KODAK_DIR.glob("kodim*.png"))[: args.images]
    worst_rate, worst_psnr, n = 0.0, 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        stream, decoded = Path(tmp) / "s.pane", Path(tmp) / "d.png"
        for f in files:
            original = np.asarray(Image.open(f).convert("RGB"))
            pixels = original.shape[0] * original.shape[1]
            for q in args.qualities.split(","):
                pv = json.loads(subprocess.run([str(args.pane), "preview", str(f), "-q", q, "--json"], check=True,
                                               capture_output=True, text=True, cwd=ROOT).stdout)
                subprocess.run([str(args.pane), "encode", str(f), "-o", str(stream), "-q", q, "-f"], check=True,
                               capture_output=True, cwd=ROOT)
                subprocess.run([str(args.pane), "decode", str(stream), "-o", str(decoded), "-f"], check=True,
                               capture_output=True, cwd=ROOT)
                info = json.loads(subprocess.run([str(args.pane), "info", str(stream), "--json"], check=True,
                                                 capture_output=True, text=True, cwd=ROOT).stdout)
                overhead = stream.stat().st_size - sum(s["bytes"] for s in info["sections"])
                actual = stream.stat().st_size * 8 / pixels
                expected = pv["estimated_bpp"] + overhead * 8 / pixels
                p = psnr(original, np.asarray(Image.open(decoded).convert("RGB")))
                rate_err = (actual - expected) / expected * 100
                worst_rate = max(worst_rate, abs(rate_err))
                worst_psnr = max(worst_psnr, abs(p - pv["psnr"]))
                n += 1
                print(f"{f.name} q{q}: {actual:.4f} bpp vs estimate {expected:.4f} ({rate_err:+.2f}%), "
                      f"PSNR {p:.3f} vs float {pv['psnr']:.3f}", flush=True)
    print(f"{n} streams: worst rate deviation {worst_rate:.2f}%, worst PSNR deviation {worst_psnr:.3f} dB")


HEADER_BYTES = 32   # PaneBitstream Format.headerSize
SECTION_BYTES = 14  # type, tile, slice, length, CRC around each payload


def from_report(args):
    with open(args.rd_csv) as f:
        rows = [r for r in csv.DictReader(f) if r["codec"] == "pane"]
    worst_rate, worst_psnr = 0.0, 0.0
    for r in rows:
        path = DEFAULT_KODAK_DIR / r["image"]
        pv = json.loads(subprocess.run([str(args.pane), "preview", str(path), "-q", r["quality_param"], "--json"],
                                       check=True, capture_output=True, text=True, cwd=ROOT).stdout)
        pixels = int(r["width"]) * int(r["height"])
        sections = 1 + 4  # z and the y slices of the shipped model (no alpha in Kodak)
        expected = pv["estimated_bpp"] + (HEADER_BYTES + SECTION_BYTES * sections) * 8 / pixels
        actual = float(r["bpp"])
        rate_err = (actual - expected) / expected * 100
        worst_rate = max(worst_rate, abs(rate_err))
        worst_psnr = max(worst_psnr, abs(float(r["psnr_rgb"]) - pv["psnr"]))
        print(f"{r['image']} q{r['quality_param']}: {actual:.4f} bpp vs estimate {expected:.4f} ({rate_err:+.2f}%), "
              f"PSNR {float(r['psnr_rgb']):.3f} vs float {pv['psnr']:.3f}", flush=True)
    print(f"{len(rows)} streams: worst rate deviation {worst_rate:.2f}%, worst PSNR deviation {worst_psnr:.3f} dB")


if __name__ == "__main__":
    main()
