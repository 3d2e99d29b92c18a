#!/usr/bin/env python3
"""Writes the broken x*.png files of this folder and expected.json, from the genuine PngSuite images here.

expected.json holds, per valid image, what PaneImageIO must decode it to, computed
from the raw samples of pypng (pure Python, independent of libpng) with Pane's
rules applied here: palette to RGB, tRNS to an alpha plane, gray of 1/2/4 bits
scaled by 255 / (2^d - 1), 16-bit samples rounded with (v * 255 + 32767) // 65535;
gAMA, sBIT, bKGD and the rest ignored. Pixels and alpha are stored as FNV-1a 64
hashes (PaneImageIO's tests may not depend on PaneModel's SHA-256). Per broken
file it holds the error PaneImageIO must throw and how the file was made.

pypng is needed only to run this script, not by the tests:
    python3 -m venv /tmp/pngref && /tmp/pngref/bin/pip install pypng
    /tmp/pngref/bin/python make_pngsuite.py
The genuine images were copied in once with --import (see README.md):
    /tmp/pngref/bin/python make_pngsuite.py --import LIBPNG_PNGSUITE_DIR GO_PNGSUITE_DIR PYPNG_PNGSUITE_PY
"""
import glob
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunks(data):
    """(offset, length, type) of each chunk; offset is that of the length field."""
    out, offset = [], len(SIGNATURE)
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        out.append((offset, length, data[offset + 4 : offset + 8]))
        offset += 12 + length
    return out


def find_chunk(data, kind):
    return next(c for c in chunks(data) if c[2] == kind)


def replace_signature_byte(position, value):
    """position counts from 1, as PngSuite's descriptions do."""
    return lambda data: data[: position - 1] + bytes([value]) + data[position:]


def set_ihdr_field(field_offset, value):
    """Changes one byte of IHDR's data and recomputes its CRC, so that a reader's value check is what fails."""
    def corrupt(data):
        offset, length, _ = find_chunk(data, b"IHDR")
        body = bytearray(data[offset + 4 : offset + 8 + length])
        body[4 + field_offset] = value
        crc = struct.pack(">I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
        return data[: offset + 4] + bytes(body) + crc + data[offset + 12 + length :]
    return corrupt


def flip_crc(kind):
    def corrupt(data):
        offset, length, _ = find_chunk(data, kind)
        crc = offset + 8 + length
        return data[:crc] + bytes([data[crc] ^ 0x01]) + data[crc + 1 :]
    return corrupt


def drop_chunk(kind):
    def corrupt(data):
        offset, length, _ = find_chunk(data, kind)
        return data[:offset] + data[offset + 12 + length :]
    return corrupt


def cut_inside(kind):
    """Keeps the file up to the middle of the chunk's data."""
    def corrupt(data):
        offset, length, _ = find_chunk(data, kind)
        return data[: offset + 8 + length // 2]
    return corrupt


def cut_before(kind):
    return lambda data: data[: find_chunk(data, kind)[0]]


# name: (source image, the error PaneImageIO throws, what was done, how).
# The first fourteen are PngSuite's "corrupted files" (www.schaik.com/pngsuite), remade here
# from its descriptions; xpane_* are Pane's own truncations.
BROKEN = {
    "xs1n0g01": ("basn0g01", "unsupportedFormat", "signature byte 1 MSBit reset to zero", replace_signature_byte(1, 0x09)),
    "xs2n0g01": ("basn0g01", "unsupportedFormat", "signature byte 2 is a 'Q'", replace_signature_byte(2, ord("Q"))),
    "xs4n0g01": ("basn0g01", "unsupportedFormat", "signature byte 4 lowercase", replace_signature_byte(4, ord("g"))),
    "xs7n0g01": ("basn0g01", "unsupportedFormat", "7th byte a space instead of control-Z",
                 replace_signature_byte(7, ord(" "))),
    "xcrn0g04": ("basn0g04", "unsupportedFormat", "added cr bytes: CR before every LF of the file (Unix to DOS)",
                 lambda data: data.replace(b"\n", b"\r\n")),
    "xlfn0g04": ("basn0g04", "unsupportedFormat", "added lf bytes: LF after every CR of the file",
                 lambda data: data.replace(b"\r", b"\r\n")),
    "xhdn0g08": ("basn0g08", "corrupt", "incorrect IHDR checksum", flip_crc(b"IHDR")),
    "xc1n0g08": ("basn0g08", "corrupt", "color type 1", set_ihdr_field(9, 1)),
    "xc9n2c08": ("basn2c08", "corrupt", "color type 9", set_ihdr_field(9, 9)),
    "xd0n2c08": ("basn2c08", "corrupt", "bit-depth 0", set_ihdr_field(8, 0)),
    "xd3n2c08": ("basn2c08", "corrupt", "bit-depth 3", set_ihdr_field(8, 3)),
    "xd9n2c08": ("basn2c08", "corrupt", "bit-depth 99", set_ihdr_field(8, 99)),
    "xdtn0g01": ("basn0g01", "corrupt", "missing IDAT chunk", drop_chunk(b"IDAT")),
    "xcsn0g01": ("basn0g01", "corrupt", "incorrect IDAT checksum", flip_crc(b"IDAT")),
    "xpane_cut_in_plte_basn3p08": ("basn3p08", "truncated", "file ends in the middle of PLTE", cut_inside(b"PLTE")),
    "xpane_cut_in_idat_basi0g08": ("basi0g08", "truncated", "interlaced, file ends in the middle of IDAT",
                                   cut_inside(b"IDAT")),
    "xpane_no_iend_basn2c08": ("basn2c08", "truncated", "file ends after IDAT, IEND missing", cut_before(b"IEND")),
}


def to8(value, depth):
    if depth == 16:
        return (value * 255 + 32767) // 65535
    return value * 255 // ((1 << depth) - 1)


def canonical(data):
    """(width, height, channels, pixels, alpha or None) as PaneImageIO must return them."""
    import png

    reader = png.Reader(bytes=data)
    width, height, rows, info = reader.read()  # raw samples: no sBIT shift, no palette lookup
    depth, planes = info["bitdepth"], info["planes"]
    pixels, alpha = [], []
    if reader.colormap:
        palette = reader.palette()  # 4-tuples when tRNS is present, missing entries 255
        has_alpha = len(palette[0]) == 4
        for row in rows:
            for index in row:
                if index >= len(palette):
                    raise ValueError("palette index out of range")
                pixels += palette[index][:3]
                if has_alpha:
                    alpha.append(palette[index][3])
        return width, height, 3, pixels, alpha if has_alpha else None
    colours = 1 if info["greyscale"] else 3
    key = info.get("transparent")
    has_alpha = info["alpha"] or key is not None
    for row in rows:
        for x in range(width):
            samples = tuple(row[x * planes : (x + 1) * planes])
            pixels += [to8(s, depth) for s in samples[:colours]]
            if info["alpha"]:
                alpha.append(to8(samples[-1], depth))
            elif key is not None:
                alpha.append(0 if samples[:colours] == tuple(key) else 255)
    return width, height, colours, pixels, alpha if has_alpha else None


def fnv1a64(values):
    h = 0xCBF29CE484222325
    for v in values:
        h = ((h ^ v) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def expected_valid(data):
    width, height, channels, pixels, alpha = canonical(data)
    return {
        "width": width, "height": height, "channels": channels, "hasAlpha": alpha is not None,
        "pixelsFNV1a64": fnv1a64(pixels), "alphaFNV1a64": fnv1a64(alpha) if alpha is not None else None,
        "firstPixels": pixels[:8], "firstAlpha": alpha[:8] if alpha is not None else None,
    }


def import_suite(libpng_dir, go_dir, pypng_pngsuite_py):
    """Copies the genuine PngSuite images from the three local copies, checking that same names hold the same pixels."""
    import importlib.util

    copies = {}
    for directory in (libpng_dir, os.path.join(libpng_dir, "interlaced"), go_dir):
        for path in sorted(glob.glob(os.path.join(directory, "*.png"))):
            name = os.path.basename(path)[:-4]
            if "-" not in name:  # Go's derived basn0g01-30 etc. are not PngSuite's
                copies.setdefault(name, []).append(open(path, "rb").read())
    spec = importlib.util.spec_from_file_location("pngsuite", pypng_pngsuite_py)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pngsuite"] = module  # it adds its images to its own module namespace
    spec.loader.exec_module(module)
    for name, data in module.png.items():
        if name[0].islower():  # the capitalised ones are pypng's own, not PngSuite's
            copies.setdefault(name, []).append(data)
    for name, versions in sorted(copies.items()):
        if len({json.dumps(canonical(v)) for v in versions}) != 1:
            raise ValueError(f"{name}: the copies decode to different pixels")
        if len(set(versions)) != 1:
            print(f"{name}: copies differ in bytes, not in pixels; keeping the first")
        with open(os.path.join(HERE, name + ".png"), "wb") as f:
            f.write(versions[0])  # the libpng copy where there is one


def main():
    if sys.argv[1:2] == ["--import"]:
        import_suite(*sys.argv[2:5])
    for path in glob.glob(os.path.join(HERE, "x*.png")):
        os.remove(path)
    genuine = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(HERE, "*.png")))
    valid = {name: expected_valid(open(os.path.join(HERE, name + ".png"), "rb").read()) for name in genuine}
    broken = {}
    for name, (source, error, what, corrupt) in BROKEN.items():
        data = corrupt(open(os.path.join(HERE, source + ".png"), "rb").read())
        with open(os.path.join(HERE, name + ".png"), "wb") as f:
            f.write(data)
        broken[name] = {"from": source, "error": error, "corruption": what}
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump({"valid": valid, "broken": broken}, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print(f"{len(valid)} valid, {len(broken)} broken")


if __name__ == "__main__":
    main()
