"""Tests of the PyTorch side: shapes, rate control, export round trip, smoke training."""
import json
import sys
import zlib
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from model import Config, PaneNet, rd_loss, shifted_window_mask  # noqa: E402
from train import CHECKPOINT, load_checkpoint, save_checkpoint, split_parameters, train_step  # noqa: E402
from entropy_int import IntegerEntropyModel  # noqa: E402
import export  # noqa: E402
from PIL import Image  # noqa: E402
import numpy as np  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "Samples" / "kodim23.png"

torch.set_num_threads(2)


def synthetic_batch(n: int, side: int, seed: int = 0) -> torch.Tensor:
    """Smooth colour gradients with a few rectangles: photo-like enough to learn from in 20 steps,
    and independent of the training set (which CI may not have)."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    out = torch.empty(n, 3, side, side)
    for i in range(n):
        a = torch.rand(3, 3, generator=g)
        img = a[:, 0, None, None] * xs + a[:, 1, None, None] * ys + a[:, 2, None, None] * 0.5
        for _ in range(3):
            y0, x0 = torch.randint(0, side - 8, (2,), generator=g).tolist()
            img[:, y0:y0 + side // 4, x0:x0 + side // 4] = torch.rand(3, 1, 1, generator=g)
        out[i] = img.clamp(0, 1)
    return out


def sample_crops() -> torch.Tensor:
    """Two 128² crops of the bundled sample (evaluation only; never used to train)."""
    img = torch.from_numpy(np.asarray(Image.open(SAMPLE).convert("RGB")).copy()).permute(2, 0, 1).float() / 255
    return torch.stack([img[:, 100:228, 200:328], img[:, 300:428, 500:628]])


def small_net():
    torch.manual_seed(0)
    return PaneNet(Config(M=96, slice_hidden=64))   # the pre-widening size: quicker than the shipped one


def test_shapes():
    net = small_net().eval()
    x = torch.rand(2, 3, 128, 192)
    with torch.no_grad():
        out = net(x, torch.tensor([0.0, 6.0]))
        y = net.g_a(x)
    assert out["x_hat"].shape == x.shape
    assert y.shape == (2, net.cfg.M, 8, 12)
    assert out["y_lik"].shape == y.shape
    assert out["z_lik"].shape == (2, net.cfg.Nz, 2, 3)
    assert torch.all(out["y_lik"] > 0) and torch.all(out["y_lik"] <= 1)


def test_shift_mask_separates_regions():
    mask = shifted_window_mask(8, 8, 4, 2)
    assert mask.shape == (4, 16, 16)
    assert torch.all(mask[0] == 0)  # the top-left window holds one region only
    assert (mask[3] != 0).any()     # the bottom-right window mixes wrapped regions


def test_gains_interpolate_monotonically():
    net = small_net()
    positions = torch.linspace(0, net.num_anchors - 1, 25)
    gains, inv = net.gains_at(positions)
    mean_log_gain = torch.log(gains).mean(dim=1)
    assert torch.all(mean_log_gain[1:] > mean_log_gain[:-1])
    assert torch.allclose(gains[0], torch.exp(net.log_gain[0]))
    assert net.quality_to_position(0) == 0 and net.quality_to_position(100) == net.num_anchors - 1


@pytest.mark.skipif(not CHECKPOINT.exists(), reason="no trained checkpoint committed")
def test_trained_rate_increases_with_quality():
    net, _, _ = load_checkpoint(CHECKPOINT)
    net.eval()
    torch.manual_seed(1)
    x = sample_crops()
    bpps = []
    with torch.no_grad():
        for q in (0, 25, 50, 75, 100):
            out = net(x, torch.full((2,), net.quality_to_position(q)))
            _, bpp, _ = rd_loss(out, x, torch.zeros(2))
            bpps.append(bpp.item())
    assert all(b > a for a, b in zip(bpps, bpps[1:])), bpps


def test_export_then_load_gives_identical_outputs(tmp_path):
    net = small_net()
    ckpt = tmp_path / "ckpt.pt"
    save_checkpoint(net, 5, 1.0, ckpt)
    loaded, iteration, _ = load_checkpoint(ckpt)
    assert iteration == 5
    x = torch.rand(1, 3, 128, 128)
    net.eval(), loaded.eval()
    with torch.no_grad():
        a = export.reference_forward(net, x, 60)
        b = export.reference_forward(loaded, x, 60)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    int_model = IntegerEntropyModel.build(loaded.eval(), [synthetic_batch(1, 128)])
    manifest = export.export(loaded, "t", tmp_path, int_model=int_model)
    tensors = load_file(str(tmp_path / "t.safetensors"))
    on_disk = json.loads((tmp_path / "t.json").read_text())
    assert on_disk["sha256"] == manifest["sha256"]
    weights = (tmp_path / "t.safetensors").read_bytes()
    assert on_disk["crc32"] == f"{zlib.crc32(weights):08x}"   # what the Swift loader checks
    conv = net.g_a[0]
    assert torch.equal(tensors["g_a.0.weight"], conv.weight.detach())
    beta, gamma = net.g_a[1].effective()
    assert torch.allclose(tensors["g_a.1.gamma"], gamma.detach())
    assert [l["type"] for l in on_disk["g_a"]] == ["conv", "gdn", "conv", "gdn", "attention", "conv", "gdn", "conv", "attention"]
    # pmf table of the factorized prior: each channel sums to at most 1 and is positive where used
    pmf = tensors["entropyBottleneck.pmf"]
    lengths = tensors["entropyBottleneck.length"]
    assert torch.all(pmf.sum(dim=1) <= 1.0001)
    assert all(torch.all(pmf[c, : lengths[c]] > 0) for c in range(pmf.shape[0]))


def test_smoke_training_lowers_loss():
    torch.manual_seed(0)
    net = small_net().train()
    main, aux = split_parameters(net)
    opt = torch.optim.Adam(main, lr=1e-3)
    aux_opt = torch.optim.Adam(aux, lr=1e-3)
    x = synthetic_batch(4, 64)
    anchor = torch.tensor([0, 2, 4, 6])
    lambdas = torch.tensor(net.cfg.lambdas)
    losses = [train_step(net, opt, aux_opt, x, anchor, lambdas)[0].item() for _ in range(20)]
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses


def test_distillation_term_is_the_gap_to_the_teacher():
    """With the student as its own teacher the term vanishes (same loss as plain training); with
    another teacher it adds distill · λ·255² · MSE(x̂, teacher x̂)."""
    import copy

    torch.manual_seed(1)
    net = small_net().eval()   # eval: no noise, so both forwards are deterministic
    x, anchor = synthetic_batch(2, 64), torch.tensor([1, 5])
    lambdas = torch.tensor(net.cfg.lambdas)

    def loss(teacher, distill):
        student = copy.deepcopy(net)
        main, aux = split_parameters(student)
        opt, aux_opt = torch.optim.SGD(main, lr=0.0), torch.optim.SGD(aux, lr=0.0)
        return train_step(student, opt, aux_opt, x, anchor, lambdas, teacher=teacher, distill=distill)[0].item()

    plain = loss(None, 0.0)
    assert loss(copy.deepcopy(net), 2.0) == pytest.approx(plain, rel=1e-6)
    other = copy.deepcopy(net)
    with torch.no_grad():
        other.g_s[-1].bias.add_(0.05)   # a teacher whose reconstructions are brighter
        gap = ((net(x, anchor.float())["x_hat"] - other(x, anchor.float())["x_hat"]) ** 2
               * lambdas[anchor].view(-1, 1, 1, 1) * 255 ** 2).mean().item()
    assert gap > 0
    assert loss(other, 0.5) == pytest.approx(plain + 0.5 * gap, rel=1e-4)


def test_learning_rate_warms_up_then_cools_down():
    import argparse

    import train

    args = argparse.Namespace(lr=1e-4, minutes=100, decay_minutes=20, decay_to=0.1)
    assert train.learning_rate(args, 0) == pytest.approx(1e-4 / 200)
    assert train.learning_rate(args, 10_000, elapsed_s=60 * 60) == pytest.approx(1e-4)
    assert train.learning_rate(args, 10_000, elapsed_s=90 * 60) == pytest.approx(1e-4 * 0.55)
    assert train.learning_rate(args, 10_000, elapsed_s=100 * 60) == pytest.approx(1e-5)
    assert train.learning_rate(argparse.Namespace(lr=1e-4, minutes=1, decay_minutes=0, decay_to=0.1),
                               10_000, elapsed_s=60) == pytest.approx(1e-4)


def test_added_anchor_extends_the_rate_range_and_keeps_the_old_ones(tmp_path):
    import train

    net = small_net().eval()
    x = synthetic_batch(2, 64, seed=3)
    old_k = net.num_anchors
    with torch.no_grad():
        before = net(x, torch.full((2,), float(old_k - 1)))["x_hat"]
    train.add_anchor(net, net.cfg.lambdas[-1] * 2)
    assert net.num_anchors == old_k + 1 and net.log_gain.shape[0] == old_k + 1
    mean_log_gain = net.log_gain.mean(dim=1)
    assert torch.all(mean_log_gain[1:] > mean_log_gain[:-1])
    with torch.no_grad():
        after = net(x, torch.full((2,), float(old_k - 1)))["x_hat"]
    assert torch.equal(before, after)  # the old top anchor is untouched
    # The extended model saves and loads with its new anchor table.
    path = tmp_path / "c.pt"
    save_checkpoint(net, 5, 1.0, path)
    loaded, _, _ = load_checkpoint(path)
    assert loaded.cfg.lambdas == net.cfg.lambdas
    assert torch.equal(loaded.log_inv_gain, net.log_inv_gain)
    with pytest.raises(SystemExit):
        train.add_anchor(net, net.cfg.lambdas[0])


def test_anchor_bias_favours_high_rates():
    import train

    assert torch.allclose(train.anchor_probabilities(8, 0.0), torch.full((8,), 1 / 8))
    p = train.anchor_probabilities(8, 1.0)
    assert p.sum().item() == pytest.approx(1.0)
    assert torch.all(p[1:] > p[:-1]) and p[-1] / p[0] == pytest.approx(torch.e, rel=1e-5)


def test_bench_train_times_steps_and_leaves_the_model_alone(net):
    import bench_train
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rate, warmup = bench_train.run(net, False, 2, lambda: torch.rand(2, 3, 64, 64), autocast=False)
    assert rate > 0 and warmup > 0
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())   # it trained a copy
