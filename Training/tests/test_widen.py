"""Widening the latent (Training/widen.py): every old weight lands where the wider network reads it,
the new channels start at zero and cost nothing, and a new low anchor extends the gain table."""
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import widen  # noqa: E402
from model import Config, PaneNet  # noqa: E402

TINY = dict(N=16, M=16, Nz=8, slices=2, slice_hidden=8, head_dim=8, mlp_ratio=2,
            lambdas=[0.0018, 0.0067, 0.025, 0.0932])


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    old = PaneNet(Config(**TINY)).eval()
    with torch.no_grad():  # trained-looking gains: one row per anchor, varying across channels
        old.log_gain.add_(0.1 * torch.randn_like(old.log_gain))
        old.log_inv_gain.add_(0.1 * torch.randn_like(old.log_inv_gain))
    return old, widen.widen(old, 32, low_anchor=0.0009).eval()


def affine_layernorm(self, x):
    """LayerNorm without the normalization: the one place where zero channels change the old
    function. With it swapped out, the widened network must compute exactly what the old one did."""
    return x * self.weight + self.bias


def test_old_function_is_kept_apart_from_layernorm(nets, monkeypatch):
    old, new = nets
    monkeypatch.setattr(torch.nn.LayerNorm, "forward", affine_layernorm)
    idx = widen.latent_index(16, 32, 2)
    x = torch.rand(1, 3, 64, 64)
    for anchor in range(old.num_anchors):
        with torch.no_grad():
            a = old(x, torch.tensor([float(anchor)]))
            b = new(x, torch.tensor([float(anchor + 1)]))  # the low anchor shifts positions by one
        assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-5)
        assert torch.allclose(a["y_lik"], b["y_lik"][:, idx], atol=1e-6)
        assert torch.allclose(a["z_lik"], b["z_lik"], atol=1e-6)
        fresh = torch.ones(32, dtype=torch.bool); fresh[idx] = False
        assert b["y_lik"][:, fresh].min().item() > 0.999  # new channels: ~0 bits


def test_new_channels_start_at_zero_with_real_layernorm(nets):
    old, new = nets
    idx = widen.latent_index(16, 32, 2)
    fresh = torch.ones(32, dtype=torch.bool); fresh[idx] = False
    with torch.no_grad():
        y = new.g_a(torch.rand(1, 3, 64, 64))
    assert torch.count_nonzero(y[:, fresh]) == 0 and torch.count_nonzero(y[:, idx]) > 0


def test_layout_gains_and_config(nets):
    old, new = nets
    assert widen.latent_index(16, 32, 2).tolist() == list(range(8)) + list(range(16, 24))
    assert new.cfg.M == 32 and new.cfg.lambdas == [0.0009] + TINY["lambdas"]
    idx = widen.latent_index(16, 32, 2)
    assert torch.equal(new.log_gain[1:, idx], old.log_gain)
    assert torch.equal(new.log_inv_gain[1:, idx], old.log_inv_gain)
    mean = new.log_gain.mean(dim=1)
    assert torch.all(mean[1:] > mean[:-1])  # the new anchor sits below the old bottom one
    rebuilt = PaneNet(Config(**new.cfg.to_dict()))
    rebuilt.load_state_dict(new.state_dict())  # strict: every shape follows the config


def test_gradients_reach_the_new_channels(nets):
    _, new = nets
    net = PaneNet(Config(**new.cfg.to_dict()))
    net.load_state_dict(new.state_dict())
    net.train()
    x = torch.rand(2, 3, 64, 64)
    out = net(x, torch.tensor([1.0, 3.0]))
    loss = F.mse_loss(out["x_hat"], x) * 1000 - torch.log2(out["y_lik"]).mean()
    loss.backward()
    idx = widen.latent_index(16, 32, 2)
    fresh = torch.ones(32, dtype=torch.bool); fresh[idx] = False
    assert net.g_a[7].weight.grad[fresh].abs().sum() > 0  # the encoder starts filling them
    assert net.g_s[0].blocks[0].norm1.weight.grad[fresh].abs().sum() > 0  # the decoder starts reading them


def test_rejects_what_it_cannot_do(nets):
    old, _ = nets
    with pytest.raises(SystemExit):
        widen.widen(old, 16)  # not wider
    with pytest.raises(SystemExit):
        widen.widen(old, 33)  # does not split into the slices
    with pytest.raises(SystemExit):
        widen.widen(old, 32, low_anchor=0.01)  # not below the bottom anchor


# ----- the 1/8-resolution stage of g_a / g_s (widen.py --stage8) -----

@pytest.fixture(scope="module")
def stage8_nets():
    torch.manual_seed(1)
    old = PaneNet(Config(**TINY)).eval()
    with torch.no_grad():  # trained-looking GDNs: cross terms that are not zero
        for layer in ("g_a.6", "g_s.2"):
            old.get_submodule(layer).gamma.add_(0.05 * torch.rand_like(old.get_submodule(layer).gamma))
    return old, widen.widen_stage8(old, 40).eval()


def test_stage8_keeps_the_function_exactly(stage8_nets):
    old, new = stage8_nets
    x = torch.rand(1, 3, 64, 64)
    for anchor in range(old.num_anchors):
        with torch.no_grad():
            a = old(x, torch.tensor([float(anchor)]))
            b = new(x, torch.tensor([float(anchor)]))
        assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-5)
        assert torch.allclose(a["y_lik"], b["y_lik"], atol=1e-6)


def test_stage8_shapes_config_and_round_trip(stage8_nets):
    old, new = stage8_nets
    assert new.cfg.N8 == 40 and new.cfg.n8 == 40 and old.cfg.to_dict().get("N8") is None
    assert new.g_a[5].weight.shape == (40, 16, 5, 5) and new.g_a[7].weight.shape[1] == 40
    assert new.g_s[1].weight.shape[1] == 40 and new.g_s[3].weight.shape[0] == 40
    assert new.g_a[6].gamma.shape == (40, 40)
    rebuilt = PaneNet(Config(**new.cfg.to_dict()))
    rebuilt.load_state_dict(new.state_dict())  # the config alone rebuilds the shape


def test_stage8_new_channels_get_gradients(stage8_nets):
    _, new = stage8_nets
    net = widen.widen_stage8(stage8_nets[0], 40).train()
    x = torch.rand(2, 3, 64, 64)
    out = net(x, torch.tensor([1.0, 2.0]))
    ((out["x_hat"] - x) ** 2).mean().backward()
    assert net.g_a[7].weight.grad[:, 16:].abs().sum() > 0
    assert net.g_s[3].weight.grad[16:].abs().sum() > 0


def test_stage8_refuses_narrowing(stage8_nets):
    with pytest.raises(SystemExit):
        widen.widen_stage8(stage8_nets[0], 16)
