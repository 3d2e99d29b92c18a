"""Image metrics and Bjøntegaard delta for the Python side (evaluation only).

- PSNR on RGB: one MSE over the three 8-bit channels.
- MS-SSIM: Wang, Simoncelli & Bovik 2003; 5 scales, weights
  (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 11-tap Gaussian (σ = 1.5) without
  padding, K1 = 0.01, K2 = 0.03, data range 255, 2×2 average pooling between
  scales; the convention of CompressAI's evaluations.
- BD-rate: mean log-rate difference over the overlapping PSNR range, each curve
  interpolated with a monotone piecewise-cubic Hermite (PCHIP) of log-rate
  against quality, integrated densely.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

MS_WEIGHTS = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333], dtype=torch.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def _gauss(x, win):
    c = x.shape[1]
    x = F.conv2d(x, win.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, win.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """a, b: HxWx3 uint8 (sides ≥ 161)."""
    x = torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1).unsqueeze(0)
    y = torch.from_numpy(b.astype(np.float64)).permute(2, 0, 1).unsqueeze(0)
    coords = torch.arange(11, dtype=torch.float64) - 5
    win = torch.exp(-(coords ** 2) / (2 * 1.5 ** 2))
    win /= win.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for scale in range(5):
        mu1, mu2 = _gauss(x, win), _gauss(y, win)
        s1 = _gauss(x * x, win) - mu1 ** 2
        s2 = _gauss(y * y, win) - mu2 ** 2
        s12 = _gauss(x * y, win) - mu1 * mu2
        cs = (2 * s12 + c2) / (s1 + s2 + c2)
        ssim = ((2 * mu1 * mu2 + c1) / (mu1 ** 2 + mu2 ** 2 + c1)) * cs
        values.append(torch.relu(cs.flatten(2).mean(-1)) if scale < 4 else torch.relu(ssim.flatten(2).mean(-1)))
        if scale < 4:
            pad = (x.shape[2] % 2, x.shape[3] % 2)  # as pytorch_msssim: zero padding counted in the mean
            x = F.avg_pool2d(x, 2, padding=pad)
            y = F.avg_pool2d(y, 2, padding=pad)
    stack = torch.stack(values, dim=0)  # 5, 1, C
    return float(torch.prod(stack ** MS_WEIGHTS.view(-1, 1, 1), dim=0).mean())


def _pchip_slopes(x, y):
    h = np.diff(x)
    delta = np.diff(y) / h
    n = len(x)
    d = np.zeros(n)
    for k in range(1, n - 1):
        if delta[k - 1] * delta[k] > 0:
            w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
            d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k])
    d[0] = _end_slope(h[0], h[1] if n > 2 else h[0], delta[0], delta[1] if n > 2 else delta[0])
    d[-1] = _end_slope(h[-1], h[-2] if n > 2 else h[-1], delta[-1], delta[-2] if n > 2 else delta[-1])
    return d


def _end_slope(h0, h1, d0, d1):
    s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if np.sign(s) != np.sign(d0):
        return 0.0
    if np.sign(d0) != np.sign(d1) and abs(s) > abs(3 * d0):
        return 3 * d0
    return s


def _pchip(x, y, xs):
    d = _pchip_slopes(x, y)
    idx = np.clip(np.searchsorted(x, xs) - 1, 0, len(x) - 2)
    h = x[idx + 1] - x[idx]
    t = (xs - x[idx]) / h
    h00, h10 = 2 * t ** 3 - 3 * t ** 2 + 1, t ** 3 - 2 * t ** 2 + t
    h01, h11 = -2 * t ** 3 + 3 * t ** 2, t ** 3 - t ** 2
    return h00 * y[idx] + h10 * h * d[idx] + h01 * y[idx + 1] + h11 * h * d[idx + 1]


def bd_rate(anchor, test, samples: int = 2000):
    """Percent rate change of `test` against `anchor` at equal quality; lists of (rate, quality)."""
    a = sorted((q, math.log(r)) for r, q in anchor)
    t = sorted((q, math.log(r)) for r, q in test)
    qa, ra = np.array([p[0] for p in a]), np.array([p[1] for p in a])
    qt, rt = np.array([p[0] for p in t]), np.array([p[1] for p in t])
    lo, hi = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    if hi <= lo:
        return None
    qs = np.linspace(lo, hi, samples)
    diff = np.trapezoid(_pchip(qt, rt, qs) - _pchip(qa, ra, qs), qs) / (hi - lo)
    return (math.exp(diff) - 1) * 100
