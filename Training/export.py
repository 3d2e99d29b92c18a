"""Export a trained checkpoint for the Swift runtime, plus golden parity fixtures.

    python Training/export.py                       # Models/pane.{safetensors,json} + fixtures
    python Training/export.py --checkpoint X.pt --name pane --fixtures Tests/PaneModelTests/Fixtures

The manifest lists every sub-network as a sequence of typed layers whose
weights live in the safetensors file under the same names as in PyTorch, in
PyTorch's layouts (conv: out,in,kh,kw; transposed conv: in,out,kh,kw;
linear: out,in). GDN's beta and gamma are exported as their effective values.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import math
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import GDN, PaneNet, WindowAttentionBlock, SCALE_MIN, SCALE_MAX, SCALE_LEVELS, ATTN_MASK_VALUE  # noqa: E402
from train import CHECKPOINT, load_checkpoint  # noqa: E402
import entropy_int  # noqa: E402
from entropy_int import IntegerEntropyModel  # noqa: E402
from data import CropSampler, DEFAULT_TRAIN_DIR  # noqa: E402
import rans  # noqa: E402
import releases  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FORMAT = "pane-model"
FORMAT_VERSION = 1


def describe(seq: nn.Sequential, prefix: str, tensors: dict):
    """Layer list for the manifest; fills `tensors` with the exported weights."""
    layers = []
    from quantize import LINEARS, QuantConv, QuantLinear, linear_slot  # noqa: E402 (quantize imports this module's helpers)

    for idx, m in enumerate(seq):
        name = f"{prefix}.{idx}"
        if isinstance(m, QuantConv):
            layer = {"type": "deconv_int8" if m.transposed else "conv_int8", "name": name,
                     "in": m.in_channels, "out": m.out_channels, "kernel": m.kernel, "stride": m.stride,
                     "padding": m.padding}
            if m.transposed:
                layer["output_padding"] = m.output_padding
            layers.append(layer)
            tensors[f"{name}.weight_q"] = m.weight_q
            tensors[f"{name}.out_scale"] = m.out_scale
            tensors[f"{name}.bias"] = m.bias
            tensors[f"{name}.in_scale"] = m.in_scale
            tensors[f"{name}.zero"] = m.zero
        elif isinstance(m, nn.ConvTranspose2d):
            layers.append({"type": "deconv", "name": name, "in": m.in_channels, "out": m.out_channels,
                           "kernel": m.kernel_size[0], "stride": m.stride[0], "padding": m.padding[0],
                           "output_padding": m.output_padding[0]})
            tensors[f"{name}.weight"] = m.weight
            tensors[f"{name}.bias"] = m.bias
        elif isinstance(m, nn.Conv2d):
            layers.append({"type": "conv", "name": name, "in": m.in_channels, "out": m.out_channels,
                           "kernel": m.kernel_size[0], "stride": m.stride[0], "padding": m.padding[0]})
            tensors[f"{name}.weight"] = m.weight
            tensors[f"{name}.bias"] = m.bias
        elif isinstance(m, GDN):
            beta, gamma = m.effective()
            layers.append({"type": "igdn" if m.inverse else "gdn", "name": name, "channels": beta.numel()})
            tensors[f"{name}.beta"] = beta
            tensors[f"{name}.gamma"] = gamma
        elif isinstance(m, WindowAttentionBlock):
            first = m.blocks[0]
            dim = first.norm1.normalized_shape[0]
            hidden = first.fc1.out_channels if isinstance(first.fc1, QuantLinear) else first.fc1.out_features
            layer = {"type": "attention", "name": name, "dim": dim, "heads": first.attn.heads,
                     "head_dim": first.attn.head_dim, "window": first.window, "mlp_hidden": hidden,
                     "shifts": [b.shift for b in m.blocks], "mask_value": ATTN_MASK_VALUE,
                     "layer_norm_eps": first.norm1.eps}
            int8 = [key for key in LINEARS if isinstance(getattr(*linear_slot(first, key)), QuantLinear)]
            if int8:
                layer["int8"] = int8
            layers.append(layer)
            for b, blk in enumerate(m.blocks):
                for key, t in blk.state_dict().items():
                    tensors[f"{name}.blocks.{b}.{key}"] = t
        elif isinstance(m, nn.ReLU):
            layers.append({"type": "relu"})
        else:
            raise TypeError(f"cannot export layer {type(m).__name__} at {name}")
    return layers


TAIL_MASS = 1e-9
GAUSSIAN_TAIL_STD = 6.11  # Φ^-1(1 - TAIL_MASS / 2)


def calibration_images(count: int = 8, crop: int = 256):
    """Training crops (never Kodak) for the activation ranges of the integer path."""
    sampler = CropSampler(DEFAULT_TRAIN_DIR, crop=crop, seed=1234, limit=64, cache=False)
    return [sampler.batch(1) for _ in range(count)]


def gaussian_cdfs(table: np.ndarray):
    """One quantized CDF per scale of the table over symbols -R..R (R = ceil(6.11 σ))."""
    cdfs, offsets = [], []
    for sigma in table:
        r = int(math.ceil(sigma * GAUSSIAN_TAIL_STD))
        k = np.arange(-r, r + 1, dtype=np.float64)
        upper = 0.5 * np.vectorize(math.erfc)(-(k + 0.5) / (sigma * math.sqrt(2)))
        lower = 0.5 * np.vectorize(math.erfc)(-(k - 0.5) / (sigma * math.sqrt(2)))
        pmf = upper - lower
        cdfs.append(rans.pmf_to_quantized_cdf(pmf, max(1.0 - pmf.sum(), TAIL_MASS)))
        offsets.append(-r)
    return cdfs, offsets


def factorized_cdfs(net: PaneNet):
    lo, lengths, pmf = net.entropyBottleneck.pmf_table()
    cdfs = []
    for c in range(pmf.shape[0]):
        p = pmf[c, : lengths[c]].double().numpy()
        cdfs.append(rans.pmf_to_quantized_cdf(p, max(1.0 - p.sum(), TAIL_MASS)))
    return cdfs, lo.tolist()


def put_cdfs(tensors: dict, prefix: str, cdfs, offsets):
    matrix, lengths = rans.pack_cdfs(cdfs)
    tensors[f"{prefix}.cdf"] = torch.from_numpy(np.asarray(matrix, dtype=np.int32))
    tensors[f"{prefix}.length"] = torch.from_numpy(np.asarray(lengths, dtype=np.int32))
    tensors[f"{prefix}.offset"] = torch.tensor(offsets, dtype=torch.int32)


def export(net: PaneNet, name: str, out_dir: Path, iteration: int = 0, int_model: IntegerEntropyModel | None = None):
    net = net.eval().cpu().float()
    if int_model is None:
        int_model = IntegerEntropyModel.build(net, calibration_images())
    tensors = {}
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "name": name,
        "iterations": iteration,
        "config": net.cfg.to_dict(),
        "lambdas": list(net.cfg.lambdas),
        "scale_table": {"min": SCALE_MIN, "max": SCALE_MAX, "levels": SCALE_LEVELS},
        "g_a": describe(net.g_a, "g_a", tensors),
        "g_s": describe(net.g_s, "g_s", tensors),
        "h_a": describe(net.h_a, "h_a", tensors),
        "h_s": describe(net.h_s, "h_s", tensors),
        "slices": {
            "count": net.cfg.slices,
            "size": net.slice_size,
            "cc_mean": [describe(s, f"cc_mean.{i}", tensors) for i, s in enumerate(net.cc_mean)],
            "cc_scale": [describe(s, f"cc_scale.{i}", tensors) for i, s in enumerate(net.cc_scale)],
            "lrp": [describe(s, f"lrp.{i}", tensors) for i, s in enumerate(net.lrp)],
        },
    }
    tensors["log_gain"] = net.log_gain
    tensors["log_inv_gain"] = net.log_inv_gain
    lo, lengths, pmf = net.entropyBottleneck.pmf_table()
    tensors["entropyBottleneck.offset"] = lo.to(torch.int32)
    tensors["entropyBottleneck.length"] = lengths.to(torch.int32)
    tensors["entropyBottleneck.pmf"] = pmf
    for key, value in int_model.tensors().items():
        tensors[key] = torch.from_numpy(value)
    manifest["entropy_int"] = int_model.manifest()
    y_cdfs, y_offsets = gaussian_cdfs(int_model.scale_table)
    put_cdfs(tensors, "entropy.y", y_cdfs, y_offsets)
    z_cdfs, z_offsets = factorized_cdfs(net)
    put_cdfs(tensors, "entropy.z", z_cdfs, z_offsets)
    tensors = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.safetensors"
    # Written beside and renamed into place: a pane process maps the weights file while it loads,
    # and a file rewritten in place under it would change (or shrink: SIGBUS) mid-load.
    partial = weights.with_suffix(".safetensors.tmp")
    save_file(tensors, str(partial), metadata={"format": FORMAT, "version": str(FORMAT_VERSION)})
    os.replace(partial, weights)
    manifest["weights"] = weights.name
    data = weights.read_bytes()
    manifest["sha256"] = hashlib.sha256(data).hexdigest()
    manifest["crc32"] = f"{zlib.crc32(data):08x}"   # the integrity check at load (Manifest.swift)
    (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


@torch.no_grad()
def reference_forward(net: PaneNet, x: torch.Tensor, quality: float):
    """The float inference path the Swift runtime reproduces (no entropy coding)."""
    pos = torch.tensor([net.quality_to_position(quality)])
    gain, inv_gain = net.gains_at(pos)
    y = net.g_a(x)
    y_gained = y * gain[:, :, None, None]
    z = net.h_a(y_gained)
    z_hat = torch.round(z)
    hyper = net.h_s(z_hat)
    hyper_mean, hyper_scale = hyper.chunk(2, dim=1)
    previous, means, scales = [], [], []
    for i, y_i in enumerate(y_gained.chunk(net.cfg.slices, dim=1)):
        mu, sigma = net.slice_params(i, hyper_mean, hyper_scale, previous)
        y_hat_i = torch.round(y_i - mu) + mu
        y_hat_i = y_hat_i + net.residual(i, hyper_mean, previous, y_hat_i)
        previous.append(y_hat_i)
        means.append(mu)
        scales.append(sigma)
    y_hat = torch.cat(previous, dim=1)
    x_hat = net.g_s(y_hat * inv_gain[:, :, None, None])
    return {"x": x, "y": y, "y_gained": y_gained, "z": z, "z_hat": z_hat, "hyper": hyper,
            "means": torch.cat(means, 1), "scales": torch.cat(scales, 1), "y_hat": y_hat, "x_hat": x_hat,
            "gain": gain, "inv_gain": inv_gain}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR of 8-bit images made from [0,1] floats (round + clamp), RGB as one MSE."""
    qa = torch.round(a.clamp(0, 1) * 255)
    qb = torch.round(b.clamp(0, 1) * 255)
    mse = ((qa - qb) ** 2).mean().item()
    return 10 * math.log10(255 ** 2 / mse)


def integer_symbols(y_gained: np.ndarray, slice_size: int, mean_bits: int):
    """The encoder's symbols: q = round(y - mu) in float64, ties to even (as np.round)."""
    def symbols(i, mu, idx):
        y_i = y_gained[i * slice_size:(i + 1) * slice_size].astype(np.float64)
        return np.round(y_i - mu.astype(np.float64) * 2.0 ** -mean_bits).astype(np.int64)
    return symbols


def write_fixtures(net: PaneNet, manifest: dict, out_dir: Path, sample: Path, int_model: IntegerEntropyModel):
    from data import load_rgb
    out_dir.mkdir(parents=True, exist_ok=True)
    img = torch.from_numpy(load_rgb(sample).copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    # A small non-square crop (multiple of 64) for tensor-level parity.
    crop = img[:, :, 64:192, 128:320].contiguous()
    quality = 75.0
    ref = reference_forward(net, crop, quality)
    fixture = {k: v[0].contiguous() for k, v in ref.items()}
    hyper = int_model.hyper(fixture["z_hat"].numpy().astype(np.int64))
    y_fp, trace = int_model.decode_slices(
        hyper, integer_symbols(fixture["y_gained"].numpy(), net.slice_size, int_model.manifest()["mean_bits"]))
    fixture["int.hyper"] = torch.from_numpy(hyper.astype(np.int32))
    fixture["int.mean"] = torch.from_numpy(np.concatenate([t[0] for t in trace]).astype(np.int32))
    fixture["int.scale_index"] = torch.from_numpy(np.concatenate([t[1] for t in trace]).astype(np.int32))
    fixture["int.symbols"] = torch.from_numpy(np.concatenate([t[2] for t in trace]).astype(np.int32))
    fixture["int.y_hat"] = torch.from_numpy(y_fp.astype(np.int32))
    save_file(fixture, str(out_dir / "parity.safetensors"))
    full = reference_forward(net, img, quality)
    meta = {
        "model_sha256": manifest["sha256"],
        "quality": quality,
        "crop": {"top": 64, "left": 128, "height": 128, "width": 192},
        "sample": sample.name,
        "sample_psnr": psnr(full["x_hat"], img),
        "sample_quality": quality,
    }
    (out_dir / "parity.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    ap.add_argument("--name", default="pane")
    ap.add_argument("--out", type=Path, default=ROOT / "Models")
    ap.add_argument("--release", action="store_true",
                    help="add the export to <out>/releases.json as a new release (named --name) and make it the default")
    ap.add_argument("--fixtures", type=Path, default=ROOT / "Tests" / "PaneModelTests" / "Fixtures")
    ap.add_argument("--sample", type=Path, default=ROOT / "Samples" / "kodim23.png")
    ap.add_argument("--weight-max", type=int, default=entropy_int.WEIGHT_MAX,
                    help="largest |weight| of the integer entropy path (255; up to 32767, the range before "
                         "2026-11-30, for comparisons)")
    args = ap.parse_args(argv)
    if not 1 <= args.weight_max <= entropy_int.ACT_MAX:
        raise SystemExit(f"--weight-max {args.weight_max}: must be within 1…{entropy_int.ACT_MAX}")
    entropy_int.WEIGHT_MAX = args.weight_max
    releases.refuse_overwrite(args.out, args.name)
    torch.set_num_threads(2)
    net, iteration, _ = load_checkpoint(args.checkpoint)
    int_model = IntegerEntropyModel.build(net.eval(), calibration_images())
    manifest = export(net, args.name, args.out, iteration, int_model)
    print(f"wrote {args.out / args.name}.safetensors ({manifest['sha256'][:12]}) at iteration {iteration}")
    if args.release:
        entry = releases.add(args.out, args.name, f"{args.name}.json", manifest["sha256"], make_default=True)
        print(f"release {entry['name']} (id {entry['id']}) added to {args.out / releases.FILE}, now the default; "
              f"commit a golden stream for it in Tests/PaneModelTests/Fixtures/releases (see docs/model-releases.md)")
    if args.fixtures:
        meta = write_fixtures(net, manifest, args.fixtures, args.sample, int_model)
        print(f"wrote fixtures to {args.fixtures}: sample PSNR {meta['sample_psnr']:.3f} dB at q{meta['quality']}")
        # Conformance streams of the Python reference codec, read from the files just written
        # (Tests/PaneModelTests/ConformanceTests.swift decodes them in Swift).
        sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
        import make_conformance_fixtures
        conformance = make_conformance_fixtures.write(args.fixtures / "conformance", args.out / f"{args.name}.json")
        print(f"wrote {len(conformance['streams']) + len(conformance['latent']['streams'])} conformance streams to "
              f"{args.fixtures / 'conformance'}; now regenerate the Swift-written ones: PANE_WRITE_CONFORMANCE=1 "
              "swift test -c release -Xswiftc -enable-testing --filter ConformanceTests/swiftWritten")


if __name__ == "__main__":
    main()
