"""Train Pane's network; resumable from the one tracked checkpoint.

    python Training/train.py --minutes 120 --resume          # CPU, 2 threads
    python Training/train.py --minutes 8 --resume --device cuda --batch 32 --crop 256

The checkpoint (Training/checkpoint.pt) holds fp32 weights, the config and the
iteration count, no optimizer state. Every step samples one λ anchor per crop
(gain units make one model serve all rates). Progress goes to Training/log.csv.
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import signal
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import CropSampler, load_kodak, DEFAULT_TRAIN_DIR  # noqa: E402
from model import Config, PaneNet, rd_loss  # noqa: E402

ROOT = Path(__file__).resolve().parent
CHECKPOINT = ROOT / "checkpoint.pt"
LOG = ROOT / "log.csv"
LOG_FIELDS = ["kind", "iteration", "wall_s", "lr", "position", "loss", "bpp", "psnr", "aux", "device"]


def load_checkpoint(path: Path):
    state = torch.load(path, map_location="cpu", weights_only=False)
    cfg = Config(**state["config"])
    net = PaneNet(cfg)
    net.load_state_dict(state["model"])
    return net, state.get("iteration", 0), state.get("wall_s", 0.0)


def save_checkpoint(net: PaneNet, iteration: int, wall_s: float, path: Path = CHECKPOINT):
    state = {
        "config": net.cfg.to_dict(),
        "model": {k: v.detach().float().cpu() for k, v in net.state_dict().items()},
        "iteration": iteration,
        "wall_s": wall_s,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def append_log(rows, path: Path = LOG):
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow(r)


@torch.no_grad()
def kodak_quick_eval(net: PaneNet, images, positions, device):
    """Likelihood-based bpp and PSNR on a few Kodak images (real bitstreams: evaluate.py)."""
    net.eval()
    results = []
    for p in positions:
        bpps, psnrs = [], []
        for _, img in images:
            x = img.unsqueeze(0).to(device)
            out = net(x, torch.tensor([float(p)], device=device))
            _, bpp, mse = rd_loss(out, x, torch.zeros(1, device=device))
            mse = ((out["x_hat"].clamp(0, 1) - x) ** 2).mean()
            bpps.append(bpp.item())
            psnrs.append(10 * math.log10(1 / mse.item()))
        results.append((p, sum(bpps) / len(bpps), sum(psnrs) / len(psnrs)))
    net.train()
    return results


def split_parameters(net: PaneNet):
    """Main parameters and the entropy bottleneck's quantiles (trained by the aux loss only)."""
    aux = [p for n, p in net.named_parameters() if n.endswith("quantiles")]
    main = [p for n, p in net.named_parameters() if not n.endswith("quantiles")]
    return main, aux


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 dot products (where bf16 autocast pays on CPU)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def train_step(net, opt, aux_opt, x, anchor, lambdas, autocast=False, teacher=None, distill=0.0):
    """One optimisation step on batch x with one λ anchor index per crop. With a `teacher`, the
    loss adds distill · λ·255² · MSE(student x̂, teacher x̂), the teacher at the same anchor (its
    reconstruction is a target the pruned student can reach, Hinton et al. 2015 for images)."""
    out = net(x, anchor.float(), autocast=autocast)
    loss, bpp, mse = rd_loss(out, x, lambdas[anchor])
    if teacher is not None and distill > 0:
        with torch.no_grad():
            target = teacher(x, anchor.float(), autocast=autocast)["x_hat"]
        weight = lambdas[anchor].view(-1, 1, 1, 1) * 255 ** 2
        loss = loss + distill * (weight * (out["x_hat"] - target) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(opt.param_groups[0]["params"], 1.0)
    opt.step()
    aux = net.entropyBottleneck.aux_loss()
    aux_opt.zero_grad(set_to_none=True)
    aux.backward()
    aux_opt.step()
    return loss.detach(), bpp.detach(), mse.detach(), aux.detach()


def add_anchor(net: PaneNet, lam: float) -> None:
    """Append a λ anchor above the top one. Its gain and inverse-gain rows start on the straight
    line (in log λ) through the two top rows, so the new rate point starts where the trained
    curve was heading and training only has to refine it."""
    lambdas = list(net.cfg.lambdas)
    if lam <= lambdas[-1]:
        raise SystemExit(f"--add-anchor {lam}: must be above the top anchor {lambdas[-1]}")
    step = math.log(lam / lambdas[-1]) / math.log(lambdas[-1] / lambdas[-2])
    with torch.no_grad():
        for name in ("log_gain", "log_inv_gain"):
            rows = getattr(net, name)
            new = rows[-1] + (rows[-1] - rows[-2]) * step
            setattr(net, name, torch.nn.Parameter(torch.cat([rows, new[None]], dim=0)))
    net.cfg.lambdas = lambdas + [lam]


def anchor_probabilities(k: int, bias: float) -> torch.Tensor:
    """Sampling weights of the k anchors: exp(bias · i / (k−1)); bias 0 is uniform, bias 1 draws
    the top anchor e times as often as the bottom one (the high rates learn slowest)."""
    w = torch.exp(bias * torch.arange(k, dtype=torch.float64) / max(k - 1, 1))
    return (w / w.sum()).float()


def learning_rate(args, iteration, elapsed_s: float = 0.0):
    """Warm-up over the first 200 iterations of the model's life, then `--lr`; over the last
    `--decay-minutes` of the budget, linearly down to `--lr` × `--decay-to` (a cool-down, so the
    checkpoint a session leaves is not caught mid-oscillation)."""
    warm = min(1.0, (iteration + 1) / 200)
    decay = 1.0
    if args.decay_minutes > 0:
        left = args.minutes * 60 - elapsed_s
        if left < args.decay_minutes * 60:
            fraction = max(0.0, left) / (args.decay_minutes * 60)
            decay = args.decay_to + (1 - args.decay_to) * fraction
    return args.lr * warm * decay


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60, help="wall-clock budget")
    ap.add_argument("--iterations", type=int, default=0, help="stop after this many steps (0: budget only)")
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    ap.add_argument("--log", type=Path, default=LOG)
    ap.add_argument("--data", type=Path, default=DEFAULT_TRAIN_DIR)
    ap.add_argument("--data-limit", type=int, default=None, help="use only the first N photos")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--decay-minutes", type=float, default=0,
                    help="decay the learning rate linearly over the last M minutes of the budget")
    ap.add_argument("--decay-to", type=float, default=0.1, help="final fraction of --lr after the decay")
    ap.add_argument("--aux-lr", type=float, default=5e-3, help="quantiles of the factorized prior (their own loss)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--autocast", action=argparse.BooleanOptionalAction, default=None,
                    help="bf16 autocast for the transforms (entropy maths stay fp32); default: on for a CPU with "
                         "native bf16 dot products (AVX512_BF16 / AMX: 1.35x the steps an hour on a 2-core Zen 4), "
                         "off elsewhere (10x slower on AVX2-only CPUs)")
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--save-every-min", type=float, default=10)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--add-anchor", type=float, default=None, metavar="LAMBDA",
                    help="extend the resumed model with a λ anchor above its top one (gains extrapolated)")
    ap.add_argument("--anchor-bias", type=float, default=0.0,
                    help="draw anchor i with weight exp(bias·i/(K−1)): >0 favours high rates")
    ap.add_argument("--no-kodak", action="store_true", help="skip the periodic Kodak check")
    ap.add_argument("--teacher", type=Path, default=None,
                    help="a checkpoint whose reconstructions the model also learns (fine-tuning after prune.py)")
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the --teacher term")
    args = ap.parse_args(argv)

    if args.autocast is None:
        args.autocast = args.device == "cpu" and cpu_has_bf16()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed + int(time.time()) % 100000)
    device = torch.device(args.device)

    if args.resume and args.checkpoint.exists():
        net, iteration, wall_total = load_checkpoint(args.checkpoint)
        print(f"resumed from {args.checkpoint} at iteration {iteration}", flush=True)
    else:
        net, iteration, wall_total = PaneNet(Config()), 0, 0.0
    if args.add_anchor is not None:
        add_anchor(net, args.add_anchor)
        print(f"anchors now {net.cfg.lambdas}", flush=True)
    net.to(device).train()
    print(f"bf16 autocast {'on' if args.autocast else 'off'}, {args.threads} threads, device {device.type}", flush=True)
    if device.type == "cpu":
        net = net.to(memory_format=torch.channels_last)

    teacher = None
    if args.teacher is not None:
        teacher = load_checkpoint(args.teacher)[0].to(device).eval()
        if device.type == "cpu":
            teacher = teacher.to(memory_format=torch.channels_last)
        for p in teacher.parameters():
            p.requires_grad_(False)
        if teacher.cfg.lambdas != net.cfg.lambdas:
            raise SystemExit(f"--teacher {args.teacher}: its λ anchors differ from the model's")
        print(f"distilling from {args.teacher} (weight {args.distill})", flush=True)
    main_params, aux_params = split_parameters(net)
    opt = torch.optim.Adam(main_params, lr=args.lr)
    aux_opt = torch.optim.Adam(aux_params, lr=args.aux_lr)

    sampler = CropSampler(args.data, crop=args.crop, seed=args.seed, limit=args.data_limit)
    kodak = [] if args.no_kodak else load_kodak(limit=4)
    lambdas = torch.tensor(net.cfg.lambdas, device=device)
    k = len(net.cfg.lambdas)
    anchor_p = anchor_probabilities(k, args.anchor_bias).to(device)

    start = time.time()
    last_save = start
    acc = {"loss": 0.0, "bpp": 0.0, "mse": 0.0, "aux": 0.0, "n": 0}
    first_iteration = iteration
    stop = []  # SIGTERM / SIGINT end the run after the current step, with the checkpoint saved
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    while True:
        elapsed = time.time() - start
        if stop or elapsed > args.minutes * 60 or (args.iterations and iteration - first_iteration >= args.iterations):
            break
        lr = learning_rate(args, iteration, elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        x = sampler.batch(args.batch).to(device)
        if device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        anchor = torch.multinomial(anchor_p, args.batch, replacement=True)
        loss, bpp, mse, aux = train_step(net, opt, aux_opt, x, anchor, lambdas, args.autocast,
                                           teacher, args.distill)
        iteration += 1
        for key, v in (("loss", loss), ("bpp", bpp), ("mse", mse), ("aux", aux)):
            acc[key] += v.item()
        acc["n"] += 1

        if iteration % args.log_every == 0:
            n = acc["n"]
            wall = wall_total + time.time() - start
            psnr = 10 * math.log10(1 / max(acc["mse"] / n, 1e-10))
            row = {"kind": "train", "iteration": iteration, "wall_s": round(wall, 1), "lr": lr, "position": "",
                   "loss": round(acc["loss"] / n, 4), "bpp": round(acc["bpp"] / n, 4), "psnr": round(psnr, 3),
                   "aux": round(acc["aux"] / n, 2), "device": device.type}
            append_log([row], args.log)
            rate = (iteration - first_iteration) / max(time.time() - start, 1e-6) * 3600
            print(f"it {iteration} loss {row['loss']} bpp {row['bpp']} psnr {row['psnr']} aux {row['aux']} "
                  f"({rate:.0f} it/h)", flush=True)
            acc = {"loss": 0.0, "bpp": 0.0, "mse": 0.0, "aux": 0.0, "n": 0}
        if kodak and iteration % args.eval_every == 0:
            wall = wall_total + time.time() - start
            rows = []
            for p, b, ps in kodak_quick_eval(net, kodak, [0, (k - 1) / 2, k - 1], device):
                rows.append({"kind": "kodak4", "iteration": iteration, "wall_s": round(wall, 1), "lr": lr,
                             "position": p, "loss": "", "bpp": round(b, 4), "psnr": round(ps, 3), "aux": "",
                             "device": device.type})
                print(f"  kodak4 position {p}: {b:.3f} bpp {ps:.2f} dB", flush=True)
            append_log(rows, args.log)
        if time.time() - last_save > args.save_every_min * 60:
            save_checkpoint(net, iteration, wall_total + time.time() - start, args.checkpoint)
            last_save = time.time()

    save_checkpoint(net, iteration, wall_total + time.time() - start, args.checkpoint)
    print(f"saved {args.checkpoint} at iteration {iteration}", flush=True)


if __name__ == "__main__":
    main()
