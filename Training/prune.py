"""Structured pruning of the attention blocks (MLP hidden units and whole heads); fine-tuning is
`train.py --resume --checkpoint <pruned>` (plain), or with `--teacher` the unpruned model's
reconstructions as an extra target.

    python Training/prune.py --keep 0.5,0.125,0.125,0.5 --heads 2,1,1,2 --score taylor --out /tmp/pruned.pt
    python Training/train.py --resume --checkpoint /tmp/pruned.pt --log /tmp/pruned.csv --minutes 60
    python Training/train.py --resume --checkpoint /tmp/pruned.pt --log /tmp/pruned.csv \
        --teacher Training/checkpoint.pt --minutes 60            # with distillation
    python Training/export.py --checkpoint /tmp/pruned.pt --name pane-pruned

Each MLP hidden unit j of a Swin block (a row of fc1 and a column of fc2) and each attention head
(its q, k, v rows of qkv, its columns of proj and of the relative position bias table) is ranked
by an importance score and the lowest are removed physically: the pruned network has smaller
tensors, and its config records the new widths (`Config.mlp_hidden`, `Config.attn_heads`), which
the export and the Swift runtime read like any other channel count. Both blocks of a pair keep
the same width and head count (the manifest has one of each per attention layer); `--keep` and
`--heads` take one value or four (g_a hi, g_a lo, g_s lo, g_s hi).

Scores (`--score`):
  magnitude  units ‖fc1[j, :]‖ · ‖fc2[:, j]‖, heads ‖their qkv rows‖ · ‖their proj columns‖
             (no data needed);
  taylor     |Σ a · ∂L/∂a| over a few training batches, for a unit over its activation, for a head
             over its output channels (first-order estimate of the loss change when it is removed;
             Molchanov et al. 2019, Michel et al. 2019).

The script prints the attention MACs per pixel before and after. Fine-tuning minimises the
rate-distortion loss plus, with a teacher, distill · λ·255² · MSE between the student's and the
teacher's reconstructions (the unpruned model at the same λ); `--distill 0` is plain fine-tuning.
Measured from one start (Training/README.md, "Distillation against plain fine-tuning"): after
1,500 steps plain fine-tuning was 3.6% better in BD-rate than distilling, and 1.3x as fast.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Config, PaneNet, SwinBlock, WindowAttention, WindowAttentionBlock, rd_loss  # noqa: E402
from train import CHECKPOINT, load_checkpoint, save_checkpoint, split_parameters  # noqa: E402


def attention_blocks(net: PaneNet) -> list[WindowAttentionBlock]:
    """The four attention layers in `Config.mlp_hidden` order: g_a hi, g_a lo, g_s lo, g_s hi."""
    found = [m for part in (net.g_a, net.g_s) for m in part if isinstance(m, WindowAttentionBlock)]
    assert len(found) == 4, f"expected 4 attention layers, found {len(found)}"
    return found


def magnitude_scores(block: SwinBlock) -> torch.Tensor:
    return block.fc1.weight.detach().norm(dim=1) * block.fc2.weight.detach().norm(dim=0)


def head_rows(attn: WindowAttention, head: int) -> list[int]:
    """Rows of `attn.qkv` that belong to `head` (its q, k and v parts)."""
    d, inner = attn.head_dim, attn.inner
    return [part * inner + head * d + i for part in range(3) for i in range(d)]


def head_magnitude_scores(block: SwinBlock) -> torch.Tensor:
    """‖q, k, v rows of the head‖ · ‖proj columns it feeds‖, per head."""
    attn = block.attn
    w, p, d = attn.qkv.weight.detach(), attn.proj.weight.detach(), attn.head_dim
    return torch.stack([w[head_rows(attn, h)].norm() * p[:, h * d:(h + 1) * d].norm() for h in range(attn.heads)])


def taylor_scores(net: PaneNet, batches, lambdas) -> tuple[dict, dict]:
    """Σ over `batches` of |Σ activation · gradient| of every fc1 output unit and of every
    attention head's output (the input of `proj`, summed over the head's channels): per batch,
    the first-order loss change of removing the unit or head on that batch (Molchanov et al.
    2019; for heads, Michel et al. 2019). Returns (unit scores, head scores) keyed by SwinBlock."""
    units, heads, handles, activations = {}, {}, [], {}
    was_training = net.training
    swin = [b for wab in attention_blocks(net) for b in wab.blocks]
    for b in swin:
        def keep(module, inputs, output, block=b):
            output.retain_grad()
            activations[block, "fc1"] = output

        def keep_heads(module, inputs, block=b):
            inputs[0].retain_grad()
            activations[block, "proj"] = inputs[0]
        handles.append(b.fc1.register_forward_hook(keep))
        handles.append(b.attn.proj.register_forward_pre_hook(keep_heads))
    net.train()
    for x, anchor in batches:
        out = net(x, anchor.float())
        loss, _, _ = rd_loss(out, x, lambdas[anchor])
        net.zero_grad(set_to_none=True)
        loss.backward()
        for b in swin:
            a = activations[b, "fc1"]
            contribution = (a * a.grad).sum(dim=tuple(range(a.dim() - 1))).abs().detach()
            units[b] = units.get(b, 0) + contribution
            a = activations[b, "proj"]
            per_channel = (a * a.grad).sum(dim=tuple(range(a.dim() - 1)))   # over windows and tokens
            contribution = per_channel.view(b.attn.heads, b.attn.head_dim).sum(dim=1).abs().detach()
            heads[b] = heads.get(b, 0) + contribution
    for h in handles:
        h.remove()
    net.zero_grad(set_to_none=True)
    net.train(was_training)
    return units, heads


def keep_units(block: SwinBlock, index: torch.Tensor) -> None:
    """Replaces fc1/fc2 of `block` by the rows/columns `index` (physically smaller tensors)."""
    fc1, fc2 = block.fc1, block.fc2
    new1, new2 = nn.Linear(fc1.in_features, len(index)), nn.Linear(len(index), fc2.out_features)
    with torch.no_grad():
        new1.weight.copy_(fc1.weight[index])
        new1.bias.copy_(fc1.bias[index])
        new2.weight.copy_(fc2.weight[:, index])
        new2.bias.copy_(fc2.bias)
    block.fc1, block.fc2 = new1, new2


def keep_heads(block: SwinBlock, index: torch.Tensor) -> None:
    """Keeps the attention heads `index` of `block`: their q, k, v rows of qkv, their columns of
    proj and their columns of the relative position bias table (physically smaller tensors)."""
    old = block.attn
    new = WindowAttention(old.dim, len(index), old.window, old.head_dim)
    d = old.head_dim
    rows = [part * old.inner + h * d + j for part in range(3) for h in index.tolist() for j in range(d)]
    cols = [h * old.head_dim + j for h in index.tolist() for j in range(old.head_dim)]
    with torch.no_grad():
        new.qkv.weight.copy_(old.qkv.weight[rows])
        new.qkv.bias.copy_(old.qkv.bias[rows])
        new.proj.weight.copy_(old.proj.weight[:, cols])
        new.proj.bias.copy_(old.proj.bias)
        new.relative_position_bias.copy_(old.relative_position_bias[:, index])
    block.attn = new.to(old.qkv.weight.device)


def per_layer(value, name: str) -> list:
    """A number for all four attention layers, or a list of four."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * 4
    if len(values) != 4:
        raise ValueError(f"{name}: one value or four (g_a hi, g_a lo, g_s lo, g_s hi), got {len(values)}")
    return values


def prune(net: PaneNet, keep=1.0, scores: dict | None = None, heads=None, head_scores: dict | None = None) -> PaneNet:
    """A copy of `net` whose MLPs keep the `keep` fraction of hidden units with the highest scores
    (one fraction, or one per attention layer) and whose attention layers keep `heads` heads (one
    count per layer; None keeps all), the highest-scoring ones. Magnitude scores unless `scores` /
    `head_scores` map each SwinBlock of `net` to its own."""
    pruned = copy.deepcopy(net)
    keeps = per_layer(keep, "keep")
    counts = per_layer(heads, "heads") if heads is not None else [None] * 4
    widths, kept_heads = [], []
    for wab, original, fraction, count in zip(attention_blocks(pruned), attention_blocks(net), keeps, counts):
        hidden = wab.blocks[0].fc1.out_features
        units = max(1, round(hidden * fraction))
        have = wab.blocks[0].attn.heads
        count = have if count is None else count
        if not 1 <= count <= have:
            raise ValueError(f"cannot keep {count} of {have} heads")
        for block, source in zip(wab.blocks, original.blocks):
            s = scores[source] if scores is not None else magnitude_scores(block)
            keep_units(block, torch.sort(torch.topk(s, units).indices).values)
            if count < have:
                s = head_scores[source] if head_scores is not None else head_magnitude_scores(block)
                keep_heads(block, torch.sort(torch.topk(s, count).indices).values)
        widths.append(units)
        kept_heads.append(count)
    cfg = {**net.cfg.to_dict(), "mlp_hidden": widths}
    if heads is not None or net.cfg.attn_heads:
        cfg["attn_heads"] = kept_heads
    pruned.cfg = Config(**cfg)
    return pruned


def attention_macs(net: PaneNet) -> list[float]:
    """MACs per image pixel of each attention layer (both Swin blocks): per token qkv + proj
    4·dim·inner, scores and weighted sum 2·T·inner, MLP 2·dim·hidden; layers 0 and 3 run at 1/4
    resolution (1/16 of the pixels), 1 and 2 at 1/16 (1/256)."""
    density = [1 / 16, 1 / 256, 1 / 256, 1 / 16]
    out = []
    for wab, d in zip(attention_blocks(net), density):
        total = 0
        for b in wab.blocks:
            dim, inner, t = b.norm1.normalized_shape[0], b.attn.inner, b.window ** 2
            total += 4 * dim * inner + 2 * t * inner + 2 * dim * b.fc1.out_features
        out.append(total * d)
    return out


def numbers(kind):
    def parse(text: str) -> list:
        try:
            return [kind(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    return parse


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT, help="the unpruned model (teacher)")
    ap.add_argument("--out", type=Path, required=True, help="where the pruned checkpoint goes")
    ap.add_argument("--keep", type=numbers(float), default=[0.5],
                    help="fraction of MLP hidden units kept: one, or four comma-separated (g_a hi, g_a lo, g_s lo, g_s hi)")
    ap.add_argument("--heads", type=numbers(int), default=None,
                    help="attention heads kept: one count or four comma-separated (default: all)")
    ap.add_argument("--score", choices=["magnitude", "taylor"], default="magnitude")
    ap.add_argument("--batch", type=int, default=4, help="crops per scoring batch (taylor)")
    ap.add_argument("--crop", type=int, default=192)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    if not all(0 < k <= 1 for k in args.keep) or len(args.keep) not in (1, 4):
        ap.error("--keep takes one or four fractions in (0, 1]")
    if args.heads is not None and len(args.heads) not in (1, 4):
        ap.error("--heads takes one or four counts")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    teacher, iteration, wall = load_checkpoint(args.checkpoint)
    teacher = teacher.to(device)
    scores = head_scores = None
    if args.score == "taylor":
        from data import CropSampler  # noqa: E402

        data = CropSampler(crop=args.crop)
        lambdas = torch.tensor(teacher.cfg.lambdas, device=device)
        batches = []
        for _ in range(8):
            x = data.batch(args.batch).to(device)
            batches.append((x, torch.randint(0, len(lambdas), (x.shape[0],), device=device)))
        scores, head_scores = taylor_scores(teacher, batches, lambdas)
    keep = args.keep if len(args.keep) == 4 else args.keep[0]
    heads = None if args.heads is None else (args.heads if len(args.heads) == 4 else args.heads[0])
    try:
        student = prune(teacher, keep, scores, heads, head_scores).to(device)
    except ValueError as e:
        ap.error(str(e))
    before = sum(p.numel() for p in teacher.parameters())
    after = sum(p.numel() for p in student.parameters())
    macs_before, macs_after = attention_macs(teacher), attention_macs(student)
    print(f"MLP widths {student.cfg.mlp_hidden}, heads {student.cfg.attn_heads or 'all'}; "
          f"parameters {before:,} -> {after:,}")
    print("attention MAC/px per layer (g_a hi, g_a lo, g_s lo, g_s hi): "
          + ", ".join(f"{x:.0f} -> {y:.0f}" for x, y in zip(macs_before, macs_after))
          + f"; per side {sum(macs_before[:2]):.0f} -> {sum(macs_after[:2]):.0f} "
          f"({1 - sum(macs_after) / sum(macs_before):.1%} removed)")
    save_checkpoint(student.cpu(), iteration, wall, args.out)
    print(f"wrote {args.out}; fine-tune it with\n  python Training/train.py --resume --checkpoint {args.out} "
          f"--log <log.csv> --minutes N   (--teacher {args.checkpoint} adds distillation)")


if __name__ == "__main__":
    main()
