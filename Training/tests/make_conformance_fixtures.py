"""Writes Tests/PaneModelTests/Fixtures/conformance/: `.pane` streams written by the Python reference
codec (Training/codec.py) with the ẑ and ŷ they hold, for the Swift conformance tests
(Tests/PaneModelTests/ConformanceTests.swift).

    .venv/bin/python Training/tests/make_conformance_fixtures.py [--model Models/pane.json]

Training/export.py runs it after every export, so the streams always belong to the shipped model.
It writes, in conformance/:
  - small_gray.png, crop_rgba.png: inputs (a gray copy of Tests/paneTests/Fixtures/small.png, and a
    128×64 crop of Samples/kodim23.png with an alpha plane added);
  - python_<image>_q<quality>.pane + .json: streams of small.png, small_gray.png and crop_rgba.png at
    two qualities each (a low and a high one, picked from IMAGE_QUALITIES for their margins), with ẑ / ŷ (fixed point, units of 2^-12) as {"shape", "data"} integer lists,
    the Python-decoded image (.decoded.png) and the rounding margins (how close the encoder's
    roundings of ẑ and q came to a tie: below ~1e-3 another float kernel may round the other way);
  - latent.safetensors ("y": float32 M×4×4, g_a of a 64×64 crop, before the gain) and
    python_latent_q<quality>.pane + .json: the stream `Codec.encode_latent` writes for it. The latent
    is chosen so that every rounding on the way (ẑ = round(h_a(y·gain)), q = round(y·gain − μ)) is
    at least MARGIN_Z / MARGIN_Y away from a tie, so an encoder whose floats differ by kernel rounding
    (Swift's fp32 g_a/h_a, other CPUs) still writes exactly these bytes;
  - conformance.json: the list of cases and the model's sha256.
The Swift-written streams beside them (swift_*.pane + .json) are made by the Swift tests instead:
    PANE_WRITE_CONFORMANCE=1 swift test -c release -Xswiftc -enable-testing --filter ConformanceTests
(see ConformanceTests.swift); rerun that after an export too.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import codec as pane  # noqa: E402
from entropy_int import MEAN_BITS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "PaneModelTests" / "Fixtures" / "conformance"
SMALL = ROOT / "Tests" / "paneTests" / "Fixtures" / "small.png"
KODIM = ROOT / "Samples" / "kodim23.png"
# Two qualities per image, a low and a high one: the first of each list whose roundings clear the
# margins (so other float kernels, Swift's or another CPU's, most likely write the same stream).
IMAGE_QUALITIES = ((30.0, 25.0, 35.0, 20.0, 40.0, 15.0, 45.0, 10.0), (82.5, 77.5, 87.5, 72.5, 92.5, 67.5, 97.5, 62.5))
LATENT_QUALITIES = (50.0, 90.0)
MARGIN_Z = 1e-3
MARGIN_Y = 1e-4


def alpha_plane(width: int, height: int) -> np.ndarray:
    """A soft-edged disk with a transparent corner, like a real alpha mask."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    distance = np.hypot(x - width * 0.55, y - height * 0.45)
    alpha = np.clip((height * 0.42 - distance) * 24.0, 0, 255)
    alpha[: height // 5, : width // 6] = 0
    return np.round(alpha).astype(np.uint8)


def images() -> dict[str, np.ndarray]:
    small = pane.read_image(SMALL)
    kodim = pane.read_image(KODIM)
    crop = kodim[200:264, 300:428]  # 128 wide, 64 high
    gray = np.round(small.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    return {"small": small, "small_gray": gray,
            "crop_rgba": np.concatenate([crop, alpha_plane(128, 64)[:, :, None]], axis=2)}


def latent_json(z_hat: np.ndarray, y_hat: np.ndarray) -> dict:
    return {"z_hat": {"shape": list(z_hat.shape), "data": [int(v) for v in z_hat.reshape(-1)]},
            "y_hat": {"shape": list(y_hat.shape), "data": [int(v) for v in y_hat.reshape(-1)]}}


def tie_margin(values: np.ndarray) -> float:
    """Smallest distance of float64 `values` from a rounding tie (k + 1/2)."""
    v = np.asarray(values, dtype=np.float64)
    return float(np.abs(v - np.floor(v) - 0.5).min(initial=0.5))


TILED_QUALITY = 60


@torch.no_grad()
def rounding_margins(codec: pane.Codec, y: np.ndarray, quality: float) -> tuple[float, float]:
    """(margin of ẑ, margin of q) for `encode_latent(y, quality)`."""
    gain, _ = codec.gains(pane.stored_quality(quality))
    y_g = y * gain[:, None, None]
    z = codec.net.h_a(torch.from_numpy(np.ascontiguousarray(y_g))[None])[0].numpy()
    z_hat = np.round(z.astype(np.float64)).astype(np.int64)
    size, margins = codec.slice_size, []

    def symbols(i, mu, idx):
        r = y_g[i * size:(i + 1) * size].astype(np.float64) - mu.astype(np.float64) * 2.0 ** -MEAN_BITS
        margins.append(tie_margin(r))
        return np.round(r).astype(np.int64)

    codec.entropy.decode_slices(codec.entropy.hyper(z_hat), symbols)
    return tie_margin(z), min(margins)


def pick_quality(codec: pane.Codec, y: np.ndarray, candidates) -> tuple[float, tuple[float, float]]:
    """The first candidate quality whose roundings clear the margins, else the one that comes closest."""
    best = None
    for quality in candidates:
        mz, my = rounding_margins(codec, y, quality)
        if mz >= MARGIN_Z and my >= MARGIN_Y:
            return quality, (mz, my)
        score = min(mz / MARGIN_Z, my / MARGIN_Y)
        if best is None or score > best[0]:
            best = (score, quality, (mz, my))
    return best[1], best[2]


def fixed_latent(codec: pane.Codec, kodim: np.ndarray):
    """g_a of the first 64×64 crop of kodim23 whose roundings all clear the margins."""
    for top in range(0, 448, 64):
        for left in range(0, 704, 64):
            y = codec.analyze(kodim[top:top + 64, left:left + 64])
            margins = [rounding_margins(codec, y, q) for q in LATENT_QUALITIES]
            if all(mz >= MARGIN_Z and my >= MARGIN_Y for mz, my in margins):
                return y, (top, left), margins
    raise RuntimeError("no crop of kodim23 clears the rounding margins")


def write(out_dir: Path = FIXTURES, model: Path = pane.DEFAULT_MODEL) -> dict:
    from PIL import Image
    from safetensors.numpy import save_file

    torch.set_num_threads(1)
    codec = pane.Codec(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("python_*"):
        old.unlink()
    meta = {"model_sha256": codec.manifest["sha256"], "streams": [],
            "regenerate": "Training/export.py, or .venv/bin/python Training/tests/make_conformance_fixtures.py"}
    sources = images()
    Image.fromarray(sources["small_gray"], mode="L").save(out_dir / "small_gray.png")
    Image.fromarray(sources["crop_rgba"], mode="RGBA").save(out_dir / "crop_rgba.png")
    inputs = {"small": "../../../paneTests/Fixtures/small.png", "small_gray": "small_gray.png",
              "crop_rgba": "crop_rgba.png"}
    for name, image in sources.items():
        y = codec.analyze(image)
        for candidates in IMAGE_QUALITIES:
            quality, (mz, my) = pick_quality(codec, y, candidates)
            stem = f"python_{name}_q{quality:g}"
            encoded = codec.encode_image(image, quality)
            decoded = codec.decode(encoded.data)
            assert (decoded.y_hat == encoded.y_hat).all() and (decoded.z_hat == encoded.z_hat).all()
            (out_dir / f"{stem}.pane").write_bytes(encoded.data)
            Image.fromarray(decoded.image).save(out_dir / f"{stem}.decoded.png")
            entry = {"name": stem, "writer": "python", "input": inputs[name], "quality": quality,
                     "width": int(image.shape[1]), "height": int(image.shape[0]),
                     "stream": f"{stem}.pane", "bytes": len(encoded.data),
                     "stream_sha256": hashlib.sha256(encoded.data).hexdigest(),
                     "decoded": f"{stem}.decoded.png", "margin_z": mz, "margin_y": my}
            (out_dir / f"{stem}.json").write_text(json.dumps({**entry, **latent_json(encoded.z_hat, encoded.y_hat)}) + "\n")
            meta["streams"].append(entry)
    # A tiled stream: crop_rgba (128×64) in 64-pixel tiles, two tiles with halo context.
    stem = f"python_tiled_crop_rgba_q{TILED_QUALITY:g}"
    encoded = codec.encode_image(sources["crop_rgba"], TILED_QUALITY, tile_size=64)
    decoded = codec.decode(encoded.data)
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(decoded.tiles, encoded.tiles))
    (out_dir / f"{stem}.pane").write_bytes(encoded.data)
    Image.fromarray(decoded.image).save(out_dir / f"{stem}.decoded.png")
    entry = {"name": stem, "writer": "python", "input": inputs["crop_rgba"], "quality": TILED_QUALITY,
             "width": 128, "height": 64, "tile_size": 64, "stream": f"{stem}.pane", "bytes": len(encoded.data),
             "stream_sha256": hashlib.sha256(encoded.data).hexdigest(), "decoded": f"{stem}.decoded.png"}
    tiles = [latent_json(z, y) for z, y in encoded.tiles]
    (out_dir / f"{stem}.json").write_text(json.dumps({**entry, "tiles": tiles}) + "\n")
    meta["tiled"] = [entry]
    y, (top, left), margins = fixed_latent(codec, pane.read_image(KODIM))
    save_file({"y": np.ascontiguousarray(y, dtype=np.float32)}, str(out_dir / "latent.safetensors"))
    latent = {"file": "latent.safetensors", "tensor": "y", "source": f"g_a of Samples/kodim23.png[{top}:{top + 64}, "
              f"{left}:{left + 64}]", "width": 64, "height": 64, "streams": []}
    for quality, (mz, my) in zip(LATENT_QUALITIES, margins):
        stem = f"python_latent_q{quality:g}"
        encoded = codec.encode_latent(y, quality, width=64, height=64)
        (out_dir / f"{stem}.pane").write_bytes(encoded.data)
        entry = {"name": stem, "writer": "python", "quality": quality, "width": 64, "height": 64,
                 "stream": f"{stem}.pane", "bytes": len(encoded.data),
                 "stream_sha256": hashlib.sha256(encoded.data).hexdigest(),
                 "margin_z": mz, "margin_y": my}
        (out_dir / f"{stem}.json").write_text(json.dumps({**entry, **latent_json(encoded.z_hat, encoded.y_hat)}) + "\n")
        latent["streams"].append(entry)
    meta["latent"] = latent
    # Lossless streams (format version 2): one tile, and 64-pixel tiles with alpha.
    meta["lossless"] = []
    for name, tile_size in (("small", None), ("crop_rgba", 64)):
        stem = f"python_lossless_{name}" + ("" if tile_size is None else f"_t{tile_size}")
        data = codec.encode_lossless(sources[name], tile_size)
        assert (codec.decode(data).image == sources[name]).all()
        (out_dir / f"{stem}.pane").write_bytes(data)
        meta["lossless"].append({"name": stem, "writer": "python", "input": inputs[name], "tile_size": tile_size or 0,
                                 "stream": f"{stem}.pane", "bytes": len(data),
                                 "stream_sha256": hashlib.sha256(data).hexdigest()})
    (out_dir / "conformance.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=pane.DEFAULT_MODEL)
    ap.add_argument("--out", type=Path, default=FIXTURES)
    args = ap.parse_args(argv)
    meta = write(args.out, args.model)
    print(f"wrote {len(meta['streams']) + len(meta['latent']['streams'])} streams to {args.out} "
          f"for model {meta['model_sha256'][:12]}")


if __name__ == "__main__":
    main()
