"""Training speed of train.py's step, eager against torch.compile, from one checkpoint.

    python Training/bench_train.py [--steps 40] [--threads 2] [--batch 2] [--pause-pid PID]

Both variants run the same step (train.py's `train_step`, 2 × 256² crops, bf16 autocast where
train.py would turn it on) on fresh copies of the checkpoint; it/h counts the timed steps only,
after 3 warm-up steps (which, for the compiled model, include the compilation, reported apart).
`--pause-pid PID` stops that process (a background train.py, say) with SIGSTOP during the timed
steps, so both variants see an idle machine, and resumes it after (SIGCONT), also on an error or
SIGTERM.

2026-11-30 (fifth session, AMD EPYC with AVX512_BF16, 2 threads): eager 10,754 it/h, compiled
11,407 it/h (1.06×) after 405 s of compilation: over a 2-hour run the compile costs about what it
saves, so train.py stays eager.
"""
import argparse
import copy
import os
import signal
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DEFAULT_TRAIN_DIR, CropSampler  # noqa: E402
from train import cpu_has_bf16, load_checkpoint, split_parameters, train_step  # noqa: E402

ROOT = Path(__file__).resolve().parent


class Compiled:
    """`train_step` calls the model and reads its entropy bottleneck: the compiled forward with
    the original module's attributes."""

    def __init__(self, forward, module):
        self.forward, self.module = forward, module

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.module, name)


def run(net0, compile_model, steps, batch, autocast, pause_pid=None):
    """it/h of `steps` timed training steps of a copy of net0 on `batch()` crops, and the seconds
    of the 3 warm-up steps before them."""
    net = copy.deepcopy(net0).train().to(memory_format=torch.channels_last)
    main_params, aux_params = split_parameters(net)
    opt = torch.optim.Adam(main_params, lr=1e-6)
    aux_opt = torch.optim.Adam(aux_params, lr=1e-6)
    lambdas = torch.tensor(net.cfg.lambdas)
    model = Compiled(torch.compile(net), net) if compile_model else net

    def step():
        x = batch().contiguous(memory_format=torch.channels_last)
        anchor = torch.randint(0, len(net.cfg.lambdas), (x.shape[0],))   # the step's cost does not depend on it
        train_step(model, opt, aux_opt, x, anchor, lambdas, autocast)

    start = time.perf_counter()
    for _ in range(3):
        step()
    warmup = time.perf_counter() - start
    if pause_pid is not None:
        os.kill(pause_pid, signal.SIGSTOP)
    try:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        seconds = time.perf_counter() - start
    finally:
        if pause_pid is not None:
            os.kill(pause_pid, signal.SIGCONT)
    return steps / seconds * 3600, warmup


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoint.pt")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--pause-pid", type=int, default=None, help="a process to stop during the timed steps")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))   # unwinds through run's `finally`
    torch.set_num_threads(args.threads)
    net, iteration, _ = load_checkpoint(args.checkpoint)
    autocast = cpu_has_bf16()
    print(f"checkpoint at iteration {iteration}, {args.threads} threads, bf16 autocast {'on' if autocast else 'off'}")
    sampler = CropSampler(DEFAULT_TRAIN_DIR, crop=args.crop, seed=1)
    if args.pause_pid is not None:
        print(f"pausing process {args.pause_pid} during the timed steps")
    for compile_model in (False, True):
        rate, warmup = run(net, compile_model, args.steps, lambda: sampler.batch(args.batch), autocast, args.pause_pid)
        label = "torch.compile" if compile_model else "eager"
        print(f"{label}: {rate:,.0f} it/h ({args.steps} steps; warm-up incl. compilation {warmup:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
