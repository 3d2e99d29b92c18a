"""Model releases: `Models/releases.json` lists every shipped model (name, declared id, manifest),
the default one first among equals; the Swift `pane` decodes a stream with the release whose id it
carries (Sources/Pane/ModelReleases.swift, docs/model-releases.md).

A release is immutable: its manifest and weights are never rewritten, and it is never removed, so
every `.pane` file stays decodable. `export.py` and `quantize.py --export` refuse to write over a
released file and add a new release with `--release`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

FILE = "releases.json"
FORMAT = "pane-releases"
VERSION = 1


def load(models: Path) -> dict | None:
    path = models / FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise SystemExit(f"{path}: not a version-{VERSION} releases file")
    return data


def released_files(models: Path) -> set[str]:
    """Manifest and weights file names that belong to a release (never to be written again)."""
    data = load(models)
    if data is None:
        return set()
    names = set()
    for r in data["releases"]:
        names.add(r["manifest"])
        manifest = models / r["manifest"]
        if manifest.exists():
            names.add(json.loads(manifest.read_text())["weights"])
    return names


def refuse_overwrite(models: Path, name: str) -> None:
    """SystemExit when writing `name`.json / `name`.safetensors would change a release."""
    taken = released_files(models) & {f"{name}.json", f"{name}.safetensors"}
    if taken:
        raise SystemExit(f"{models}/{sorted(taken)[0]} belongs to a shipped release, and releases never change: "
                         f"export under a new --name (e.g. pane-<iterations/1000>k) and add it with --release")


def add(models: Path, name: str, manifest_file: str, sha256: str, make_default: bool) -> dict:
    """Append a release whose declared id is the first 8 bytes of its weights' sha256."""
    data = load(models) or {"format": FORMAT, "version": VERSION, "default": name, "releases": []}
    entry = {"name": name, "id": sha256[:16], "manifest": manifest_file}
    for r in data["releases"]:
        if r["name"] == name or r["id"] == entry["id"]:
            raise SystemExit(f"release {name} (id {entry['id']}): a release of that name or id exists")
    data["releases"].append(entry)
    if make_default:
        data["default"] = name
    write(models, data)
    return entry


def write(models: Path, data: dict) -> None:
    lines = ["{", f'  "format": "{data["format"]}",', f'  "version": {data["version"]},',
             f'  "default": {json.dumps(data["default"])},', '  "releases": [']
    rows = [f'    {{"name": {json.dumps(r["name"])}, "id": "{r["id"]}", "manifest": {json.dumps(r["manifest"])}}}'
            for r in data["releases"]]
    lines.append(",\n".join(rows))
    lines += ["  ]", "}"]
    tmp = models / (FILE + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, models / FILE)
