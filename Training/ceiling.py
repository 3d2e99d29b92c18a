"""The transforms' fidelity ceiling and the likelihood RD curve of one or more checkpoints on Kodak.

    python Training/ceiling.py Training/checkpoint.pt [/tmp/other.pt ...] [--images 24] [--rd]

Ceiling: PSNR-RGB of g_s(g_a(x) · gain · inverse_gain) with no quantization at all, at the top
anchor (what no number of bits can lift the curve above; ../shared/notes/transform-ceiling.md).
With --rd, also each anchor's likelihood bpp and PSNR (eval mode: rounded latents, the network's
own rate estimate, no bitstream) and the BD-rate of every checkpoint against the first one.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import load_kodak  # noqa: E402
from metrics import bd_rate  # noqa: E402
from model import rd_loss  # noqa: E402
from train import load_checkpoint  # noqa: E402


@torch.no_grad()
def unquantized_psnr(net, x, position: float) -> float:
    gain, inv_gain = net.gains_at(torch.tensor([position]))
    y = net.g_a(x) * gain[:, :, None, None]
    x_hat = net.g_s(y * inv_gain[:, :, None, None]).clamp(0, 1)
    return 10 * math.log10(1 / ((x_hat - x) ** 2).mean().item())


@torch.no_grad()
def likelihood_point(net, x, position: float):
    out = net(x, torch.tensor([position]))
    _, bpp, _ = rd_loss(out, x, torch.zeros(1))
    mse = ((out["x_hat"].clamp(0, 1) - x) ** 2).mean().item()
    return bpp.item(), 10 * math.log10(1 / mse)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--images", type=int, default=24, help="first N Kodak images")
    ap.add_argument("--rd", action="store_true", help="also the likelihood RD curve and BD-rate vs the first")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    images = [x[None] for _, x in load_kodak(limit=args.images)]
    curves = []
    for path in args.checkpoints:
        net, iteration, _ = load_checkpoint(path)
        net.eval()
        top = float(net.num_anchors - 1)
        ceiling = sum(unquantized_psnr(net, x, top) for x in images) / len(images)
        print(f"{path}: iteration {iteration}, N8 {net.cfg.n8}: unquantized top anchor {ceiling:.3f} dB "
              f"({len(images)} Kodak images)", flush=True)
        if args.rd:
            curve = []
            for a in range(net.num_anchors):
                pts = [likelihood_point(net, x, float(a)) for x in images]
                bpp = sum(p[0] for p in pts) / len(pts)
                psnr = sum(p[1] for p in pts) / len(pts)
                curve.append((bpp, psnr))
                print(f"  anchor {a}: {bpp:.4f} bpp {psnr:.3f} dB", flush=True)
            curves.append(curve)
    if args.rd:
        for path, curve in zip(args.checkpoints[1:], curves[1:]):
            print(f"BD-rate {path} vs {args.checkpoints[0]}: {bd_rate(curves[0], curve):+.2f}% (likelihood)")


if __name__ == "__main__":
    main()
