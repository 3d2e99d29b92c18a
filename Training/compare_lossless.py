"""`pane encode --lossless` against PNG on a set of images: size against the original file and
against the decoded 8-bit pixels (what pane read: 16-bit reduced, tRNS as alpha) written by Pillow
at zlib level 9. Exactness is asserted by the Swift tests (LosslessTests) on the same images.

    python Training/compare_lossless.py Tests/PaneImageIOTests/Fixtures/pngsuite [--pane .build/release/pane]
    python Training/compare_lossless.py DIR --quality 90      # the default encoder at -q 90 instead

Prints one row per image and the totals. With --quality, each row also has the PSNR of the
decoded image against the exact one (inf: exact, the lossless fallback took every tile).
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image



def png9_size(pixels: np.ndarray) -> int:
    buffer = io.BytesIO()
    Image.fromarray(pixels.squeeze()).save(buffer, format="PNG", compress_level=9)
    return buffer.tell()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", type=Path, nargs="+", help="PNG files or directories of them")
    ap.add_argument("--pane", type=Path, default=Path(".build/release/pane"))
    ap.add_argument("--quality", type=float, default=None, help="encode with -q this instead of --lossless")
    args = ap.parse_args(argv)
    files = sorted(p for i in args.inputs for p in ([i] if i.is_file() else i.glob("*.png")))
    totals = [0, 0, 0]
    rows, larger, under30 = 0, 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        stream, decoded = Path(tmp) / "x.pane", Path(tmp) / "x.png"
        for path in files:
            run = subprocess.run([str(args.pane), "encode", str(path), "--lossless", "-o", str(stream), "-f"],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                continue  # an image pane refuses (broken PngSuite files): not a lossless case
            subprocess.run([str(args.pane), "decode", str(stream), "-o", str(decoded), "-f"], check=True)
            pixels = np.asarray(Image.open(decoded))
            quality = ""
            if args.quality is not None:
                lossy = Path(tmp) / "q.pane"
                subprocess.run([str(args.pane), "encode", str(path), "-q", str(args.quality), "-o", str(lossy), "-f"],
                               check=True, capture_output=True)
                subprocess.run([str(args.pane), "decode", str(lossy), "-o", str(decoded), "-f"], check=True)
                test = np.asarray(Image.open(decoded)).astype(np.float64)
                mse = np.mean((test - pixels.astype(np.float64)) ** 2)
                psnr = float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)
                under30 += psnr < 30
                quality = f"  PSNR {psnr:6.2f}"
                stream = lossy
            sizes = [stream.stat().st_size, path.stat().st_size, png9_size(pixels)]
            totals = [t + s for t, s in zip(totals, sizes)]
            rows += 1
            larger += sizes[0] > sizes[2]
            print(f"{path.name:28s} pane {sizes[0]:7d}  file {sizes[1]:7d}  png9 {sizes[2]:7d}  "
                  f"pane/png9 {sizes[0] / sizes[2]:.3f}{quality}")
            stream = Path(tmp) / "x.pane"
    tail = f"; {under30} under 30 dB" if args.quality is not None else ""
    print(f"{rows} images: pane {totals[0]} bytes, original files {totals[1]}, Pillow PNG level 9 {totals[2]} "
          f"(pane/png9 {totals[0] / max(totals[2], 1):.3f}); {larger} larger than their PNG level 9{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
