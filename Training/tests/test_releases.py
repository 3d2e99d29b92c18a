"""Model releases (Training/releases.py): the shipped releases.json reads and writes back byte for
byte, released files are never exported over, and a new release is appended with its declared id."""
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import releases  # noqa: E402

MODELS = Path(__file__).resolve().parents[2] / "Models"


def test_shipped_file_round_trips(tmp_path):
    data = releases.load(MODELS)
    releases.write(tmp_path, data)
    assert (tmp_path / releases.FILE).read_bytes() == (MODELS / releases.FILE).read_bytes()


def test_released_files_are_refused(tmp_path):
    for name in ("pane", "pane-int8"):
        with pytest.raises(SystemExit, match="shipped release"):
            releases.refuse_overwrite(MODELS, name)
    releases.refuse_overwrite(MODELS, "pane-999k")  # a new name is fine


def test_add_appends_and_refuses_duplicates(tmp_path):
    shutil.copy(MODELS / releases.FILE, tmp_path / releases.FILE)
    sha = "ab" * 32
    entry = releases.add(tmp_path, "pane-999k", "pane-999k.json", sha, make_default=True)
    assert entry == {"name": "pane-999k", "id": "ab" * 8, "manifest": "pane-999k.json"}
    data = releases.load(tmp_path)
    assert data["default"] == "pane-999k"
    assert [r["name"] for r in data["releases"]][:2] == ["pane-121k", "pane-121k-int8"]
    with pytest.raises(SystemExit, match="exists"):
        releases.add(tmp_path, "other", "other.json", sha, make_default=False)
