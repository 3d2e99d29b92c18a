"""int8 convolutions: integer accumulators equal to an explicit integer convolution, fp32 rounding
of the activation codes, weights in −127..127 per output channel, calibration that respects the
pixel grid of the first layer, and an export the manifest describes."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import export  # noqa: E402
import quantize  # noqa: E402


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(1)
    return [torch.rand(1, 3, 64, 64) for _ in range(2)]


def test_activation_codes_round_half_even_in_fp32_and_clamp():
    scale, zero = torch.tensor([0.5, 0.25]), torch.tensor([10, 0])
    x = torch.tensor([[0.25, 0.75, -100.0, 1000.0], [0.125, 0.375, -1.0, 63.0]]).view(1, 2, 1, 4)
    q = quantize.quantize_activation(x, scale, zero)
    # 0.25 / 0.5 = 0.5 → 0, 0.75 / 0.5 = 1.5 → 2 (ties to even); then + zero and clamp to 0..255
    assert q.view(2, 4).tolist() == [[10, 12, 0, 255], [0, 2, 0, 252]]


def test_weights_are_symmetric_int8_per_output_channel():
    w = torch.randn(6, 4, 3, 3) * torch.arange(1, 7).view(6, 1, 1, 1)
    q, s = quantize.quantize_weight(w, transposed=False)
    assert q.dtype == torch.int8 and int(q.min()) >= -127 and int(q.max()) <= 127
    assert (q.abs().amax(dim=(1, 2, 3)) == 127).all()          # each channel uses its full range
    assert torch.allclose(q.float() * s.view(-1, 1, 1, 1), w, atol=float(s.max()) / 2 + 1e-6)
    qt, st = quantize.quantize_weight(w.transpose(0, 1).contiguous(), transposed=True)
    assert torch.equal(qt, q.transpose(0, 1)) and torch.equal(st, s)


@pytest.mark.parametrize("transposed", [False, True])
def test_accumulators_equal_an_integer_convolution(transposed):
    torch.manual_seed(2)
    layer = (nn.ConvTranspose2d(5, 7, 5, 2, 2, 1) if transposed else nn.Conv2d(5, 7, 5, 2, 2))
    scale, zero = torch.rand(5) * 0.05 + 0.01, torch.randint(0, 256, (5,))
    q = quantize.QuantConv(layer, scale, zero)
    x = torch.randn(1, 5, 9, 7)
    codes = quantize.quantize_activation(x, q.in_scale, q.zero).long() - q.zero.long().view(1, -1, 1, 1)
    w = q.weight_q.long()
    # explicit integer sums, tap by tap
    if transposed:
        out = torch.zeros(1, 7, 18, 14, dtype=torch.long)
        for ky in range(5):
            for kx in range(5):
                for iy in range(9):
                    for ix in range(7):
                        oy, ox = iy * 2 - 2 + ky, ix * 2 - 2 + kx
                        if 0 <= oy < 18 and 0 <= ox < 14:
                            out[0, :, oy, ox] += (w[:, :, ky, kx] * codes[0, :, iy, ix].view(-1, 1)).sum(0)
    else:
        padded = torch.nn.functional.pad(codes, (2, 2, 2, 2))
        out = torch.zeros(1, 7, 5, 4, dtype=torch.long)
        for oy in range(5):
            for ox in range(4):
                patch = padded[0, :, oy * 2:oy * 2 + 5, ox * 2:ox * 2 + 5]
                out[0, :, oy, ox] = (w * patch.unsqueeze(0)).sum(dim=(1, 2, 3))
    acc = q.accumulate(x)
    assert torch.equal(acc.round().long(), out) and torch.equal(acc, acc.round())
    y = q(x)
    assert torch.allclose(y, (acc * q.out_scale.double().view(1, -1, 1, 1)).float() + q.bias.view(1, -1, 1, 1))


def test_linear_accumulators_equal_integer_products():
    torch.manual_seed(3)
    lin = nn.Linear(6, 5)
    q = quantize.QuantLinear(lin, torch.rand(6) * 0.01 + 0.03, torch.randint(100, 156, (6,)))  # covers ±3
    x = torch.randn(2, 7, 6)  # (batch, tokens, channels)
    codes = quantize.quantize_activation(x.reshape(-1, 6).t().reshape(1, 6, -1, 1), q.in_scale, q.zero)
    codes = codes.reshape(6, -1).t().long() - q.zero.long()
    expected = (codes.unsqueeze(1) * q.weight_q.long().unsqueeze(0)).sum(-1).reshape(2, 7, 5)
    assert torch.equal(q.accumulate(x).long(), expected)
    assert torch.allclose(q(x), lin(x), atol=0.05)


def test_quantized_network_stays_close_and_first_layer_reads_pixels_exactly(net, images):
    qnet = quantize.quantize(net, images)
    first = qnet.g_a[0]
    assert isinstance(first, quantize.QuantConv)
    assert torch.equal(first.zero, torch.zeros(3, dtype=torch.int32))
    pixels = torch.arange(256).float().div(255).view(1, 1, 1, 256).expand(1, 3, 1, 256)
    assert torch.equal(quantize.quantize_activation(pixels, first.in_scale, first.zero)[0, 0, 0], torch.arange(256).float())
    names = [n for s, i, n in quantize.conv_layers(qnet) if isinstance(s[i], quantize.QuantConv)]
    assert names == list(quantize.DEFAULT_LAYERS)
    x = images[0]
    with torch.no_grad():
        a = net(x, torch.tensor([3.0]))["x_hat"]
        b = qnet(x, torch.tensor([3.0]))["x_hat"]
    assert (a - b).abs().max() < 0.05 and not torch.equal(a, b)


def test_bias_correction_removes_the_mean_shift_and_only_the_bias_changes(net, images):
    """On the fp32 network's own inputs, every int8 layer's mean output error per channel is (about)
    zero after the correction and larger without it; the integer weights are the same either way."""
    plain = quantize.quantize(net, images, bias_correction=False)
    corrected = quantize.quantize(net, images, bias_correction=True)

    def shift(qnet, name):
        """Mean of (int8 − fp32) per output channel of layer `name`, over the images and anchors."""
        fp = dict((n, s[i]) for s, i, n in quantize.conv_layers(net))[name]
        q = dict((n, s[i]) for s, i, n in quantize.conv_layers(qnet))[name]
        seen = []
        hook = fp.register_forward_hook(lambda m, a, out: seen.append((q(a[0]) - out).double().mean((0, 2, 3))))
        with torch.no_grad():
            for x in images:
                for position in range(net.num_anchors):
                    net(x, torch.tensor([float(position)]))
        hook.remove()
        total = torch.stack(seen).mean(0)
        return total.abs().max().item()

    for name in ("g_a.2", "g_s.6"):
        before, after = shift(plain, name), shift(corrected, name)
        assert after < 1e-5 and before > 10 * after, (name, before, after)
    for (s1, i1, _), (s2, i2, _) in zip(quantize.conv_layers(plain), quantize.conv_layers(corrected)):
        if isinstance(s1[i1], quantize.QuantConv):
            assert torch.equal(s1[i1].weight_q, s2[i2].weight_q)
    moved = [(o1, a1) for (o1, a1, _), (o2, a2, _) in zip(quantize.linear_layers(plain), quantize.linear_layers(corrected))
             if not torch.equal(getattr(o1, a1).bias, getattr(o2, a2).bias)]
    assert moved, "the attention Linears' biases are corrected too"


def test_export_describes_int8_layers(net, images, tmp_path):
    qnet = quantize.quantize(net, images)
    manifest = export.export(qnet, "tiny-int8", tmp_path)
    types = {layer["name"]: layer["type"] for layer in manifest["g_a"] + manifest["g_s"] if "name" in layer}
    assert types["g_a.0"] == "conv_int8" and types["g_s.6"] == "deconv_int8" and types["g_s.8"] == "deconv"
    from safetensors.torch import load_file
    tensors = load_file(str(tmp_path / "tiny-int8.safetensors"))
    assert tensors["g_a.2.weight_q"].dtype == torch.int8
    assert tensors["g_a.2.zero"].dtype == torch.int32 and tensors["g_a.2.in_scale"].shape == (16,)
    assert json.loads((tmp_path / "tiny-int8.json").read_text())["sha256"] == manifest["sha256"]
    attention = [layer for layer in manifest["g_a"] + manifest["g_s"] if layer["type"] == "attention"]
    assert attention and all(layer["int8"] == list(quantize.LINEARS) for layer in attention)
    assert tensors["g_a.4.blocks.1.fc2.weight_q"].dtype == torch.int8
    assert "g_a.4.blocks.1.fc2.weight" not in tensors
