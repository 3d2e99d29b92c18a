"""Metrics used by evaluate.py, on hand-computed cases."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from metrics import bd_rate, ms_ssim, psnr  # noqa: E402

CURVE = [(0.2, 26.0), (0.4, 29.0), (0.8, 32.0), (1.2, 34.0)]


def test_bd_rate_identical_curves_is_zero():
    assert abs(bd_rate(CURVE, CURVE)) < 1e-9


def test_bd_rate_half_rate_is_minus_fifty():
    assert abs(bd_rate(CURVE, [(r / 2, q) for r, q in CURVE]) + 50) < 1e-9


def test_bd_rate_without_overlap_is_none():
    assert bd_rate(CURVE, [(r, q + 20) for r, q in CURVE]) is None


def test_psnr_known_value():
    a = np.zeros((4, 4, 3), dtype=np.uint8)
    b = np.full((4, 4, 3), 10, dtype=np.uint8)
    assert abs(psnr(a, b) - 10 * np.log10(255 ** 2 / 100)) < 1e-12
    assert psnr(a, a) == float("inf")


def test_ms_ssim_bounds():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (176, 176, 3), dtype=np.uint8)
    noisy = np.clip(a.astype(int) + rng.integers(-30, 31, a.shape), 0, 255).astype(np.uint8)
    assert abs(ms_ssim(a, a) - 1) < 1e-12
    assert 0 < ms_ssim(a, noisy) < 1
