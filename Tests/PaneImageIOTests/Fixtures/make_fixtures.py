#!/usr/bin/env python3
"""Writes the PaneImageIO test fixtures and the pixels they must decode to.

PNGs are written byte by byte with zlib + struct only, so every sample is
known; rows use all five filter types in turn and some files are Adam7
interlaced. `expected.json` holds, per PNG, the 8-bit pixels (and alpha) a
correct reader returns: low-bit gray scaled by 255 / (2^d - 1), 16-bit samples
reduced with rounding, (v * 255 + 32767) // 65535, palettes and tRNS expanded.

The JPEG fixtures come from Pillow (a different encoder from Pane's), so run
this with the project's .venv:  .venv/bin/python make_fixtures.py
"""
import json
import os
import struct
import zlib

WIDTH, HEIGHT = 11, 5  # rows of 11, 22, 44 bits: never a whole number of bytes
HERE = os.path.dirname(os.path.abspath(__file__))
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
# 16-bit values where rounding and truncation to 8 bits disagree, or ends of range.
EDGE_16 = [0, 65535, 128, 129, 32767, 32896, 255, 65407]


def sample(x, y, c, depth):
    """Deterministic, well-mixed sample in [0, 2^depth)."""
    h = (x * 73856093) ^ (y * 19349663) ^ (c * 83492791) ^ 0x5BD1E995
    h = (h * 2654435761) & 0xFFFFFFFF
    return (h >> 7) % (1 << depth)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc, bits = (acc << depth) | s, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp):
    """Filters each packed row with type (row index mod 5)."""
    out, prev = bytearray(), None
    for index, row in enumerate(rows):
        kind = index % 5
        out.append(kind)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i] if prev else 0
            c = prev[i - bpp] if prev and i >= bpp else 0
            predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            out.append((x - predictor) & 0xFF)
        prev = row
    return bytes(out)


def png_bytes(grid, depth, color_type, samples_per_pixel, interlace, plte=None, trns=None, size=None):
    """grid[y][x] is a tuple of raw samples; returns the whole file."""
    height, width = len(grid), len(grid[0])
    bpp = max(1, samples_per_pixel * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        rows = [pack_row([s for x in range(x0, width, dx) for s in grid[y][x]], depth)
                for y in range(y0, height, dy)]
        if rows and rows[0]:
            raw += filter_rows(rows, bpp)
    w, h = size or (width, height)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, interlace))
    if plte is not None:
        out += chunk(b"PLTE", b"".join(bytes(rgb) for rgb in plte))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def to8(v, depth):
    return (v * 255 + 32767) // 65535 if depth == 16 else v * 255 // ((1 << depth) - 1)


def make_grid(depth, samples_per_pixel):
    grid = [[tuple(sample(x, y, c, depth) for c in range(samples_per_pixel)) for x in range(WIDTH)]
            for y in range(HEIGHT)]
    if depth == 16:
        flat = [list(px) for row in grid for px in row]
        for i, v in enumerate(EDGE_16):
            flat[i // samples_per_pixel][i % samples_per_pixel] = v
        grid = [[tuple(flat[y * WIDTH + x]) for x in range(WIDTH)] for y in range(HEIGHT)]
    return grid


def direct(name, depth, color_type, interlace=False, key=False):
    """Gray (0), gray+alpha (4), RGB (2) or RGBA (6); key=True adds a tRNS colour key."""
    spp = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    grid = make_grid(depth, spp)
    colours = 3 if color_type in (2, 6) else 1
    trns, key_px = None, None
    if key:
        key_px = grid[1][1]
        trns = b"".join(struct.pack(">H", s) for s in key_px)
    pixels, alpha = [], []
    for px in (p for row in grid for p in row):
        pixels += [to8(s, depth) for s in px[:colours]]
        if spp in (2, 4):
            alpha.append(to8(px[-1], depth))
        elif key:
            alpha.append(0 if px == key_px else 255)
    has_alpha = spp in (2, 4) or key
    data = png_bytes(grid, depth, color_type, spp, int(interlace), trns=trns)
    return name, data, colours, pixels, alpha if has_alpha else None


def palette(name, depth, with_trns, interlace=False):
    n = 1 << depth
    plte = [((i * 37) % 256, (i * 91 + 17) % 256, (255 - i * 53) % 256) for i in range(n)]
    trns = bytes((i * 67 + 11) % 256 for i in range(max(1, n // 2))) if with_trns else None
    grid = [[(sample(x, y, 0, depth),) for x in range(WIDTH)] for y in range(HEIGHT)]
    pixels, alpha = [], []
    for (index,) in (p for row in grid for p in row):
        pixels += plte[index]
        if trns:
            alpha.append(trns[index] if index < len(trns) else 255)
    data = png_bytes(grid, depth, 3, 1, int(interlace), plte=plte, trns=trns)
    return name, data, 3, pixels, alpha if trns else None


def pngs():
    out = [direct(f"gray{d}", d, 0) for d in (1, 2, 4, 8, 16)]
    out += [direct("gray8_trns", 8, 0, key=True), direct("gray16_trns", 16, 0, key=True)]
    out += [direct(f"graya{d}", d, 4) for d in (8, 16)]
    out += [palette(f"pal{d}", d, False) for d in (1, 2, 4, 8)]
    out += [palette(f"pal{d}_trns", d, True) for d in (1, 2, 4, 8)]
    out += [direct(f"rgb{d}", d, 2) for d in (8, 16)]
    out += [direct("rgb8_trns", 8, 2, key=True)]
    out += [direct(f"rgba{d}", d, 6) for d in (8, 16)]
    out += [direct("gray2_interlaced", 2, 0, interlace=True), direct("rgb8_interlaced", 8, 2, interlace=True),
            direct("rgba16_interlaced", 16, 6, interlace=True), palette("pal4_trns_interlaced", 4, True, True)]
    return out


def broken_pngs(rgb8):
    """Files each reader must refuse with a specific error."""
    idat = rgb8.index(b"IDAT")
    (idat_length,) = struct.unpack(">I", rgb8[idat - 4 : idat])
    bad_crc = bytearray(rgb8)
    bad_crc[idat + 4 + idat_length] ^= 0x01  # the stored CRC, so the data itself still inflates
    grid = make_grid(8, 3)
    short = png_bytes(grid[:2], 8, 2, 3, 0, size=(WIDTH, HEIGHT))  # valid chunks, 2 of 5 rows of data
    huge = png_bytes([[(0, 0, 0)]], 8, 2, 3, 0, size=(10**9, 10**9))
    return {"truncated.png": rgb8[: idat + 20], "bad_crc.png": bytes(bad_crc), "short_data.png": short, "huge.png": huge}


def jpegs():
    """Pillow-made JPEGs of a smooth ramp: r = 255x/(w-1), g = 255y/(h-1), b = 255(x+y)/(w+h-2)."""
    from PIL import Image
    w, h = 48, 32
    rgb = Image.new("RGB", (w, h))
    rgb.putdata([(255 * x // (w - 1), 255 * y // (h - 1), 255 * (x + y) // (w + h - 2))
                 for y in range(h) for x in range(w)])
    rgb.save(os.path.join(HERE, "progressive_rgb.jpg"), quality=95, progressive=True)
    rgb.convert("L").save(os.path.join(HERE, "progressive_gray.jpg"), quality=95, progressive=True)
    rgb.convert("CMYK").save(os.path.join(HERE, "cmyk.jpg"), quality=95)


def main():
    expected = {}
    for name, data, channels, pixels, alpha in pngs():
        with open(os.path.join(HERE, name + ".png"), "wb") as f:
            f.write(data)
        expected[name] = {"width": WIDTH, "height": HEIGHT, "channels": channels, "pixels": pixels, "alpha": alpha}
    rgb8 = open(os.path.join(HERE, "rgb8.png"), "rb").read()
    for name, data in broken_pngs(rgb8).items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    jpegs()


if __name__ == "__main__":
    main()
