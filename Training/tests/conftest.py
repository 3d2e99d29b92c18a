"""Shared fixtures of the Training tests."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from model import Config, PaneNet  # noqa: E402


@pytest.fixture(scope="module")
def net():
    """A tiny network (seed 0, eval mode) for the structural tests: pruning, slimming, int8.
    Its `cfg` rebuilds more of the same shape."""
    torch.manual_seed(0)
    return PaneNet(Config(N=16, M=16, Nz=8, slices=2, slice_hidden=8, head_dim=8, mlp_ratio=2)).eval()
