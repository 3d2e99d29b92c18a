"""Writes the seed corpus of every fuzz target into Fuzz/corpus/<target>/ (committed).

    .venv/bin/python Fuzz/make_corpus.py [--pane .build/release/pane]

.pane seeds come from the Swift encoder with the tiny model (one-tile and tiled streams, gray,
alpha); rANS seeds from Training/rans.py over the tiny model's tables; PNG and JPEG seeds are small
images of every layout the readers take; the manifest seed is tiny.json; safetensors seeds are
small files of each dtype.
"""
import argparse
import io
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Training"))
import codec as pane_codec  # noqa: E402
import rans  # noqa: E402

CORPUS = ROOT / "Fuzz" / "corpus"
TINY = ROOT / "Fuzz" / "model" / "tiny.json"


def photo(width, height, seed=0):
    """A smooth, textured test picture (no external files)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(x / 7 + c) * np.cos(y / 5 - c) for c in range(3)], axis=-1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def write(target, name, data: bytes):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def pane_seeds(pane: Path):
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("rgb_40x24_q20", photo(40, 24), 20, None), ("rgb_64x64_q90", photo(64, 64, 1), 90, None),
                 ("gray_33x17_q50", photo(33, 17, 2)[..., 0], 50, None),
                 ("rgba_24x24_q60", np.dstack([photo(24, 24, 3), photo(24, 24, 4)[..., 0]]), 60, None),
                 ("tiled_96x80_q40", photo(96, 80, 5), 40, 64)]
        for name, pixels, quality, tile in cases:
            png, out = Path(tmp) / f"{name}.png", Path(tmp) / f"{name}.pane"
            Image.fromarray(pixels).save(png)
            cmd = [str(pane), "encode", str(png), "-o", str(out), "-f", "-q", str(quality), "--model", str(TINY)]
            if tile is not None:
                cmd += ["--tile-size", str(tile)]
            subprocess.run(cmd, check=True, capture_output=True)
            for target in ("pane-file", "decoder"):
                write(target, f"{name}.pane", out.read_bytes())


def rans_seeds():
    c = pane_codec.Codec(TINY)
    tables = c.y_tables
    rng = np.random.default_rng(7)
    levels = len(tables[2])
    for n, spread in [(16, 1), (200, 4), (1000, 30), (64, 3000)]:
        picks = rng.integers(0, levels, n).astype(np.int64)
        symbols = np.round(rng.normal(0, spread, n)).astype(np.int64)
        stream = rans.encode(symbols, picks, *tables)
        write("rans", f"n{n}_spread{spread}", struct.pack("<H", n) + bytes(int(p) % 256 for p in picks) + stream)


def image_seeds():
    layouts = {"gray": photo(23, 17)[..., 0], "rgb": photo(31, 9), "rgba": np.dstack([photo(8, 12), photo(8, 12, 1)[..., 0]]),
               "graya": np.dstack([photo(9, 9)[..., 0], photo(9, 9, 1)[..., 1]])}
    for name, pixels in layouts.items():
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        write("png", f"{name}.png", buffer.getvalue())
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG", optimize=False, compress_level=0)
        write("png", f"{name}_stored.png", buffer.getvalue())
    buffer = io.BytesIO()
    Image.fromarray(photo(16, 16)).convert("P", palette=Image.ADAPTIVE, colors=16).save(buffer, "PNG", transparency=3)
    write("png", "palette_trns.png", buffer.getvalue())
    with tempfile.TemporaryDirectory():
        for name, pixels in (("gray", layouts["gray"]), ("rgb", layouts["rgb"])):
            for sub, opts in (("444", {"subsampling": 0}), ("420", {"subsampling": 2}),
                              ("progressive", {"progressive": True})):
                if name == "gray" and sub != "444":
                    continue
                buffer = io.BytesIO()
                Image.fromarray(pixels).save(buffer, "JPEG", quality=80, **opts)
                write("jpeg", f"{name}_{sub}.jpg", buffer.getvalue())
        buffer = io.BytesIO()
        Image.fromarray(photo(16, 8)).convert("CMYK").save(buffer, "JPEG", quality=80)
        write("jpeg", "cmyk.jpg", buffer.getvalue())


def model_seeds():
    write("manifest", "tiny.json", TINY.read_bytes())
    # Geometry edits the loader must refuse (issue "Files stay decodable and safe"): seeds for the
    # fuzzer to mutate from, one per field.
    import json
    tiny = json.loads(TINY.read_text())
    edits = [("entropy_int", "h_s", 0, "stride", -2), ("entropy_int", "h_s", 0, "stride", 1 << 40),
             ("entropy_int", "h_s", 0, "padding", 1 << 30), ("entropy_int", "h_s", 0, "kernel", 0),
             (None, "g_a", 0, "padding", 1), (None, "g_a", 0, "stride", 0), (None, "g_s", 1, "output_padding", 3),
             (None, "h_a", 0, "in", 1 << 20)]
    for section, field, index, key, value in edits:
        edited = json.loads(json.dumps(tiny))
        layers = edited[section][field] if section else edited[field]
        if index < len(layers):
            layers[index][key] = value
            write("manifest", f"edit_{field}_{index}_{key}.json", json.dumps(edited).encode())

    def safetensors(tensors):
        header, data = {}, b""
        for name, (dtype, shape, raw) in tensors.items():
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
            data += raw
        blob = json.dumps(header, separators=(",", ":")).encode()
        return struct.pack("<Q", len(blob)) + blob + data

    write("safetensors", "f32.safetensors", safetensors({"w": ("F32", [2, 3], np.arange(6, dtype="<f4").tobytes())}))
    write("safetensors", "mixed.safetensors", safetensors({
        "a": ("I32", [4], np.arange(4, dtype="<i4").tobytes()), "b": ("I64", [1, 2], np.arange(2, dtype="<i8").tobytes()),
        "c": ("F32", [], np.ones(1, dtype="<f4").tobytes())}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pane", type=Path, default=ROOT / ".build" / "release" / "pane")
    args = ap.parse_args()
    shutil.rmtree(CORPUS, ignore_errors=True)
    pane_seeds(args.pane)
    rans_seeds()
    image_seeds()
    model_seeds()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")
