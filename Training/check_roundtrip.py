"""Real streams against the model: for each image and quality, the size of the `.pane`
stream against the model's likelihood estimate (plus container overhead), and the decoded
PSNR against the float forward pass (`pane preview`).

    python Training/check_roundtrip.py [--images 24] [--qualities 0,20,40,60,80,100]
"""
from __future__ import annotations

import argparse
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
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    main()
