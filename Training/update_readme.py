"""Copies generated figures into README.md between their markers (never by hand).

    python Training/update_readme.py --rd Training/results/kodak-rd --speed /tmp/bench.md \
        --compression /tmp/compression.md
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def section(markdown: str, heading: str) -> str:
    """The body of `## heading` in a markdown document, up to the next `## `."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, flags=re.S | re.M)
    return m.group(1).strip() if m else ""


def pane_table():
    """Pane per quality from Training/results/kodak.json (written by evaluate.py)."""
    path = ROOT / "Training" / "results" / "kodak.json"
    if not path.exists():
        return []
    rows = json.loads(path.read_text())
    lines = ["Pane per quality (`Training/results/kodak.json`, from `python Training/evaluate.py --rd-csv …`):", "",
             "| quality | bpp | PSNR-RGB (dB) | MS-SSIM |", "|---:|---:|---:|---:|"]
    lines += [f"| {r['quality']:g} | {r['bpp']:.4f} | {r['psnr']:.2f} | {r['msssim']:.4f} |" for r in rows]
    return ["\n".join(lines)]


def replace_block(text: str, name: str, body: str) -> str:
    return re.sub(rf"<!-- {name}:begin -->.*?<!-- {name}:end -->",
                  lambda _: f"<!-- {name}:begin -->\n{body}\n<!-- {name}:end -->", text, flags=re.S)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rd", type=Path, help="a `pane rd` report directory inside the repository")
    ap.add_argument("--speed", type=Path, help="output of Training/bench.py")
    ap.add_argument("--compression", type=Path, help="output of Training/compression_table.py")
    ap.add_argument("--compression-command", default="python Training/compression_table.py --images 24",
                    help="the command line that wrote --compression (quoted above its table)")
    args = ap.parse_args(argv)
    readme = ROOT / "README.md"
    text = readme.read_text()
    if args.rd:
        summary = (args.rd / "summary.md").read_text()
        rel = args.rd.resolve().relative_to(ROOT)
        command = re.search(r"```\n(pane rd .*?)\n```", summary, flags=re.S).group(1)
        headings = re.findall(r"^## (.+)$", summary, flags=re.M)
        bd = [h for h in headings if h.startswith("BD-rate") and "PSNR" in h]
        body = "\n\n".join([
            f"Real `.pane` streams of the shipped model on the 24 Kodak images, beside the classical codecs "
            f"(measured in the same run, and the anchors of `../shared/anchors/`). Produced by:\n\n```\n{command}\n```",
            f"![PSNR against bpp on Kodak]({rel}/rd-psnr.svg)",
            "PSNR-RGB (dB) at fixed rates:\n\n" + section(summary, "PSNR-RGB (dB) at fixed rates"),
            *([f"{bd[0]}:\n\n" + section(summary, bd[0])] if bd else []),
            *pane_table(),
            f"Full report: [`{rel}/summary.md`]({rel}/summary.md).",
        ])
        text = replace_block(text, "rd", body)
    if args.speed:
        lines = args.speed.read_text().strip().splitlines()
        command = "python Training/bench.py --kodak ../shared/data/kodak"
        body = f"`{command}` (2-core development machine, quiet): {lines[0]}\n\n" + "\n".join(lines[1:])
        text = replace_block(text, "speed", body)
    if args.compression:
        lines = args.compression.read_text().strip().splitlines()
        body = f"`{args.compression_command}`: " + "\n".join(lines)
        text = replace_block(text, "compression", body)
    readme.write_text(text)


if __name__ == "__main__":
    main()
