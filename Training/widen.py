"""Widen the latent of a trained checkpoint (M → M') and optionally add a λ anchor below the
bottom one, keeping what the network has learned.

    python Training/widen.py --latent 192 --add-low-anchor 0.0009      # rewrites Training/checkpoint.pt

Why: with M = 96 latent channels, Kodak reconstruction from the *unquantized* latent stops at
about 32 dB whatever the rate (measured: 31.7 / 32.0 / 32.0 dB at anchors 0 / 4 / 7), so the
top of the RD curve is flat. The bottleneck, not the training time, was the limit.

How the old function is kept: every latent slice grows from s to s' channels, the old channels
first (old slice i becomes the first s channels of new slice i, so the channel-wise context keeps
its order). New channels start exactly at zero: g_a's last convolution and the residual outputs
of the M-wide attention block have zero rows for them, their means, scales and residuals are
zero rows (scale floors at SCALE_MIN, so they cost ~0 bits), and every layer that reads them
gets ordinary random columns, so gradients reach them from the first step. The only change to
the old function is LayerNorm in the two M-wide attention blocks, which now averages over the
zero channels too; `--check` reports what that costs before training repairs it.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Config, PaneNet  # noqa: E402
from train import CHECKPOINT, load_checkpoint, save_checkpoint  # noqa: E402


def latent_index(m_old: int, m_new: int, slices: int) -> torch.Tensor:
    """New position of each old latent channel: slice i's old channels open new slice i."""
    s_old, s_new = m_old // slices, m_new // slices
    c = torch.arange(m_old)
    return (c // s_old) * s_new + c % s_old


def widen(old: PaneNet, m_new: int, low_anchor: float | None = None, seed: int = 0) -> PaneNet:
    cfg_old = old.cfg
    M, S = cfg_old.M, cfg_old.slices
    if m_new <= M or m_new % S:
        raise SystemExit(f"--latent {m_new}: must exceed M = {M} and split into {S} slices")
    if cfg_old.mlp_hidden:
        raise SystemExit("widen a pruned model: not supported (widen first, then prune)")
    lambdas = list(cfg_old.lambdas)
    if low_anchor is not None:
        if low_anchor >= lambdas[0]:
            raise SystemExit(f"--add-low-anchor {low_anchor}: must be below the bottom anchor {lambdas[0]}")
        lambdas = [low_anchor] + lambdas
    cfg = Config(**{**cfg_old.to_dict(), "M": m_new, "lambdas": lambdas})
    torch.manual_seed(seed)
    new = PaneNet(cfg)
    src = old.state_dict()
    dst = new.state_dict()
    idx = latent_index(M, m_new, S)
    s_old, s_new = M // S, m_new // S
    todo = set(dst)

    def put(name, value):
        dst[name].copy_(value)
        todo.discard(name)

    with torch.no_grad():
        # Everything whose shape did not change is copied as is.
        for name, v in src.items():
            if name in dst and dst[name].shape == v.shape and not name.startswith("log_"):
                put(name, v)

        # g_a's last convolution: old rows to their new places, new rows zero.
        w = torch.zeros_like(dst["g_a.7.weight"]); w[idx] = src["g_a.7.weight"]; put("g_a.7.weight", w)
        b = torch.zeros_like(dst["g_a.7.bias"]); b[idx] = src["g_a.7.bias"]; put("g_a.7.bias", b)

        for blk in ("g_a.8", "g_s.0"):
            for j in (0, 1):
                p = f"{blk}.blocks.{j}."
                for norm in ("norm1", "norm2"):
                    g = torch.zeros(m_new); g[idx] = src[p + norm + ".weight"]; put(p + norm + ".weight", g)
                    b = torch.zeros(m_new); b[idx] = src[p + norm + ".bias"]; put(p + norm + ".bias", b)
                # qkv: old heads keep their rows (q, k, v blocks of M each); new heads have random
                # q and zero k, v, so they attend uniformly to nothing until trained.
                w, b = dst[p + "attn.qkv.weight"].clone(), torch.zeros_like(dst[p + "attn.qkv.bias"])
                ow, ob = src[p + "attn.qkv.weight"], src[p + "attn.qkv.bias"]
                for part in range(3):
                    rows_new = slice(part * m_new, (part + 1) * m_new)
                    rows_old = slice(part * M, (part + 1) * M)
                    if part > 0:
                        w[part * m_new + M: (part + 1) * m_new] = 0
                    w[torch.arange(part * m_new, part * m_new + M).unsqueeze(1), idx] = ow[rows_old]
                    b[part * m_new: part * m_new + M] = ob[rows_old]
                put(p + "attn.qkv.weight", w); put(p + "attn.qkv.bias", b)
                # proj: old outputs read old heads only; new outputs (new residual channels) zero.
                w = dst[p + "attn.proj.weight"].clone()
                w[idx.unsqueeze(1), torch.arange(M)] = src[p + "attn.proj.weight"]
                mask = torch.ones(m_new, dtype=torch.bool); mask[idx] = False
                w[mask] = 0
                b = torch.zeros(m_new); b[idx] = src[p + "attn.proj.bias"]
                put(p + "attn.proj.weight", w); put(p + "attn.proj.bias", b)
                rpb = torch.zeros_like(dst[p + "attn.relative_position_bias"])
                rpb[:, : src[p + "attn.relative_position_bias"].shape[1]] = src[p + "attn.relative_position_bias"]
                put(p + "attn.relative_position_bias", rpb)
                # MLP: old hidden units keep their weights; new hidden units are random in and zero out.
                h_old = src[p + "fc1.weight"].shape[0]
                w = dst[p + "fc1.weight"].clone()
                w[:h_old, idx] = src[p + "fc1.weight"]
                b = dst[p + "fc1.bias"].clone(); b[:h_old] = src[p + "fc1.bias"]
                put(p + "fc1.weight", w); put(p + "fc1.bias", b)
                w = torch.zeros_like(dst[p + "fc2.weight"])
                w[idx.unsqueeze(1), torch.arange(h_old)] = src[p + "fc2.weight"]
                b = torch.zeros(m_new); b[idx] = src[p + "fc2.bias"]
                put(p + "fc2.weight", w); put(p + "fc2.bias", b)

        # Layers reading the latent: old columns (ConvTranspose: rows) to their places, new ones random.
        w = dst["h_a.0.weight"].clone(); w[:, idx] = src["h_a.0.weight"]; put("h_a.0.weight", w)
        w = dst["g_s.1.weight"].clone(); w[idx] = src["g_s.1.weight"]; put("g_s.1.weight", w)

        # h_s output: [mean (M), scale (M)]; new rows zero.
        w = torch.zeros_like(dst["h_s.4.weight"]); b = torch.zeros_like(dst["h_s.4.bias"])
        ow, ob = src["h_s.4.weight"], src["h_s.4.bias"]
        w[idx], w[m_new + idx] = ow[:M], ow[M:]
        b[idx], b[m_new + idx] = ob[:M], ob[M:]
        put("h_s.4.weight", w); put("h_s.4.bias", b)

        for i in range(S):
            prev = idx[: s_old * i]  # old channels of slices < i, in the new latent order
            for net in ("cc_mean", "cc_scale", "lrp"):
                p = f"{net}.{i}."
                cols = [idx, m_new + prev]
                if net == "lrp":
                    cols.append(m_new + s_new * i + torch.arange(s_old))
                cols = torch.cat(cols)
                w = dst[p + "0.weight"].clone(); w[:, cols] = src[p + "0.weight"]
                put(p + "0.weight", w); put(p + "0.bias", src[p + "0.bias"])
                w = torch.zeros_like(dst[p + "2.weight"]); w[:s_old] = src[p + "2.weight"]
                b = torch.zeros_like(dst[p + "2.bias"]); b[:s_old] = src[p + "2.bias"]
                put(p + "2.weight", w); put(p + "2.bias", b)

        # Gain units: old channels keep theirs, new channels take each anchor's mean; a new low
        # anchor starts on the log-λ line through the two bottom rows.
        for name in ("log_gain", "log_inv_gain"):
            rows = src[name]
            if low_anchor is not None:
                step = math.log(cfg_old.lambdas[0] / low_anchor) / math.log(cfg_old.lambdas[1] / cfg_old.lambdas[0])
                rows = torch.cat([(rows[0] - (rows[1] - rows[0]) * step)[None], rows])
            g = rows.mean(dim=1, keepdim=True).repeat(1, m_new)
            g[:, idx] = rows
            put(name, g)

    if todo:
        raise SystemExit(f"widen: no rule for {sorted(todo)}")
    new.load_state_dict(dst)
    return new


def widen_stage8(old: PaneNet, n8: int, seed: int = 0) -> PaneNet:
    """Widen the 1/8-resolution stage of g_a and g_s (N8 channels: g_a.5 / g_a.6 / g_a.7 and
    g_s.1 / g_s.2 / g_s.3) from its current width to n8, keeping the function exactly.

    New channels are computed (random incoming weights, PyTorch's default init) but read by
    nothing: the layer after them has zero columns for them (g_a.7, g_s.3), and the GDN between
    keeps them out of the old channels' normalisation (zero cross terms of gamma; new rows get
    beta 1 and the usual 0.1 diagonal). Gradients reach the zero columns from the first step,
    since the new channels' activations are not zero."""
    cfg_old = old.cfg
    n_old = cfg_old.n8
    if n8 <= n_old:
        raise SystemExit(f"--stage8 {n8}: must exceed the current width {n_old}")
    cfg = Config(**{**cfg_old.to_dict(), "N8": n8})
    torch.manual_seed(seed)
    new = PaneNet(cfg)
    src, dst = old.state_dict(), new.state_dict()
    todo = set(dst)

    def put(name, value):
        dst[name].copy_(value)
        todo.discard(name)

    with torch.no_grad():
        for name, v in src.items():
            if dst[name].shape == v.shape:
                put(name, v)
        old_ch = slice(0, n_old)
        # Producers of the stage: old output channels keep their weights, new ones random.
        # (Conv2d weight: [out, in, k, k]; ConvTranspose2d: [in, out, k, k].)
        for layer, out_dim in (("g_a.5", 0), ("g_s.1", 1)):
            w = dst[layer + ".weight"].clone()
            idx = [slice(None)] * 4
            idx[out_dim] = old_ch
            w[tuple(idx)] = src[layer + ".weight"]
            b = dst[layer + ".bias"].clone(); b[old_ch] = src[layer + ".bias"]
            put(layer + ".weight", w); put(layer + ".bias", b)
        # Consumers: zero weights from the new channels.
        for layer, in_dim in (("g_a.7", 1), ("g_s.3", 0)):
            w = torch.zeros_like(dst[layer + ".weight"])
            idx = [slice(None)] * 4
            idx[in_dim] = old_ch
            w[tuple(idx)] = src[layer + ".weight"]
            put(layer + ".weight", w)
        # GDN: stored reparametrised (value = param² − pedestal); a zero entry is param = sqrt(pedestal).
        for layer in ("g_a.6", "g_s.2"):
            beta = dst[layer + ".beta"].clone(); beta[old_ch] = src[layer + ".beta"]
            gdn = new.get_submodule(layer)
            gamma = torch.full_like(dst[layer + ".gamma"], gdn.pedestal ** 0.5)
            fresh = dst[layer + ".gamma"]
            gamma[n_old:, n_old:] = fresh[n_old:, n_old:]
            gamma[old_ch, old_ch] = src[layer + ".gamma"]
            put(layer + ".beta", beta); put(layer + ".gamma", gamma)
    if todo:
        raise SystemExit(f"widen_stage8: no rule for {sorted(todo)}")
    new.load_state_dict(dst)
    return new


def check(old: PaneNet, new: PaneNet, offset: int, images: int = 3) -> None:
    """PSNR and likelihood bpp of both models on a few Kodak images at a few anchors."""
    from data import load_kodak
    from model import rd_loss
    old.eval(); new.eval()
    xs = load_kodak(limit=images)
    for a in (0, old.num_anchors // 2, old.num_anchors - 1):
        for label, net, pos in (("old", old, a), ("new", new, a + offset)):
            bpp, psnr = [], []
            for _, x in xs:
                x = x[None]
                with torch.no_grad():
                    out = net(x, torch.tensor([float(pos)]))
                _, b, mse = rd_loss(out, x, torch.tensor([0.0]))
                bpp.append(b.item()); psnr.append(10 * math.log10(1 / mse.item()))
            print(f"anchor {a} {label}: {sum(bpp) / len(bpp):.3f} bpp  {sum(psnr) / len(psnr):.2f} dB", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latent", type=int, default=None, help="new latent width M")
    ap.add_argument("--stage8", type=int, default=None, help="new width of g_a / g_s at 1/8 resolution")
    ap.add_argument("--add-low-anchor", type=float, default=None, metavar="LAMBDA")
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    ap.add_argument("--out", type=Path, default=None, help="default: overwrite --checkpoint")
    ap.add_argument("--check", action="store_true", help="compare old and new on 3 Kodak images")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    old, iteration, wall = load_checkpoint(args.checkpoint)
    if (args.latent is None) == (args.stage8 is None):
        raise SystemExit("widen: give exactly one of --latent or --stage8")
    if args.stage8 is not None:
        new = widen_stage8(old, args.stage8)
    else:
        new = widen(old, args.latent, args.add_low_anchor)
    if args.check:
        check(old, new, 1 if args.add_low_anchor is not None else 0)
    save_checkpoint(new, iteration, wall, args.out or args.checkpoint)
    print(f"M {old.cfg.M} -> {new.cfg.M}; stage 1/8 {old.cfg.n8} -> {new.cfg.n8}; anchors {new.cfg.lambdas}; "
          f"saved {args.out or args.checkpoint}")


if __name__ == "__main__":
    main()
