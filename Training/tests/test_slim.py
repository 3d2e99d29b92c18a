"""Slimming the slice networks: the kept units are the best-scored ones, the slimmed network
computes the full one with the removed units silenced, and its config rebuilds it."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import slim  # noqa: E402
from model import Config, PaneNet  # noqa: E402


def run(net, x, anchor=2.0):
    with torch.no_grad():
        torch.manual_seed(1)
        return net(x, torch.tensor([anchor]))


def test_keeping_every_unit_changes_nothing(net):
    same = slim.slim(net, 8)
    x = torch.rand(1, 3, 64, 64)
    a, b = run(net, x), run(same, x)
    assert torch.equal(a["x_hat"], b["x_hat"]) and torch.equal(a["y_lik"], b["y_lik"])


def test_slimmed_net_equals_the_full_net_with_removed_units_silenced(net):
    scores = {name: torch.arange(8, dtype=torch.float32).flip(0) for name, _ in slim.slice_networks(net)}
    small = slim.slim(net, 5, scores)  # keeps units 0..4 of every network
    assert small.cfg.slice_hidden == 5
    silenced = PaneNet(Config(**net.cfg.to_dict())).eval()
    silenced.load_state_dict(net.state_dict())
    with torch.no_grad():
        for _, seq in slim.slice_networks(silenced):
            seq[2].weight[:, 5:] = 0
    x = torch.rand(1, 3, 64, 64)
    a, b = run(silenced, x), run(small, x)
    assert torch.allclose(a["y_lik"], b["y_lik"], rtol=1e-5, atol=1e-6)
    assert torch.allclose(a["x_hat"], b["x_hat"], rtol=1e-5, atol=1e-6)
    rebuilt = PaneNet(Config(**small.cfg.to_dict()))
    rebuilt.load_state_dict(small.state_dict())  # strict: shapes follow the config


def test_units_are_kept_by_score_in_their_original_order(net):
    scores = {name: torch.tensor([0.0, 5, 1, 7, 2, 6, 3, 4]) for name, _ in slim.slice_networks(net)}
    small = slim.slim(net, 3, scores)
    for (name, full), (_, part) in zip(slim.slice_networks(net), slim.slice_networks(small)):
        assert torch.equal(part[0].weight, full[0].weight[[1, 3, 5]]), name
        assert torch.equal(part[2].weight, full[2].weight[:, [1, 3, 5]]), name
        assert torch.equal(part[2].bias, full[2].bias), name


def test_activation_scores_rank_dead_units_last(net):
    work = PaneNet(Config(**net.cfg.to_dict())).eval()
    work.load_state_dict(net.state_dict())
    with torch.no_grad():
        for net in (work.cc_mean[0], work.lrp[1]):
            net[0].bias += 50                  # every unit fires...
        work.cc_mean[0][0].bias[2] = -1e4      # ...but unit 2 of cc_mean.0, which never does,
        work.lrp[1][2].weight[:, 6] = 0        # and unit 6 of lrp.1, which adds nothing
    scores = slim.activation_scores(work, [torch.rand(2, 3, 64, 64)])
    assert scores["cc_mean.0"][2] == 0 and scores["lrp.1"][6] == 0
    assert (scores["cc_mean.0"] > 0).sum() == 7 and (scores["lrp.1"] > 0).sum() == 7
    small = slim.slim(work, 7, scores)             # one unit goes from every network
    kept = lambda full, part: [j for j in range(8) if any(torch.equal(part[0].weight[i], full[0].weight[j]) for i in range(7))]
    assert 2 not in kept(work.cc_mean[0], small.cc_mean[0])
    assert 6 not in kept(work.lrp[1], small.lrp[1])


def test_widening_the_hidden_width_is_refused(net):
    with pytest.raises(SystemExit):
        slim.slim(net, 9)
