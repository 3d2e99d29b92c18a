"""Training crops from ../shared/data/train (never Kodak).

All photos are decoded once into memory at two scales (full and a random
0.5-0.8 downscale, which removes sensor noise and JPEG texture), and cached as
one uint8 .npz under Training/cache/ so later runs start in seconds. Crops,
flips and batching are then cheap tensor indexing in the training process.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent


def shared_dir() -> Path:
    """The project's shared/ folder: $PANE_SHARED, else ../shared beside the repository, else /work/shared."""
    candidates = [Path(p) for p in [os.environ.get("PANE_SHARED")] if p]
    candidates += [ROOT.parent.parent / "shared", Path("/work/shared")]
    for c in candidates:
        if (c / "data").is_dir():
            return c
    return candidates[0]


DEFAULT_TRAIN_DIR = shared_dir() / "data" / "train"
DEFAULT_KODAK_DIR = shared_dir() / "data" / "kodak"
CACHE = ROOT / "cache"


def list_images(directory: Path):
    exts = {".jpg", ".jpeg", ".png"}
    files = sorted(p for p in Path(directory).iterdir() if p.suffix.lower() in exts)
    if any("kodim" in p.name for p in files):
        raise ValueError("Kodak images must never be used for training")
    return files


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class CropSampler:
    """Random crop × flip sampler over in-memory images."""

    def __init__(self, directory: Path = DEFAULT_TRAIN_DIR, crop: int = 128, seed: int = 0,
                 limit: int | None = None, cache: bool = True):
        self.crop = crop
        self.rng = random.Random(seed)
        self.images = self._load(Path(directory), limit, seed, cache)
        self.images = [im for im in self.images if im.shape[0] >= crop and im.shape[1] >= crop]
        if not self.images:
            raise ValueError(f"no training image of at least {crop}x{crop} in {directory}")
        # Sample images in proportion to their area so every pixel is equally likely.
        areas = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        self.weights = (areas / areas.sum()).tolist()

    def _load(self, directory, limit, seed, cache):
        files = list_images(directory)[:limit]
        key = CACHE / f"crops_{directory.name}_{len(files)}_{seed}.npz"
        if cache and key.exists():
            data = np.load(key)
            return [data[k] for k in sorted(data.files, key=lambda s: int(s[1:]))]
        rng = random.Random(seed)
        images = []
        for f in files:
            img = load_rgb(f)
            images.append(img)
            factor = rng.uniform(0.5, 0.8)
            h, w = img.shape[:2]
            small = Image.fromarray(img).resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.BICUBIC)
            images.append(np.asarray(small))
        if cache:
            CACHE.mkdir(exist_ok=True)
            np.savez(key, **{f"i{i}": im for i, im in enumerate(images)})
        return images

    def batch(self, size: int) -> torch.Tensor:
        """(size, 3, crop, crop) float tensor in [0, 1]."""
        out = np.empty((size, self.crop, self.crop, 3), dtype=np.uint8)
        picks = self.rng.choices(range(len(self.images)), weights=self.weights, k=size)
        for n, idx in enumerate(picks):
            im = self.images[idx]
            y = self.rng.randrange(im.shape[0] - self.crop + 1)
            x = self.rng.randrange(im.shape[1] - self.crop + 1)
            patch = im[y:y + self.crop, x:x + self.crop]
            if self.rng.random() < 0.5:
                patch = patch[:, ::-1]
            out[n] = patch
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)


def load_kodak(directory: Path = DEFAULT_KODAK_DIR, limit: int | None = None):
    files = sorted(Path(directory).glob("kodim*.png"))[:limit]
    return [(f.name, torch.from_numpy(load_rgb(f).copy()).permute(2, 0, 1).float().div(255.0)) for f in files]
