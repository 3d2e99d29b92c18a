"""Pane's network: WACNN-style window attention codec, sized for two CPU cores.

References
- Zou, Song & Zhang, "The Devil Is in the Details: Window-based Attention for
  Image Compression", CVPR 2022 (WACNN): convolutions + window attention.
- Ballé et al., "Variational image compression with a scale hyperprior", ICLR 2018
  (g_a, g_s, h_a, h_s, GDN, factorized `entropyBottleneck`).
- Minnen & Singh, "Channel-wise autoregressive entropy models", ICIP 2020
  (slices, latent residual prediction).
- Cui et al., "Asymmetric gained deep image compression with continuous rate
  adaptation", CVPR 2021 (gain units).

Names match the weight keys that the Swift runtime reads (Sources/PaneModel).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

# The shipped model's anchors: the 7 of the first sessions, 0.18 added at iteration 35,463 and
# 0.0009 at 44,855 (widen.py); a fresh `train.py` starts from the same set.
LAMBDAS = [0.0009, 0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.18]
SCALE_MIN = 0.11
SCALE_MAX = 64.0
SCALE_LEVELS = 64
LIKELIHOOD_MIN = 1e-9
ATTN_MASK_VALUE = -100.0  # added to logits across shifted-window region borders (Swin)
Z_TABLE_MIN_HALF_RANGE = 24  # the ẑ tables cover at least -24…24


@dataclass
class Config:
    N: int = 64          # channels of g_a / g_s hidden layers
    # Channels of the 1/8-resolution stage of g_a / g_s (g_a's third convolution and GDN, g_s's
    # first deconvolution and inverse GDN); None: N. Widened by `widen.py --stage8`.
    N8: int | None = None
    M: int = 192         # latent channels (96 until widen.py, 2026-11-30)
    Nz: int = 64         # hyperlatent channels
    slices: int = 4      # channel-wise slices of y
    slice_hidden: int = 56  # 64 until slim.py, 2026-11-30
    head_dim: int = 32
    window_hi: int = 8   # attention window at 1/4 resolution
    window_lo: int = 4   # attention window at 1/16 resolution
    mlp_ratio: int = 2
    lambdas: list = field(default_factory=lambda: list(LAMBDAS))
    # MLP hidden widths of the four attention blocks (g_a hi, g_a lo, g_s lo, g_s hi) after
    # structured pruning (Training/prune.py); None: dim · mlp_ratio everywhere.
    mlp_hidden: list | None = None
    # Attention heads kept in each of the four attention blocks after head pruning (same order;
    # every head stays head_dim wide); None: dim // head_dim everywhere.
    attn_heads: list | None = None

    @property
    def n8(self) -> int:
        return self.N8 or self.N

    def hidden(self, block: int, dim: int) -> int:
        return self.mlp_hidden[block] if self.mlp_hidden else dim * self.mlp_ratio

    def heads(self, block: int, dim: int) -> int:
        return self.attn_heads[block] if self.attn_heads else max(1, dim // self.head_dim)

    def to_dict(self):
        d = asdict(self)
        if d["N8"] is None:  # checkpoints and manifests from before the field stay byte-identical
            del d["N8"]
        return d


def scale_table() -> torch.Tensor:
    """Log-spaced scales; the entropy coder uses the index into this table."""
    return torch.exp(torch.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), SCALE_LEVELS))


def ste_round(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


class LowerBound(torch.autograd.Function):
    """max(x, bound) whose gradient still flows when it would push x up."""

    @staticmethod
    def forward(ctx, x, bound):
        ctx.save_for_backward(x)
        ctx.bound = bound
        return torch.clamp_min(x, bound)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        pass_through = (x >= ctx.bound) | (g < 0)
        return g * pass_through, None


def lower_bound(x, bound: float):
    return LowerBound.apply(x, bound)


class GDN(nn.Module):
    """Generalized divisive normalization (Ballé et al. 2016).

    y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2); the inverse multiplies.
    beta and gamma are stored reparametrized (squared, offset) during training;
    `effective()` gives the plain values that are exported.
    """

    pedestal = (2.0 ** -18) ** 2

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = inverse
        self.beta_bound = (beta_min + self.pedestal) ** 0.5
        self.gamma_bound = self.pedestal ** 0.5
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + self.pedestal))
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + self.pedestal))

    def effective(self):
        beta = lower_bound(self.beta, self.beta_bound) ** 2 - self.pedestal
        gamma = lower_bound(self.gamma, self.gamma_bound) ** 2 - self.pedestal
        return beta, gamma

    def forward(self, x):
        beta, gamma = self.effective()
        c = x.shape[1]
        norm = F.conv2d(x * x, gamma.view(c, c, 1, 1).to(x.dtype), beta.to(x.dtype))
        norm = torch.sqrt(norm)
        return x * norm if self.inverse else x / norm


def conv(cin, cout, k=5, stride=2):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def deconv(cin, cout, k=5, stride=2):
    return nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=k // 2, output_padding=stride - 1)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside non-overlapping windows with a relative position bias.
    The heads span `heads · head_dim` channels (`dim` unless heads were pruned)."""

    def __init__(self, dim: int, heads: int, window: int, head_dim: int | None = None):
        super().__init__()
        self.dim, self.heads, self.window = dim, heads, window
        self.head_dim = head_dim or dim // heads
        self.inner = heads * self.head_dim
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * self.inner)
        self.proj = nn.Linear(self.inner, dim)
        self.relative_position_bias = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias, std=0.02)
        self.register_buffer("relative_index", relative_position_index(window), persistent=False)

    def forward(self, x, mask=None):
        # x: (B*nW, T, C) with T = window²
        bw, t, _ = x.shape
        qkv = self.qkv(x).reshape(bw, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (bw, heads, t, t)
        bias = self.relative_position_bias[self.relative_index.view(-1)].view(t, t, self.heads).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0).to(attn.dtype)
        if mask is not None:  # (nW, t, t)
            nw = mask.shape[0]
            attn = attn.view(bw // nw, nw, self.heads, t, t) + mask.unsqueeze(1).unsqueeze(0).to(attn.dtype)
            attn = attn.view(bw, self.heads, t, t)
        attn = attn.float().softmax(dim=-1).to(v.dtype)
        out = (attn @ v).transpose(1, 2).reshape(bw, t, self.inner)
        return self.proj(out)


def relative_position_index(w: int) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)  # 2, T
    rel = coords[:, :, None] - coords[:, None, :]  # 2, T, T
    rel = rel.permute(1, 2, 0) + (w - 1)
    return rel[..., 0] * (2 * w - 1) + rel[..., 1]


def shifted_window_mask(h: int, w: int, window: int, shift: int) -> torch.Tensor:
    """(nW, T, T) additive mask: tokens from different regions of a rolled image do not attend."""
    region = torch.zeros(h, w)
    label = 0
    for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
        for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            region[hs, ws] = label
            label += 1
    win = region.view(h // window, window, w // window, window).permute(0, 2, 1, 3).reshape(-1, window * window)
    diff = win[:, :, None] != win[:, None, :]
    return diff.float() * ATTN_MASK_VALUE


class SwinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, shift: bool, hidden: int, head_dim: int | None = None):
        super().__init__()
        self.window = window
        self.shift = window // 2 if shift else 0
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window, head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self._mask_cache = {}

    def mask(self, h, w, device):
        key = (h, w, str(device))
        if key not in self._mask_cache:
            self._mask_cache[key] = shifted_window_mask(h, w, self.window, self.shift).to(device)
        return self._mask_cache[key]

    def forward(self, x):
        # x: (B, H, W, C)
        b, h, w, c = x.shape
        ws = self.window
        assert h % ws == 0 and w % ws == 0, f"feature map {h}x{w} is not a multiple of window {ws}"
        shortcut = x
        x = self.norm1(x)
        if self.shift:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        win = x.reshape(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        mask = self.mask(h, w, x.device) if self.shift else None
        win = self.attn(win, mask)
        x = win.reshape(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        if self.shift:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = shortcut + x
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class WindowAttentionBlock(nn.Module):
    """A regular and a shifted Swin block on an NCHW feature map."""

    def __init__(self, dim: int, head_dim: int, window: int, hidden: int, heads: int | None = None):
        super().__init__()
        full = max(1, dim // head_dim)
        width = dim // full   # each head's width, as before pruning
        heads = heads or full
        self.blocks = nn.ModuleList([
            SwinBlock(dim, heads, window, shift=False, hidden=hidden, head_dim=width),
            SwinBlock(dim, heads, window, shift=True, hidden=hidden, head_dim=width),
        ])

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        for blk in self.blocks:
            x = blk(x)
        return x.permute(0, 3, 1, 2)


class EntropyBottleneck(nn.Module):
    """Factorized prior for z (Ballé et al. 2018, appendix 6.1), filters (3, 3, 3)."""

    filters = (3, 3, 3)

    def __init__(self, channels: int, init_scale: float = 10.0, tail_mass: float = 1e-9):
        super().__init__()
        self.channels = channels
        self.tail_mass = tail_mass
        dims = (1,) + self.filters + (1,)
        scale = init_scale ** (1 / (len(self.filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(self.filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(self.filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        t = math.log(2 / tail_mass - 1)
        self.quantiles = nn.Parameter(torch.tensor([-init_scale, 0.0, init_scale]).repeat(channels, 1, 1))
        self.register_buffer("target", torch.tensor([-t, 0.0, t]), persistent=False)

    def logits_cumulative(self, x, stop_gradient: bool = False):
        # x: (C, 1, L)
        for i in range(len(self.filters) + 1):
            m = F.softplus(self.matrices[i])
            b = self.biases[i]
            if stop_gradient:
                m, b = m.detach(), b.detach()
            x = torch.matmul(m, x) + b
            if i < len(self.factors):
                f = torch.tanh(self.factors[i])
                if stop_gradient:
                    f = f.detach()
                x = x + f * torch.tanh(x)
        return x

    def aux_loss(self):
        logits = self.logits_cumulative(self.quantiles, stop_gradient=True)
        return torch.abs(logits - self.target).sum()

    def likelihood(self, z):
        # z: (B, C, H, W) -> same shape
        b, c, h, w = z.shape
        v = z.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self.logits_cumulative(v - 0.5)
        upper = self.logits_cumulative(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        lik = lower_bound(lik, LIKELIHOOD_MIN)
        return lik.reshape(c, b, h, w).permute(1, 0, 2, 3)

    @torch.no_grad()
    def pmf_table(self):
        """Per channel: integer offset (lowest symbol) and pmf over integer symbols in [lo, hi]."""
        q = self.quantiles.detach()[:, 0, :]
        # At least ±Z_TABLE_MIN_HALF_RANGE: until the aux loss has converged the quantiles are
        # too narrow, and symbols outside the table cost an escape.
        lo = torch.clamp(torch.floor(q[:, 0]).long(), max=-Z_TABLE_MIN_HALF_RANGE)
        hi = torch.clamp(torch.ceil(q[:, 2]).long(), min=Z_TABLE_MIN_HALF_RANGE)
        span = int((hi - lo).max().item()) + 1
        samples = lo[:, None].float() + torch.arange(span).float()[None, :]
        lower = self.logits_cumulative(samples.unsqueeze(1) - 0.5)
        upper = self.logits_cumulative(samples.unsqueeze(1) + 0.5)
        sign = -torch.sign(lower + upper)
        pmf = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))[:, 0, :]
        lengths = (hi - lo + 1)
        for ch in range(self.channels):
            pmf[ch, lengths[ch]:] = 0
        return lo, lengths, pmf


def gaussian_likelihood(y, mean, scale):
    scale = lower_bound(scale, SCALE_MIN)
    v = torch.abs(y - mean)
    upper = torch.special.ndtr((0.5 - v) / scale)
    lower = torch.special.ndtr((-0.5 - v) / scale)
    return lower_bound(upper - lower, LIKELIHOOD_MIN)


def slice_net(cin, hidden, cout):
    return nn.Sequential(conv(cin, hidden, 3, 1), nn.ReLU(inplace=True), conv(hidden, cout, 3, 1))


class PaneNet(nn.Module):
    def __init__(self, cfg: Config | None = None):
        super().__init__()
        cfg = cfg or Config()
        self.cfg = cfg
        N, M, Nz = cfg.N, cfg.M, cfg.Nz
        assert M % cfg.slices == 0
        self.slice_size = M // cfg.slices
        self.g_a = nn.Sequential(
            conv(3, N), GDN(N),
            conv(N, N), GDN(N),
            WindowAttentionBlock(N, cfg.head_dim, cfg.window_hi, cfg.hidden(0, N), cfg.heads(0, N)),
            conv(N, cfg.n8), GDN(cfg.n8),
            conv(cfg.n8, M),
            WindowAttentionBlock(M, cfg.head_dim, cfg.window_lo, cfg.hidden(1, M), cfg.heads(1, M)),
        )
        self.g_s = nn.Sequential(
            WindowAttentionBlock(M, cfg.head_dim, cfg.window_lo, cfg.hidden(2, M), cfg.heads(2, M)),
            deconv(M, cfg.n8), GDN(cfg.n8, inverse=True),
            deconv(cfg.n8, N), GDN(N, inverse=True),
            WindowAttentionBlock(N, cfg.head_dim, cfg.window_hi, cfg.hidden(3, N), cfg.heads(3, N)),
            deconv(N, N), GDN(N, inverse=True),
            deconv(N, 3),
        )
        self.h_a = nn.Sequential(
            conv(M, N, 3, 1), nn.ReLU(inplace=True),
            conv(N, N), nn.ReLU(inplace=True),
            conv(N, Nz),
        )
        self.h_s = nn.Sequential(
            deconv(Nz, N), nn.ReLU(inplace=True),
            deconv(N, N * 3 // 2), nn.ReLU(inplace=True),
            conv(N * 3 // 2, 2 * M, 3, 1),
        )
        s, hdn = self.slice_size, cfg.slice_hidden
        self.cc_mean = nn.ModuleList([slice_net(M + s * i, hdn, s) for i in range(cfg.slices)])
        self.cc_scale = nn.ModuleList([slice_net(M + s * i, hdn, s) for i in range(cfg.slices)])
        self.lrp = nn.ModuleList([slice_net(M + s * (i + 1), hdn, s) for i in range(cfg.slices)])
        self.entropyBottleneck = EntropyBottleneck(Nz)
        # Gain units: one gain / inverse gain vector per trained lambda, stored as logs.
        lam = torch.tensor(cfg.lambdas)
        init = 0.5 * torch.log(lam / 0.013)
        self.log_gain = nn.Parameter(init[:, None].repeat(1, M))
        self.log_inv_gain = nn.Parameter(-init[:, None].repeat(1, M))
        self.register_buffer("scale_table", scale_table(), persistent=False)

    # ----- rate control -----
    @property
    def num_anchors(self):
        return len(self.cfg.lambdas)

    def gains_at(self, position: torch.Tensor):
        """position in [0, K-1] (one per sample): exponentially interpolated gain and inverse gain."""
        k = torch.clamp(position.floor().long(), 0, self.num_anchors - 2)
        frac = (position - k.float()).unsqueeze(1)
        g = self.log_gain[k] * (1 - frac) + self.log_gain[k + 1] * frac
        ig = self.log_inv_gain[k] * (1 - frac) + self.log_inv_gain[k + 1] * frac
        return torch.exp(g), torch.exp(ig)

    def quality_to_position(self, quality: float) -> float:
        q = min(max(float(quality), 0.0), 100.0)
        return q / 100.0 * (self.num_anchors - 1)

    # ----- entropy parameters -----
    def slice_params(self, i, hyper_mean, hyper_scale, previous):
        mean_in = torch.cat([hyper_mean] + previous, dim=1)
        scale_in = torch.cat([hyper_scale] + previous, dim=1)
        mu = self.cc_mean[i](mean_in)
        sigma = self.cc_scale[i](scale_in)
        return mu, sigma

    def residual(self, i, hyper_mean, previous, y_hat_i):
        return 0.5 * torch.tanh(self.lrp[i](torch.cat([hyper_mean] + previous + [y_hat_i], dim=1)))

    def forward(self, x, position, autocast: bool = False):
        """Training / evaluation forward with additive-noise likelihoods.

        position: (B,) float anchor positions. Returns x_hat and likelihoods.
        """
        dev_type = x.device.type
        gain, inv_gain = self.gains_at(position)
        with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=autocast):
            y = self.g_a(x)
        y = y.float() * gain[:, :, None, None]
        with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=autocast):
            z = self.h_a(y)
        z = z.float()
        if self.training:
            z_noisy = z + torch.empty_like(z).uniform_(-0.5, 0.5)
        else:
            z_noisy = torch.round(z)
        z_lik = self.entropyBottleneck.likelihood(z_noisy)
        z_hat = ste_round(z)
        hyper = self.h_s(z_hat).float()
        hyper_mean, hyper_scale = hyper.chunk(2, dim=1)
        y_slices = y.chunk(self.cfg.slices, dim=1)
        previous, liks = [], []
        for i, y_i in enumerate(y_slices):
            mu, sigma = self.slice_params(i, hyper_mean, hyper_scale, previous)
            if self.training:
                y_noisy = y_i + torch.empty_like(y_i).uniform_(-0.5, 0.5)
            else:
                y_noisy = torch.round(y_i - mu) + mu
            liks.append(gaussian_likelihood(y_noisy, mu, sigma))
            y_hat_i = ste_round(y_i - mu) + mu
            y_hat_i = y_hat_i + self.residual(i, hyper_mean, previous, y_hat_i)
            previous.append(y_hat_i)
        y_hat = torch.cat(previous, dim=1) * inv_gain[:, :, None, None]
        with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=autocast):
            x_hat = self.g_s(y_hat)
        return {"x_hat": x_hat.float(), "y_lik": torch.cat(liks, dim=1), "z_lik": z_lik}


def bits(lik):
    return -torch.log2(lik).sum(dim=(1, 2, 3))


def rd_loss(out, x, lambdas):
    """Per-sample λ·255²·MSE + bpp, averaged over the batch."""
    b, _, h, w = x.shape
    bpp = (bits(out["y_lik"]) + bits(out["z_lik"])) / (h * w)
    mse = ((out["x_hat"] - x) ** 2).mean(dim=(1, 2, 3))
    loss = (lambdas * 255 ** 2 * mse + bpp).mean()
    return loss, bpp.mean(), mse.mean()
