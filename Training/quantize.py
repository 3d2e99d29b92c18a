"""int8 quantization of the convolutions of g_a and g_s, and its rate-distortion cost on Kodak.

    python Training/quantize.py --images 24                 # BD-rate of int8 against fp32 (likelihoods)
    python Training/quantize.py --export                    # Models/pane-int8.{json,safetensors}

The convolutions and transposed convolutions listed in DEFAULT_LAYERS become:

  activations  uint8, one affine map per input channel c: x ≈ (x_q − zero[c]) · in_scale[c],
               x_q = clamp(round_half_even(x · inv[c]) + zero[c], 0, 255), inv[c] = 1 / in_scale[c],
               all in fp32 (bit for bit what the Swift runtime computes); zero padding is x_q = zero;
  weights      int8, symmetric per output channel after folding in the input scales:
               w[o, c] · in_scale[c] ≈ w_q[o, c] · out_scale[o], w_q in [−127, 127];
  product      acc = Σ w_q · (x_q − zero) in int32 (exact: |acc| < K · 255 · 127 < 2^31);
  output       y = acc · out_scale[o] + bias[o], in fp32.

The image input of g_a's first convolution gets in_scale = 1/255, zero = 0, so 8-bit pixels
pass exactly. The other input ranges are calibrated on training crops (never Kodak) at every
quality anchor (g_s's inputs depend on the quality), as the [p, 100 − p] percentile range of
each input channel (--percentile). The Swift runtime (PaneKernels, Conv2DInt8 / Deconv2DInt8)
computes the same integers with VNNI, AVX2 or scalar kernels, which agree bit for bit.

The Linears of the attention blocks (qkv, proj, fc1, fc2) are quantized the same way (QuantLinear:
per-input-channel uint8 codes, weights per output channel); the token products q·k and
softmax·v, LayerNorm, GELU and GDN stay fp32. The entropy path is already exact integer
arithmetic (entropy_int.py).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import PaneNet, WindowAttentionBlock  # noqa: E402
from train import CHECKPOINT, load_checkpoint  # noqa: E402
import releases  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def quantize_weight(w: torch.Tensor, transposed: bool):
    """Symmetric per-output-channel int8. Output channels: dim 0 (conv) or dim 1 (transposed)."""
    axis = 1 if transposed else 0
    dims = [d for d in range(w.dim()) if d != axis]
    peak = w.abs().amax(dim=dims).double()
    scale = torch.where(peak > 0, peak / 127, torch.ones_like(peak))
    shape = [1] * w.dim()
    shape[axis] = -1
    q = torch.clamp(torch.round(w.double() / scale.view(shape)), -127, 127)
    return q.to(torch.int8), scale.float()


def quantize_activation(x: torch.Tensor, in_scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    """uint8 codes of x (B, C, H, W) as an integer-valued float32 tensor, per channel, in fp32:
    clamp(round_half_even(x · (1 / in_scale)) + zero, 0, 255)."""
    inv = (1.0 / in_scale.float()).view(1, -1, 1, 1)
    return torch.clamp(torch.round(x.float() * inv) + zero.float().view(1, -1, 1, 1), 0, 255)


class QuantConv(nn.Module):
    """A (transposed) convolution computed as the Swift runtime's int8 kernel does.

    in_scale / zero hold one value per input channel; each channel's scale is folded into the
    weights before they are quantized (w'[o, c] = w[o, c] · in_scale[c]), so the kernel needs
    one output scale per output channel and nothing per input channel but the zero point."""

    def __init__(self, conv: nn.Module, in_scale, zero):
        super().__init__()
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel, self.stride, self.padding = conv.kernel_size[0], conv.stride[0], conv.padding[0]
        self.output_padding = conv.output_padding[0] if self.transposed else 0
        c = self.in_channels
        in_scale = torch.as_tensor(in_scale, dtype=torch.float32).expand(c).clone()
        zero = torch.as_tensor(zero, dtype=torch.int64).expand(c).clone()
        w = conv.weight.detach().double()
        in_scale64 = in_scale.double()
        folded = w * (in_scale64.view(-1, 1, 1, 1) if self.transposed else in_scale64.view(1, -1, 1, 1))
        q, s = quantize_weight(folded, self.transposed)
        self.register_buffer("in_scale", in_scale)
        self.register_buffer("zero", zero.to(torch.int32))
        self.register_buffer("weight_q", q)
        self.register_buffer("out_scale", s)
        self.register_buffer("bias", conv.bias.detach().clone())

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:
        """The int32 accumulators Σ w_q · (x_q − zero) (in float64, exact at these magnitudes)."""
        xq = quantize_activation(x, self.in_scale, self.zero).double() - self.zero.double().view(1, -1, 1, 1)
        w = self.weight_q.double()
        if self.transposed:
            return F.conv_transpose2d(xq, w, None, self.stride, self.padding, self.output_padding)
        return F.conv2d(xq, w, None, self.stride, self.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acc = self.accumulate(x)
        return (acc * self.out_scale.double().view(1, -1, 1, 1)).float() + self.bias.view(1, -1, 1, 1)


class QuantLinear(nn.Module):
    """A Linear over the channels (last dimension) of the attention blocks, as the Swift runtime's
    int8 kernel computes it: the same activation codes, folded weights and int32 sums as QuantConv."""

    def __init__(self, linear: nn.Linear, in_scale, zero):
        super().__init__()
        self.in_channels, self.out_channels = linear.in_features, linear.out_features
        c = self.in_channels
        in_scale = torch.as_tensor(in_scale, dtype=torch.float32).expand(c).clone()
        zero = torch.as_tensor(zero, dtype=torch.int64).expand(c).clone()
        folded = linear.weight.detach().double() * in_scale.double().view(1, -1)
        q, s = quantize_weight(folded, transposed=False)
        self.register_buffer("in_scale", in_scale)
        self.register_buffer("zero", zero.to(torch.int32))
        self.register_buffer("weight_q", q)
        self.register_buffer("out_scale", s)
        self.register_buffer("bias", linear.bias.detach().clone())

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:
        """Σ w_q · (x_q − zero) over the last dimension, exact in float64."""
        shape = x.shape
        flat = x.reshape(-1, shape[-1]).t().reshape(1, shape[-1], -1, 1)          # channels first
        codes = quantize_activation(flat, self.in_scale, self.zero).double() - self.zero.double().view(1, -1, 1, 1)
        acc = codes.reshape(shape[-1], -1).t() @ self.weight_q.double().t()
        return acc.reshape(*shape[:-1], self.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.accumulate(x) * self.out_scale.double()).float() + self.bias


LINEARS = ("attn.qkv", "attn.proj", "fc1", "fc2")


def linear_layers(net: PaneNet):
    """(owner module, attribute, name) of every Linear of the attention blocks of g_a and g_s,
    named as in the exported weights (g_a.4.blocks.0.fc1)."""
    found = []
    for prefix in ("g_a", "g_s"):
        for idx, m in enumerate(getattr(net, prefix)):
            if isinstance(m, WindowAttentionBlock):
                for b, block in enumerate(m.blocks):
                    for key in LINEARS:
                        found.append((*linear_slot(block, key), f"{prefix}.{idx}.blocks.{b}.{key}"))
    return found


def linear_slot(block, key: str):
    """(owner module, attribute) of the Linear `key` ("attn.qkv", "fc1", …) of a SwinBlock."""
    return (block.attn if key.startswith("attn.") else block), key.split(".")[-1]


def conv_layers(net: PaneNet):
    """(sequential, index, name) of every convolution in g_a and g_s."""
    found = []
    for prefix in ("g_a", "g_s"):
        seq = getattr(net, prefix)
        for idx, m in enumerate(seq):
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, QuantConv)):
                found.append((seq, idx, f"{prefix}.{idx}"))
    return found


# Percent of each tail of an input channel's calibration values left outside its range. Measured
# at iteration ~69k on 8 Kodak images (likelihood BD-rate of int8 against fp32): 0.1% not run,
# 0.01% +1.84%, 0.001% +1.18%, 0.0001% +1.18%, 0 (min/max) +1.31%; the loss grew with the rate,
# so the clipped tails mattered at high quality. It was 0.01 until 2026-11-30.
PERCENTILE = 0.001


@torch.no_grad()
def run_anchors(net: PaneNet, images, hooks) -> None:
    """Every image through `net` (eval mode) at every quality anchor, then `hooks` removed."""
    net.eval()
    try:
        for x in images:
            for position in range(net.num_anchors):
                net(x, torch.tensor([float(position)]))
    finally:
        for h in hooks:
            h.remove()


@torch.no_grad()
def calibrate(net: PaneNet, images, percentile: float = PERCENTILE, per_channel: bool = True):
    """name → (low, high) input ranges of each convolution and attention Linear of g_a / g_s over
    images × quality anchors: arrays with one entry per input channel, or one for the whole tensor."""
    samples: dict[str, list[torch.Tensor]] = {}
    hooks = []
    generator = torch.Generator().manual_seed(0)  # the subsample, so an export is reproducible
    def hook_for(name, channels_last):
        def hook(_module, inputs):
            v = inputs[0].detach().float()
            v = v.reshape(-1, v.shape[-1]).t() if channels_last else v.transpose(0, 1).flatten(1)  # (C, samples)
            if v.shape[1] > 1 << 16:
                v = v[:, torch.randperm(v.shape[1], generator=generator)[: 1 << 16]]
            samples.setdefault(name, []).append(v)
        return hook

    for seq, idx, name in conv_layers(net):
        hooks.append(seq[idx].register_forward_pre_hook(hook_for(name, False)))
    for owner, attr, name in linear_layers(net):
        hooks.append(getattr(owner, attr).register_forward_pre_hook(hook_for(name, True)))
    run_anchors(net, images, hooks)
    ranges = {}
    for name, parts in samples.items():
        v = torch.cat(parts, 1).double().numpy()
        if not per_channel:
            v = v.reshape(1, -1)
        lo = np.percentile(v, percentile, axis=1) if percentile > 0 else v.min(1)
        hi = np.percentile(v, 100 - percentile, axis=1) if percentile > 0 else v.max(1)
        ranges[name] = (np.minimum(lo, 0.0), np.maximum(hi, 0.0))
    return ranges


def affine(low: np.ndarray, high: np.ndarray):
    """in_scale and zero point per entry, mapping [low, high] (containing 0) onto 0..255."""
    scale = np.maximum(high - low, 1e-8) / 255
    zero = np.clip(np.round(-low / scale), 0, 255).astype(np.int64)
    return scale, zero


# The convolutions at the two finest scales plus g_a's third: 85% of the convolutions' time in
# g_a and g_s for 0.02 dB. Quantizing the others too costs 0.07 dB in all; one at a time on 4
# Kodak images, at positions 1.5 / 4.5 (PSNR change, dB): g_s.8 −0.024/−0.029, g_s.1
# −0.015/−0.016, g_a.7 −0.009/−0.014, g_s.3 −0.008/−0.009, g_s.6 −0.005/−0.008,
# g_a.5 +0.003/−0.004, g_a.2 +0.002/−0.006, g_a.0 +0.006/+0.001.
# Every Linear of the attention blocks (qkv, proj, fc1, fc2) on top of these convolutions costs
# another 0.008 / 0.016 dB at the same positions (fc2 and proj are the most sensitive).
# With the 0.001% calibration (iteration ~69k, 8 Kodak images, likelihood BD-rate against fp32):
# these layers +1.18%; with g_a.7 and g_s.1 as well +3.35%.
DEFAULT_LAYERS = ("g_a.0", "g_a.2", "g_a.5", "g_s.3", "g_s.6")


def quantize(net: PaneNet, images, percentile: float = PERCENTILE, per_channel: bool = True,
             layers=DEFAULT_LAYERS, linears: bool = True, bias_correction: bool = False) -> PaneNet:
    """A copy of net whose listed g_a / g_s convolutions are QuantConv (g_a.0 gets the 8-bit pixel
    grid) and, with `linears`, every Linear of the attention blocks a QuantLinear; with
    `bias_correction`, their biases corrected on the calibration images (correct_biases)."""
    ranges = calibrate(net, images, percentile, per_channel)
    qnet = copy.deepcopy(net).eval()
    if linears:
        for owner, attr, name in linear_layers(qnet):
            setattr(owner, attr, QuantLinear(getattr(owner, attr), *affine(*ranges[name])))
    for seq, idx, name in conv_layers(qnet):
        if name not in layers:
            continue
        if name == "g_a.0":
            scale, zero = np.full(3, 1 / 255), np.zeros(3, dtype=np.int64)
        else:
            scale, zero = affine(*ranges[name])
        seq[idx] = QuantConv(seq[idx], scale, zero)
    if bias_correction:
        correct_biases(net, qnet, images)
    return qnet


@torch.no_grad()
def correct_biases(net: PaneNet, qnet: PaneNet, images) -> None:
    """Empirical bias correction (Nagel et al. 2019, "Data-free quantization"): the int8 weights
    and clipped activation codes shift each output channel's mean; over the calibration images at
    every quality anchor, the mean of (int8 layer − fp32 layer) on the fp32 network's own inputs
    is subtracted from the int8 layer's bias. Only the float bias changes (no format change).
    Measured at iteration ~69k on 8 Kodak images (likelihood BD-rate of int8 against fp32): +2.01%
    with it against +1.84% without, so it is off by default (`--bias-correction`): the int8 error
    here is noise that grows with the rate, not a shift of the means."""
    pairs = {}
    for (seq, idx, name), (qseq, qidx, _) in zip(conv_layers(net), conv_layers(qnet)):
        if isinstance(qseq[qidx], QuantConv):
            pairs[name] = (seq[idx], qseq[qidx], (0, 2, 3))
    for (owner, attr, name), (qowner, qattr, _) in zip(linear_layers(net), linear_layers(qnet)):
        q = getattr(qowner, qattr)
        if isinstance(q, QuantLinear):
            fp = getattr(owner, attr)
            pairs[name] = (fp, q, None)
    sums = {name: 0.0 for name in pairs}
    counts = dict.fromkeys(pairs, 0)
    hooks = []
    for name, (fp, q, dims) in pairs.items():
        def hook(module, inputs, output, name=name, q=q, dims=dims):
            diff = (q(inputs[0]) - output).double()
            if dims is None:
                diff = diff.reshape(-1, diff.shape[-1])
                sums[name] = sums[name] + diff.sum(0)
                counts[name] += diff.shape[0]
            else:
                sums[name] = sums[name] + diff.sum(dims)
                counts[name] += diff.shape[0] * diff.shape[2] * diff.shape[3]
        hooks.append(fp.register_forward_hook(hook))
    run_anchors(net, images, hooks)
    for name, (_, q, _) in pairs.items():
        q.bias -= (sums[name] / counts[name]).float()


@torch.no_grad()
def kodak_curve(net: PaneNet, images, positions):
    """(bpp, PSNR) per position, likelihood rate and rounded 8-bit reconstruction, averaged over images."""
    curve = []
    for p in positions:
        bpps, psnrs = [], []
        for _, img in images:
            x = img.unsqueeze(0)
            out = net(x, torch.tensor([float(p)]))
            bits = sum(torch.log2(out[k]).sum().neg() for k in ("y_lik", "z_lik"))
            bpps.append(bits.item() / (x.shape[2] * x.shape[3]))
            x_hat = torch.round(out["x_hat"].clamp(0, 1) * 255) / 255
            psnrs.append(10 * math.log10(1 / ((x_hat - x) ** 2).mean().item()))
        curve.append((sum(bpps) / len(bpps), sum(psnrs) / len(psnrs)))
    return curve


# The Linears whose exact sums the fixtures hold: one shifted block at 1/4 scale, one at 1/16.
LINEAR_FIXTURES = ("g_a.4.blocks.1.", "g_s.0.blocks.0.")


@torch.no_grad()
def write_fixtures(qnet: PaneNet, manifest: dict, out_dir: Path, sample: Path, quality: float = 75.0):
    """Parity fixtures of the int8 layers for Tests/PaneModelTests/Int8Tests.swift: on a crop of the
    sample, every QuantConv's fp32 input, the SHA-256 of its exact int32 accumulators (CHW,
    little-endian) in parity.json, and the g_a / g_s outputs."""
    from data import load_rgb  # noqa: E402
    from export import reference_forward  # noqa: E402
    from safetensors.torch import save_file  # noqa: E402

    img = torch.from_numpy(load_rgb(sample).copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    crop = img[:, :, 64:192, 128:256].contiguous()
    captured, digests = {}, {}
    hooks = []
    for seq, idx, name in conv_layers(qnet):
        if isinstance(seq[idx], QuantConv):
            def hook(module, inputs, name=name):
                captured[f"{name}.input"] = inputs[0][0].detach().float().contiguous()
                acc = module.accumulate(inputs[0])[0].round().to(torch.int32).numpy()
                digests[name] = {"shape": list(acc.shape), "sum": int(acc.astype(np.int64).sum()),
                                 "sha256": hashlib.sha256(np.ascontiguousarray(acc).astype("<i4").tobytes()).hexdigest()}
            hooks.append(seq[idx].register_forward_pre_hook(hook))
    for owner, attr, name in linear_layers(qnet):
        module = getattr(owner, attr)
        if not isinstance(module, QuantLinear) or not name.startswith(LINEAR_FIXTURES):
            continue

        def linear_hook(module, inputs, name=name):
            # tokens × channels in whatever order the block holds them, stored as C × tokens × 1
            tokens = inputs[0].reshape(-1, module.in_channels)
            captured[f"{name}.input"] = tokens.t().reshape(module.in_channels, -1, 1).float().contiguous()
            acc = module.accumulate(tokens).round().to(torch.int32).t().reshape(module.out_channels, -1, 1).numpy()
            digests[name] = {"shape": list(acc.shape), "sum": int(acc.astype(np.int64).sum()),
                             "sha256": hashlib.sha256(np.ascontiguousarray(acc).astype("<i4").tobytes()).hexdigest()}
        hooks.append(module.register_forward_pre_hook(linear_hook))
    try:
        ref = reference_forward(qnet, crop, quality)
    finally:
        for h in hooks:
            h.remove()
    tensors = {k: v.clone() for k, v in captured.items()}
    tensors["x"] = crop[0].clone()
    tensors["y"] = ref["y"][0].clone()
    g_s_input = (ref["y_hat"] * ref["inv_gain"][:, :, None, None])[0].clone()
    tensors["g_s.input"] = g_s_input
    tensors["x_hat"] = qnet.g_s(g_s_input.unsqueeze(0))[0].clone()
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out_dir / "parity.safetensors"))
    meta = {"model_sha256": manifest["sha256"], "quality": quality, "sample": sample.name,
            "crop": {"top": 64, "left": 128, "height": 128, "width": 128},
            "accumulators": digests}
    (out_dir / "parity.json").write_text(json.dumps(meta, indent=1) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    ap.add_argument("--images", type=int, default=24, help="first N Kodak images for the RD comparison (0: skip)")
    ap.add_argument("--calibration", type=int, default=8, help="training crops (256²) for the input ranges")
    ap.add_argument("--percentile", type=float, default=PERCENTILE, help="clip this %% of each input range's tails")
    ap.add_argument("--layers", default=",".join(DEFAULT_LAYERS), help="convolutions to quantize, or 'all'")
    ap.add_argument("--no-linears", action="store_true", help="keep the attention blocks' Linears in fp32")
    ap.add_argument("--per-tensor", action="store_true", help="one input range per layer, not per channel")
    ap.add_argument("--bias-correction", action=argparse.BooleanOptionalAction, default=False,
                    help="correct the int8 layers' biases for their mean output shift")
    ap.add_argument("--export", action="store_true", help="write Models/<name>.{json,safetensors}")
    ap.add_argument("--name", default="pane-int8")
    ap.add_argument("--out", type=Path, default=ROOT / "Models", help="with --export: the model folder")
    ap.add_argument("--fixtures", type=Path, default=ROOT / "Tests" / "PaneModelTests" / "Fixtures" / "int8",
                    help="with --export: where the int8 parity fixtures go")
    ap.add_argument("--release", action="store_true",
                    help="with --export: add it to <out>/releases.json as a new release (named --name)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.export:
        releases.refuse_overwrite(args.out, args.name)
    from data import load_kodak  # noqa: E402
    from export import calibration_images, export  # noqa: E402
    from metrics import bd_rate  # noqa: E402

    net, iteration, _ = load_checkpoint(args.checkpoint)
    net.eval()
    layers = [n for _, _, n in conv_layers(net)] if args.layers == "all" else args.layers.split(",")
    qnet = quantize(net, calibration_images(args.calibration), args.percentile, not args.per_tensor, layers,
                    linears=not args.no_linears, bias_correction=args.bias_correction)
    if args.images:
        images = load_kodak(limit=args.images)
        positions = np.linspace(0, net.num_anchors - 1, 5).tolist()
        fp32 = kodak_curve(net, images, positions)
        int8 = kodak_curve(qnet, images, positions)
        for p, a, b in zip(positions, fp32, int8):
            print(f"position {p:.2f}: fp32 {a[0]:.4f} bpp {a[1]:.3f} dB | int8 {b[0]:.4f} bpp {b[1]:.3f} dB")
        print(f"BD-rate int8 vs fp32 on {len(images)} Kodak images (likelihood rate): {bd_rate(fp32, int8):+.2f}%")
    if args.export:
        manifest = export(qnet, args.name, args.out, iteration)
        print(f"wrote {args.out / args.name}.safetensors ({manifest['sha256'][:12]})")
        if args.release:
            entry = releases.add(args.out, args.name, f"{args.name}.json", manifest["sha256"], make_default=False)
            print(f"release {entry['name']} (id {entry['id']}) added to {args.out / releases.FILE}")
        if args.fixtures:
            write_fixtures(qnet, manifest, args.fixtures, ROOT / "Samples" / "kodim23.png")
            print(f"wrote int8 parity fixtures to {args.fixtures}")


if __name__ == "__main__":
    sys.modules.setdefault("quantize", sys.modules["__main__"])  # one QuantConv class for export.py
    main()
