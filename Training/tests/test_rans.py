"""Tests of the reference rANS coder (Training/rans.py) and its quantized CDF tables."""
import base64
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import rans  # noqa: E402
import make_rans_fixtures  # noqa: E402


def tables(*cdfs, offsets=None):
    matrix, lengths = rans.pack_cdfs(list(cdfs))
    return matrix, lengths, offsets if offsets is not None else [0] * len(cdfs)


def random_case(r: random.Random, count: int):
    """Random tables (some with zero masses), indexes, and symbols with ~10 % escapes on both sides."""
    cdfs = []
    for _ in range(r.randrange(1, 6)):
        pmf = [r.random() ** 3 if r.random() < 0.9 else 0.0 for _ in range(r.randrange(1, 300))]
        cdfs.append(rans.pmf_to_quantized_cdf(pmf, r.random() * 0.01))
    offsets = [r.randrange(-200, 200) for _ in cdfs]
    indexes = [r.randrange(len(cdfs)) for _ in range(count)]
    symbols = []
    for t in indexes:
        n = len(cdfs[t]) - 2
        roll = r.random()
        if roll < 0.05:
            v = -r.randrange(1, 1 << r.randrange(1, 31))
        elif roll < 0.1:
            v = n + r.randrange(0, 1 << r.randrange(1, 31))
        else:
            v = r.randrange(n)
        symbols.append(max(rans.INT32_MIN, min(rans.INT32_MAX, v + offsets[t])))
    return symbols, indexes, (*rans.pack_cdfs(cdfs), offsets)


# Quantized CDFs


@pytest.mark.parametrize("seed", range(20))
def test_quantized_cdf_is_valid_and_close(seed):
    r = random.Random(seed)
    pmf = np.array([r.random() if r.random() < 0.8 else 0.0 for _ in range(r.randrange(1, 2000))])
    tail = r.random() * 0.1
    cdf = rans.pmf_to_quantized_cdf(pmf, tail)
    assert len(cdf) == len(pmf) + 2 and cdf[0] == 0 and cdf[-1] == 1 << 16
    freqs = np.diff(cdf)
    assert freqs.min() >= 1
    ideal = np.append(pmf, tail) / (pmf.sum() + tail) * ((1 << 16) - len(freqs))
    assert np.all(np.abs(freqs - 1 - ideal) < 1)  # largest remainder: within one unit of the ideal share


def test_quantized_cdf_examples():
    assert rans.pmf_to_quantized_cdf([0.1, 0.2, 0.3, 0.0, 0.35], 0.05) == [0, 6554, 19661, 39321, 39322, 62259, 65536]
    assert rans.pmf_to_quantized_cdf([1.0], 0.0, precision=2) == [0, 3, 4]
    assert rans.pmf_to_quantized_cdf([1, 1, 1], 1, precision=2) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("pmf, tail", [([], 0.1), ([0.5, -0.1], 0.0), ([float("nan")], 0.1),
                                       ([0.5], float("inf")), ([0.0, 0.0], 0.0), ([0.1] * 65536, 0.0)])
def test_quantized_cdf_rejects(pmf, tail):
    with pytest.raises(ValueError):
        rans.pmf_to_quantized_cdf(pmf, tail)


def test_pack_cdfs_pads_with_last_value():
    matrix, lengths = rans.pack_cdfs([[0, 5, 65536], [0, 1, 2, 65536]])
    assert matrix.dtype == np.int32 and lengths.dtype == np.int32
    assert matrix.tolist() == [[0, 5, 65536, 65536], [0, 1, 2, 65536]]
    assert lengths.tolist() == [3, 4]


# Round trips


@pytest.mark.parametrize("seed", range(10))
def test_round_trip(seed):
    symbols, indexes, tabs = random_case(random.Random(seed), 3000)
    data = rans.encode(symbols, indexes, *tabs)
    assert rans.decode(data, indexes, *tabs) == symbols


def test_round_trip_extremes():
    cdf = rans.pmf_to_quantized_cdf([0.25] * 4, 1e-3)
    symbols = [rans.INT32_MIN, rans.INT32_MAX, 0, 3, 4, -1, 1 << 30, -(1 << 30), 7]
    for offset in [rans.INT32_MIN, -5, 0, 5, rans.INT32_MAX]:
        tabs = tables(cdf, offsets=[offset])
        indexes = [0] * len(symbols)
        assert rans.decode(rans.encode(symbols, indexes, *tabs), indexes, *tabs) == symbols


def test_empty_stream_is_the_initial_state():
    tabs = tables([0, 1, 65536])
    assert rans.encode([], [], *tabs) == bytes([0, 0, 0x80, 0])
    assert rans.decode(bytes([0, 0, 0x80, 0]), [], *tabs) == []


# Errors


def test_every_truncation_is_truncated():
    symbols, indexes, tabs = random_case(random.Random(7), 200)
    data = rans.encode(symbols, indexes, *tabs)
    for cut in range(len(data)):
        with pytest.raises(rans.TruncatedError):
            rans.decode(data[:cut], indexes, *tabs)


def test_corrupt_streams():
    symbols, indexes, tabs = random_case(random.Random(8), 200)
    data = rans.encode(symbols, indexes, *tabs)
    with pytest.raises(rans.CorruptError, match="left after"):
        rans.decode(data + b"\0", indexes, *tabs)
    with pytest.raises(rans.CorruptError, match="initial state"):
        rans.decode(b"\xff\xff\xff\xff" + data[4:], indexes, *tabs)
    with pytest.raises(rans.CorruptError, match="initial state"):
        rans.decode(b"\0\0\0\0" + data[4:], indexes, *tabs)
    with pytest.raises(rans.CorruptError, match="final state|left after"):
        rans.decode(data, indexes[:-1], *tabs)


def crafted(*nibbles) -> bytes:
    """A stream of raw uniform 4-bit symbols, first nibble decoded first."""
    encoder = rans._Encoder()
    for value in reversed(nibbles):
        encoder.put_nibble(value)
    return encoder.finish()


def test_hostile_bypass():
    tabs = tables([0] + [4096 * k for k in range(1, 16)] + [65536], offsets=[0])  # escape = nibble 15
    assert rans.decode(crafted(15, 0, 6), [0], *tabs) == [15 + 3]  # u = 6: v = n + 3
    assert rans.decode(crafted(15, 0, 7), [0], *tabs) == [-4]  # u = 7: v = -4
    with pytest.raises(rans.CorruptError, match="exceeds"):
        rans.decode(crafted(15, 9, *[1] * 10), [0], *tabs)
    with pytest.raises(rans.CorruptError, match="leading zero"):
        rans.decode(crafted(15, 1, 3, 0), [0], *tabs)
    with pytest.raises(rans.CorruptError, match="outside int32"):
        rans.decode(crafted(15, 8, *[15] * 9), [0], *tabs)


def test_random_byte_flips_never_escape_the_error_types():
    symbols, indexes, tabs = random_case(random.Random(9), 100)
    data = rans.encode(symbols, indexes, *tabs)
    r = random.Random(10)
    decoded = 0
    for _ in range(2000):
        bad = bytearray(data)
        for _ in range(r.randrange(1, 4)):
            bad[r.randrange(len(bad))] ^= r.randrange(1, 256)
        try:
            out = rans.decode(bytes(bad), indexes, *tabs)
        except (rans.TruncatedError, rans.CorruptError):
            continue
        decoded += 1
        assert rans.encode(out, indexes, *tabs) == bytes(bad)  # one stream per symbol list
    assert decoded < 2000


@pytest.mark.parametrize("cdf, length, offsets", [
    ([0, 1, 65536], 2, [0]),            # too short
    ([0, 1, 65536], 4, [0]),            # longer than the row
    ([1, 2, 65536], 3, [0]),            # does not start at 0
    ([0, 1, 65535], 3, [0]),            # does not end at 2^16
    ([0, 7, 7, 65536], 4, [0]),         # a zero frequency
    ([0, 9, 7, 65536], 4, [0]),         # decreasing
    ([0, 1, 65536], 3, [1 << 31]),      # offset outside int32
    ([0, 1, 65536], 3, [0, 0]),         # offsets and tables differ in count
])
def test_invalid_tables(cdf, length, offsets):
    with pytest.raises(rans.InvalidTableError):
        rans.encode([0], [0], [cdf], [length], offsets)
    with pytest.raises(rans.InvalidTableError):
        rans.decode(bytes([0, 0, 0x80, 0]), [], [cdf], [length], offsets)


def test_invalid_indexes():
    tabs = tables([0, 1, 65536])
    for indexes in ([1], [-1]):
        with pytest.raises(rans.InvalidIndexError):
            rans.encode([0], indexes, *tabs)
        with pytest.raises(rans.InvalidIndexError):
            rans.decode(rans.encode([0], [0], *tabs), indexes, *tabs)
    with pytest.raises(rans.InvalidIndexError):
        rans.encode([0, 0], [0], *tabs)
    with pytest.raises(ValueError):
        rans.encode([1 << 31], [0], *tabs)


# Fixture shared with the Swift tests


def test_fixture_is_reproducible_and_decodes():
    text = make_rans_fixtures.render(make_rans_fixtures.build_fixture())
    assert make_rans_fixtures.FIXTURE.read_text() == text, "rerun Training/tests/make_rans_fixtures.py"
    fixture = json.loads(text)
    matrix, lengths = rans.pack_cdfs(fixture["cdfs"])
    data = base64.b64decode(fixture["encoded_base64"])
    assert rans.decode(data, fixture["indexes"], matrix, lengths, fixture["offsets"]) == fixture["symbols"]
