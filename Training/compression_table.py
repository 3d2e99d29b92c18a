"""Rate-distortion and cost of the compressed variants of the model: fp32, pruned, int8, pruned + int8.

    python Training/compression_table.py --images 24                     # prune without fine-tuning
    python Training/compression_table.py --pruned Training/pruned.pt     # a fine-tuned pruned checkpoint
    python Training/compression_table.py --checkpoint start.pt --pruned distilled.pt plain.pt --images 8
        # fine-tuning with the teacher term against plain fine-tuning, same start and steps
    python Training/compression_table.py --checkpoint teacher.pt --pruned pruned.pt --control unpruned.pt
        # teacher.pt: the model pruning started from; unpruned.pt: the same model trained on for as
        # long as pruned.pt was fine-tuned (the fair reference for the cost of pruning)

Pruning is Training/prune.py (MLP hidden units by magnitude, --keep); int8 is Training/quantize.py
(its DEFAULT_LAYERS). For each variant: kMAC per pixel of g_a and g_s, the share of the attention
blocks' MACs removed, and the BD-rate against the fp32 model on the first --images Kodak images,
from likelihood rates (real streams are within 4% of them: Training/check_roundtrip.py) and
8-bit-rounded reconstructions, at five quality positions across the range.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prune  # noqa: E402
import quantize  # noqa: E402
from data import load_kodak  # noqa: E402
from export import calibration_images  # noqa: E402
from metrics import bd_rate  # noqa: E402
from train import CHECKPOINT, load_checkpoint  # noqa: E402


@torch.no_grad()
def macs(net, side: int = 256):
    """(g_a kMAC/px, g_s kMAC/px, attention-block MACs per pixel over both sides), fp32 shapes."""
    x = torch.rand(1, 3, side, side)
    y = net.g_a(x)
    counts = {}
    for key, fn, arg in (("g_a", net.g_a, x), ("g_s", net.g_s, y)):
        with FlopCounterMode(display=False) as counter:
            fn(arg)
        counts[key] = counter.get_total_flops() / 2 / side ** 2 / 1e3
    attention = 0.0
    for block in prune.attention_blocks(net):
        inp = {}
        hook = block.register_forward_pre_hook(lambda m, a: inp.setdefault(m, a[0]))
        net.g_a(x) if any(block is m for m in net.g_a) else net.g_s(y)
        hook.remove()
        with FlopCounterMode(display=False) as counter:
            block(inp[block])
        attention += counter.get_total_flops() / 2 / side ** 2 / 1e3
    return counts["g_a"], counts["g_s"], attention


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    ap.add_argument("--pruned", type=Path, nargs="+",
                    help="fine-tuned pruned checkpoints, each a row with its int8 row "
                         "(e.g. --distill 1 and --distill 0 runs); else prune with --keep, no fine-tuning")
    ap.add_argument("--control", type=Path, help="the unpruned model trained on as long as --pruned was fine-tuned")
    ap.add_argument("--keep", type=float, default=0.5)
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, iteration, _ = load_checkpoint(args.checkpoint)
    net.eval()
    pruned_models = []
    for path in args.pruned or []:
        pruned, pruned_iteration, _ = load_checkpoint(path)
        heads = f", heads {pruned.cfg.attn_heads}" if pruned.cfg.attn_heads else ""
        pruned_models.append((f"pruned (MLP widths {pruned.cfg.mlp_hidden}{heads}, fine-tuned to iteration "
                              f"{pruned_iteration}: {path.name})", pruned.eval()))
    if not pruned_models:
        pruned_models.append((f"pruned (keep {args.keep:g} of MLP units, no fine-tuning)",
                              prune.prune(net, args.keep).eval()))
    calibration = calibration_images()
    variants = [(f"fp32 (iteration {iteration})", net)]
    if args.control:
        control, control_iteration, _ = load_checkpoint(args.control)
        variants.append((f"fp32 trained on to iteration {control_iteration}", control.eval()))
    variants += [(label, pruned) for label, pruned in pruned_models]
    variants.append(("int8", quantize.quantize(net, calibration)))
    variants += [(label.replace("pruned", "pruned + int8", 1), quantize.quantize(pruned, calibration))
                 for label, pruned in pruned_models]
    images = load_kodak(limit=args.images)
    positions = np.linspace(0, net.num_anchors - 1, 5).tolist()
    base_attention = macs(net)[2]
    print(f"Checkpoint iteration {iteration}; {len(images)} Kodak images, likelihood rate, positions {positions}")
    print()
    extra = " | BD-rate vs the unpruned model trained as long" if args.control else ""
    print(f"| model | g_a kMAC/px | g_s kMAC/px | attention-block MACs removed | BD-rate vs fp32{extra} | "
          "PSNR at the middle position |")
    print("|---|---|---|---|---|---|" + ("---|" if args.control else ""))

    def bd_text(reference, curve):
        bd = bd_rate(reference, curve)
        return f"{bd:+.2f}%" if bd is not None else "no PSNR overlap"

    rows = []
    for name, model in variants:
        ga, gs, attention = macs(model)
        rows.append((name, ga, gs, attention, quantize.kodak_curve(model, images, positions)))
    for name, ga, gs, attention, curve in rows:
        mid = curve[len(curve) // 2]
        control = f" | {bd_text(rows[1][4], curve)}" if args.control else ""
        print(f"| {name} | {ga:.1f} | {gs:.1f} | {100 * (1 - attention / base_attention):.0f}% | "
              f"{bd_text(rows[0][4], curve)}{control} | {mid[1]:.2f} dB at {mid[0]:.3f} bpp |", flush=True)

if __name__ == "__main__":
    main()
