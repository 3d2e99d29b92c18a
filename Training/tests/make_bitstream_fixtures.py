"""Writes Tests/PaneBitstreamTests/Fixtures/: .pane files made by Training/bitstream.py and a JSON
of what they hold and of broken files with the error each must give, for the Swift tests.

Run it only to change the fixtures on purpose (the format changed):
    .venv/bin/python Training/tests/make_bitstream_fixtures.py
test_bitstream.py fails when the committed fixtures differ from what this script builds.
"""
import hashlib
import json
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bitstream as bs  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "Tests" / "PaneBitstreamTests" / "Fixtures"
MODEL_ID = bytes.fromhex("5e1f00d2a7c4b389")


def alpha_plane(width: int, height: int) -> bytes:
    """A soft-edged disk with a transparent corner: runs and gradients, like a real alpha mask."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    distance = np.hypot(x - width * 0.55, y - height * 0.45)
    alpha = np.clip((height * 0.42 - distance) * 24.0, 0, 255)
    alpha[: height // 5, : width // 6] = 0
    return np.round(alpha).astype(np.uint8).tobytes()


def tiled_alpha() -> tuple[bs.Header, list[bs.Section], bytes]:
    """2 × 1 tiles of 128 px, 3 slices, alpha: 9 sections, one with an empty payload."""
    header = bs.Header(model_id=MODEL_ID, width=150, height=70, color_layout=bs.ColorLayout.RGB, has_alpha=True,
                       quality=62.25, tile_size=128, slice_count=3, format_version=1)
    rng = np.random.default_rng(20240517)
    sections = []
    for tile in range(header.tile_count):
        sections.append(bs.Section(bs.Kind.Z, tile, 0, rng.integers(0, 256, 7 + tile, dtype=np.uint8).tobytes()))
        for s in range(header.slice_count):
            length = 0 if (tile, s) == (1, 1) else int(rng.integers(3, 25))
            sections.append(bs.Section(bs.Kind.Y, tile, s, rng.integers(0, 256, length, dtype=np.uint8).tobytes()))
    plane = alpha_plane(header.width, header.height)
    sections.append(bs.Section(bs.Kind.ALPHA, 0, 0, bs.compress_alpha(plane)))
    return header, sections, plane


def single_gray() -> tuple[bs.Header, list[bs.Section]]:
    """One tile, gray, no alpha, one slice (format version 1)."""
    header = bs.Header(model_id=MODEL_ID, width=64, height=48, color_layout=bs.ColorLayout.GRAY, has_alpha=False,
                       quality=37.5, tile_size=0, slice_count=1, format_version=1)
    return header, [bs.Section(bs.Kind.Z, 0, 0, b"\x01\x02\x03"), bs.Section(bs.Kind.Y, 0, 0, bytes(range(40)))]


def mixed_v2() -> tuple[bs.Header, list[bs.Section], bytes]:
    """Format version 2: ICC and XMP metadata, 2 × 1 tiles of 128 px (tile 0 z + 2 y slices, tile 1
    lossless), alpha, effort 3. Returns the header, the sections and tile 1's samples."""
    header = bs.Header(model_id=MODEL_ID, width=150, height=70, color_layout=bs.ColorLayout.RGB, has_alpha=True,
                       quality=88.5, tile_size=128, slice_count=2, effort=3)
    rng = np.random.default_rng(20261206)
    y, x = np.mgrid[0:70, 0:22]
    plane = alpha_plane(150, 70)
    tile1 = np.stack([x * 11 % 256, y * 3, (x * y) % 7 * 30], axis=-1).astype(np.uint8)
    tile1[20:30, 5:15] = rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)
    alpha1 = np.frombuffer(plane, dtype=np.uint8).reshape(70, 150)[:, 128:, None]
    samples = np.concatenate([tile1, alpha1], axis=-1).tobytes()  # the tile holds its alpha
    sections = [
        bs.Section(bs.Kind.METADATA, 0, bs.MetadataKind.ICC, zlib.compress(b"icc profile bytes" * 3, 9)),
        bs.Section(bs.Kind.METADATA, 0, bs.MetadataKind.XMP, zlib.compress(b"<x:xmpmeta/>", 9)),
        bs.Section(bs.Kind.Z, 0, 0, rng.integers(0, 256, 9, dtype=np.uint8).tobytes()),
        bs.Section(bs.Kind.Y, 0, 0, rng.integers(0, 256, 14, dtype=np.uint8).tobytes()),
        bs.Section(bs.Kind.Y, 0, 1, rng.integers(0, 256, 5, dtype=np.uint8).tobytes()),
        bs.Section(bs.Kind.LOSSLESS, 1, 0, bs.compress_lossless(samples, 22, 70, 4)),
        bs.Section(bs.Kind.ALPHA, 0, 0, bs.compress_alpha(plane)),
    ]
    return header, sections, samples


def with_header_fields(data: bytes, **changes) -> bytes:
    """`data` with some stored header fields replaced and the header CRC recomputed, so only the
    changed values are wrong."""
    version = data[4]
    record, names = bs.HEADERS[version], bs.FIELD_NAMES[version]
    values = dict(zip(names, record.unpack_from(data)))
    values.update(changes)
    body = record.pack(*(values[n] for n in names))
    return body + bs.CRC.pack(bs.crc32(body)) + data[bs.HEADER_SIZES[version]:]


def error_cases(header: bs.Header, sections: list[bs.Section], data: bytes) -> list[dict]:
    """Broken files, each with the error Training/bitstream.py raises; Swift must raise the same.
    `data` is a version-1 file (tiled_alpha); the version-2 cases are built on mixed_v2."""
    z0, y00, y01 = sections[0], sections[1], sections[2]
    v1_size = bs.HEADER_SIZES[1]
    h2, s2, _ = mixed_v2()
    icc, xmp, z20, y200, y201, lossless, alpha2 = s2
    v2 = bs.serialize(h2, s2)
    v2_size = bs.HEADER_SIZES[2]
    cases = {
        "empty": b"",
        "short prefix of the magic": b"PAN",
        "not pane": b"\x89PNG\r\n\x1a\n" + data[8:],
        "newer version": data[:4] + b"\x03" + data[5:],
        "version zero": data[:4] + b"\x00" + data[5:],
        "header cut": data[: v1_size - 1],
        "header CRC flip": data[:13] + bytes([data[13] ^ 0x10]) + data[14:],
        "zero width": with_header_fields(data, width=0),
        "too tall": with_header_fields(data, height=bs.MAX_DIMENSION + 1),
        "colour layout 2": with_header_fields(data, color_layout=2),
        "has alpha 2": with_header_fields(data, has_alpha=2),
        "quality over 100": with_header_fields(data, quality_hundredths=10_001),
        "tile size not a multiple of 64": with_header_fields(data, tile_size=100),
        "no slices": with_header_fields(data, slice_count=0),
        "17 slices": with_header_fields(data, slice_count=17),
        "unknown model": data,
        "header only": data[: v1_size],
        "cut inside a payload": data[:-20],
        "payload byte flip": data[: v1_size + 12] + bytes([data[v1_size + 12] ^ 1]) + data[v1_size + 13:],
        "missing section": bs.serialize(header, [s for s in sections if s is not y01]),
        "missing z": bs.serialize(header, sections[1:]),
        "duplicate section": bs.serialize(header, [z0, z0] + sections[1:]),
        "out of order": bs.serialize(header, [z0, y01, y00] + sections[3:]),
        "unknown section type": data[: v1_size] + _raw_section(9, 0, 0, b"\x00") + data[v1_size:],
        "lossless section in version 1": data[: v1_size] + _raw_section(4, 0, 0, b"\x00") + data[v1_size:],
        "tile out of range": bs.serialize(header, [bs.Section(bs.Kind.Z, 5, 0, b"")]),
        "slice out of range": bs.serialize(header, [z0, bs.Section(bs.Kind.Y, 0, 3, b"")]),
        "z with a slice": bs.serialize(header, [bs.Section(bs.Kind.Z, 0, 1, b"")]),
        "alpha with a tile": bs.serialize(header, sections[:-1] + [bs.Section(bs.Kind.ALPHA, 1, 0, b"")]),
        "alpha without has-alpha": bs.serialize(replace(header, has_alpha=False), sections),
        "trailing bytes": data + b"\x00\x00",
        "v2 header cut": v2[: v2_size - 1],
        "v2 effort 10": with_header_fields(v2, effort=10),
        "v2 newer version": v2[:4] + b"\x03" + v2[5:],
        "v2 lossless and z for one tile": bs.serialize(h2, [icc, xmp, z20, bs.Section(bs.Kind.LOSSLESS, 0, 0, b"")]),
        "v2 y after lossless": bs.serialize(h2, [bs.Section(bs.Kind.LOSSLESS, 0, 0, b""), y200]),
        "v2 duplicate lossless": bs.serialize(h2, [icc, xmp, z20, y200, y201, lossless, lossless]),
        "v2 lossless with a slice": bs.serialize(h2, [bs.Section(bs.Kind.LOSSLESS, 0, 1, b"")]),
        "v2 metadata kind 4": bs.serialize(h2, [bs.Section(bs.Kind.METADATA, 0, 4, b"")] + s2),
        "v2 metadata with a tile": bs.serialize(h2, [bs.Section(bs.Kind.METADATA, 1, 1, b"")] + s2[2:]),
        "v2 metadata out of order": bs.serialize(h2, [xmp, icc] + s2[2:]),
        "v2 metadata after a tile": bs.serialize(h2, [z20, y200, y201, icc, lossless, alpha2]),
        "v2 missing alpha at the end": bs.serialize(h2, s2[:-1]),
        "v2 trailing bytes": v2 + b"\x01",
        "v2 alpha after lossless tiles only": bs.serialize(h2, [bs.Section(bs.Kind.LOSSLESS, 0, 0, b""),
                                                                 bs.Section(bs.Kind.LOSSLESS, 1, 0, b""), alpha2]),
    }
    result = []
    for name, broken in cases.items():
        expected_ids = [bytes(8)] if name == "unknown model" else None
        try:
            bs.parse(broken, expected_ids)
        except bs.BitstreamError as error:
            case = {"name": name, "hex": broken.hex(), "error": _swift_case(error), "message": str(error)}
            if expected_ids is not None:
                case["expected_model_ids_hex"] = [m.hex() for m in expected_ids]
            result.append(case)
            continue
        raise AssertionError(f"error case {name!r} parsed without error")
    return result


def _raw_section(kind: int, tile: int, slice_: int, payload: bytes) -> bytes:
    frame = bs.SECTION_FRAME.pack(kind, tile, slice_, len(payload)) + payload
    return frame + bs.CRC.pack(bs.crc32(frame))


def _swift_case(error: bs.BitstreamError) -> str:
    return {bs.NotPaneError: "notPane", bs.NewerVersionError: "newerVersion", bs.UnknownModelError: "unknownModel",
            bs.TruncatedError: "truncated", bs.CorruptError: "corrupt", bs.MissingSectionError: "missingSection",
            bs.InvalidHeaderError: "invalidHeader"}[type(error)]


def describe(header: bs.Header, sections: list[bs.Section], data: bytes) -> dict:
    return {
        "header": {"model_id_hex": header.model_id.hex(), "width": header.width, "height": header.height,
                   "color_layout": header.color_layout.name.lower(), "has_alpha": header.has_alpha,
                   "quality": header.quality, "tile_size": header.tile_size, "slice_count": header.slice_count,
                   "effort": header.effort, "format_version": header.format_version},
        "sections": [{"kind": s.kind.name.lower(), "tile": s.tile, "slice": s.slice, "payload_hex": s.payload.hex()}
                     for s in sections],
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def build() -> dict[str, bytes]:
    """Every fixture file, by name."""
    header, sections, plane = tiled_alpha()
    tiled = bs.serialize(header, sections)
    gray_header, gray_sections = single_gray()
    gray = bs.serialize(gray_header, gray_sections)
    mixed_header, mixed_sections, lossless_samples = mixed_v2()
    mixed = bs.serialize(mixed_header, mixed_sections)
    manifest = {
        "files": {
            "tiled_alpha.pane": {**describe(header, sections, tiled), "alpha_plane_hex": plane.hex()},
            "single_gray.pane": describe(gray_header, gray_sections, gray),
            "mixed_v2.pane": {**describe(mixed_header, mixed_sections, mixed),
                              "lossless_samples_hex": lossless_samples.hex()},
        },
        "errors": error_cases(header, sections, tiled),
    }
    return {
        "tiled_alpha.pane": tiled,
        "single_gray.pane": gray,
        "mixed_v2.pane": mixed,
        "bitstream_fixtures.json": (json.dumps(manifest, indent=1) + "\n").encode(),
    }


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, content in build().items():
        (FIXTURES / name).write_bytes(content)
        print(f"wrote {FIXTURES / name} ({len(content)} bytes)")
