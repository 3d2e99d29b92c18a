"""The `.pane` container, format versions 2 and 1: the Python reference of Sources/PaneBitstream.

From "All integers" on, this docstring is a copy of the doc comment at the top of
Sources/PaneBitstream/Format.swift, the single source of truth (a test keeps them equal).
Both sides write byte-identical files and raise the same errors with the same messages
(Swift's `BitstreamError.truncated` is `TruncatedError` here, and so on). The container
only packs bytes: it knows nothing of the networks that fill the streams.

All integers are unsigned and little-endian. CRC-32 is the IEEE 802.3 one (zlib's
`crc32`; crc32("123456789") = 0xCBF43926).

## Header: 33 bytes (version 2), 32 bytes (version 1)

| offset | size | field              | values                                               |
|-------:|-----:|--------------------|------------------------------------------------------|
|      0 |    4 | magic              | "PANE"                                               |
|      4 |    1 | format version     | 2 (or 1)                                             |
|      5 |    8 | model id           | the declared id of the model release that encoded it (docs/model-releases.md) |
|     13 |    4 | width              | pixels, 1…2^20                                       |
|     17 |    4 | height             | pixels, 1…2^20                                       |
|     21 |    1 | colour layout      | 0 = RGB, 1 = gray                                    |
|     22 |    1 | has alpha          | 0 or 1                                               |
|     23 |    2 | quality            | quality × 100 rounded half away from zero, 0…10000   |
|     25 |    2 | tile size          | 0 = one tile covering the image; else pixels, a multiple of 64 |
|     27 |    1 | latent slice count | 1…16                                                 |
|     28 |    1 | effort             | version 2 only: the encoder's effort level 1…9, or 0 = not recorded; informational, decoders ignore it |
|  29 (28) |  4 | header CRC         | CRC-32 of the header bytes before it                 |

The magic and the version byte (the preamble) open every version of the format, so any
reader can tell a newer file from a broken one.

## Tiles

With tile size T > 0 the image is cut into ceil(width / T) columns × ceil(height / T) rows
of tiles, numbered row-major from the top left (index = row × columns + column); tiles on
the right and bottom edges may be smaller. With T = 0 there is one tile, index 0.

## Sections: after the header, until the end of the file

| size | field                                                        |
|-----:|--------------------------------------------------------------|
|    1 | type: 1 = z stream, 2 = y stream, 3 = alpha plane, 4 = lossless tile, 5 = metadata (4 and 5: version 2 only) |
|    4 | tile index (z, y, lossless; 0 for the other types)           |
|    1 | slice index (y streams), metadata kind (metadata); 0 for the other types |
|    4 | payload length L                                             |
|    L | payload                                                      |
|    4 | CRC-32 of the section from its type byte to its payload's end (10 + L bytes) |

A file holds these sections, in this order:

1. version 2 only, optional: metadata sections, at most one of each kind, kinds ascending:
   1 = ICC profile, 2 = EXIF (the TIFF structure, from its byte-order mark, as in PNG's
   eXIf), 3 = XMP packet (UTF-8). The payload is the blob compressed with zlib (RFC 1950);
   a blob is at most 16 MiB inflated.
2. for each tile t in 0..<tileCount, either z (tile t), then y (tile t, slice s) for s in
   0..<sliceCount; or (version 2) one lossless section for tile t, which holds the tile's
   samples exactly, its alpha included when the header has alpha (payload below);
3. iff has alpha and some tile is coded by z and y: alpha, whose payload is the width × height
   alpha bytes, row-major, compressed with zlib (RFC 1950) at level 9 with the default window
   (15 bits), memory level (8) and strategy, as Python's `zlib.compress(plane, 9)` does. Where
   a tile is lossless, its own alpha is the image's (the plane's bytes there are ignored).

When synthesizing a tile from its latents, the latents of a lossless neighbour read as zero.

The file ends with its last required section, so a cut file is always told from a whole one.

## Lossless tile payload (version 2)

One method byte, then its data. Method 0: the tile's rows (tile width × tile height of the
unpadded image; C samples per pixel, interleaved: gray or R, G, B, then alpha when the header
has alpha, so C is 1, 2, 3 or 4), each as one PNG
filter byte (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth; ISO 15948 §9, with bytes-per-pixel C and
the rows above and to the left taken inside the tile only) followed by its filtered bytes,
all of it one zlib stream (RFC 1950). Writers choose the filters and the zlib settings;
Pane's choose per row the filter of least sum of |signed byte| and level 9, as PNG encoders do.

## Reading

A reader checks, in this order: the magic (`notPane`; a file shorter than the magic that
starts like it is `truncated`), the version (`newerVersion` above 2, `invalidHeader` for
0), the header CRC (`corrupt`), the header values (`invalidHeader`), the model id
(`unknownModel`, when the caller names the models it has), then each section in file
order: CRC (`corrupt`), type (a type the file's version does not have is `corrupt`), tile
and slice in range (`corrupt`), an earlier section again (`corrupt`, duplicate; a tile coded
both ways is `corrupt`), a later section than the next expected one (`missingSection`, which
also covers sections out of order). A file that ends before its last section, anywhere, is
`truncated`; bytes after the last section are `corrupt`.
"""
from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

MAGIC = b"PANE"
FORMAT_VERSION = 2  # what writers write; readers read 1 and 2
MODEL_ID_SIZE = 8
MAX_EFFORT = 9
MAX_METADATA_BYTES = 16 << 20
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
HEADER_FIELDS_V2 = HEADER_FIELDS + [("effort", "B")]
SECTION_FIELDS = [("kind", "B"), ("tile", "I"), ("slice", "B"), ("length", "I")]


def _record(fields):
    return struct.Struct("<" + "".join(code for _, code in fields))


PREAMBLE = _record(PREAMBLE_FIELDS)
HEADERS = {1: _record(PREAMBLE_FIELDS + HEADER_FIELDS), 2: _record(PREAMBLE_FIELDS + HEADER_FIELDS_V2)}
FIELD_NAMES = {1: [n for n, _ in PREAMBLE_FIELDS + HEADER_FIELDS], 2: [n for n, _ in PREAMBLE_FIELDS + HEADER_FIELDS_V2]}
SECTION_FRAME = _record(SECTION_FIELDS)
CRC = struct.Struct("<I")
HEADER_SIZES = {v: h.size + CRC.size for v, h in HEADERS.items()}
HEADER_SIZE = HEADER_SIZES[FORMAT_VERSION]  # 33 (32 in version 1), pinned by a test
SECTION_OVERHEAD = SECTION_FRAME.size + CRC.size  # 14


class ColorLayout(IntEnum):
    RGB = 0
    GRAY = 1


class Kind(IntEnum):
    Z = 1
    Y = 2
    ALPHA = 3
    LOSSLESS = 4  # version 2
    METADATA = 5  # version 2


class MetadataKind(IntEnum):
    ICC = 1
    EXIF = 2
    XMP = 3


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
    model_id: bytes  # the declared id of the model release (docs/model-releases.md)
    width: int  # pixels, 1…2^20
    height: int
    color_layout: ColorLayout
    has_alpha: bool
    quality: float  # 0…100, stored in hundredths
    tile_size: int  # 0 = one tile, else a multiple of 64
    slice_count: int  # 1…16
    effort: int = 0  # 1…9, 0 = not recorded (version 2 only)
    format_version: int = FORMAT_VERSION

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
        """The header bytes of its version. Values that fit their fields but are out of range are written as given."""
        hundredths = quality_hundredths(self.quality)
        assert len(self.model_id) == MODEL_ID_SIZE and 0 <= hundredths <= 0xFFFF
        assert self.format_version in HEADERS and (self.format_version >= 2 or self.effort == 0)
        values = [MAGIC, self.format_version, bytes(self.model_id), self.width, self.height,
                  int(self.color_layout), int(self.has_alpha), hundredths, self.tile_size, self.slice_count]
        if self.format_version >= 2:
            values.append(self.effort)
        body = HEADERS[self.format_version].pack(*values)
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
        record = HEADERS[version]
        if len(data) < record.size + CRC.size:
            raise TruncatedError()
        (stored_crc,) = CRC.unpack_from(data, record.size)
        if crc32(data[:record.size]) != stored_crc:
            raise CorruptError("header CRC mismatch")
        values = dict(zip(FIELD_NAMES[version], record.unpack_from(data)))
        values.setdefault("effort", 0)
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
        if v["effort"] > MAX_EFFORT:
            raise InvalidHeaderError(f"effort {v['effort']} is over {MAX_EFFORT}")
        return Header(model_id=v["model_id"], width=w, height=h, color_layout=ColorLayout(v["color_layout"]),
                      has_alpha=v["has_alpha"] == 1, quality=v["quality_hundredths"] / 100,
                      tile_size=v["tile_size"], slice_count=v["slice_count"], effort=v["effort"],
                      format_version=v["version"])

    @property
    def size(self) -> int:
        return HEADER_SIZES[self.format_version]


@dataclass(frozen=True)
class Section:
    kind: Kind
    tile: int  # row-major tile index; 0 for alpha
    slice: int  # y slice index; 0 for the other kinds
    payload: bytes


class SectionOrder:
    """The sections a header implies, checked one at a time in file order, as Swift's SectionOrder:
    metadata of kind k has rank k − 1; tile t's z (or lossless) base + t × (1 + slices) with base 3,
    its slice s the rank after that plus s; alpha last. Computed, never listed."""

    BASE = len(MetadataKind)

    def __init__(self, header: Header):
        self.tile_count = header.tile_count
        self.slice_count = header.slice_count
        self.has_alpha = header.has_alpha
        self.per_tile = 1 + self.slice_count
        self.alpha_rank = self.BASE + self.tile_count * self.per_tile
        self.next = 0
        self.lossless_tile = -1
        self.any_latent_tile = False

    @property
    def needs_alpha(self) -> bool:
        return self.has_alpha and self.any_latent_tile

    @property
    def complete(self) -> bool:
        return self.next == self.alpha_rank + (1 if self.needs_alpha else 0)

    def accept(self, s: Section) -> None:
        rank = self.rank(s)
        if rank < self.next:
            if s.kind in (Kind.Z, Kind.Y) and s.tile == self.lossless_tile:
                raise CorruptError(f"tile {s.tile} has both a lossless section and {s.kind.name.lower()} sections")
            if s.kind == Kind.LOSSLESS and s.tile == self.lossless_tile:
                raise CorruptError(f"duplicate section lossless (tile {s.tile})")
            if s.kind == Kind.LOSSLESS and self.next <= rank + self.per_tile:
                raise CorruptError(f"tile {s.tile} has both z / y sections and a lossless section")
            if s.kind == Kind.METADATA:
                raise CorruptError(f"section {self.name(rank)} is a duplicate or out of order")
            raise CorruptError(f"duplicate section {self.name(rank)}")
        if rank > self.next and not (self.next < self.BASE and rank <= self.BASE):
            raise MissingSectionError(self.name(max(self.next, self.BASE)))
        if s.kind == Kind.ALPHA and not self.needs_alpha:
            raise CorruptError("alpha section in a file whose tiles are all lossless (they hold their alpha)")
        if s.kind == Kind.LOSSLESS:
            self.lossless_tile = s.tile
            self.next = rank + self.per_tile
        else:
            if s.kind == Kind.Z:
                self.any_latent_tile = True
            self.next = rank + 1

    def rank(self, s: Section) -> int:
        if s.kind in (Kind.Z, Kind.Y, Kind.LOSSLESS):
            name = s.kind.name.lower()
            if s.tile >= self.tile_count:
                raise CorruptError(f"section {name} names tile {s.tile}; the header has {self.tile_count} tiles")
            first = self.BASE + s.tile * self.per_tile
            if s.kind != Kind.Y:
                if s.slice != 0:
                    raise CorruptError(f"section {name} of tile {s.tile} has slice {s.slice}, not 0")
                return first
            if s.slice >= self.slice_count:
                raise CorruptError(
                    f"section y of tile {s.tile} names slice {s.slice}; the header has {self.slice_count} slices")
            return first + 1 + s.slice
        if s.kind == Kind.ALPHA:
            if not self.has_alpha:
                raise CorruptError("alpha section in a file whose header has no alpha")
            if s.tile != 0 or s.slice != 0:
                raise CorruptError(f"alpha section has tile {s.tile} and slice {s.slice}, not 0 and 0")
            return self.alpha_rank
        if s.tile != 0 or s.slice not in MetadataKind._value2member_map_:
            raise CorruptError(f"metadata section has tile {s.tile} and kind {s.slice}, not 0 and 1…{self.BASE}")
        return s.slice - 1

    def name(self, rank: int) -> str:
        if rank < self.BASE:
            return f"metadata ({MetadataKind(rank + 1).name.lower()})"
        if rank == self.alpha_rank:
            return "alpha"
        tile, place = divmod(rank - self.BASE, self.per_tile)
        return f"z (tile {tile})" if place == 0 else f"y (tile {tile}, slice {place - 1})"


def serialize(header: Header, sections: list[Section]) -> bytes:
    """The file's bytes; sections are written in the order given (readers require the format's order)."""
    out = bytearray(header.encode())
    assert header.format_version >= 2 or all(s.kind <= Kind.ALPHA for s in sections)
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
    offset = header.size
    while offset < len(data):
        if not order.complete:
            section, offset = _read_section(data, offset, header.format_version)
        else:
            # Past the last section: a whole extra section is named below, anything else is junk.
            try:
                section, offset = _read_section(data, offset, header.format_version)
            except BitstreamError:
                raise CorruptError(f"{len(data) - offset} bytes after the last section") from None
        order.accept(section)
        sections.append(section)
    if not order.complete:
        raise TruncatedError()
    return header, sections


def _read_section(data: bytes, start: int, version: int) -> tuple[Section, int]:
    if len(data) - start < SECTION_FRAME.size:
        raise TruncatedError()
    kind, tile, slice_, length = SECTION_FRAME.unpack_from(data, start)
    crc_at = start + SECTION_FRAME.size + length
    if crc_at + CRC.size > len(data):
        raise TruncatedError()
    (stored_crc,) = CRC.unpack_from(data, crc_at)
    if crc32(data[start:crc_at]) != stored_crc:
        raise CorruptError(f"section CRC mismatch at byte {start}")
    if kind not in Kind._value2member_map_ or (version < 2 and kind > Kind.ALPHA):
        raise CorruptError(f"unknown section type {kind} at byte {start}")
    payload = data[start + SECTION_FRAME.size:crc_at]
    return Section(Kind(kind), tile, slice_, payload), crc_at + CRC.size


def metadata(sections: list[Section]) -> dict[str, bytes]:
    """The blobs of a file's metadata sections by kind ("icc", "exif", "xmp"), inflated (at most
    16 MiB each), as Swift's MetadataCodec.decompress."""
    blobs = {}
    for s in sections:
        if s.kind != Kind.METADATA:
            continue
        blob = _inflate(s.payload, MAX_METADATA_BYTES, "metadata", at_most=True)
        blobs[MetadataKind(s.slice).name.lower()] = blob
    return blobs


def compress_alpha(plane: bytes) -> bytes:
    """The zlib stream of an alpha plane (width × height bytes, row-major), as AlphaCodec.compress."""
    return zlib.compress(bytes(plane), 9)


def decompress_alpha(data: bytes, count: int) -> bytes:
    """The `count` alpha bytes of a zlib stream, never inflating more than count + 1 bytes.

    Raises TruncatedError when the stream ends early and CorruptError for invalid zlib data, a
    plane of another size, or bytes after the stream, as AlphaCodec.decompress.
    """
    return _inflate(data, count, "alpha plane")


def _inflate(data: bytes, count: int, what: str, at_most: bool = False) -> bytes:
    """Exactly `count` bytes of a zlib stream (or, `at_most`, up to `count`), as Swift's Zlib.inflate."""
    if count < 0:
        raise CorruptError(f"{what} of impossible size {count}")
    inflater = zlib.decompressobj()
    try:
        plane = inflater.decompress(bytes(data), count + 1)
    except zlib.error as error:
        raise CorruptError(f"{what}: {error}") from None
    if len(plane) > count:
        if at_most:
            raise CorruptError(f"{what} holds more than the limit of {count} bytes")
        raise CorruptError(f"{what} holds more than the {count} bytes the header implies")
    if not inflater.eof:
        raise TruncatedError()
    if inflater.unused_data:
        raise CorruptError(f"{what}: {len(inflater.unused_data)} bytes after the zlib stream")
    if len(plane) != count and not at_most:
        raise CorruptError(f"{what} holds {len(plane)} bytes; the header implies {count}")
    return plane


def _predict(kind: int, row: bytearray, above, i: int, c: int) -> int:
    a = row[i - c] if i >= c else 0
    b = above[i] if above is not None else 0
    if kind == 1:
        return a
    if kind == 2:
        return b
    if kind == 3:
        return (a + b) // 2
    if kind == 4:
        cc = above[i - c] if (above is not None and i >= c) else 0
        p = a + b - cc
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
        return a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
    return 0


MAX_TRIED_PIXELS = 256 * 256


def _filtered(samples: bytes, width: int, height: int, channels: int, fixed: int | None) -> bytes:
    stride = width * channels
    out = bytearray()
    for y in range(height):
        row = samples[y * stride:(y + 1) * stride]
        above = samples[(y - 1) * stride:y * stride] if y > 0 else None
        best = None
        for kind in (range(5) if fixed is None else (fixed,)):
            filtered = bytes((row[i] - _predict(kind, row, above, i, channels)) & 255 for i in range(stride))
            cost = sum(v if v < 128 else 256 - v for v in filtered)
            if best is None or cost < best[0]:
                best = (cost, kind, filtered)
        out.append(best[1])
        out += best[2]
    return bytes(out)


def compress_lossless(samples: bytes, width: int, height: int, channels: int) -> bytes:
    """A lossless tile payload (method 0), byte-identical to Swift's LosslessCodec.compress: per row
    the PNG filter of least sum of |signed byte|, zlib level 9; tiles of at most MAX_TRIED_PIXELS
    also try those rows with the Z_FILTERED strategy and one filter for every row, and keep the
    smallest (the first of equals, in that order)."""
    assert len(samples) == width * height * channels and channels in (1, 2, 3, 4)
    rows = _filtered(samples, width, height, channels, None)
    best = zlib.compress(rows, 9)
    if width * height <= MAX_TRIED_PIXELS:
        deflater = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_FILTERED)
        strategy = deflater.compress(rows) + deflater.flush()
        if len(strategy) < len(best):
            best = strategy
        for kind in range(5):
            candidate = zlib.compress(_filtered(samples, width, height, channels, kind), 9)
            if len(candidate) < len(best):
                best = candidate
    return bytes([0]) + best


def decompress_lossless(payload: bytes, width: int, height: int, channels: int) -> bytes:
    """The samples of a lossless tile payload, as Swift's LosslessCodec.decompress."""
    if not payload:
        raise TruncatedError()
    if payload[0] != 0:
        raise CorruptError(f"lossless tile: unknown method {payload[0]}")
    stride = width * channels
    filtered = _inflate(payload[1:], height * (stride + 1), "lossless tile")
    out = bytearray(height * stride)
    for y in range(height):
        kind = filtered[y * (stride + 1)]
        if kind > 4:
            raise CorruptError(f"lossless tile: row {y} has filter {kind}, not 0…4")
        row = memoryview(out)[y * stride:(y + 1) * stride]
        above = out[(y - 1) * stride:y * stride] if y > 0 else None
        source = y * (stride + 1) + 1
        for i in range(stride):
            row[i] = (filtered[source + i] + _predict(kind, row, above, i, channels)) & 255
    return bytes(out)
