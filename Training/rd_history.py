"""Kodak BD-rate of every shipped model against the classical anchors, by training iteration.

    python Training/rd_history.py                    # every commit of the RD report
    python Training/rd_history.py --it-per-hour 11000 --fit-from 53000

Walks the git history of `Training/results/kodak-rd/rd.csv` (the real-bitstream report that
`pane rd` writes when a model is shipped) with the iteration count recorded in `Models/pane.json`
at the same commit, and prints, for each shipped model, its BD-rate (PSNR) against JPEG, WebP,
JPEG XL, AVIF, BPG and HEVC intra (the anchors of ../shared/anchors).

Then it fits ln(1 + BD-rate) = a + b·log10(iterations) (the rate ratio's logarithm) to the models from `--fit-from` on (the same
architecture; earlier models had a narrower latent) and, where the slope is negative, extrapolates
the iteration count at which each anchor's BD-rate would reach 0, and what that is in hours at
`--it-per-hour`. That is a trend line through a few points, not a promise: it says how far the
compute at hand is from each target, which is what issue 9 asks to be shown when a target is out
of reach.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import ANCHORS, anchor_curves, in_bd_range  # noqa: E402
from metrics import bd_rate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
REPORT = "Training/results/kodak-rd/rd.csv"
ANCHOR_NAMES = {"jpeg_turbo": "JPEG", "webp": "WebP", "jxl": "JPEG XL", "avif": "AVIF s6", "bpg": "BPG",
                "hevc_x265": "HEVC"}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout


def pane_curve(text: str) -> list[tuple[float, float]]:
    """Average (bpp, PSNR) per quality of the `pane` rows of a `pane rd` CSV."""
    by_quality: dict[float, list[tuple[float, float]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["codec"] == "pane":
            by_quality.setdefault(float(row["quality_param"]), []).append((float(row["bpp"]), float(row["psnr_rgb"])))
    return [(float(np.mean([p[0] for p in v])), float(np.mean([p[1] for p in v])))
            for _, v in sorted(by_quality.items())]


def history(anchor_points: dict[str, list[tuple[float, float]]], path: str = REPORT) -> list[dict]:
    """One entry per commit that changed the report, oldest first (latest working-tree report last
    when it differs from HEAD's), with its BD-rate against each of `anchor_points` ((bpp, PSNR)
    curves by codec name)."""
    anchors = {k: in_bd_range(v) for k, v in anchor_points.items()}
    entries = []
    commits = git("log", "--reverse", "--format=%h", "--", path).split()
    sources = [(c, git("show", f"{c}:{path}"), git("show", f"{c}:Models/pane.json")) for c in commits]
    work, model = REPO / path, REPO / "Models/pane.json"
    if work.exists() and (not sources or work.read_text() != sources[-1][1]):
        sources.append(("work tree", work.read_text(), model.read_text()))
    for commit, report, manifest in sources:
        iterations = json.loads(manifest).get("iterations")
        curve = pane_curve(report)
        if iterations is None or len(curve) < 4:
            continue
        bd = {name: bd_rate(points, curve) for name, points in anchors.items()}
        entries.append({"commit": commit, "iterations": int(iterations), "bd": bd})
    return entries


def fit(entries: list[dict], name: str) -> tuple[float, float] | None:
    points = [(math.log10(e["iterations"]), math.log1p(e["bd"][name] / 100))
              for e in entries if e["bd"].get(name) is not None]
    if len(points) < 2:
        return None
    x, y = np.array(points).T
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit-from", type=int, default=53000,
                    help="fit the trend to models of at least this many iterations (default: the M = 192 models)")
    ap.add_argument("--it-per-hour", type=float, default=11000,
                    help="training speed for the hours column (default: 2-core CPU, bf16 autocast, 2×256² crops)")
    ap.add_argument("--anchors", type=Path, default=ANCHORS, help="the classical codecs' Kodak curves (CSV)")
    args = ap.parse_args(argv)
    if not args.anchors.exists():
        sys.exit(f"no anchor curves at {args.anchors} (pass --anchors)")
    entries = history({k: v for k, v in anchor_curves(args.anchors).items() if k in ANCHOR_NAMES})
    if not entries:
        sys.exit(f"no history of {REPORT} in git")
    names = [n for n in ANCHOR_NAMES if any(e["bd"].get(n) is not None for e in entries)]
    print("| commit | iterations | " + " | ".join(f"vs {ANCHOR_NAMES[n]}" for n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for e in entries:
        cells = ["n/a" if e["bd"].get(n) is None else f"{e['bd'][n]:+.1f}%" for n in names]
        print(f"| {e['commit']} | {e['iterations']:,} | " + " | ".join(cells) + " |")
    recent = [e for e in entries if e["iterations"] >= args.fit_from]
    last = max(e["iterations"] for e in entries)
    print(f"\nTrend ln(1 + BD) = a + b·log10(iterations), fitted to {len(recent)} models from {args.fit_from:,} iterations on;"
          f" hours at {args.it_per_hour:,.0f} it/h beyond the latest model ({last:,}):")
    for n in names:
        ab = fit(recent, n)
        if ab is None:
            print(f"  {ANCHOR_NAMES[n]}: too few points")
            continue
        a, b = ab
        per_doubling = 100 * math.expm1(b * math.log10(2))
        if b >= 0:
            print(f"  {ANCHOR_NAMES[n]}: {per_doubling:+.1f} % rate per doubling of iterations: no crossing")
            continue
        cross = 10 ** (-a / b)
        hours = max(0.0, (cross - last) / args.it_per_hour)
        when = "already below 0" if cross <= last else f"0% at ~{cross:,.0f} iterations (~{hours:,.0f} h more)"
        print(f"  {ANCHOR_NAMES[n]}: {per_doubling:+.1f} % rate per doubling of iterations; {when}")


if __name__ == "__main__":
    main()
