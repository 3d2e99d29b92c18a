"""BD-rate between Pane's curves in two `pane rd` reports (e.g. the int8 model against fp32).

    python Training/compare_rd.py Training/results/kodak-rd Training/results/kodak-rd-int8

Reads each report's rd.json, takes its `pane` curve (real streams, averaged over the images) and
prints the BD-rate (PSNR-RGB, PCHIP as everywhere in Pane) of the second against the first, with
both curves' points and median whole-image times.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics import bd_rate  # noqa: E402


def pane_curve(report: Path):
    data = json.loads((report / "rd.json").read_text())
    for curve in data["curves"]:
        if curve["codec"] == "pane":
            return data["images"], curve
    raise SystemExit(f"{report}/rd.json has no pane curve")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference", type=Path, help="report directory of the reference model")
    ap.add_argument("test", type=Path, help="report directory of the model to compare")
    args = ap.parse_args(argv)
    (n_ref, ref), (n_test, test) = pane_curve(args.reference), pane_curve(args.test)
    if n_ref != n_test:
        raise SystemExit(f"the reports cover {n_ref} and {n_test} images")
    print(f"{n_ref} images; reference {ref['version']}, test {test['version']}")
    print()
    print("| quality | ref bpp | ref PSNR | test bpp | test PSNR | ref enc / dec s | test enc / dec s |")
    print("|---|---|---|---|---|---|---|")
    for a, b in zip(ref["points"], test["points"]):
        print(f"| {a['setting']:g} | {a['bpp']:.4f} | {a['psnr']:.2f} | {b['bpp']:.4f} | {b['psnr']:.2f} | "
              f"{a['median_enc_s']:.3f} / {a['median_dec_s']:.3f} | {b['median_enc_s']:.3f} / {b['median_dec_s']:.3f} |")
    bd = bd_rate([(p["bpp"], p["psnr"]) for p in ref["points"]], [(p["bpp"], p["psnr"]) for p in test["points"]])
    print()
    print(f"BD-rate (PSNR) of test against reference: {bd:+.2f}%" if bd is not None else "no PSNR overlap")


if __name__ == "__main__":
    main()
