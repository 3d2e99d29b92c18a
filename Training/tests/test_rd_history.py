"""Tests of rd_history.py: the averaging of `pane rd` rows, the trend fit and its crossing."""
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import rd_history  # noqa: E402

HEADER = "codec,quality_param,image,width,height,bytes,bpp,psnr_rgb,msssim_rgb,enc_s,dec_s\n"


def test_pane_curve_averages_pane_rows_per_quality_in_quality_order():
    rows = [
        "pane,50,a.png,8,8,10,0.4,30.0,0.9,0,0",
        "jpeg_turbo,50,a.png,8,8,10,9.0,99.0,0.9,0,0",   # other codecs are ignored
        "pane,0,a.png,8,8,10,0.1,25.0,0.9,0,0",
        "pane,50,b.png,8,8,10,0.6,32.0,0.9,0,0",
        "pane,0,b.png,8,8,10,0.3,27.0,0.9,0,0",
    ]
    curve = rd_history.pane_curve(HEADER + "\n".join(rows) + "\n")
    assert curve == [pytest.approx((0.2, 26.0)), pytest.approx((0.5, 31.0))]


def test_fit_recovers_a_log_linear_trend_and_its_crossing():
    # ln(1 + BD) falls by 0.1 per decade from +20% at 10,000 iterations.
    a_true, b_true = math.log1p(0.2) + 0.4, -0.1
    entries = [{"iterations": n, "bd": {"webp": 100 * math.expm1(a_true + b_true * math.log10(n))}}
               for n in (10_000, 30_000, 100_000)]
    a, b = rd_history.fit(entries, "webp")
    assert a == pytest.approx(a_true) and b == pytest.approx(b_true)
    assert 10 ** (-a / b) == pytest.approx(10 ** (a_true / 0.1))


def test_fit_needs_two_points_with_a_value():
    entries = [{"iterations": 1000, "bd": {"webp": 10.0}}, {"iterations": 2000, "bd": {"webp": None}}]
    assert rd_history.fit(entries, "webp") is None


def test_history_reads_the_committed_reports():
    # A JPEG-like curve (the real anchors live outside the repository): every shipped model
    # since the first cool-down is well above it, so later models must come out ahead.
    jpeg_like = [(0.15, 23.8), (0.25, 26.6), (0.5, 29.6), (0.75, 31.4), (1.0, 32.8), (1.5, 35.0)]
    entries = rd_history.history({"jpeg_turbo": jpeg_like})   # CI runs on a clone with its history
    assert len(entries) >= 2
    assert all(e["iterations"] > 0 for e in entries)
    assert [e["iterations"] for e in entries] == sorted(e["iterations"] for e in entries)
    assert entries[-1]["bd"]["jpeg_turbo"] < entries[1]["bd"]["jpeg_turbo"]
