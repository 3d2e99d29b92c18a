#!/usr/bin/env python3
"""Reference PSNR, MS-SSIM and BD-rate numbers for MetricsTests.swift.

MS-SSIM follows pytorch_msssim.ms_ssim (the CompressAI evaluation convention)
step by step with torch ops in float64: separable 11-tap Gaussian (sigma 1.5)
as grouped conv2d with no padding, K1 = 0.01, K2 = 0.03, data range 255,
avg_pool2d(2, padding = side % 2) between scales, relu on the cs terms and the
last SSIM, weighted product, mean over channels. BD-rate uses SciPy's PCHIP
slopes (re-implemented here) and dense trapezoidal integration, independent of
the closed-form integral in BDRate.swift.

Run: /work/main/.venv/bin/python reference_metrics.py
"""
import numpy as np
import torch
import torch.nn.functional as F

WIDTH, HEIGHT = 200, 168  # odd sides at scales 4 and 5 exercise the pooling pad
WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]


def mix(x, y, c):
    h = ((x * 73856093) ^ (y * 19349663) ^ (c * 83492791)) & 0xFFFFFFFF
    return ((h * 2654435761) & 0xFFFFFFFF) >> 7


def reference_image():
    """ref[c][y][x] = ((5x + 3y + 50c) xor (x*y >> 5)) & 255."""
    return np.array([[[((5 * x + 3 * y + 50 * c) ^ ((x * y) >> 5)) & 255 for x in range(WIDTH)]
                      for y in range(HEIGHT)] for c in range(3)], dtype=np.float64)


def noisy_image(ref):
    """ref + (mix(x, y, c) % 41 - 20), clamped to 0...255."""
    noise = np.array([[[mix(x, y, c) % 41 - 20 for x in range(WIDTH)] for y in range(HEIGHT)] for c in range(3)])
    return np.clip(ref + noise, 0, 255)


def posterized_image(ref):
    """ref // 32 * 32 + 16."""
    return ref // 32 * 32 + 16


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse)


def gaussian_filter(x, win):
    channels = x.shape[1]
    out = F.conv2d(x, win.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(out, win.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def ssim_terms(x, y, win):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = gaussian_filter(x, win), gaussian_filter(y, win)
    sigma1 = gaussian_filter(x * x, win) - mu1 ** 2
    sigma2 = gaussian_filter(y * y, win) - mu2 ** 2
    sigma12 = gaussian_filter(x * y, win) - mu1 * mu2
    cs_map = (2 * sigma12 + c2) / (sigma1 + sigma2 + c2)
    ssim_map = ((2 * mu1 * mu2 + c1) / (mu1 ** 2 + mu2 ** 2 + c1)) * cs_map
    return ssim_map.flatten(2).mean(-1), cs_map.flatten(2).mean(-1)


def ms_ssim(a, b):
    coords = torch.arange(11, dtype=torch.float64) - 5
    win = torch.exp(-(coords ** 2) / (2 * 1.5 ** 2))
    win /= win.sum()
    x, y = torch.from_numpy(a)[None], torch.from_numpy(b)[None]
    mcs = []
    for i in range(len(WEIGHTS)):
        ssim, cs = ssim_terms(x, y, win)
        if i < len(WEIGHTS) - 1:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=padding)
            y = F.avg_pool2d(y, kernel_size=2, padding=padding)
    stacked = torch.stack(mcs + [torch.relu(ssim)], dim=0)
    weights = torch.tensor(WEIGHTS, dtype=torch.float64).view(-1, 1, 1)
    return torch.prod(stacked ** weights, dim=0).mean().item()


def pchip_slopes(x, y):
    h, m = np.diff(x), np.diff(y) / np.diff(x)
    if len(x) == 2:
        return np.array([m[0], m[0]])
    d = np.zeros(len(x))
    for k in range(1, len(x) - 1):
        if np.sign(m[k - 1]) != np.sign(m[k]) or m[k - 1] == 0 or m[k] == 0:
            continue
        w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
        d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k])

    def edge(h0, h1, m0, m1):
        e = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        if np.sign(e) != np.sign(m0):
            return 0.0
        if np.sign(m0) != np.sign(m1) and abs(e) > 3 * abs(m0):
            return 3 * m0
        return e

    d[0] = edge(h[0], h[1], m[0], m[1])
    d[-1] = edge(h[-1], h[-2], m[-1], m[-2])
    return d


def pchip_eval(x, y, d, t):
    k = np.clip(np.searchsorted(x, t, side="right") - 1, 0, len(x) - 2)
    h = x[k + 1] - x[k]
    s = (t - x[k]) / h
    return ((2 * s ** 3 - 3 * s ** 2 + 1) * y[k] + (s ** 3 - 2 * s ** 2 + s) * h * d[k]
            + (-2 * s ** 3 + 3 * s ** 2) * y[k + 1] + (s ** 3 - s ** 2) * h * d[k + 1])


def bd_rate(anchor, test):
    curves = []
    for points in (anchor, test):
        points = sorted(points, key=lambda p: p[1])
        x = np.array([p[1] for p in points])
        y = np.log([p[0] for p in points])
        curves.append((x, y, pchip_slopes(x, y)))
    low = max(c[0][0] for c in curves)
    high = min(c[0][-1] for c in curves)
    t = np.linspace(low, high, 2_000_001)
    areas = [np.trapezoid(pchip_eval(x, y, d, t), t) for x, y, d in curves]
    return 100 * (np.exp((areas[1] - areas[0]) / (high - low)) - 1)


# Rate (bpp) and PSNR (dB) of two made-up codecs; the test curve is not monotone
# in slope, so interior and end slopes both take their limited branches.
ANCHOR = [(0.12, 27.1), (0.25, 29.8), (0.5, 32.6), (0.9, 35.0), (1.6, 37.9)]
TEST = [(0.10, 27.9), (0.21, 30.4), (0.43, 33.5), (0.80, 35.4), (1.35, 38.4), (2.0, 39.0)]

if __name__ == "__main__":
    ref = reference_image()
    for name, other in (("noisy", noisy_image(ref)), ("posterized", posterized_image(ref))):
        print(f"{name}: psnr {psnr(ref, other):.10f}  ms_ssim {ms_ssim(ref, other):.10f}")
    print(f"bd_rate {bd_rate(ANCHOR, TEST):.10f}")
