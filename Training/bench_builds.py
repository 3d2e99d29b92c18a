"""Speed of two `pane` builds side by side (say, before and after a kernel change), measured
alternately in one run so that drift in the machine's speed hits both alike.

    git worktree add /tmp/pane-old <commit> && (cd /tmp/pane-old && swift build -c release --product pane)
    python Training/bench_builds.py /tmp/pane-old/.build/release/pane .build/release/pane \
        --model Models/pane-int8.json --kodak ../shared/data/kodak --images 6

Per-stage medians come from `pane bench --json` (one call a round, the two builds alternating);
whole-process times are `pane encode` / `pane decode` wall times, the builds alternating image
by image. Both builds must read the same model file and write the same stream bytes (checked).
"""
import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

STAGES = ["read", "g_a", "entropy_encode", "entropy_decode", "g_s", "write_png", "encode", "decode"]


def bench_once(pane: str, model: str, image: str, threads: int) -> dict:
    out = subprocess.run([pane, "bench", image, "--repeats", "1", "--json", "--model", model,
                          "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--model", default="Models/pane-int8.json")
    ap.add_argument("--image", default="Samples/kodim23.png")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quality", type=float, default=75)
    ap.add_argument("--kodak", type=Path, help="also whole-process times on Kodak images")
    ap.add_argument("--images", type=int, default=6)
    args = ap.parse_args(argv)

    runs = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name in ("old", "new"):
            runs[name].append(bench_once(getattr(args, name), args.model, args.image, args.threads))
    if runs["old"][0]["bytes"] != runs["new"][0]["bytes"]:
        raise SystemExit(f"the builds write different streams: {runs['old'][0]['bytes']} vs {runs['new'][0]['bytes']} bytes")
    print(f"`python Training/bench_builds.py OLD NEW --model {args.model}`: {args.image}, {args.threads} threads, "
          f"median of {args.rounds} alternating rounds\n")
    print("| stage | old | new | old / new |\n|---|---|---|---|")
    for stage in STAGES:
        old = statistics.median(r[f"{stage}_ms"] for r in runs["old"])
        new = statistics.median(r[f"{stage}_ms"] for r in runs["new"])
        print(f"| {stage.replace('_', ' ')} | {old:.0f} ms | {new:.0f} ms | {old / new:.2f}x |")

    if args.kodak:
        images = sorted(args.kodak.glob("kodim*.png"))[: args.images]
        times = {(b, op): [] for b in ("old", "new") for op in ("encode", "decode")}
        with tempfile.TemporaryDirectory() as tmp:
            for image in images:
                for name in ("old", "new"):
                    pane, stream, png = getattr(args, name), f"{tmp}/{name}.pane", f"{tmp}/{name}.png"
                    common = ["--model", args.model, "--threads", str(args.threads), "-f"]
                    times[(name, "encode")].append(timed([pane, "encode", str(image), "-o", stream,
                                                          "-q", str(args.quality)] + common))
                    times[(name, "decode")].append(timed([pane, "decode", stream, "-o", png] + common))
                if Path(f"{tmp}/old.pane").read_bytes() != Path(f"{tmp}/new.pane").read_bytes():
                    raise SystemExit(f"{image.name}: the builds write different streams")
        print(f"\nWhole process, median over {len(images)} images of {args.kodak} (q{args.quality:g}):\n")
        print("| | old | new | old / new |\n|---|---|---|---|")
        for op in ("encode", "decode"):
            old, new = statistics.median(times[("old", op)]), statistics.median(times[("new", op)])
            print(f"| {op} | {old:.0f} ms | {new:.0f} ms | {old / new:.2f}x |")


if __name__ == "__main__":
    main()
