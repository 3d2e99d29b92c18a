"""The Python reference codec: `.pane` streams that Sources/Pane/Bitstream.swift reads and writes.

    python Training/codec.py encode IN.png OUT.pane -q 75 [--model Models/pane.json]
    python Training/codec.py decode IN.pane OUT.png

It mirrors `Codec.encode(_:quality:)` / `Codec.decode(_:)` step for step (Bitstream.swift is the
specification), so a stream written here decodes in Swift to the same ẑ and ŷ, integer for integer,
and the other way round (DESIGN.md, "Determinism"):

    image (uint8) ─► [0, 1] floats (sample / 255 in float32; gray repeats its plane) ─► edge-replicate
    to multiples of 64 ─► g_a ─► × gain(quality) ─► h_a ─► ẑ = round(z), ties to even
    ─► z stream: rANS, table = channel ─► integer h_s(ẑ) ─► per slice i: (μ_i, scale index) from the
    integer path, q = round(y − μ·2^−12) in float64 ties to even, clamped to int32 ─► y stream i:
    rANS, table = scale index ─► alpha: zlib level 9 ─► header (model id = first 8 bytes of the
    manifest's sha256, quality in hundredths, tile size 0, slice count).

Where each part comes from: *everything* is read from the exported model files (Models/pane.json +
Models/pane.safetensors, checked against the manifest's sha256), never from Training/checkpoint.pt:
  - the exact integer path (h_s, slices, thresholds, LRP table: `int.*`) through
    `IntegerEntropyModel.from_tensors` — calibration at export is not reproducible bit for bit, so
    a rebuilt integer path would not decode Swift's streams;
  - the CDF tables (`entropy.y.*`, `entropy.z.*`);
  - the float parts (g_a, h_a, g_s, gains) loaded into `model.PaneNet`. The checkpoint keeps changing
    while training runs, so it cannot be trusted to be the exported model. Exported GDN beta/gamma are
    effective values (after the reparametrization); `float_net` makes each GDN return the stored
    tensors as they are, so the float network is exactly the one Swift runs, up to kernel rounding.

Quality is rounded to hundredths first (half away from zero), as Swift does, and that rounded value
drives the gains and goes into the header. Decoded images are quantized as PaneImageIO does:
round(v·255) half away from zero, clamped, NaN → 0; gray is the float32 mean of the three planes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bitstream as bs  # noqa: E402
import rans  # noqa: E402
from entropy_int import MEAN_BITS, IntegerEntropyModel  # noqa: E402
from model import GDN, Config, PaneNet  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "Models" / "pane.json"
ALIGNMENT = 64
MAX_TILE_PIXELS = 40_000_000  # CodecLimits.maxTilePixels: one tile
MAX_PIXELS = 1 << 28  # CodecLimits.maxPixels: a tiled image
MAX_DIMENSION = 1 << 20
MAX_TILE_SIZE = 65_472
DEFAULT_TILE_SIZE = 512  # TileGrid.defaultTileSize, used above AUTO_TILE_PIXELS
AUTO_TILE_PIXELS = 1024 * 1024
TILE_HALO = 64  # TileGrid.halo: pixels of context g_a reads around a tile (/16 for g_s)
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


class CodecError(ValueError):
    """Errors of encoding and decoding that are not container errors (Swift's CodecError / PaneError)."""


class Encoded(NamedTuple):
    data: bytes
    z_hat: np.ndarray | None  # int64 (Nz, H/64, W/64); None for a tiled stream
    y_hat: np.ndarray | None  # int64 (M, H/16, W/16), units of 2^-MEAN_BITS; None for a tiled stream
    tiles: list | None = None  # tiled streams: [(z_hat, y_hat)] per tile, row-major


class Latents(NamedTuple):
    header: bs.Header
    z_hat: np.ndarray | None
    y_hat: np.ndarray | None
    alpha: bytes | None
    tiles: list | None = None
    lossless: dict | None = None  # tile index -> uint8 samples (h, w[, 3]) of the lossless tiles


class Decoded(NamedTuple):
    image: np.ndarray  # uint8: (H, W) gray, (H, W, 2) gray+alpha, (H, W, 3) RGB, (H, W, 4) RGBA
    y_hat: np.ndarray | None
    z_hat: np.ndarray | None
    tiles: list | None = None


class Tile(NamedTuple):
    """A tile of `TileGrid` (Sources/Pane/Tiles.swift): pixels inside the image."""
    index: int
    x: int
    y: int
    width: int
    height: int


def aligned(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


def tile_grid(width: int, height: int, tile_size: int) -> list[Tile]:
    """Row-major tiles of `tile_size` (0: one tile covering the image)."""
    side = tile_size or max(width, height)
    columns, rows = -(-width // side), -(-height // side)
    return [Tile(r * columns + c, c * side, r * side, min(side, width - c * side), min(side, height - r * side))
            for r in range(rows) for c in range(columns)]


def tile_region(tile: Tile, width: int, height: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the tile grown by TILE_HALO, clipped to the padded image (TileGrid.region)."""
    x0, y0 = max(0, tile.x - TILE_HALO), max(0, tile.y - TILE_HALO)
    x1 = min(aligned(width), tile.x + aligned(tile.width) + TILE_HALO)
    y1 = min(aligned(height), tile.y + aligned(tile.height) + TILE_HALO)
    return x0, y0, x1 - x0, y1 - y0


def tile_size_for(width: int, height: int, tile_size: int | None) -> int:
    """Codec.tileGrid: the limits, then the tile size (None: automatic)."""
    if tile_size is not None and (tile_size < 0 or tile_size % ALIGNMENT or tile_size > MAX_TILE_SIZE):
        raise CodecError(f"tile size {tile_size} is not 0 or a multiple of {ALIGNMENT} up to {MAX_TILE_SIZE}")
    if width > MAX_DIMENSION or height > MAX_DIMENSION or width * height > MAX_PIXELS:
        raise CodecError(f"{width}×{height} is over the limit of {MAX_PIXELS} pixels and {MAX_DIMENSION} per side")
    if tile_size is None:
        tile_size = DEFAULT_TILE_SIZE if width * height > AUTO_TILE_PIXELS else 0
    side = tile_size or max(width, height)
    if min(side, width) * min(side, height) > MAX_TILE_PIXELS:
        raise CodecError(f"{min(side, width)}×{min(side, height)} is more than the {MAX_TILE_PIXELS // 1_000_000} "
                         "megapixels pane codes as one tile")
    return tile_size


def region_tensor(colour: np.ndarray, region) -> torch.Tensor:
    """(1, 3, h, w) float32 of `region`, rows and columns past the image repeating its edge."""
    x0, y0, w, h = region
    rows = np.minimum(np.arange(y0, y0 + h), colour.shape[0] - 1)
    cols = np.minimum(np.arange(x0, x0 + w), colour.shape[1] - 1)
    planes = colour[rows][:, cols].astype(np.float32) / np.float32(255)
    planes = np.repeat(planes, 3, axis=2) if planes.shape[2] == 1 else planes
    return torch.from_numpy(np.ascontiguousarray(planes.transpose(2, 0, 1)))[None]


def float_net(tensors: dict, manifest: dict) -> PaneNet:
    """A PaneNet whose g_a, h_a, g_s and gain vectors are the exported float weights.

    Keys are the PyTorch names (export.describe); GDN layers are made to return the exported
    effective beta/gamma unchanged. h_s and the slice networks are loaded too where present, but the
    codec never runs them in float. The entropy bottleneck is not exported (only its CDF table).
    """
    net = PaneNet(Config(**manifest["config"])).eval()
    gdn_keys = set()
    for part in ("g_a", "g_s"):
        for idx, m in enumerate(getattr(net, part)):
            if isinstance(m, GDN):
                beta = torch.from_numpy(np.array(tensors[f"{part}.{idx}.beta"], dtype=np.float32))
                gamma = torch.from_numpy(np.array(tensors[f"{part}.{idx}.gamma"], dtype=np.float32))
                if beta.shape != m.beta.shape or gamma.shape != m.gamma.shape:
                    raise ValueError(f"{part}.{idx}: GDN shapes {tuple(beta.shape)}, {tuple(gamma.shape)}")
                m.effective = (lambda b=beta, g=gamma: (b, g))  # instance attribute shadows the method
                gdn_keys |= {f"{part}.{idx}.beta", f"{part}.{idx}.gamma"}
    state = net.state_dict()
    required = [k for k in state if k.split(".")[0] in ("g_a", "g_s", "h_a", "log_gain", "log_inv_gain")
                and k not in gdn_keys]
    missing = [k for k in required if k not in tensors]
    if missing:
        raise KeyError(f"model file lacks {len(missing)} float tensors, e.g. {missing[:3]}")
    loaded = {}
    for k, v in state.items():
        if k in tensors and k not in gdn_keys:
            t = torch.from_numpy(np.array(tensors[k]))
            if t.shape != v.shape:
                raise ValueError(f"{k}: shape {tuple(t.shape)}, the network has {tuple(v.shape)}")
            loaded[k] = t.to(v.dtype)
    net.load_state_dict(loaded, strict=False)
    return net


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """Swift's `rounded()` for non-negative float32 values (exact in float64)."""
    return np.floor(x.astype(np.float64) + 0.5)


def quantize_image(planes: np.ndarray, grayscale: bool) -> np.ndarray:
    """(3, H, W) float32 in [0, 1] -> uint8 (H, W, 3) or (H, W), as PaneImageIO's Image(planarRGB:)."""
    planes = planes.astype(np.float32)
    if grayscale:
        values = (planes[0] + planes[1] + planes[2]) / np.float32(3)
    else:
        values = np.transpose(planes, (1, 2, 0))
    scaled = values * np.float32(255)
    with np.errstate(invalid="ignore"):
        out = np.where(scaled > 0, np.where(scaled >= 255, 255.0, _round_half_away(scaled)), 0.0)
    return out.astype(np.uint8)


def split_image(image: np.ndarray):
    """uint8 (H, W) / (H, W, 1..4) -> (colour (H, W, 1|3), alpha (H*W bytes) or None)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise CodecError(f"image must be uint8, not {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4) or image.shape[0] < 1 or image.shape[1] < 1:
        raise CodecError(f"image of shape {image.shape} is not H×W, H×W×1, ×2, ×3 or ×4")
    if image.shape[2] in (2, 4):
        return image[:, :, :-1], image[:, :, -1].tobytes()
    return image, None


def join_image(colour: np.ndarray, alpha: bytes | None) -> np.ndarray:
    if alpha is None:
        return colour
    a = np.frombuffer(alpha, dtype=np.uint8).reshape(colour.shape[:2])
    base = colour[:, :, None] if colour.ndim == 2 else colour
    return np.concatenate([base, a[:, :, None]], axis=2)


def padded_tensor(colour: np.ndarray) -> torch.Tensor:
    """(1, 3, H', W') float32 in [0, 1], sides edge-replicated to multiples of 64 (Codec.paddedTensor)."""
    h, w, c = colour.shape
    planes = colour.astype(np.float32) / np.float32(255)
    planes = np.repeat(planes, 3, axis=2) if c == 1 else planes
    ph, pw = -(-h // ALIGNMENT) * ALIGNMENT, -(-w // ALIGNMENT) * ALIGNMENT
    planes = np.pad(planes, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    return torch.from_numpy(np.ascontiguousarray(planes.transpose(2, 0, 1)))[None]


def stored_quality(requested: float) -> float:
    """`(requested * 100).rounded() / 100`: hundredths, half away from zero (Bitstream.swift)."""
    if not (0 <= requested <= 100):  # also NaN
        raise CodecError(f"quality {requested} is outside 0…100")
    return bs.quality_hundredths(float(requested)) / 100


class Codec:
    """A loaded model (Models/pane.json and the weights it names) and the codec operations."""

    def __init__(self, manifest_path: Path | str = DEFAULT_MODEL):
        from safetensors.numpy import load as load_safetensors

        manifest_path = Path(manifest_path)
        self.manifest = json.loads(manifest_path.read_text())
        weights = (manifest_path.parent / self.manifest["weights"]).read_bytes()
        digest = hashlib.sha256(weights).hexdigest()
        if digest != self.manifest["sha256"].lower():
            raise ValueError(f"{self.manifest['weights']}: sha256 {digest}, the manifest says {self.manifest['sha256']}")
        tensors = load_safetensors(weights)
        self.model_id = bytes.fromhex(self.manifest["sha256"][:2 * bs.MODEL_ID_SIZE])
        self.entropy = IntegerEntropyModel.from_tensors(tensors, self.manifest)
        self.y_tables = tuple(np.asarray(tensors[f"entropy.y.{k}"]) for k in ("cdf", "length", "offset"))
        self.z_tables = tuple(np.asarray(tensors[f"entropy.z.{k}"]) for k in ("cdf", "length", "offset"))
        self.net = float_net(tensors, self.manifest)
        cfg = self.manifest["config"]
        self.M, self.Nz = cfg["M"], cfg["Nz"]
        self.slice_count, self.slice_size = self.manifest["slices"]["count"], self.manifest["slices"]["size"]
        self.log_gain = np.asarray(tensors["log_gain"], dtype=np.float32)
        self.log_inv_gain = np.asarray(tensors["log_inv_gain"], dtype=np.float32)

    # ----- float parts -----
    def gains(self, quality: float):
        """PaneNetwork.gains(quality:): exponential interpolation between λ anchors, in float32."""
        anchors = self.log_gain.shape[0]
        q = min(max(float(quality), 0.0), 100.0)
        position = q / 100 * (anchors - 1)
        k = min(max(int(np.floor(position)), 0), anchors - 2)
        frac = np.float32(position - k)
        one = np.float32(1)

        def mix(table):
            return np.exp(table[k] * (one - frac) + table[k + 1] * frac).astype(np.float32)

        return mix(self.log_gain), mix(self.log_inv_gain)

    @torch.no_grad()
    def analyze(self, image) -> np.ndarray:
        """g_a of the padded image as one tile, before the gain: float32 (M, H'/16, W'/16)."""
        colour, _ = split_image(image)
        tile_size_for(colour.shape[1], colour.shape[0], 0)
        return self.net.g_a(padded_tensor(colour))[0].numpy()

    @torch.no_grad()
    def analyze_tiles(self, colour: np.ndarray, tile_size: int) -> list[np.ndarray]:
        """g_a per tile, each from its region (tile plus halo), cut to the tile (Codec.analyze)."""
        height, width = colour.shape[:2]
        latents = []
        for tile in tile_grid(width, height, tile_size):
            region = tile_region(tile, width, height)
            y = self.net.g_a(region_tensor(colour, region))[0].numpy()
            lx, ly = (tile.x - region[0]) // 16, (tile.y - region[1]) // 16
            latents.append(y[:, ly:ly + aligned(tile.height) // 16, lx:lx + aligned(tile.width) // 16])
        return latents

    @torch.no_grad()
    def synthesize(self, y_hat: np.ndarray, header: bs.Header) -> np.ndarray:
        """g_s on the fixed-point ŷ, cropped and quantized: uint8 (H, W[, 3])."""
        _, inverse = self.gains(header.quality)
        latent = y_hat.astype(np.float32) * np.float32(2.0 ** -MEAN_BITS)
        latent = latent * inverse[:, None, None]
        x_hat = self.net.g_s(torch.from_numpy(np.ascontiguousarray(latent))[None])[0].numpy()
        return quantize_image(x_hat[:, :header.height, :header.width], header.color_layout == bs.ColorLayout.GRAY)

    @torch.no_grad()
    def synthesize_tiles(self, tiles: list, header: bs.Header, lossless: dict | None = None) -> np.ndarray:
        """g_s per tile from its latent plus TILE_HALO / 16 latent rows and columns of its
        neighbours, cut to the tile (Codec.synthesize); lossless tiles are their samples."""
        grid = tile_grid(header.width, header.height, header.tile_size)
        gray = header.color_layout == bs.ColorLayout.GRAY
        _, inverse = self.gains(header.quality)
        scale = inverse * np.float32(2.0 ** -MEAN_BITS)
        out = np.zeros((header.height, header.width) + (() if gray else (3,)), dtype=np.uint8)
        for tile in grid:
            if lossless and tile.index in lossless:
                out[tile.y:tile.y + tile.height, tile.x:tile.x + tile.width] = lossless[tile.index]
                continue
            x0, y0, w, h = (v // 16 for v in tile_region(tile, header.width, header.height))
            latent = np.zeros((self.M, h, w), dtype=np.float32)
            for other in grid:
                if other.x >= (x0 + w) * 16 or other.x + aligned(other.width) <= x0 * 16 \
                        or other.y >= (y0 + h) * 16 or other.y + aligned(other.height) <= y0 * 16:
                    continue
                tx, ty = other.x // 16, other.y // 16
                tw, th = aligned(other.width) // 16, aligned(other.height) // 16
                xs, xe, ys, ye = max(x0, tx), min(x0 + w, tx + tw), max(y0, ty), min(y0 + h, ty + th)
                if xs < xe and ys < ye:
                    source = tiles[other.index][1][:, ys - ty:ye - ty, xs - tx:xe - tx].astype(np.float32)
                    latent[:, ys - y0:ye - y0, xs - x0:xe - x0] = source * scale[:, None, None]
            x_hat = self.net.g_s(torch.from_numpy(latent)[None])[0].numpy()
            px, py = tile.x - x0 * 16, tile.y - y0 * 16
            part = x_hat[:, py:py + tile.height, px:px + tile.width]
            out[tile.y:tile.y + tile.height, tile.x:tile.x + tile.width] = quantize_image(part, gray)
        return out

    # ----- encoding -----
    def encode(self, image, quality: float) -> bytes:
        return self.encode_image(image, quality).data

    def encode_image(self, image, quality: float, tile_size: int | None = None) -> Encoded:
        colour, alpha = split_image(image)
        stored_quality(quality)  # validate before the expensive part, as Swift does after analyze
        height, width = colour.shape[:2]
        tile_size = tile_size_for(width, height, tile_size)
        if tile_size == 0:
            return self.encode_latent(self.analyze(colour), quality, width=width, height=height,
                                      grayscale=colour.shape[2] == 1, alpha=alpha)
        return self.encode_tiles(self.analyze_tiles(colour, tile_size), quality, width, height, tile_size,
                                 grayscale=colour.shape[2] == 1, alpha=alpha)

    @torch.no_grad()
    def encode_tiles(self, latents: list, quality: float, width: int, height: int, tile_size: int,
                     grayscale: bool = False, alpha: bytes | None = None) -> Encoded:
        """A tiled stream from per-tile g_a outputs (before the gain), as `analyze_tiles` gives."""
        quality = stored_quality(quality)
        gain, _ = self.gains(quality)
        sections, tiles = [], []
        for index, y in enumerate(latents):
            tile_sections, z_hat, y_hat = self._encode_tile(np.asarray(y, dtype=np.float32), gain, index)
            sections += tile_sections
            tiles.append((z_hat, y_hat))
        if alpha is not None:
            sections.append(bs.Section(bs.Kind.ALPHA, 0, 0, bs.compress_alpha(alpha)))
        header = bs.Header(model_id=self.model_id, width=width, height=height,
                           color_layout=bs.ColorLayout.GRAY if grayscale else bs.ColorLayout.RGB,
                           has_alpha=alpha is not None, quality=quality, tile_size=tile_size,
                           slice_count=self.slice_count)
        return Encoded(bs.serialize(header, sections), None, None, tiles)

    def encode_lossless(self, image, tile_size: int | None = None) -> bytes:
        """The exact stream of `image`: one lossless section per tile, alpha as always; no network
        (Swift's `Codec.encodeLossless`, byte for byte)."""
        colour, alpha = split_image(image)
        height, width, colours = colour.shape
        full = np.asarray(image).reshape(height, width, -1)  # colour then alpha: what a tile holds
        tile_size = tile_size_for(width, height, tile_size)
        sections = []
        for tile in tile_grid(width, height, tile_size):
            part = np.ascontiguousarray(full[tile.y:tile.y + tile.height, tile.x:tile.x + tile.width])
            sections.append(bs.Section(bs.Kind.LOSSLESS, tile.index, 0,
                                       bs.compress_lossless(part.tobytes(), tile.width, tile.height, part.shape[2])))
        header = bs.Header(model_id=self.model_id, width=width, height=height,
                           color_layout=bs.ColorLayout.GRAY if colours == 1 else bs.ColorLayout.RGB,
                           has_alpha=alpha is not None, quality=100, tile_size=tile_size,
                           slice_count=self.slice_count)
        return bs.serialize(header, sections)

    def _encode_tile(self, y: np.ndarray, gain: np.ndarray, tile: int):
        """(sections, ẑ, ŷ) of one tile's latent y (before the gain)."""
        y = y * gain[:, None, None]
        z = self.net.h_a(torch.from_numpy(np.ascontiguousarray(y))[None])[0].numpy()
        z_hat = np.round(z.astype(np.float64))  # ties to even
        z_hat = np.clip(np.nan_to_num(z_hat), -2.0 ** 62, 2.0 ** 62).astype(np.int64)
        plane = z_hat.shape[1] * z_hat.shape[2]
        z_indexes = np.repeat(np.arange(self.Nz), plane)
        sections = [bs.Section(bs.Kind.Z, tile, 0, rans.encode(np.clip(z_hat, INT32_MIN, INT32_MAX).reshape(-1),
                                                               z_indexes, *self.z_tables))]
        hyper = self.entropy.hyper(z_hat)
        size = self.slice_size

        def symbols(i, mu, idx):
            y_i = y[i * size:(i + 1) * size].astype(np.float64)
            q = np.round(y_i - mu.astype(np.float64) * 2.0 ** -MEAN_BITS)
            q = np.clip(np.nan_to_num(q), INT32_MIN, INT32_MAX).astype(np.int64)
            sections.append(bs.Section(bs.Kind.Y, tile, i, rans.encode(q.reshape(-1), idx.reshape(-1), *self.y_tables)))
            return q

        y_hat, _ = self.entropy.decode_slices(hyper, symbols)
        return sections, z_hat, y_hat

    @torch.no_grad()
    def encode_latent(self, y: np.ndarray, quality: float, width: int, height: int,
                      grayscale: bool = False, alpha: bytes | None = None) -> Encoded:
        """Everything of `encode` after g_a (Swift's `Codec.encodeLatent`): y is g_a's float32
        output (M, H'/16, W'/16) before the gain, for an image of width × height."""
        quality = stored_quality(quality)
        y = np.asarray(y, dtype=np.float32)
        ph, pw = -(-height // ALIGNMENT) * ALIGNMENT, -(-width // ALIGNMENT) * ALIGNMENT
        if y.shape != (self.M, ph // 16, pw // 16):
            raise CodecError(f"latent of shape {y.shape} for a {width}×{height} image; expected "
                             f"{(self.M, ph // 16, pw // 16)}")
        gain, _ = self.gains(quality)
        sections, z_hat, y_hat = self._encode_tile(y, gain, 0)
        if alpha is not None:
            if len(alpha) != width * height:
                raise CodecError(f"alpha plane of {len(alpha)} bytes for a {width}×{height} image")
            sections.append(bs.Section(bs.Kind.ALPHA, 0, 0, bs.compress_alpha(alpha)))
        header = bs.Header(model_id=self.model_id, width=width, height=height,
                           color_layout=bs.ColorLayout.GRAY if grayscale else bs.ColorLayout.RGB,
                           has_alpha=alpha is not None, quality=quality, tile_size=0, slice_count=self.slice_count)
        return Encoded(bs.serialize(header, sections), z_hat, y_hat)

    # ----- decoding -----
    def decode_latents(self, data: bytes) -> Latents:
        """The exact part of `decode` (Swift's `Codec.decodeLatents`): header, ẑ, ŷ and alpha.
        Raises bitstream.BitstreamError, rans.EntropyError or CodecError."""
        header, sections = bs.parse(data, expected_model_ids=[self.model_id])
        tile_size_for(header.width, header.height, header.tile_size)
        if header.slice_count != self.slice_count:
            raise bs.CorruptError(f"stream has {header.slice_count} slices, the model {self.slice_count}")
        payloads = {(s.kind, s.tile, s.slice): s.payload for s in sections}
        tiles, lossless, lossless_alpha = [], {}, {}
        gray = header.color_layout == bs.ColorLayout.GRAY
        for tile in tile_grid(header.width, header.height, header.tile_size):
            zh, zw = aligned(tile.height) // 64, aligned(tile.width) // 64
            exact = payloads.get((bs.Kind.LOSSLESS, tile.index, 0))
            if exact is not None:
                # A lossless tile: its samples (colour, then its alpha), and zero latents for its
                # neighbours' synthesis.
                colours = 1 if gray else 3
                channels = colours + (1 if header.has_alpha else 0)
                samples = np.frombuffer(bs.decompress_lossless(exact, tile.width, tile.height, channels),
                                        dtype=np.uint8).reshape(tile.height, tile.width, channels)
                lossless[tile.index] = samples[:, :, 0] if gray else samples[:, :, :3]
                if header.has_alpha:
                    lossless_alpha[tile.index] = samples[:, :, colours]
                tiles.append((np.zeros((self.Nz, zh, zw), dtype=np.int64),
                              np.zeros((self.M, aligned(tile.height) // 16, aligned(tile.width) // 16), dtype=np.int64)))
                continue
            z = rans.decode(payloads.get((bs.Kind.Z, tile.index, 0), b""),
                            np.repeat(np.arange(self.Nz), zh * zw), *self.z_tables)
            z_hat = np.asarray(z, dtype=np.int64).reshape(self.Nz, zh, zw)
            hyper = self.entropy.hyper(z_hat)

            def symbols(i, mu, idx, index=tile.index):
                q = rans.decode(payloads.get((bs.Kind.Y, index, i), b""), idx.reshape(-1), *self.y_tables)
                return np.asarray(q, dtype=np.int64).reshape(mu.shape)

            y_hat, _ = self.entropy.decode_slices(hyper, symbols)
            tiles.append((z_hat, y_hat))
        alpha = None
        if header.has_alpha:
            # The alpha section's plane (present when some tile has latents), with the lossless
            # tiles' own alpha over their regions.
            stored = payloads.get((bs.Kind.ALPHA, 0, 0))
            plane = (np.frombuffer(bs.decompress_alpha(stored, header.width * header.height), dtype=np.uint8)
                     if stored is not None else np.zeros(header.width * header.height, dtype=np.uint8))
            plane = plane.reshape(header.height, header.width).copy()
            for tile in tile_grid(header.width, header.height, header.tile_size):
                if tile.index in lossless_alpha:
                    plane[tile.y:tile.y + tile.height, tile.x:tile.x + tile.width] = lossless_alpha[tile.index]
            alpha = plane.tobytes()
        if header.tile_size == 0:
            return Latents(header, tiles[0][0], tiles[0][1], alpha, lossless=lossless)
        return Latents(header, None, None, alpha, tiles, lossless)

    def decode(self, data: bytes) -> Decoded:
        latents = self.decode_latents(data)
        if latents.tiles is not None:
            colour = self.synthesize_tiles(latents.tiles, latents.header, latents.lossless)
            return Decoded(join_image(colour, latents.alpha), None, None, latents.tiles)
        if latents.lossless:
            return Decoded(join_image(latents.lossless[0], latents.alpha), latents.y_hat, latents.z_hat)
        colour = self.synthesize(latents.y_hat, latents.header)
        return Decoded(join_image(colour, latents.alpha), latents.y_hat, latents.z_hat)


_default: Codec | None = None


def default_codec() -> Codec:
    global _default
    if _default is None:
        _default = Codec()
    return _default


def encode(image, quality: float) -> bytes:
    """A `.pane` stream of `image` (uint8 H×W gray, H×W×2 gray+alpha, H×W×3 RGB, H×W×4 RGBA)."""
    return default_codec().encode(image, quality)


def decode(data: bytes) -> Decoded:
    """(image uint8, ŷ fixed-point int64 (M, h, w), ẑ int64 (Nz, h/4, w/4)) of a `.pane` stream."""
    return default_codec().decode(data)


# ----- image files (PIL), as PaneImageIO reads them -----
def read_image(path: Path) -> np.ndarray:
    """PNG/JPEG -> uint8 array in the layout PaneImageIO keeps (gray, gray+alpha, RGB, RGBA).
    16-bit gray PNGs are reduced with rounding as Swift does; 16-bit colour PNGs go through PIL,
    which truncates (Swift rounds), so they may differ by one level."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        mode = im.mode
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            v = np.asarray(im).astype(np.uint32)
            return ((v * 255 + 32767) // 65535).astype(np.uint8)
        if mode == "P" or mode == "PA":
            im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
        elif mode == "1":
            im = im.convert("L")
        elif mode in ("L", "RGB") and "transparency" in im.info:
            im = im.convert("LA" if mode == "L" else "RGBA")
        elif mode not in ("L", "LA", "RGB", "RGBA"):
            im = im.convert("RGB")
        return np.asarray(im)


def write_image(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    mode = {2: "L", 3: None}.get(image.ndim)
    if image.ndim == 3:
        mode = {2: "LA", 3: "RGB", 4: "RGBA"}[image.shape[2]]
    Image.fromarray(np.ascontiguousarray(image), mode=mode).save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("encode")
    e.add_argument("input", type=Path)
    e.add_argument("output", type=Path)
    e.add_argument("-q", "--quality", type=float, default=75.0)
    d = sub.add_parser("decode")
    d.add_argument("input", type=Path)
    d.add_argument("output", type=Path)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    try:
        codec = Codec(args.model)
        if args.command == "encode":
            data = codec.encode(read_image(args.input), args.quality)
            args.output.write_bytes(data)
            print(f"{args.output}: {len(data)} bytes")
        else:
            decoded = codec.decode(args.input.read_bytes())
            write_image(args.output, decoded.image)
            print(f"{args.output}: {decoded.image.shape[1]}×{decoded.image.shape[0]}")
    except (bs.BitstreamError, rans.EntropyError, CodecError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
