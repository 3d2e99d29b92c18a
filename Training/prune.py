"""Structured pruning of the attention blocks' MLPs, with fine-tuning against the unpruned teacher.

    python Training/prune.py --keep 0.5 --minutes 60 --out Training/pruned.pt
    python Training/prune.py --keep 0.5 --minutes 60 --distill 0 --out Training/pruned_plain.pt   # no teacher
    python Training/export.py --checkpoint Training/pruned.pt --name pane-pruned --fixtures /tmp/unused

Each MLP hidden unit j of a Swin block (a row of fc1 and a column of fc2) is ranked by an
importance score and the lowest are removed physically: the pruned network has smaller fc1/fc2
tensors, and its config records the new widths (`Config.mlp_hidden`), which the export and the
Swift runtime read like any other channel count. Both blocks of a pair keep the same width (the
manifest has one `mlp_hidden` per attention layer).

Scores (`--score`):
  magnitude  ‖fc1[j, :]‖ · ‖fc2[:, j]‖, the unit's gain through the MLP (no data needed);
  taylor     |Σ a_j · ∂L/∂a_j| over a few training batches (first-order estimate of the loss
             change when unit j is removed; Molchanov et al. 2019).

Fine-tuning minimises the rate-distortion loss plus, with `--distill α`, α · λ·255² · MSE between
the student's and the teacher's reconstructions (the unpruned model at the same λ). Run once with
and once without to see whether the teacher helps; `Training/evaluate.py` measures both on Kodak.
MLPs are about 40% of the MACs of an attention block at dim 64 (fc1 + fc2 = 4·d² of ≈ 10·d² per
token): halving them removes ≈ 20% of the blocks' MACs; `--keep 0.25` removes ≈ 30%.
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
from model import Config, PaneNet, SwinBlock, WindowAttentionBlock, rd_loss  # noqa: E402
from train import CHECKPOINT, load_checkpoint, save_checkpoint, split_parameters  # noqa: E402


def attention_blocks(net: PaneNet) -> list[WindowAttentionBlock]:
    """The four attention layers in `Config.mlp_hidden` order: g_a hi, g_a lo, g_s lo, g_s hi."""
    found = [m for part in (net.g_a, net.g_s) for m in part if isinstance(m, WindowAttentionBlock)]
    assert len(found) == 4, f"expected 4 attention layers, found {len(found)}"
    return found


def magnitude_scores(block: SwinBlock) -> torch.Tensor:
    return block.fc1.weight.detach().norm(dim=1) * block.fc2.weight.detach().norm(dim=0)


def taylor_scores(net: PaneNet, batches, lambdas) -> dict[SwinBlock, torch.Tensor]:
    """Σ over `batches` of |Σ activation · gradient| of every fc1 output unit (per batch: the
    first-order loss change of removing the unit on that batch)."""
    scores, handles, activations = {}, [], {}
    was_training = net.training
    swin = [b for wab in attention_blocks(net) for b in wab.blocks]
    for b in swin:
        def keep(module, inputs, output, block=b):
            output.retain_grad()
            activations[block] = output
        handles.append(b.fc1.register_forward_hook(keep))
    net.train()
    for x, anchor in batches:
        out = net(x, anchor.float())
        loss, _, _ = rd_loss(out, x, lambdas[anchor])
        net.zero_grad(set_to_none=True)
        loss.backward()
        for b in swin:
            a = activations[b]
            contribution = (a * a.grad).sum(dim=tuple(range(a.dim() - 1))).abs().detach()
            scores[b] = scores.get(b, 0) + contribution
    for h in handles:
        h.remove()
    net.zero_grad(set_to_none=True)
    net.train(was_training)
    return scores


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


def prune(net: PaneNet, keep: float, scores: dict | None = None) -> PaneNet:
    """A copy of `net` whose MLPs keep the `keep` fraction of hidden units with the highest scores
    (magnitude scores unless `scores` maps each SwinBlock of `net` to its own)."""
    pruned = copy.deepcopy(net)
    widths = []
    for wab, original in zip(attention_blocks(pruned), attention_blocks(net)):
        hidden = wab.blocks[0].fc1.out_features
        count = max(1, round(hidden * keep))
        for block, source in zip(wab.blocks, original.blocks):
            s = scores[source] if scores is not None else magnitude_scores(block)
            keep_units(block, torch.sort(torch.topk(s, count).indices).values)
        widths.append(count)
    pruned.cfg = Config(**{**net.cfg.to_dict(), "mlp_hidden": widths})
    return pruned


def fine_tune(student: PaneNet, teacher: PaneNet | None, distill: float, minutes: float, lr: float,
              batch: int, crop: int, device, log_every: int = 50) -> int:
    from data import CropSampler  # noqa: E402  (needs the training photos; tests call prune() only)

    data = CropSampler(crop=crop)
    lambdas = torch.tensor(student.cfg.lambdas, device=device)
    main, aux = split_parameters(student)
    opt, aux_opt = torch.optim.Adam(main, lr=lr), torch.optim.Adam(aux, lr=5e-3)
    if teacher is not None:
        teacher.eval()
    student.train()
    start, step = time.time(), 0
    while time.time() - start < minutes * 60:
        x = data.batch(batch).to(device)
        anchor = torch.randint(0, len(lambdas), (x.shape[0],), device=device)
        out = student(x, anchor.float())
        loss, bpp, mse = rd_loss(out, x, lambdas[anchor])
        if teacher is not None and distill > 0:
            with torch.no_grad():
                target = teacher(x, anchor.float())["x_hat"]
            weight = lambdas[anchor].view(-1, 1, 1, 1) * 255 ** 2
            loss = loss + distill * (weight * (out["x_hat"] - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        opt.step()
        a = student.entropyBottleneck.aux_loss()
        aux_opt.zero_grad(set_to_none=True)
        a.backward()
        aux_opt.step()
        step += 1
        if step % log_every == 0:
            print(f"step {step} loss {loss.item():.4f} bpp {bpp.item():.4f} psnr {10 * math.log10(1 / mse.item()):.2f}",
                  flush=True)
    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT, help="the unpruned model (teacher)")
    ap.add_argument("--out", type=Path, required=True, help="where the pruned checkpoint goes")
    ap.add_argument("--keep", type=float, default=0.5, help="fraction of MLP hidden units kept")
    ap.add_argument("--score", choices=["magnitude", "taylor"], default="magnitude")
    ap.add_argument("--minutes", type=float, default=30, help="fine-tuning budget (0: prune only)")
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the teacher term (0: plain fine-tuning)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    if not 0 < args.keep <= 1:
        ap.error("--keep must be in (0, 1]")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    teacher, iteration, wall = load_checkpoint(args.checkpoint)
    teacher = teacher.to(device)
    scores = None
    if args.score == "taylor":
        from data import CropSampler  # noqa: E402

        data = CropSampler(crop=args.crop)
        lambdas = torch.tensor(teacher.cfg.lambdas, device=device)
        batches = []
        for _ in range(8):
            x = data.batch(args.batch).to(device)
            batches.append((x, torch.randint(0, len(lambdas), (x.shape[0],), device=device)))
        scores = taylor_scores(teacher, batches, lambdas)
    student = prune(teacher, args.keep, scores).to(device)
    before = sum(p.numel() for p in teacher.parameters())
    after = sum(p.numel() for p in student.parameters())
    print(f"MLP widths {student.cfg.mlp_hidden}; parameters {before:,} -> {after:,}")
    steps = 0
    if args.minutes > 0:
        steps = fine_tune(student, teacher if args.distill > 0 else None, args.distill, args.minutes, args.lr,
                          args.batch, args.crop, device)
    save_checkpoint(student.cpu(), iteration + steps, wall, args.out)
    print(f"wrote {args.out} after {steps} fine-tuning steps")


if __name__ == "__main__":
    main()
