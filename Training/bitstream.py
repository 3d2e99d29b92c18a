"""The `.pane` container, format version 1: the Python reference of Sources/PaneBitstream.

From "All integers" on, this docstring is a copy of the doc comment at the top of
Sources/PaneBitstream/Format.swift, the single source of truth (a test keeps them equal).
Both sides write byte-identical files and raise the same errors with the same messages
(Swift's `BitstreamError.truncated` is `TruncatedError` here, and so on). The container
only packs bytes: it knows nothing of the networks that fill the streams.

All integers are unsigned and little-endian. CRC-32 is the IEEE 802.3 one (zlib's
`crc32`; crc32("123456789") = 0xCBF43926).

## Header: 32 bytes

| offset | size | field              | values                                               |
|-------:|-----:|--------------------|------------------------------------------------------|
|      0 |    4 | magic              | "PANE"                                               |
|      4 |    1 | format version     | 1                                                    |
|      5 |    8 | model id           | first 8 bytes of the sha256 of the model file        |
|     13 |    4 | width              | pixels, 1…2^20                                       |
|     17 |    4 | height             | pixels, 1…2^20                                       |
|     21 |    1 | colour layout      | 0 = RGB, 1 = gray                                    |
|     22 |    1 | has alpha          | 0 or 1                                               |
|     23 |    2 | quality            | quality × 100 rounded half away from zero, 0…10000   |
|     25 |    2 | tile size          | 0 = one tile covering the image; else pixels, a multiple of 64 |
|     27 |    1 | latent slice count | 1…16                                                 |
|     28 |    4 | header CRC         | CRC-32 of bytes 0..<28                               |

The magic and the version byte (the preamble) open every version of the format, so any
reader can tell a newer file from a broken one.

## Tiles

With tile size T > 0 the image is cut into ceil(width / T) columns × ceil(height / T) rows
of tiles, numbered row-major from the top left (index = row × columns + column); tiles on
the right and bottom edges may be smaller. With T = 0 there is one tile, index 0.

## Sections: after the header, until the end of the file

| size | field                                                        |
|-----:|--------------------------------------------------------------|
|    1 | type: 1 = z stream, 2 = y stream, 3 = alpha plane            |
|    4 | tile index (0 for the alpha plane)                           |
|    1 | slice index (y streams; 0 for the other types)               |
|    4 | payload length L                                             |
|    L | payload                                                      |
|    4 | CRC-32 of the section from its type byte to its payload's end (10 + L bytes) |

A file holds exactly these sections, in this order:

1. for each tile t in 0..<tileCount: z (tile t), then y (tile t, slice s) for s in 0..<sliceCount;
2. iff has alpha: alpha, whose payload is the width × height alpha bytes, row-major,
   compressed with zlib (RFC 1950) at level 9 with the default window (15 bits), memory
   level (8) and strategy, as Python's `zlib.compress(plane, 9)` does.

## Reading

A reader checks, in this order: the magic (`notPane`; a file shorter than the magic that
starts like it is `truncated`), the version (`newerVersion` above 1, `invalidHeader` for
0), the header CRC (`corrupt`), the header values (`invalidHeader`), the model id
(`unknownModel`, when the caller names the models it has), then each section in file
order: CRC (`corrupt`), type, tile and slice in range (`corrupt`), an earlier section again
(`corrupt`, duplicate), a later section than the next expected one (`missingSection`, which
also covers sections out of order). A file that ends before its last section, anywhere, is
`truncated`; bytes after the last section are `corrupt`. Unknown section types are an
error in version 1.
"""
from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

MAGIC = b"PANE"
FORMAT_VERSION = 1
MODEL_ID_SIZE = 8
MAX_DIMENSION = 1 << 20
MAX_QUALITY_HUNDREDTHS = 10_000
TILE_SIZE_STEP = 64
SLICE_COUNTS = range(1, 17)

# The one description of each record, in file order; reader and writer both use it.
PREAMBLE_FIELDS = [("magic", "4s"), ("version", "B")]
HEADER_FIELDS = [
    ("model_id", f"{MODEL_ID_SIZE}s"),
    ("width", "I"),
    ("height", "I"),
    ("color_layout", "B"),
    ("has_alpha", "B"),
    ("quality_hundredths", "H"),
    ("tile_size", "H"),
    ("slice_count", "B"),
]
SECTION_FIELDS = [("kind", "B"), ("tile", "I"), ("slice", "B"), ("length", "I")]


def _record(fields):
    return struct.Struct("<" + "".join(code for _, code in fields))


PREAMBLE = _record(PREAMBLE_FIELDS)
HEADER = _record(PREAMBLE_FIELDS + HEADER_FIELDS)
SECTION_FRAME = _record(SECTION_FIELDS)
CRC = struct.Struct("<I")
HEADER_SIZE = HEADER.size + CRC.size  # 32, pinned by a test
SECTION_OVERHEAD = SECTION_FRAME.size + CRC.size  # 14


class ColorLayout(IntEnum):
    RGB = 0
    GRAY = 1


class Kind(IntEnum):
    Z = 1
    Y = 2
    ALPHA = 3


class BitstreamError(Exception):
    """Base of every reading error; str() is the same one-line message Swift gives."""


class NotPaneError(BitstreamError):
    def __init__(self):
        super().__init__("not a .pane file (it does not start with PANE)")


class NewerVersionError(BitstreamError):
    def __init__(self, found: int, supported: int = FORMAT_VERSION):
        self.found, self.supported = found, supported
        super().__init__(f"written by a newer pane (format {found}); this pane reads format {supported}: upgrade pane")


class UnknownModelError(BitstreamError):
    def __init__(self, model_id_hex: str):
        self.model_id = model_id_hex
        super().__init__(f"encoded with model {model_id_hex}, which this pane does not have: "
                         "install that model or pass it with --model")


class TruncatedError(BitstreamError):
    def __init__(self):
        super().__init__("truncated .pane file: the data ends before the file does")


class CorruptError(BitstreamError):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"corrupt .pane file: {reason}")


class MissingSectionError(BitstreamError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"incomplete .pane file: section {name} is missing or out of order")


class InvalidHeaderError(BitstreamError):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"invalid .pane header: {reason}")


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def quality_hundredths(quality: float) -> int:
    """quality × 100 rounded half away from zero, as Swift's `rounded()`; x - floor(x) is exact."""
    scaled = quality * 100
    whole = math.floor(scaled)
    return whole + 1 if scaled - whole >= 0.5 else whole


@dataclass(frozen=True)
class Header:
    model_id: bytes  # first 8 bytes of the model file's sha256
    width: int  # pixels, 1…2^20
    height: int
    color_layout: ColorLayout
    has_alpha: bool
    quality: float  # 0…100, stored in hundredths
    tile_size: int  # 0 = one tile, else a multiple of 64
    slice_count: int  # 1…16

    @property
    def tile_columns(self) -> int:
        return 1 if self.tile_size == 0 else -(-self.width // self.tile_size)

    @property
    def tile_rows(self) -> int:
        return 1 if self.tile_size == 0 else -(-self.height // self.tile_size)

    @property
    def tile_count(self) -> int:
        return self.tile_columns * self.tile_rows

    def encode(self) -> bytes:
        """The 32 header bytes. Values that fit their fields but are out of range are written as given."""
        hundredths = quality_hundredths(self.quality)
        assert len(self.model_id) == MODEL_ID_SIZE and 0 <= hundredths <= 0xFFFF
        body = HEADER.pack(MAGIC, FORMAT_VERSION, bytes(self.model_id), self.width, self.height,
                           int(self.color_layout), int(self.has_alpha), hundredths, self.tile_size, self.slice_count)
        return body + CRC.pack(crc32(body))

    @staticmethod
    def decode(data: bytes) -> "Header":
        """Reads and checks the header at the start of `data`, in the order the format gives."""
        if not MAGIC.startswith(data[:len(MAGIC)]):
            raise NotPaneError()
        if len(data) < PREAMBLE.size:
            raise TruncatedError()
        _, version = PREAMBLE.unpack_from(data)
        if version > FORMAT_VERSION:
            raise NewerVersionError(version)
        if version == 0:
            raise InvalidHeaderError("format version 0 does not exist")
        if len(data) < HEADER_SIZE:
            raise TruncatedError()
        (stored_crc,) = CRC.unpack_from(data, HEADER.size)
        if crc32(data[:HEADER.size]) != stored_crc:
            raise CorruptError("header CRC mismatch")
        values = dict(zip((name for name, _ in PREAMBLE_FIELDS + HEADER_FIELDS), HEADER.unpack_from(data)))
        return Header._validated(values)

    @staticmethod
    def _validated(v: dict) -> "Header":
        w, h = v["width"], v["height"]
        if not (1 <= w <= MAX_DIMENSION and 1 <= h <= MAX_DIMENSION):
            raise InvalidHeaderError(f"image of {w} by {h} pixels: each side must be 1…{MAX_DIMENSION}")
        if v["color_layout"] not in (0, 1):
            raise InvalidHeaderError(f"colour layout {v['color_layout']} is neither 0 (RGB) nor 1 (gray)")
        if v["has_alpha"] > 1:
            raise InvalidHeaderError(f"has-alpha flag {v['has_alpha']} is neither 0 nor 1")
        if v["quality_hundredths"] > MAX_QUALITY_HUNDREDTHS:
            raise InvalidHeaderError(
                f"quality {v['quality_hundredths']} hundredths is over {MAX_QUALITY_HUNDREDTHS}")
        if v["tile_size"] % TILE_SIZE_STEP:
            raise InvalidHeaderError(f"tile size {v['tile_size']} is not a multiple of {TILE_SIZE_STEP}")
        if v["slice_count"] not in SLICE_COUNTS:
            raise InvalidHeaderError(
                f"slice count {v['slice_count']} is outside {SLICE_COUNTS.start}…{SLICE_COUNTS.stop - 1}")
        return Header(model_id=v["model_id"], width=w, height=h, color_layout=ColorLayout(v["color_layout"]),
                      has_alpha=v["has_alpha"] == 1, quality=v["quality_hundredths"] / 100,
                      tile_size=v["tile_size"], slice_count=v["slice_count"])


@dataclass(frozen=True)
class Section:
    kind: Kind
    tile: int  # row-major tile index; 0 for alpha
    slice: int  # y slice index; 0 for the other kinds
    payload: bytes


class SectionOrder:
    """The sections a header implies, numbered in file order (tile t's z is rank t × (1 + slices),
    its slice s the rank after that plus s, alpha last); computed, never listed."""

    def __init__(self, header: Header):
        self.tile_count = header.tile_count
        self.slice_count = header.slice_count
        self.has_alpha = header.has_alpha
        self.per_tile = 1 + self.slice_count
        self.count = self.tile_count * self.per_tile + (1 if self.has_alpha else 0)

    def rank(self, s: Section) -> int:
        if s.kind in (Kind.Z, Kind.Y):
            name = "z" if s.kind == Kind.Z else "y"
            if s.tile >= self.tile_count:
                raise CorruptError(f"section {name} names tile {s.tile}; the header has {self.tile_count} tiles")
            if s.kind == Kind.Z:
                if s.slice != 0:
                    raise CorruptError(f"section z of tile {s.tile} has slice {s.slice}, not 0")
                return s.tile * self.per_tile
            if s.slice >= self.slice_count:
                raise CorruptError(
                    f"section y of tile {s.tile} names slice {s.slice}; the header has {self.slice_count} slices")
            return s.tile * self.per_tile + 1 + s.slice
        if not self.has_alpha:
            raise CorruptError("alpha section in a file whose header has no alpha")
        if s.tile != 0 or s.slice != 0:
            raise CorruptError(f"alpha section has tile {s.tile} and slice {s.slice}, not 0 and 0")
        return self.tile_count * self.per_tile

    def name(self, rank: int) -> str:
        if rank == self.tile_count * self.per_tile:
            return "alpha"
        tile, place = divmod(rank, self.per_tile)
        return f"z (tile {tile})" if place == 0 else f"y (tile {tile}, slice {place - 1})"


def serialize(header: Header, sections: list[Section]) -> bytes:
    """The file's bytes; sections are written in the order given (readers require the format's order)."""
    out = bytearray(header.encode())
    for s in sections:
        start = len(out)
        out += SECTION_FRAME.pack(int(s.kind), s.tile, s.slice, len(s.payload))
        out += s.payload
        out += CRC.pack(crc32(out[start:]))
    return bytes(out)


def peek_header(data: bytes) -> Header:
    return Header.decode(data)


def parse(data: bytes, expected_model_ids: list[bytes] | None = None) -> tuple[Header, list[Section]]:
    """Parses and checks a whole file; raises a BitstreamError subclass, as Swift's PaneFile(parsing:)."""
    data = bytes(data)
    header = Header.decode(data)
    if expected_model_ids is not None and header.model_id not in [bytes(m) for m in expected_model_ids]:
        raise UnknownModelError(header.model_id.hex())
    order = SectionOrder(header)
    sections: list[Section] = []
    offset = HEADER_SIZE
    while offset < len(data):
        if len(sections) < order.count:
            section, offset = _read_section(data, offset)
        else:
            # Past the last section: a whole extra section is named below, anything else is junk.
            try:
                section, offset = _read_section(data, offset)
            except BitstreamError:
                raise CorruptError(f"{len(data) - offset} bytes after the last section") from None
        rank = order.rank(section)
        if rank < len(sections):
            raise CorruptError(f"duplicate section {order.name(rank)}")
        if rank > len(sections):
            raise MissingSectionError(order.name(len(sections)))
        sections.append(section)
    if len(sections) != order.count:
        raise TruncatedError()
    return header, sections


def _read_section(data: bytes, start: int) -> tuple[Section, int]:
    if len(data) - start < SECTION_FRAME.size:
        raise TruncatedError()
    kind, tile, slice_, length = SECTION_FRAME.unpack_from(data, start)
    crc_at = start + SECTION_FRAME.size + length
    if crc_at + CRC.size > len(data):
        raise TruncatedError()
    (stored_crc,) = CRC.unpack_from(data, crc_at)
    if crc32(data[start:crc_at]) != stored_crc:
        raise CorruptError(f"section CRC mismatch at byte {start}")
    if kind not in Kind._value2member_map_:
        raise CorruptError(f"unknown section type {kind} at byte {start}")
    payload = data[start + SECTION_FRAME.size:crc_at]
    return Section(Kind(kind), tile, slice_, payload), crc_at + CRC.size


def compress_alpha(plane: bytes) -> bytes:
    """The zlib stream of an alpha plane (width × height bytes, row-major), as AlphaCodec.compress."""
    return zlib.compress(bytes(plane), 9)


def decompress_alpha(data: bytes, count: int) -> bytes:
    """The `count` alpha bytes of a zlib stream, never inflating more than count + 1 bytes.

    Raises TruncatedError when the stream ends early and CorruptError for invalid zlib data, a
    plane of another size, or bytes after the stream, as AlphaCodec.decompress.
    """
    if count < 0:
        raise CorruptError(f"alpha plane of impossible size {count}")
    inflater = zlib.decompressobj()
    try:
        plane = inflater.decompress(bytes(data), count + 1)
    except zlib.error as error:
        raise CorruptError(f"alpha plane: {error}") from None
    if len(plane) > count:
        raise CorruptError(f"alpha plane holds more than the {count} bytes the header implies")
    if not inflater.eof:
        raise TruncatedError()
    if inflater.unused_data:
        raise CorruptError(f"alpha plane: {len(inflater.unused_data)} bytes after the zlib stream")
    if len(plane) != count:
        raise CorruptError(f"alpha plane holds {len(plane)} bytes; the header implies {count}")
    return plane
