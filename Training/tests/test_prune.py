"""Structured pruning: physically smaller MLPs, the kept units chosen by score, same outputs when
nothing is removed, a config that rebuilds the pruned network, and export of the pruned shapes."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import export  # noqa: E402
import prune  # noqa: E402
from model import Config, PaneNet  # noqa: E402


def test_keeping_everything_changes_nothing(net):
    same = prune.prune(net, 1.0)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = net(x, torch.tensor([3.0]))["x_hat"], same(x, torch.tensor([3.0]))["x_hat"]
    assert torch.equal(a, b)


def test_pruning_halves_the_mlps_and_rebuilds_from_its_config(net):
    pruned = prune.prune(net, 0.5)
    assert pruned.cfg.mlp_hidden == [16, 16, 16, 16]  # dim 16 (N) and 16 (M) × ratio 2 × 0.5
    for wab in prune.attention_blocks(pruned):
        for block in wab.blocks:
            assert block.fc1.weight.shape[0] == 16 and block.fc2.weight.shape[1] == 16
    rebuilt = PaneNet(Config(**pruned.cfg.to_dict()))
    rebuilt.load_state_dict(pruned.state_dict())  # strict: every shape matches the config
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in net.parameters())
    with torch.no_grad():
        out = pruned(torch.rand(1, 3, 64, 64), torch.tensor([0.0]))
    assert torch.isfinite(out["x_hat"]).all()


def test_the_highest_scoring_units_are_kept(net):
    block = prune.attention_blocks(net)[0].blocks[0]
    scores = {b: torch.arange(b.fc1.out_features, dtype=torch.float32)
              for wab in prune.attention_blocks(net) for b in wab.blocks}
    pruned = prune.prune(net, 0.25, scores)
    kept = prune.attention_blocks(pruned)[0].blocks[0]
    hidden = block.fc1.out_features
    assert torch.equal(kept.fc1.weight, block.fc1.weight[hidden - hidden // 4:])
    assert torch.equal(kept.fc2.weight, block.fc2.weight[:, hidden - hidden // 4:])


def test_taylor_scores_cover_every_unit(net):
    lambdas = torch.tensor(net.cfg.lambdas)
    batches = [(torch.rand(2, 3, 64, 64), torch.tensor([0, 6]))]
    scores = prune.taylor_scores(net, batches, lambdas)
    for wab in prune.attention_blocks(net):
        for b in wab.blocks:
            assert scores[b].shape == (b.fc1.out_features,) and (scores[b] >= 0).all()


def test_export_describes_the_pruned_widths(net):
    tensors = {}
    layers = export.describe(prune.prune(net, 0.5).g_a, "g_a", tensors)
    widths = [layer["mlp_hidden"] for layer in layers if layer["type"] == "attention"]
    assert widths == [16, 16]
    assert tensors["g_a.4.blocks.0.fc1.weight"].shape == (16, 16)
