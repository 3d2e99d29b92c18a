"""The exact integer entropy path (DESIGN.md, Determinism): h_s and the slice
networks in integer arithmetic, so that encoder and decoder compute the very
same means, scale indexes and residuals on any machine.

Representation
- Activations are int16 (|a| <= 32767) with a per-channel scale known at export.
- Weights are integers in ±255 (stored as int16) per output channel after folding the
  input channels' scales in: W'[o, c] = W[o, c] * s_in[c], s_w[o] = max|W'[o]| / 255.
  Until 2026-11-30 they used ±32767; on 8 Kodak images at 3 qualities (real streams from the
  Swift codec, same checkpoint) ±255 changed the total size by −0.01…+0.01% and PSNR by under
  0.005 dB (±127 cost +0.7…+0.8%), and with |w| ≤ 255 a block of 256 products of int16
  activations sums below 2^31, so the runtime's exact GEMM needs one int16 multiply-add pass
  instead of two (pane_wgemm_narrow). Loaders accept either range.
- Accumulation in int64: acc[o] = sum w_q * a_q + bias_q[o]; real value = acc * s_w[o].
- Requantisation by a fixed-point multiplier: out = (acc * m + 2^(S-1)) >> S with
  m in [2^14, 2^15) and 1 <= S <= 62 (arithmetic shift), then a clamp.
- Means mu are integers in units of 2^-MEAN_BITS; the scale is an index into
  the scale table found by comparing acc with integer thresholds; the latent
  residual 0.5*tanh(.) comes from an integer table indexed in units of 2^-8.
- y-hat in fixed point: yhat_fp = q * 2^MEAN_BITS + mu_fp + lrp_fp.

Everything here uses numpy int64 only; float maths happens once, at export
(`IntegerEntropyModel.build`), and its integer results are stored in the model file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from model import PaneNet, scale_table

MEAN_BITS = 12
LRP_BITS = 8
LRP_RANGE = 4 << LRP_BITS  # |input of tanh| clamped to 4 (tanh(4) = 0.9993)
ACT_MAX = 32767
WEIGHT_MAX = 255
HEADROOM = 2.0


def fixed_multiplier(ratio: float):
    """ratio ≈ m * 2^-S with m in [2^14, 2^15)."""
    if not (ratio > 0 and math.isfinite(ratio)):
        raise ValueError(f"requantisation ratio {ratio} is not positive")
    mant, exp = math.frexp(ratio)  # ratio = mant * 2^exp, mant in [0.5, 1)
    m = int(round(mant * (1 << 15)))
    shift = 15 - exp
    if m == 1 << 15:
        m //= 2
        shift -= 1
    if not 1 <= shift <= 62:
        raise ValueError(f"requantisation ratio {ratio} needs shift {shift} outside 1..62")
    return m, shift


def requantize(acc: np.ndarray, m: np.ndarray, shift: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """(acc * m + 2^(S-1)) >> S per channel (axis 0), clamped to [lo, hi]. acc: int64 (C, H, W)."""
    m = m.astype(np.int64)[:, None, None]
    s = shift.astype(np.int64)[:, None, None]
    out = (acc * m + (np.int64(1) << (s - 1))) >> s
    return np.clip(out, lo, hi)


def conv_int(x: np.ndarray, w: np.ndarray, bias: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Integer conv2d. x (C, H, W) int64, w (O, C, k, k) int64 -> (O, Ho, Wo) int64."""
    c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.zeros((c, h + 2 * padding, wd + 2 * padding), dtype=np.int64)
    xp[:, padding:padding + h, padding:padding + wd] = x
    ho = (h + 2 * padding - k) // stride + 1
    wo = (wd + 2 * padding - k) // stride + 1
    cols = np.empty((c, k, k, ho, wo), dtype=np.int64)
    for ky in range(k):
        for kx in range(k):
            cols[:, ky, kx] = xp[:, ky:ky + stride * ho:stride, kx:kx + stride * wo:stride]
    out = w.reshape(o, -1) @ cols.reshape(-1, ho * wo)
    return out.reshape(o, ho, wo) + bias[:, None, None]


def deconv_int(x: np.ndarray, w: np.ndarray, bias: np.ndarray, stride: int, padding: int, output_padding: int):
    """Integer transposed conv2d. x (C, H, W), w (C, O, k, k) (PyTorch layout) -> (O, Ho, Wo)."""
    c, h, wd = x.shape
    _, o, k, _ = w.shape
    ho = (h - 1) * stride - 2 * padding + k + output_padding
    wo = (wd - 1) * stride - 2 * padding + k + output_padding
    full = np.zeros((o, (h - 1) * stride + k + output_padding, (wd - 1) * stride + k + output_padding), dtype=np.int64)
    cols = w.reshape(c, o * k * k).T @ x.reshape(c, h * wd)  # (O*k*k, H*W)
    cols = cols.reshape(o, k, k, h, wd)
    for ky in range(k):
        for kx in range(k):
            full[:, ky:ky + stride * h:stride, kx:kx + stride * wd:stride] += cols[:, ky, kx]
    out = full[:, padding:padding + ho, padding:padding + wo]
    return out + bias[:, None, None]


@dataclass
class IntLayer:
    """One integer conv or transposed conv with its requantisation."""
    kind: str            # "conv" | "deconv"
    stride: int
    padding: int
    output_padding: int
    weight: np.ndarray   # int64, PyTorch layout
    bias: np.ndarray     # int64 (O,)
    weight_scale: np.ndarray  # float64 (O,): real = acc * weight_scale
    m: np.ndarray | None = None      # requantisation to the next activation, per output channel
    shift: np.ndarray | None = None
    relu: bool = False

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "conv":
            return conv_int(x, self.weight, self.bias, self.stride, self.padding)
        return deconv_int(x, self.weight, self.bias, self.stride, self.padding, self.output_padding)

    def __call__(self, x):
        acc = self.accumulate(x)
        lo = 0 if self.relu else -ACT_MAX
        return requantize(acc, self.m, self.shift, lo, ACT_MAX)


def quantize_layer(module: nn.Module, in_scales: np.ndarray) -> IntLayer:
    w = module.weight.detach().double().numpy()
    b = module.bias.detach().double().numpy()
    if isinstance(module, nn.ConvTranspose2d):
        folded = w * in_scales[:, None, None, None]          # (C, O, k, k)
        per_out = np.abs(folded).max(axis=(0, 2, 3))
        ws = np.maximum(per_out, 1e-12) / WEIGHT_MAX
        wq = np.round(folded / ws[None, :, None, None]).astype(np.int64)
        kind, op = "deconv", module.output_padding[0]
    else:
        folded = w * in_scales[None, :, None, None]          # (O, C, k, k)
        per_out = np.abs(folded).max(axis=(1, 2, 3))
        ws = np.maximum(per_out, 1e-12) / WEIGHT_MAX
        wq = np.round(folded / ws[:, None, None, None]).astype(np.int64)
        kind, op = "conv", 0
    bq = np.round(b / ws).astype(np.int64)
    if np.abs(bq).max() >= 2 ** 40:
        raise ValueError("bias does not fit the accumulator's range after quantisation")
    return IntLayer(kind, module.stride[0], module.padding[0], op, wq, bq, ws)


def set_output(layer: IntLayer, out_scale: np.ndarray, relu: bool):
    pairs = [fixed_multiplier(float(r)) for r in layer.weight_scale / out_scale]
    layer.m = np.array([p[0] for p in pairs], dtype=np.int64)
    layer.shift = np.array([p[1] for p in pairs], dtype=np.int64)
    layer.relu = relu


@dataclass
class SliceNets:
    mean: list   # [hidden IntLayer, final IntLayer] (final: m/shift to 2^-MEAN_BITS)
    scale: list  # [hidden, final] (final: thresholds)
    lrp: list    # [hidden, final] (final: m/shift to 2^-LRP_BITS)
    thresholds: np.ndarray  # int64 (size, levels-1)
    y_m: np.ndarray         # requantisation of yhat_fp to the int16 context of this slice
    y_shift: np.ndarray
    y_scale: float


class IntegerEntropyModel:
    """Integer h_s + slice networks, built from a float PaneNet and calibration data."""

    def __init__(self, h_s, slices, hyper_scales, slice_size, table, lrp_table):
        self.h_s = h_s
        self.slices = slices
        self.hyper_scales = hyper_scales   # float64 (2M,) scales of h_s outputs
        self.slice_size = slice_size
        self.scale_table = table
        self.lrp_table = lrp_table

    # ----- building (float maths, export time only) -----
    @staticmethod
    @torch.no_grad()
    def calibrate(net: PaneNet, images, qualities=(0, 20, 40, 60, 80, 100)):
        """Max |activation| of every tensor the integer path quantizes."""
        net = net.eval()
        stats = {}

        def track(name, t):
            v = t.detach().abs().amax(dim=(0, 2, 3)).double().numpy()
            stats[name] = np.maximum(stats.get(name, 0), v)

        for x in images:
            for q in qualities:
                pos = torch.tensor([net.quality_to_position(q)])
                gain, _ = net.gains_at(pos)
                y = net.g_a(x) * gain[:, :, None, None]
                z_hat = torch.round(net.h_a(y))
                h = z_hat
                for i, layer in enumerate(net.h_s):
                    h = layer(h)
                    if isinstance(layer, nn.ReLU):
                        track(f"h_s.{i}", h)
                track("hyper", h)
                hm, hs = h.chunk(2, dim=1)
                previous = []
                for i, y_i in enumerate(y.chunk(net.cfg.slices, dim=1)):
                    mean_in = torch.cat([hm] + previous, 1)
                    scale_in = torch.cat([hs] + previous, 1)
                    track(f"cc_mean.{i}.hidden", net.cc_mean[i][1](net.cc_mean[i][0](mean_in)))
                    track(f"cc_scale.{i}.hidden", net.cc_scale[i][1](net.cc_scale[i][0](scale_in)))
                    mu = net.cc_mean[i](mean_in)
                    y_hat = torch.round(y_i - mu) + mu
                    lrp_in = torch.cat([hm] + previous + [y_hat], 1)
                    track(f"lrp.{i}.hidden", net.lrp[i][1](net.lrp[i][0](lrp_in)))
                    y_hat = y_hat + net.residual(i, hm, previous, y_hat)
                    track(f"yhat.{i}", y_hat)
                    previous.append(y_hat)
        return stats

    @classmethod
    def build(cls, net: PaneNet, images):
        stats = cls.calibrate(net, images)

        def act_scale(v):  # per-tensor scale with headroom
            return np.full_like(v, max(float(v.max()), 1e-3) * HEADROOM / ACT_MAX)

        # h_s: input ẑ is integer (scale 1).
        layers = [m for m in net.h_s if not isinstance(m, nn.ReLU)]
        relu_after = [isinstance(net.h_s[i + 1], nn.ReLU) if i + 1 < len(net.h_s) else False
                      for i, m in enumerate(net.h_s) if not isinstance(m, nn.ReLU)]
        relu_names = [f"h_s.{i}" for i, m in enumerate(net.h_s) if isinstance(m, nn.ReLU)]
        in_scale = np.ones(net.cfg.Nz)
        h_s = []
        for n, module in enumerate(layers):
            layer = quantize_layer(module, in_scale)
            out_scale = act_scale(stats[relu_names[n]]) if relu_after[n] else act_scale(stats["hyper"])
            set_output(layer, out_scale, relu_after[n])
            h_s.append(layer)
            in_scale = out_scale
        hyper_scales = in_scale
        M = net.cfg.M
        s = net.slice_size
        table = scale_table().double().numpy()
        slices = []
        y_scales = []
        for i in range(net.cfg.slices):
            prev = np.concatenate([np.full(s, y_scales[j]) for j in range(i)]) if i else np.zeros(0)
            mean_in = np.concatenate([hyper_scales[:M], prev])
            scale_in = np.concatenate([hyper_scales[M:], prev])
            y_scale = float(stats[f"yhat.{i}"].max()) * HEADROOM / ACT_MAX
            lrp_in = np.concatenate([hyper_scales[:M], prev, np.full(s, y_scale)])

            def pair(seq, in_scales, hidden_name):
                hidden = quantize_layer(seq[0], in_scales)
                h_scale = act_scale(stats[hidden_name])
                set_output(hidden, h_scale, relu=True)
                final = quantize_layer(seq[2], h_scale)
                return [hidden, final]

            mean = pair(net.cc_mean[i], mean_in, f"cc_mean.{i}.hidden")
            set_output(mean[1], np.full(s, 2.0 ** -MEAN_BITS), relu=False)
            scale = pair(net.cc_scale[i], scale_in, f"cc_scale.{i}.hidden")
            # Index i+1 once σ passes the geometric midpoint of table[i] and table[i+1]: the nearest
            # level in log scale (rounding σ up to the next level cost ~2% at low rates).
            midpoints = np.sqrt(table[:-1] * table[1:])
            thresholds = np.floor(midpoints[None, :] / scale[1].weight_scale[:, None]).astype(np.int64)
            lrp = pair(net.lrp[i], lrp_in, f"lrp.{i}.hidden")
            set_output(lrp[1], np.full(s, 2.0 ** -LRP_BITS), relu=False)
            ym, ysh = fixed_multiplier(2.0 ** -MEAN_BITS / y_scale)
            slices.append(SliceNets(mean, scale, lrp, thresholds, np.full(s, ym), np.full(s, ysh), y_scale))
            y_scales.append(y_scale)
        k = np.arange(-LRP_RANGE, LRP_RANGE + 1, dtype=np.float64)
        lrp_table = np.round(0.5 * np.tanh(k / (1 << LRP_BITS)) * (1 << MEAN_BITS)).astype(np.int64)
        return cls(h_s, slices, hyper_scales, s, table, lrp_table)

    # ----- loading (from the exported model file: what the codec runs) -----
    @classmethod
    def from_tensors(cls, tensors: dict, manifest: dict):
        """The integer path as stored in a model file (`int.*` tensors of Models/pane.safetensors,
        loaded with safetensors.numpy) and its manifest (Models/pane.json), with the checks of
        Sources/PaneModel/IntegerEntropyModel.swift. Calibration is not reproducible bit for bit,
        so the codec must run these stored integers, never a fresh `build`.

        The float scales used only at build time (weight_scale, hyper_scales, y_scale) are unknown
        here and set to NaN.
        """
        spec = manifest["entropy_int"]
        for key, value in (("version", 1), ("activation_max", ACT_MAX), ("mean_bits", MEAN_BITS),
                           ("lrp_bits", LRP_BITS), ("lrp_range", LRP_RANGE)):
            if spec.get(key) != value:
                raise ValueError(f"entropy_int.{key} is {spec.get(key)!r}; this code runs {value}")
        cfg, sl_spec = manifest["config"], manifest["slices"]
        M, size, count, hidden = cfg["M"], sl_spec["size"], sl_spec["count"], spec["slice_hidden"]
        levels = manifest["scale_table"]["levels"]
        if count * size != M:
            raise ValueError(f"{count} slices of {size} do not split M = {M}")

        def tensor(name, shape, dtype):
            if name not in tensors:
                raise KeyError(f"model file has no tensor {name}")
            t = np.asarray(tensors[name])
            if tuple(t.shape) != tuple(shape):
                raise ValueError(f"{name}: shape {tuple(t.shape)}, expected {tuple(shape)}")
            accepted = (np.int16, np.int32) if dtype == "weight" else (dtype,)
            if t.dtype not in [np.dtype(d) for d in accepted]:
                raise ValueError(f"{name}: dtype {t.dtype}, expected {' or '.join(str(np.dtype(d)) for d in accepted)}")
            return t.astype(np.int64)

        def layer(name, kind, cin, cout, k, stride, padding, output_padding, relu, requantized=True):
            shape = (cin, cout, k, k) if kind == "deconv" else (cout, cin, k, k)
            w = tensor(f"{name}.weight", shape, "weight")  # int16 (int32 in older model files)
            if np.abs(w).max(initial=0) > ACT_MAX:
                raise ValueError(f"{name}: weights exceed int16")
            b = tensor(f"{name}.bias", (cout,), np.int64)
            if np.abs(b).max(initial=0) >= 1 << 40:
                raise ValueError(f"{name}: bias exceeds 2^40")
            m = shift = None
            if requantized:
                m = tensor(f"{name}.multiplier", (cout,), np.int32)
                shift = tensor(f"{name}.shift", (cout,), np.int32)
                if not (((m >= 1 << 14) & (m < 1 << 15)).all() and ((shift >= 1) & (shift <= 62)).all()):
                    raise ValueError(f"{name}: requantisation multiplier or shift out of range")
            return IntLayer(kind, stride, padding, output_padding, w, b, np.full(cout, np.nan), m, shift, relu)

        h_s = [layer(f"int.h_s.{n}", d["type"], d["in"], d["out"], d["kernel"], d["stride"], d["padding"],
                     d["output_padding"], d["relu"]) for n, d in enumerate(spec["h_s"])]
        slices = []
        for i in range(count):
            cin = M + size * i

            def pair(net, cin, final_requantized=True):
                return [layer(f"int.{net}.{i}.0", "conv", cin, hidden, 3, 1, 1, 0, True),
                        layer(f"int.{net}.{i}.1", "conv", hidden, size, 3, 1, 1, 0, False, final_requantized)]

            mean, scale, lrp = pair("cc_mean", cin), pair("cc_scale", cin, False), pair("lrp", cin + size)
            thresholds = tensor(f"int.cc_scale.{i}.thresholds", (size, levels - 1), np.int64)
            if (np.diff(thresholds, axis=1) < 0).any():
                raise ValueError(f"int.cc_scale.{i}.thresholds: not ascending")
            y_m = tensor(f"int.yhat.{i}.multiplier", (size,), np.int32)
            y_shift = tensor(f"int.yhat.{i}.shift", (size,), np.int32)
            if not ((y_shift >= 1) & (y_shift <= 62)).all():
                raise ValueError(f"int.yhat.{i}.shift out of range")
            slices.append(SliceNets(mean, scale, lrp, thresholds, y_m, y_shift, float("nan")))
        lrp_table = tensor("int.lrp_table", (2 * LRP_RANGE + 1,), np.int32)
        table = np.exp(np.linspace(math.log(manifest["scale_table"]["min"]), math.log(manifest["scale_table"]["max"]),
                                   levels))
        return cls(h_s, slices, np.full(2 * M, np.nan), size, table, lrp_table)

    # ----- the exact path (what encoder and decoder both run) -----
    def hyper(self, z_hat: np.ndarray):
        """ẑ (Nz, h, w) integers -> int16 hyper features (2M, 4h, 4w)."""
        h = np.clip(z_hat.astype(np.int64), -ACT_MAX, ACT_MAX)
        for layer in self.h_s:
            h = layer(h)
        return h

    def slice_parameters(self, i: int, hyper: np.ndarray, previous: list):
        """Means (units 2^-MEAN_BITS) and scale indexes of slice i from int16 context."""
        M = hyper.shape[0] // 2
        sl = self.slices[i]
        mean_in = np.concatenate([hyper[:M]] + previous, 0)
        scale_in = np.concatenate([hyper[M:]] + previous, 0)
        hidden = sl.mean[0](mean_in)
        mu = requantize(sl.mean[1].accumulate(hidden), sl.mean[1].m, sl.mean[1].shift, -(2 ** 40), 2 ** 40)
        hidden = sl.scale[0](scale_in)
        acc = sl.scale[1].accumulate(hidden)  # (s, H, W)
        idx = (acc[:, None, :, :] > sl.thresholds[:, :, None, None]).sum(axis=1)
        return mu, idx.astype(np.int64)

    def residual(self, i: int, hyper: np.ndarray, previous: list, y_hat_context: np.ndarray):
        M = hyper.shape[0] // 2
        sl = self.slices[i]
        hidden = sl.lrp[0](np.concatenate([hyper[:M]] + previous + [y_hat_context], 0))
        r = requantize(sl.lrp[1].accumulate(hidden), sl.lrp[1].m, sl.lrp[1].shift, -LRP_RANGE, LRP_RANGE)
        return self.lrp_table[r + LRP_RANGE]

    def context(self, i: int, y_hat_fp: np.ndarray):
        """yhat in fixed point -> the int16 context tensor later slices read."""
        sl = self.slices[i]
        return requantize(y_hat_fp, sl.y_m, sl.y_shift, -ACT_MAX, ACT_MAX)

    def decode_slices(self, hyper, symbols_for_slice):
        """Runs the slice loop; `symbols_for_slice(i, mu, idx)` returns the integer symbols q.

        Returns yhat in fixed point (M, H, W) int64 and the per-slice (mu, idx, q).
        """
        previous, y_fp, trace = [], [], []
        for i in range(len(self.slices)):
            mu, idx = self.slice_parameters(i, hyper, previous)
            q = symbols_for_slice(i, mu, idx)
            y_hat = q.astype(np.int64) * (1 << MEAN_BITS) + mu
            y_hat = y_hat + self.residual(i, hyper, previous, self.context(i, y_hat))
            previous.append(self.context(i, y_hat))
            y_fp.append(y_hat)
            trace.append((mu, idx, q))
        return np.concatenate(y_fp, 0), trace

    # ----- serialisation for the model file -----
    def tensors(self):
        out = {}

        def put_layer(prefix, layer: IntLayer):
            out[f"{prefix}.weight"] = layer.weight
            out[f"{prefix}.bias"] = layer.bias
            if layer.m is not None:
                out[f"{prefix}.multiplier"] = layer.m
                out[f"{prefix}.shift"] = layer.shift

        for n, layer in enumerate(self.h_s):
            put_layer(f"int.h_s.{n}", layer)
        for i, sl in enumerate(self.slices):
            put_layer(f"int.cc_mean.{i}.0", sl.mean[0])
            put_layer(f"int.cc_mean.{i}.1", sl.mean[1])
            put_layer(f"int.cc_scale.{i}.0", sl.scale[0])
            # The final scale layer is compared with thresholds; it has no requantisation.
            out[f"int.cc_scale.{i}.1.weight"] = sl.scale[1].weight
            out[f"int.cc_scale.{i}.1.bias"] = sl.scale[1].bias
            out[f"int.cc_scale.{i}.thresholds"] = sl.thresholds.astype(np.int64)  # σ·2^k/s_w exceeds int32
            put_layer(f"int.lrp.{i}.0", sl.lrp[0])
            put_layer(f"int.lrp.{i}.1", sl.lrp[1])
            out[f"int.yhat.{i}.multiplier"] = sl.y_m
            out[f"int.yhat.{i}.shift"] = sl.y_shift
        out["int.lrp_table"] = self.lrp_table
        for k, v in out.items():
            if k.endswith(".thresholds") or k.endswith(".bias"):
                continue  # int64: in accumulator units (σ or b divided by a tiny weight scale)
            if k.endswith(".weight"):  # |w| ≤ ACT_MAX: stored as int16, half the bytes of int32
                if np.abs(v).max(initial=0) > ACT_MAX:
                    raise ValueError(f"{k} does not fit int16")
                out[k] = v.astype(np.int16)
                continue
            if np.abs(v).max(initial=0) >= 2 ** 31 - 1:
                raise ValueError(f"{k} does not fit int32")
            out[k] = v.astype(np.int32)
        return out

    def manifest(self):
        def layer_desc(layer: IntLayer, relu):
            return {"type": layer.kind, "stride": layer.stride, "padding": layer.padding,
                    "output_padding": layer.output_padding, "relu": relu,
                    "in": int(layer.weight.shape[1] if layer.kind == "conv" else layer.weight.shape[0]),
                    "out": int(layer.weight.shape[0] if layer.kind == "conv" else layer.weight.shape[1]),
                    "kernel": int(layer.weight.shape[2])}
        return {
            "version": 1,
            "activation_max": ACT_MAX,
            "mean_bits": MEAN_BITS,
            "lrp_bits": LRP_BITS,
            "lrp_range": LRP_RANGE,
            "h_s": [layer_desc(l, l.relu) for l in self.h_s],
            "slice_hidden": int(self.slices[0].mean[0].weight.shape[0]),
        }
