"""Copies a subset of the training photos (never Kodak) into Training/gpu_data/ so that the
data and the checkpoint together fit the 64 MiB a lent GPU machine accepts.

    python Training/gpu_subset.py [--budget-mb 48]

Then, on the GPU machine (the device tool, carry ["Training/gpu_data"]):

    python Training/train.py --minutes 8 --resume --device cuda --batch 32 --crop 256 \\
        --data Training/gpu_data --no-kodak --autocast --threads 16

and bring Training/checkpoint.pt and Training/log.csv back under $OUT.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DEFAULT_TRAIN_DIR, list_images  # noqa: E402

OUT = Path(__file__).resolve().parent / "gpu_data"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-mb", type=float, default=48)
    args = ap.parse_args(argv)
    files = list_images(DEFAULT_TRAIN_DIR)
    # Every k-th photo, so every source group of the set is represented.
    total = sum(f.stat().st_size for f in files)
    step = max(1, int(total / (args.budget_mb * 2 ** 20)) + 1)
    OUT.mkdir(exist_ok=True)
    chosen = files[::step]
    for f in chosen:
        shutil.copy2(f, OUT / f.name)
    size = sum((OUT / f.name).stat().st_size for f in chosen)
    print(f"{len(chosen)} photos, {size / 2 ** 20:.1f} MiB in {OUT}")


if __name__ == "__main__":
    main()
