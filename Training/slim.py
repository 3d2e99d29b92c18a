"""Slim the hidden width of the slice networks (`Config.slice_hidden`) of a trained checkpoint,
keeping the hidden units that carry the most signal.

    python Training/slim.py --hidden 56 --check        # rewrites Training/checkpoint.pt
    python Training/train.py --resume ...               # then let training repair the cut

Why: after the latent grew to M = 192 the twelve slice networks (mean, scale and residual of
4 slices) cost 8.9 kMAC/px, and the encoder went 0.1 kMAC/px over its 30 kMAC/px budget. Each
network is conv3×3 (M + context → hidden) · ReLU · conv3×3 (hidden → slice), and nearly all of
its cost is the first convolution, linear in the hidden width: 64 → 56 removes 1.1 kMAC/px
(`--check` before fine-tuning: rate +0.7…1.0%; 48 would remove 2.2 but cost +5.6…8.3%).

Which units go: for hidden unit j of a network, score = E[ReLU output j] · ‖second conv[:, j]‖,
the average size of what the unit adds to the network's output, measured over training crops
(never Kodak) at every λ anchor in eval mode (rounded latents, as the codec runs). Every
network keeps its `--hidden` best units (one width for all: the manifest has one
`slice_hidden`); the kept units' weights are copied unchanged, so the slimmed network computes
exactly the full one with the removed units' outputs set to zero (tests/test_slim.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Config, PaneNet  # noqa: E402
from train import CHECKPOINT, load_checkpoint, save_checkpoint  # noqa: E402


def slice_networks(net: PaneNet) -> list[tuple[str, nn.Sequential]]:
    return [(f"{kind}.{i}", seq) for kind in ("cc_mean", "cc_scale", "lrp")
            for i, seq in enumerate(getattr(net, kind))]


def activation_scores(net: PaneNet, batches: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per network: mean ReLU output of each hidden unit × norm of its outgoing weights."""
    sums, handles = {}, []
    for name, seq in slice_networks(net):
        sums[name] = torch.zeros(seq[0].out_channels, dtype=torch.float64)

        def hook(module, inputs, output, name=name):
            sums[name] += output.detach().double().mean(dim=(0, 2, 3))
        handles.append(seq[1].register_forward_hook(hook))
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            for x in batches:
                for anchor in range(net.num_anchors):
                    net(x, torch.full((x.shape[0],), float(anchor)))
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    return {name: sums[name].float() * outgoing_norms(seq) for name, seq in slice_networks(net)}


def outgoing_norms(seq: nn.Sequential) -> torch.Tensor:
    """‖second conv[:, j]‖ for every hidden unit j."""
    return seq[2].weight.detach().transpose(0, 1).flatten(1).norm(dim=1)


def slim(net: PaneNet, hidden: int, scores: dict[str, torch.Tensor] | None = None) -> PaneNet:
    """A new network with `hidden` units per slice network, the highest-scoring ones kept in
    their original order. Without scores, units are ranked by weight magnitude alone."""
    old = net.cfg.slice_hidden
    if not 0 < hidden <= old:
        raise SystemExit(f"--hidden {hidden}: must be in 1…{old} (the current slice_hidden)")
    cfg = Config(**{**net.cfg.to_dict(), "slice_hidden": hidden})
    new = PaneNet(cfg)
    src, dst = net.state_dict(), new.state_dict()
    with torch.no_grad():
        for name, v in src.items():
            if dst[name].shape == v.shape:
                dst[name].copy_(v)
        for name, seq in slice_networks(net):
            if scores is not None:
                score = scores[name]
            else:
                score = seq[0].weight.detach().flatten(1).norm(dim=1) * outgoing_norms(seq)
            keep = torch.sort(torch.topk(score, hidden).indices).values
            dst[f"{name}.0.weight"].copy_(src[f"{name}.0.weight"][keep])
            dst[f"{name}.0.bias"].copy_(src[f"{name}.0.bias"][keep])
            dst[f"{name}.2.weight"].copy_(src[f"{name}.2.weight"][:, keep])
    new.load_state_dict(dst)
    return new.train(net.training)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, required=True, help="new slice_hidden")
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    ap.add_argument("--out", type=Path, default=None, help="default: overwrite --checkpoint")
    ap.add_argument("--batches", type=int, default=8, help="training batches (4 × 256²) for the scores")
    ap.add_argument("--check", action="store_true", help="compare old and new on 3 Kodak images")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    from data import CropSampler
    net, iteration, wall = load_checkpoint(args.checkpoint)
    torch.manual_seed(0)
    sampler = CropSampler(crop=256)
    batches = [sampler.batch(4) for _ in range(args.batches)]
    new = slim(net, args.hidden, activation_scores(net, batches))
    if args.check:
        from widen import check
        check(net, new, 0)
    save_checkpoint(new, iteration, wall, args.out or args.checkpoint)
    print(f"slice_hidden {net.cfg.slice_hidden} -> {new.cfg.slice_hidden}; saved {args.out or args.checkpoint}")


if __name__ == "__main__":
    main()
