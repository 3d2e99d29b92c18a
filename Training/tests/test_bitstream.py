"""Tests of the .pane container reference (Training/bitstream.py); they mirror Tests/PaneBitstreamTests."""
import random
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bitstream as bs  # noqa: E402
import make_bitstream_fixtures as fixtures  # noqa: E402

# Also pinned, byte for byte, in Tests/PaneBitstreamTests/HeaderTests.swift.
GOLDEN_HEADER = bs.Header(model_id=bytes.fromhex("0123456789abcdef"), width=1920, height=1080,
                          color_layout=bs.ColorLayout.RGB, has_alpha=True, quality=75.5, tile_size=256, slice_count=4,
                          effort=7)
GOLDEN_HEADER_HEX = "50414e45" "02" "0123456789abcdef" "80070000" "38040000" "00" "01" "7e1d" "0001" "04" "07" "8b46ea50"
# The same header as version 1 wrote it (no effort field).
GOLDEN_HEADER_V1 = replace(GOLDEN_HEADER, effort=0, format_version=1)
GOLDEN_HEADER_V1_HEX = "50414e45" "01" "0123456789abcdef" "80070000" "38040000" "00" "01" "7e1d" "0001" "04" "796e43b8"


@pytest.fixture(scope="module")
def tiled():
    header, sections, plane = fixtures.tiled_alpha()
    return header, sections, bs.serialize(header, sections), plane


def test_crc_check_value():
    assert bs.crc32(b"123456789") == 0xCBF43926


def test_docstring_is_a_copy_of_the_swift_format_comment():
    swift = (fixtures.FIXTURES.parents[2] / "Sources" / "PaneBitstream" / "Format.swift").read_text()
    comment = []
    for line in swift.splitlines():
        if not line.startswith("///"):
            break
        comment.append(line[4:] if line.startswith("/// ") else line[3:])
    swift_spec = "\n".join(comment)
    start = "All integers are unsigned"
    assert bs.__doc__[bs.__doc__.index(start):].strip() == swift_spec[swift_spec.index(start):].strip()


def test_header_size_and_golden_bytes():
    assert bs.HEADER_SIZE == 33 and bs.HEADER_SIZES == {1: 32, 2: 33} and bs.SECTION_OVERHEAD == 14
    assert GOLDEN_HEADER.encode().hex() == GOLDEN_HEADER_HEX
    assert bs.peek_header(bytes.fromhex(GOLDEN_HEADER_HEX)) == GOLDEN_HEADER
    assert GOLDEN_HEADER_V1.encode().hex() == GOLDEN_HEADER_V1_HEX
    assert bs.peek_header(bytes.fromhex(GOLDEN_HEADER_V1_HEX)) == GOLDEN_HEADER_V1


@pytest.fixture(scope="module")
def mixed():
    header, sections, samples = fixtures.mixed_v2()
    return header, sections, bs.serialize(header, sections), samples


def test_version_2_round_trip_with_metadata_and_a_lossless_tile(mixed):
    header, sections, data, samples = mixed
    assert bs.parse(data) == (header, sections)
    assert bs.serialize(*bs.parse(data)) == data
    assert bs.decompress_lossless(sections[5].payload, 22, 70, 4) == samples
    # With every tile lossless the tiles hold all the alpha: no alpha section, and the file is whole.
    exact = [bs.Section(bs.Kind.LOSSLESS, t, 0, b"") for t in range(2)]
    assert bs.parse(bs.serialize(header, exact))[1] == exact
    with pytest.raises(bs.TruncatedError):
        bs.parse(bs.serialize(header, exact[:1]))
    for length in range(len(data)):
        with pytest.raises(bs.TruncatedError):
            bs.parse(data[:length])
    assert bs.metadata(sections) == {"icc": b"icc profile bytes" * 3, "xmp": b"<x:xmpmeta/>"}
    with pytest.raises(bs.CorruptError):
        bs.metadata([bs.Section(bs.Kind.METADATA, 0, 1, b"\x78\x9c\xff")])
    # Metadata is optional: the file without it is whole.
    assert bs.parse(bs.serialize(header, sections[2:]))[1] == sections[2:]


def test_lossless_codec_round_trips_and_refuses_bad_payloads():
    rng = random.Random(3)
    for width, height, channels in [(1, 1, 1), (5, 3, 3), (17, 9, 1), (32, 32, 3), (6, 5, 2), (9, 4, 4)]:
        samples = bytes(rng.randrange(256) if rng.random() < 0.3 else (x * 7) % 256
                        for x in range(width * height * channels))
        packed = bs.compress_lossless(samples, width, height, channels)
        assert packed[0] == 0
        assert bs.decompress_lossless(packed, width, height, channels) == samples
    packed = bs.compress_lossless(bytes(48), 4, 4, 3)
    with pytest.raises(bs.CorruptError, match="unknown method 7"):
        bs.decompress_lossless(b"\x07" + packed[1:], 4, 4, 3)
    with pytest.raises(bs.TruncatedError):
        bs.decompress_lossless(b"", 4, 4, 3)
    with pytest.raises(bs.CorruptError, match="holds more than"):
        bs.decompress_lossless(packed, 4, 3, 3)
    bad_filter = b"\x00" + zlib.compress(bytes([5]) + bytes(12) + bytes(13 * 3), 9)
    with pytest.raises(bs.CorruptError, match="row 0 has filter 5"):
        bs.decompress_lossless(bad_filter, 4, 4, 3)


def test_a_checkerboard_is_about_as_small_as_png():
    """A 32 × 32 four-colour checkerboard: Pillow writes it in 137 bytes as an RGB PNG at zlib level 9
    (124 as a palette PNG); this payload plus the container's 47 bytes stays at or under 128."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    samples = bytes(v for y in range(32) for x in range(32) for v in colours[(x // 4 + y // 4) % 4])
    packed = bs.compress_lossless(samples, 32, 32, 3)
    assert len(packed) + bs.HEADER_SIZE + bs.SECTION_OVERHEAD <= 128, len(packed)


def test_quality_rounds_half_away_from_zero():
    # 62.125 × 100 = 6212.5 exactly; Python's round() would give 6212.
    assert bs.quality_hundredths(62.125) == 6213
    assert bs.quality_hundredths(0.0) == 0 and bs.quality_hundredths(100.0) == 10_000
    assert bs.peek_header(replace(GOLDEN_HEADER, quality=62.125).encode()).quality == 62.13


def test_committed_fixtures_are_what_the_generator_builds():
    for name, content in fixtures.build().items():
        path = fixtures.FIXTURES / name
        assert path.exists(), f"missing fixture {path}: run make_bitstream_fixtures.py"
        assert path.read_bytes() == content, f"{name} differs from make_bitstream_fixtures.py's output"


def test_round_trip(tiled):
    header, sections, data, _ = tiled
    assert bs.parse(data) == (header, sections)
    assert bs.serialize(*bs.parse(data)) == data
    assert len(data) == bs.HEADER_SIZES[1] + sum(bs.SECTION_OVERHEAD + len(s.payload) for s in sections)
    gray = bs.serialize(*fixtures.single_gray())
    assert bs.parse(gray) == fixtures.single_gray()


def test_tile_grid():
    assert (GOLDEN_HEADER.tile_columns, GOLDEN_HEADER.tile_rows, GOLDEN_HEADER.tile_count) == (8, 5, 40)
    assert replace(GOLDEN_HEADER, tile_size=0).tile_count == 1


def test_every_truncation_is_truncated(tiled):
    data = tiled[2]
    for length in range(len(data)):
        with pytest.raises(bs.TruncatedError):
            bs.parse(data[:length])


def test_flipped_payload_byte_is_corrupt(tiled):
    _, sections, data, _ = tiled
    offset = bs.HEADER_SIZES[1]
    for section in sections:
        start = offset + bs.SECTION_FRAME.size
        for at in range(start, start + len(section.payload)):
            broken = data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1:]
            with pytest.raises(bs.CorruptError, match="section CRC mismatch"):
                bs.parse(broken)
        offset = start + len(section.payload) + bs.CRC.size


def test_header_errors(tiled):
    data = tiled[2]
    with pytest.raises(bs.NotPaneError):
        bs.parse(b"RIFF" + data[4:])
    with pytest.raises(bs.NewerVersionError, match=r"format 7\); this pane reads format 2: upgrade pane"):
        bs.parse(data[:4] + b"\x07" + data[5:])
    for at in range(5, bs.HEADER_SIZES[1]):
        with pytest.raises(bs.CorruptError, match="header CRC mismatch"):
            bs.parse(data[:at] + bytes([data[at] ^ 1]) + data[at + 1:])
    with pytest.raises(bs.UnknownModelError, match="5e1f00d2a7c4b389"):
        bs.parse(data, expected_model_ids=[bytes(8)])
    assert bs.parse(data, expected_model_ids=[bytes(8), fixtures.MODEL_ID])[0].model_id == fixtures.MODEL_ID
    for width, height in [(0, 70), (150, 0), (bs.MAX_DIMENSION + 1, 70)]:
        with pytest.raises(bs.InvalidHeaderError, match="each side must be"):
            bs.parse(fixtures.with_header_fields(data, width=width, height=height))
    assert bs.peek_header(fixtures.with_header_fields(data, width=bs.MAX_DIMENSION)).width == bs.MAX_DIMENSION


def test_section_set_errors(tiled):
    header, sections, _, _ = tiled
    with pytest.raises(bs.MissingSectionError, match=r"y \(tile 1, slice 2\)"):
        bs.parse(bs.serialize(header, sections[:7] + sections[8:]))
    with pytest.raises(bs.CorruptError, match=r"duplicate section y \(tile 0, slice 1\)"):
        bs.parse(bs.serialize(header, sections[:3] + sections[2:]))
    with pytest.raises(bs.TruncatedError):  # alpha absent at the end: indistinguishable from a cut file
        bs.parse(bs.serialize(header, sections[:-1]))
    with pytest.raises(bs.CorruptError, match="alpha section in a file whose header has no alpha"):
        bs.parse(bs.serialize(replace(header, has_alpha=False), sections))


def test_error_cases_in_fixture_json_still_hold():
    import json
    manifest = json.loads((fixtures.FIXTURES / "bitstream_fixtures.json").read_text())
    assert len(manifest["errors"]) >= 25
    for case in manifest["errors"]:
        ids = [bytes.fromhex(m) for m in case.get("expected_model_ids_hex", [])] or None
        with pytest.raises(bs.BitstreamError) as caught:
            bs.parse(bytes.fromhex(case["hex"]), ids)
        assert str(caught.value) == case["message"], case["name"]


def test_random_flips_give_bitstream_errors(tiled):
    data = tiled[2]
    rng = random.Random(1)
    for _ in range(10_000):
        broken = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(broken))
            broken[at] ^= rng.randint(1, 255)
        try:
            bs.parse(bytes(broken))
        except bs.BitstreamError:
            continue
        assert broken == data, "only flips that undid each other may parse"


def test_alpha_codec(tiled):
    _, sections, _, plane = tiled
    packed = bs.compress_alpha(plane)
    assert packed == sections[-1].payload == zlib.compress(plane, 9)
    assert bs.decompress_alpha(packed, len(plane)) == plane
    with pytest.raises(bs.CorruptError, match="more than the 10499 bytes"):
        bs.decompress_alpha(packed, len(plane) - 1)
    with pytest.raises(bs.CorruptError, match="holds 10500 bytes; the header implies 10501"):
        bs.decompress_alpha(packed, len(plane) + 1)
    for length in range(len(packed)):
        with pytest.raises(bs.TruncatedError):
            bs.decompress_alpha(packed[:length], len(plane))
    with pytest.raises(bs.CorruptError, match="bytes after the zlib stream"):
        bs.decompress_alpha(packed + b"\x00", len(plane))
    with pytest.raises(bs.CorruptError):
        bs.decompress_alpha(b"\x78\xda\xff\xff\xff", len(plane))
    # A zlib bomb: 10 MB of zeros in about 10 kB; only count + 1 bytes are ever inflated.
    with pytest.raises(bs.CorruptError, match="more than the 100 bytes"):
        bs.decompress_alpha(zlib.compress(bytes(10_000_000), 9), 100)
    with pytest.raises(bs.CorruptError, match="impossible size -1"):
        bs.decompress_alpha(packed, -1)
