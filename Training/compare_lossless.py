"""`pane encode --lossless` against PNG on a set of images: size against the original file and
against the decoded 8-bit pixels (what pane read: 16-bit reduced, tRNS as alpha) written by Pillow
at zlib level 9. Exactness is asserted by the Swift tests (LosslessTests) on the same images.

    python Training/compare_lossless.py Tests/PaneImageIOTests/Fixtures/pngsuite [--pane .build/release/pane]

Prints one row per image and the totals.
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
    args = ap.parse_args(argv)
    files = sorted(p for i in args.inputs for p in ([i] if i.is_file() else i.glob("*.png")))
    totals = [0, 0, 0]
    rows, larger = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        stream, decoded = Path(tmp) / "x.pane", Path(tmp) / "x.png"
        for path in files:
            run = subprocess.run([str(args.pane), "encode", str(path), "--lossless", "-o", str(stream), "-f"],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                continue  # an image pane refuses (broken PngSuite files): not a lossless case
            subprocess.run([str(args.pane), "decode", str(stream), "-o", str(decoded), "-f"], check=True)
            pixels = np.asarray(Image.open(decoded))
            sizes = [stream.stat().st_size, path.stat().st_size, png9_size(pixels)]
            totals = [t + s for t, s in zip(totals, sizes)]
            rows += 1
            larger += sizes[0] > sizes[2]
            print(f"{path.name:28s} pane {sizes[0]:7d}  file {sizes[1]:7d}  png9 {sizes[2]:7d}  "
                  f"pane/png9 {sizes[0] / sizes[2]:.3f}")
    print(f"{rows} images: pane {totals[0]} bytes, original files {totals[1]}, Pillow PNG level 9 {totals[2]} "
          f"(pane/png9 {totals[0] / max(totals[2], 1):.3f}); {larger} larger than their PNG level 9")
    return 0


if __name__ == "__main__":
    sys.exit(main())
