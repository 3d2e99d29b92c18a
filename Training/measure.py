"""Cost of the network: parameters, kMAC per pixel per side (counted by
torch.utils.flop_counter on a 256×256 input) and training iterations per hour
(batch 8 × 128², forward + backward + Adam, fp32 and channels_last).

    python Training/measure.py [--steps 10] [--threads 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Config, PaneNet, rd_loss  # noqa: E402


def kmac_per_pixel(fn, *args, pixels):
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops() / 2 / pixels / 1e3


@torch.no_grad()
def costs(net: PaneNet, side: int = 256):
    net.eval()
    x = torch.rand(1, 3, side, side)
    px = side * side
    y = net.g_a(x)
    z_hat = torch.round(net.h_a(y))
    hyper = net.h_s(z_hat)
    hm, hs = hyper.chunk(2, 1)

    def slices():
        previous = []
        for i, y_i in enumerate(y.chunk(net.cfg.slices, 1)):
            mu, _ = net.slice_params(i, hm, hs, previous)
            y_hat = y_i + net.residual(i, hm, previous, y_i)
            previous.append(y_hat)

    parts = {
        "g_a": kmac_per_pixel(net.g_a, x, pixels=px),
        "h_a": kmac_per_pixel(net.h_a, y, pixels=px),
        "h_s": kmac_per_pixel(net.h_s, z_hat, pixels=px),
        "slices": kmac_per_pixel(slices, pixels=px),
        "g_s": kmac_per_pixel(net.g_s, y, pixels=px),
    }
    parts["encoder"] = parts["g_a"] + parts["h_a"] + parts["h_s"] + parts["slices"]
    parts["decoder"] = parts["h_s"] + parts["slices"] + parts["g_s"]
    return parts


def iterations_per_hour(net: PaneNet, steps: int, autocast: bool = False):
    net.train()
    net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    lambdas = torch.tensor(net.cfg.lambdas)
    for step in range(steps + 2):
        if step == 2:
            start = time.time()
        x = torch.rand(8, 3, 128, 128).contiguous(memory_format=torch.channels_last)
        anchor = torch.randint(0, len(net.cfg.lambdas), (8,))
        out = net(x, anchor.float(), autocast=autocast)
        loss, _, _ = rd_loss(out, x, lambdas[anchor])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return 3600 * steps / (time.time() - start)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--autocast", action="store_true", help="also time bf16 autocast")
    ap.add_argument("--checkpoint", type=Path, default=Path(__file__).resolve().parent / "checkpoint.pt",
                    help="measure the network of this checkpoint's config (default config if missing)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = Config()
    if args.checkpoint.exists():
        cfg = Config(**torch.load(args.checkpoint, map_location="cpu", weights_only=False)["config"])
    net = PaneNet(cfg)
    print(f"network: N {cfg.N}, M {cfg.M}, Nz {cfg.Nz}, {cfg.slices} slices, {len(cfg.lambdas)} anchors")
    print(f"parameters: {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M")
    for k, v in costs(net).items():
        print(f"kMAC/px {k}: {v:.1f}")
    print(f"training fp32: {iterations_per_hour(net, args.steps):.0f} it/h (batch 8 x 128², {args.threads} threads)")
    if args.autocast:
        print(f"training bf16 autocast: {iterations_per_hour(net, args.steps, True):.0f} it/h")


if __name__ == "__main__":
    main()
