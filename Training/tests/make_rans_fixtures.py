"""Write Tests/PaneEntropyTests/Fixtures/rans_fixture.json: tables, symbols and the bytes Training/rans.py writes.

The Swift tests check that PaneEntropy encodes the same symbols to exactly these bytes and decodes
them back. Run from anywhere: `.venv/bin/python Training/tests/make_rans_fixtures.py`; the output is
deterministic (test_rans.py checks that a rerun reproduces the file byte for byte).
"""
import base64
import hashlib
import json
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import rans  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[2] / "Tests/PaneEntropyTests/Fixtures/rans_fixture.json"
GAUSSIAN_SCALES = [0.11, 0.5, 1.0, 2.5, 8.0, 40.0]
TAIL_MASS = 1e-9
SKEWED_PMF = [0.7, 0.15, 0.08, 0.0, 0.04, 0.02, 0.01]
SKEWED_TAIL, SKEWED_OFFSET = 1e-3, 3
SYMBOL_COUNT = 5000
EXTREMES = [1 << 30, -(1 << 30), rans.INT32_MIN, rans.INT32_MAX, 0]


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def discretized_gaussian(scale: float) -> tuple[list[float], float, int]:
    """pmf over the integers -r..r (mass of [k - 1/2, k + 1/2]), the mass outside, and the offset -r."""
    radius = max(1, math.ceil(6 * scale))
    pmf = [normal_cdf((k + 0.5) / scale) - normal_cdf((k - 0.5) / scale) for k in range(-radius, radius + 1)]
    return pmf, 2 * normal_cdf((-radius - 0.5) / scale), -radius


def build_fixture() -> dict:
    cdfs, offsets, samplers = [], [], []
    for scale in GAUSSIAN_SCALES:
        pmf, tail, offset = discretized_gaussian(scale)
        cdfs.append(rans.pmf_to_quantized_cdf(pmf, tail))
        offsets.append(offset)
        samplers.append(lambda r, s=scale: round(r.gauss(0.0, s)))
    cdfs.append(rans.pmf_to_quantized_cdf(SKEWED_PMF, SKEWED_TAIL))
    offsets.append(SKEWED_OFFSET)
    samplers.append(lambda r: SKEWED_OFFSET + r.choices(range(len(SKEWED_PMF)), SKEWED_PMF)[0])

    r = random.Random(20240517)
    indexes, symbols = [], []
    for _ in range(SYMBOL_COUNT):
        t = r.randrange(len(cdfs))
        roll = r.random()
        if roll < 0.02:  # just past either end of the table: short escapes
            n = len(cdfs[t]) - 2
            symbol = offsets[t] + (r.randrange(-40, 0) if r.random() < 0.5 else n + r.randrange(40))
        elif roll < 0.025:  # far away: long escapes
            symbol = r.randrange(-(1 << 31), 1 << 31)
        else:
            symbol = samplers[t](r)
        indexes.append(t)
        symbols.append(symbol)
    for position, symbol in zip(range(0, SYMBOL_COUNT, SYMBOL_COUNT // len(EXTREMES)), EXTREMES):
        symbols[position] = symbol

    matrix, lengths = rans.pack_cdfs(cdfs)
    encoded = rans.encode(symbols, indexes, matrix, lengths, offsets)
    return {
        "about": "Written by Training/tests/make_rans_fixtures.py; rANS bytes of Training/rans.py",
        "precision": rans.PRECISION,
        "offsets": offsets,
        "cdfs": cdfs,
        "indexes": indexes,
        "symbols": symbols,
        "encoded_base64": base64.b64encode(encoded).decode("ascii"),
        "encoded_sha256": hashlib.sha256(encoded).hexdigest(),
    }


def render(fixture: dict) -> str:
    """JSON with one key per line, values compact, so diffs stay readable."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in fixture.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(render(build_fixture()))
    print(f"wrote {FIXTURE}")
