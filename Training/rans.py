"""Reference rANS coder and quantized CDF tables; Sources/PaneEntropy writes identical bytes.

rANS is Duda's asymmetric numeral systems ("Asymmetric numeral systems: entropy coding combining
speed of Huffman coding with compression rate of arithmetic coding", arXiv:1311.2540, 2013) in the
byte-wise form of Fabian Giesen's ryg_rans: a 32-bit state kept in [2^23, 2^31) by moving whole
bytes, symbol frequencies summing to 2^16.

Stream layout (the decoder reads forward):
  - 4 bytes: the decoder's initial state, little-endian, in [2^23, 2^31);
  - the renormalization bytes, in the order the decoder consumes them.
The encoder codes symbols last to first starting from state 2^23, so a decoder that has decoded
every symbol is back at 2^23 with every byte consumed; anything else is a corrupt stream. An empty
symbol list is therefore the 4 bytes 00 00 80 00.

Symbols and escapes: symbol i uses table t = indexes[i]; v = symbols[i] - offsets[t]. A table row
of length n + 2 codes regular values 0..n-1 and an ESCAPE symbol n. A value outside 0..n-1 is
coded as ESCAPE, then in bypass form (see `_bypass_value`).

Bypass form: u >= 0 is v < 0 -> -2v - 1, v >= n -> 2(v - n). It is written as g = the number of
4-bit groups u needs (at least 1), as one uniform 4-bit rANS symbol holding g - 1, then the g groups
least significant first, each a uniform 4-bit rANS symbol. g is capped at MAX_BYPASS_GROUPS = 9
(36 bits), enough for every int32 symbol with every int32 offset (u < 2^33); a count nibble above
8 is corrupt, so a hostile stream costs at most 10 extra symbols per escape. A leading zero group is
corrupt too, so every symbol list has exactly one stream: a stream that decodes re-encodes to
itself.

All coder arithmetic is on Python ints and matches the Swift UInt32/Int64 arithmetic exactly.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from typing import Sequence

import numpy as np

PRECISION = 16
"""Frequencies of every table sum to 2^PRECISION."""
RANS_L = 1 << 23
"""Lower bound of the normalized state; the state lives in [RANS_L, RANS_L << 8)."""
BYPASS_BITS = 4
MAX_BYPASS_GROUPS = 9
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


class EntropyError(ValueError):
    """Base of every error raised by this module."""


class TruncatedError(EntropyError):
    """The stream ended before the last symbol was decoded."""


class CorruptError(EntropyError):
    """The stream cannot have been written by `encode` with these tables and indexes."""


class InvalidTableError(EntropyError):
    """A CDF table (or the offsets) is malformed."""


class InvalidIndexError(EntropyError):
    """indexes[position] names no table, or symbols and indexes differ in length."""

    def __init__(self, position: int):
        super().__init__(f"invalid table index at position {position}")
        self.position = position


def pmf_to_quantized_cdf(pmf: Sequence[float] | np.ndarray, tail_mass: float, precision: int = PRECISION) -> list[int]:
    """Integer CDF of length n + 2 for symbols 0..n-1 with probabilities `pmf` plus ESCAPE (index n).

    Algorithm (float64 then integers, deterministic): the n + 1 masses (pmf, then tail_mass) are
    normalized by their exact sum (math.fsum). Every symbol first gets frequency 1; the remaining
    R = 2^precision - (n + 1) is shared by the largest remainder method: symbol i gets
    floor(p_i * R / total), and the units still missing go one each to the symbols with the largest
    fractional parts p_i * R / total - floor(...), ties to the lower index. So every symbol,
    zero-mass ones and ESCAPE included, has frequency >= 1, and the frequencies sum to
    2^precision exactly.

    Raises ValueError for an empty pmf, a negative or non-finite mass, a zero total, more than
    2^precision symbols, or precision outside 1..31.
    """
    masses = [float(p) for p in np.asarray(pmf, dtype=np.float64).reshape(-1)] + [float(tail_mass)]
    count = len(masses)
    if not 1 <= precision <= 31:
        raise ValueError(f"precision {precision} outside 1..31")
    if count < 2:
        raise ValueError("pmf is empty")
    if count > 1 << precision:
        raise ValueError(f"{count} symbols do not fit {precision}-bit frequencies")
    if not all(math.isfinite(p) and p >= 0 for p in masses):
        raise ValueError("probabilities must be finite and non-negative")
    total = math.fsum(masses)
    if total <= 0:
        raise ValueError("probabilities sum to zero")
    spare = (1 << precision) - count
    shares = [p * spare / total for p in masses]
    freqs = [1 + math.floor(s) for s in shares]
    missing = (1 << precision) - sum(freqs)
    by_remainder = sorted(range(count), key=lambda i: (-(shares[i] - math.floor(shares[i])), i))
    for i in by_remainder[:missing]:
        freqs[i] += 1
    cdf = [0]
    for f in freqs:
        cdf.append(cdf[-1] + f)
    assert cdf[-1] == 1 << precision, "largest remainder must fill the total exactly"
    return cdf


def pack_cdfs(cdfs: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Pack CDF rows into (cdf_matrix int32 [T, maxlen], lengths int32 [T]); short rows repeat their last value."""
    lengths = np.array([len(c) for c in cdfs], dtype=np.int32)
    width = int(lengths.max()) if len(cdfs) else 0
    matrix = np.zeros((len(cdfs), width), dtype=np.int32)
    for row, cdf in zip(matrix, cdfs):
        row[: len(cdf)] = cdf
        row[len(cdf):] = cdf[-1]
    return matrix, lengths


def _tables(cdfs, cdf_lengths, offsets) -> tuple[list[list[int]], list[int]]:
    """Validated table rows (unpadded) and offsets as Python ints."""
    if len(cdf_lengths) != len(cdfs) or len(offsets) != len(cdfs):
        raise InvalidTableError(f"{len(cdfs)} tables, {len(cdf_lengths)} lengths, {len(offsets)} offsets")
    rows = []
    for t, (row, length) in enumerate(zip(cdfs, cdf_lengths)):
        length = int(length)
        if not 3 <= length <= len(row):
            raise InvalidTableError(f"table {t}: length {length} outside 3...{len(row)}")
        cdf = [int(c) for c in row[:length]]
        if cdf[0] != 0 or cdf[-1] != 1 << PRECISION:
            raise InvalidTableError(f"table {t}: must run from 0 to {1 << PRECISION}")
        if any(a >= b for a, b in zip(cdf, cdf[1:])):
            raise InvalidTableError(f"table {t}: not strictly increasing")
        rows.append(cdf)
    offs = [int(o) for o in offsets]
    for t, o in enumerate(offs):
        if not INT32_MIN <= o <= INT32_MAX:
            raise InvalidTableError(f"table {t}: offset {o} outside int32")
    return rows, offs


def _table_index(indexes, position: int, table_count: int) -> int:
    t = int(indexes[position])
    if not 0 <= t < table_count:
        raise InvalidIndexError(position)
    return t


def _bypass_value(v: int, n: int) -> int:
    """Non-negative bypass integer of an escaped value v (v < 0 or v >= n)."""
    return -2 * v - 1 if v < 0 else 2 * (v - n)


NIBBLE_FREQ = 1 << (PRECISION - BYPASS_BITS)
"""Frequency of each of the 16 uniform bypass symbols."""


class _Encoder:
    """rANS encoder state; `put` codes symbols last to first, `finish` lays the bytes out forward."""

    def __init__(self):
        self.x = RANS_L
        self.out = bytearray()  # renormalization bytes in emission order; reversed by finish

    def put(self, start: int, freq: int) -> None:
        x_max = ((RANS_L >> PRECISION) << 8) * freq
        while self.x >= x_max:
            self.out.append(self.x & 0xFF)
            self.x >>= 8
        self.x = ((self.x // freq) << PRECISION) + (self.x % freq) + start

    def put_nibble(self, value: int) -> None:
        self.put(value * NIBBLE_FREQ, NIBBLE_FREQ)

    def finish(self) -> bytes:
        return bytes(reversed(self.out + self.x.to_bytes(4, "big")))


class _Decoder:
    """rANS decoder state over `data`, read forward."""

    def __init__(self, data: bytes):
        if len(data) < 4:
            raise TruncatedError("stream shorter than its 4-byte state")
        self.data = data
        self.x = int.from_bytes(data[:4], "little")
        if not RANS_L <= self.x < RANS_L << 8:
            raise CorruptError(f"initial state {self.x:#x} outside [2^23, 2^31)")
        self.pos = 4

    def slot(self) -> int:
        """Where the next symbol lies in [0, 2^PRECISION)."""
        return self.x & ((1 << PRECISION) - 1)

    def advance(self, start: int, freq: int) -> None:
        """Remove the symbol [start, start + freq) that contains `slot()`, then refill the state."""
        self.x = freq * (self.x >> PRECISION) + self.slot() - start
        while self.x < RANS_L:
            if self.pos >= len(self.data):
                raise TruncatedError("stream ended inside a symbol")
            self.x = (self.x << 8) | self.data[self.pos]
            self.pos += 1

    def nibble(self) -> int:
        value = self.slot() // NIBBLE_FREQ
        self.advance(value * NIBBLE_FREQ, NIBBLE_FREQ)
        return value

    def finish(self) -> None:
        if self.x != RANS_L:
            raise CorruptError(f"final state {self.x:#x} is not 2^23")
        if self.pos != len(self.data):
            raise CorruptError(f"{len(self.data) - self.pos} bytes left after the last symbol")


def encode(symbols, indexes, cdfs, cdf_lengths, offsets) -> bytes:
    """rANS-code int32 `symbols`, symbol i with table indexes[i], into bytes.

    cdfs: [T, maxlen] int rows (padded, as `pack_cdfs` makes them); cdf_lengths: [T]; offsets: [T].
    Raises InvalidTableError, InvalidIndexError, or ValueError for a symbol outside int32.
    """
    rows, offs = _tables(cdfs, cdf_lengths, offsets)
    if len(symbols) != len(indexes):
        raise InvalidIndexError(min(len(symbols), len(indexes)))
    encoder = _Encoder()
    for i in range(len(symbols) - 1, -1, -1):
        t = _table_index(indexes, i, len(rows))
        symbol = int(symbols[i])
        if not INT32_MIN <= symbol <= INT32_MAX:
            raise ValueError(f"symbol {symbol} at position {i} outside int32")
        cdf = rows[t]
        n = len(cdf) - 2
        v = symbol - offs[t]
        if 0 <= v < n:
            encoder.put(cdf[v], cdf[v + 1] - cdf[v])
            continue
        u = _bypass_value(v, n)
        groups = max(1, (u.bit_length() + BYPASS_BITS - 1) // BYPASS_BITS)
        for g in range(groups - 1, -1, -1):
            encoder.put_nibble((u >> (BYPASS_BITS * g)) & 0xF)
        encoder.put_nibble(groups - 1)
        encoder.put(cdf[n], cdf[n + 1] - cdf[n])
    return encoder.finish()


def decode(data: bytes, indexes, cdfs, cdf_lengths, offsets) -> list[int]:
    """Decode len(indexes) symbols written by `encode` with the same indexes and tables.

    Raises TruncatedError when the bytes end too early, CorruptError when they cannot have come from
    `encode` (initial state out of range, bypass count over MAX_BYPASS_GROUPS or a leading zero
    group, decoded symbol outside int32, final state not 2^23, or bytes left over),
    InvalidTableError, InvalidIndexError.
    """
    rows, offs = _tables(cdfs, cdf_lengths, offsets)
    decoder = _Decoder(bytes(data))
    symbols = []
    for i in range(len(indexes)):
        t = _table_index(indexes, i, len(rows))
        cdf = rows[t]
        n = len(cdf) - 2
        s = bisect_right(cdf, decoder.slot()) - 1
        decoder.advance(cdf[s], cdf[s + 1] - cdf[s])
        if s < n:
            v = s
        else:
            groups = decoder.nibble() + 1
            if groups > MAX_BYPASS_GROUPS:
                raise CorruptError(f"bypass of {groups} groups exceeds {MAX_BYPASS_GROUPS}")
            u = 0
            for g in range(groups):
                u |= decoder.nibble() << (BYPASS_BITS * g)
            if groups > 1 and u >> (BYPASS_BITS * (groups - 1)) == 0:
                raise CorruptError("bypass value has a leading zero group")
            v = -((u + 1) >> 1) if u & 1 else n + (u >> 1)
        symbol = v + offs[t]
        if not INT32_MIN <= symbol <= INT32_MAX:
            raise CorruptError(f"symbol {symbol} at position {i} outside int32")
        symbols.append(symbol)
    decoder.finish()
    return symbols
