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
    scores, _ = prune.taylor_scores(net, batches, lambdas)
    for wab in prune.attention_blocks(net):
        for b in wab.blocks:
            assert scores[b].shape == (b.fc1.out_features,) and (scores[b] >= 0).all()


def test_export_describes_the_pruned_widths(net):
    tensors = {}
    layers = export.describe(prune.prune(net, 0.5).g_a, "g_a", tensors)
    widths = [layer["mlp_hidden"] for layer in layers if layer["type"] == "attention"]
    assert widths == [16, 16]
    assert tensors["g_a.4.blocks.0.fc1.weight"].shape == (16, 16)


def test_keeping_every_head_changes_nothing(net):
    same = prune.prune(net, 1.0, heads=2)   # dim 16, head_dim 8: both heads
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net(x, torch.tensor([2.0]))["x_hat"], same(x, torch.tensor([2.0]))["x_hat"])
    assert same.cfg.attn_heads == [2, 2, 2, 2]


def test_head_pruning_removes_the_heads_rows_and_columns_and_rebuilds(net):
    scores = {b: torch.tensor([0.0, 1.0]) for wab in prune.attention_blocks(net) for b in wab.blocks}
    pruned = prune.prune(net, 1.0, heads=[1, 2, 1, 2], head_scores=scores)
    assert pruned.cfg.attn_heads == [1, 2, 1, 2]
    before, after = prune.attention_blocks(net)[0].blocks[1].attn, prune.attention_blocks(pruned)[0].blocks[1].attn
    assert after.qkv.weight.shape == (24, 16) and after.proj.weight.shape == (16, 8)
    # head 1 survives: its q, k and v rows (8..15, 24..31, 40..47 of the 48) in that order
    rows = list(range(8, 16)) + list(range(24, 32)) + list(range(40, 48))
    assert torch.equal(after.qkv.weight, before.qkv.weight[rows])
    assert torch.equal(after.proj.weight, before.proj.weight[:, 8:16])
    assert torch.equal(after.relative_position_bias, before.relative_position_bias[:, 1:])
    rebuilt = PaneNet(Config(**pruned.cfg.to_dict()))
    rebuilt.load_state_dict(pruned.state_dict())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out = rebuilt.eval()(x, torch.tensor([1.0]))["x_hat"]
    assert torch.isfinite(out).all()


def test_a_silenced_head_is_removed_without_changing_the_output(net):
    """Zeroing head 0's proj columns makes it contribute nothing; pruning it must then be exact."""
    silenced = prune.prune(net, 1.0)
    for wab in prune.attention_blocks(silenced):
        for b in wab.blocks:
            with torch.no_grad():
                b.attn.proj.weight[:, :b.attn.head_dim] = 0
    scores = {b: torch.tensor([0.0, 1.0]) for wab in prune.attention_blocks(silenced) for b in wab.blocks}
    pruned = prune.prune(silenced, 1.0, heads=1, head_scores=scores)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = silenced(x, torch.tensor([4.0]))["x_hat"], pruned(x, torch.tensor([4.0]))["x_hat"]
    assert torch.allclose(a, b, atol=1e-5)


def test_taylor_scores_cover_every_head(net):
    lambdas = torch.tensor(net.cfg.lambdas)
    _, heads = prune.taylor_scores(net, [(torch.rand(2, 3, 64, 64), torch.tensor([1, 5]))], lambdas)
    for wab in prune.attention_blocks(net):
        for b in wab.blocks:
            assert heads[b].shape == (b.attn.heads,) and (heads[b] >= 0).all()


def test_export_records_heads_and_head_width(net):
    tensors = {}
    layers = export.describe(prune.prune(net, 1.0, heads=1).g_s, "g_s", tensors)
    attention = [layer for layer in layers if layer["type"] == "attention"]
    assert [(a["heads"], a["head_dim"]) for a in attention] == [(1, 8), (1, 8)]
    assert tensors["g_s.0.blocks.0.attn.qkv.weight"].shape == (24, 16)
