# Copyright 2026 video_object_node maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
SIMONe encoder, split at the seam the runtime streams on.

``FrameEncoder``: one frame -> its S spatial encodings (CNN + spatial position encoding). It never
sees the frame's place in the window, so its output can be cached and reused by every window that
holds the frame.

``WindowEncoder``: T frames of cached encodings -> object and frame posteriors. It adds the temporal
position encoding, attends over all S*T encodings (space and time), pools each frame's S encodings
down to K, attends over the K*T encodings, then aggregates over time (objects) and over space (frames).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import SimoneConfig


def sinusoidal_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sin/cos features of scalar ``positions`` [N] -> [N, dim] (``dim`` even)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / max(half, 1))
    angles = positions.float()[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def position_table_2d(gh: int, gw: int, dim: int) -> torch.Tensor:
    """Return the fixed sinusoidal encoding of a gh x gw grid's (y, x), row-major -> [gh*gw, dim]."""
    half = dim // 2
    ys, xs = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing='ij')
    table = torch.cat([sinusoidal_1d(ys.flatten(), half), sinusoidal_1d(xs.flatten(), dim - half)], -1)
    return table[:, :dim]


def spatial_position_table(cfg: SimoneConfig) -> torch.Tensor:
    """Return the fixed sinusoidal encoding of the CNN grid's (y, x) -> [S, model_dim]."""
    return position_table_2d(*cfg.grid, cfg.model_dim)


def pooling_matrix(grid: tuple, out: tuple) -> torch.Tensor:
    """
    Adaptive average pooling of a ``grid`` (gh, gw) down to ``out`` (kh, kw) as a [K, S] matrix.

    A matrix (rather than ``adaptive_avg_pool2d``) exports to ONNX for any pair of sizes.
    """
    def weights_1d(n: int, m: int) -> torch.Tensor:
        w = torch.zeros(m, n)
        for i in range(m):
            start, end = (i * n) // m, -((-(i + 1) * n) // m)
            w[i, start:end] = 1.0 / (end - start)
        return w

    wy, wx = weights_1d(grid[0], out[0]), weights_1d(grid[1], out[1])
    return torch.einsum('ay,bx->abyx', wy, wx).reshape(out[0] * out[1], grid[0] * grid[1])


class SelfAttention(nn.Module):
    def __init__(self, *, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # 3x[B,h,N,d/h]
        y = F.scaled_dot_product_attention(q, k, v)                                                  # [B,h,N,d/h]
        return self.proj(y.transpose(1, 2).reshape(b, n, d))                                         # [B,N,D]


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, *, dim: int, heads: int, ff_dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim=dim, heads=heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Linear(ff_dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class FactorisedBlock(nn.Module):
    """
    Divided space-time attention over a window.

    A block over a window's T x S encodings that attends within each frame, then across time at each grid
    position (divided space-time attention, as TimeSformer): T*S^2 + S*T^2 attention pairs instead of (T*S)^2.

    Parameters
    ----------
        dim, heads, ff_dim: as ``TransformerBlock``.
        frames, spatial: T and S, the layout of the flattened tokens [B, T*S, D].

    """

    def __init__(self, *, dim: int, heads: int, ff_dim: int, frames: int, spatial: int):
        super().__init__()
        self.frames, self.spatial = frames, spatial
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim=dim, heads=heads)                 # within a frame
        self.norm_time = nn.LayerNorm(dim)
        self.attn_time = SelfAttention(dim=dim, heads=heads)            # across frames, per grid position
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Linear(ff_dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        t, s = self.frames, self.spatial
        x = x + self.attn(self.norm1(x).reshape(b * t, s, d)).reshape(b, n, d)          # [B*T, S, D] in frames
        y = self.norm_time(x).reshape(b, t, s, d).transpose(1, 2).reshape(b * s, t, d)  # [B*S, T, D] per position
        x = x + self.attn_time(y).reshape(b, s, t, d).transpose(1, 2).reshape(b, n, d)
        return x + self.mlp(self.norm2(x))


class CompetitiveReduction(nn.Module):
    """
    Slots that compete for the encodings of their frame (the reduction of claim 10 need not be pooling).

    Starting from the pooled slots [B, T, K, D], each round every encoding [B, T, S, D] is shared among the
    slots by a softmax over slots (so one slot owning an object leaves less of it to its neighbours), each
    slot takes the weighted mean of its share, and a residual MLP updates it.
    """

    ROUNDS = 2

    def __init__(self, dim: int, ff_dim: int):
        super().__init__()
        self.norm_inputs, self.norm_slots, self.norm_mlp = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.mlp = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Linear(ff_dim, dim))
        self.scale = dim ** -0.5

    def shares(self, slots: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Each encoding's share [B, T, K, S] among the slots [B, T, K, D] (keys [B, T, S, D]); sums to 1 over K."""
        logits = torch.einsum('btkd,btsd->btks', self.q(self.norm_slots(slots)), keys) * self.scale
        return torch.softmax(logits, dim=2)

    def forward(self, slots: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        inputs = self.norm_inputs(inputs)
        k, v = self.k(inputs), self.v(inputs)                                        # [B, T, S, D]
        for _ in range(self.ROUNDS):
            share = self.shares(slots, k)
            share = share / (share.sum(dim=3, keepdim=True) + 1e-6)                   # weighted mean over S
            slots = slots + torch.einsum('btks,btsd->btkd', share, v)
            slots = slots + self.mlp(self.norm_mlp(slots))
        return slots


class WindowSlotAttention(nn.Module):
    """
    Slot attention over a whole window.

    K learned initial slots compete (softmax over slots) for all S*T encodings, so a slot binds one object across time
    rather than one image region; each slot is then read out per frame from its share of that frame's encodings.

    The last of ``iterations`` rounds starts from detached slots (implicit differentiation through the fixed
    point, Chang et al. 2022), with a straight-through path to the learned initial slots (BO-QSA) so they
    still learn. ``init`` [B, K, D] replaces the learned slots (e.g. the previous window's slots).
    """

    def __init__(self, dim: int, ff_dim: int, num_slots: int, iterations: int):
        super().__init__()
        self.iterations = iterations
        self.init = nn.Parameter(torch.randn(num_slots, dim) * dim ** -0.5)
        self.norm_inputs, self.norm_slots, self.norm_mlp = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.gru = nn.GRUCell(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Linear(ff_dim, dim))
        self.readout = nn.Linear(dim, dim)
        self.scale = dim ** -0.5

    def shares(self, slots: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Each encoding's share [B, K, N] among the slots [B, K, D] (keys [B, N, D]); sums to 1 over K."""
        logits = torch.einsum('bkd,bnd->bkn', self.q(self.norm_slots(slots)), keys) * self.scale
        return torch.softmax(logits, dim=1)

    def forward(self, tokens: torch.Tensor, init: torch.Tensor | None = None) -> torch.Tensor:
        b, t, s, d = tokens.shape
        x = self.norm_inputs(tokens).reshape(b, t * s, d)                         # [B, N, D]
        k, v = self.k(x), self.v(x)
        start = self.init[None].repeat(b, 1, 1) if init is None else init     # [B, K, D] (a copy, not a view)
        slots = start
        for i in range(self.iterations):
            if self.training and i == self.iterations - 1 and self.iterations > 1:   # values unchanged; gradients only
                slots = slots.detach() + (start - start.detach())
            share = self.shares(slots, k)                                       # [B, K, N]
            weights = share / (share.sum(dim=2, keepdim=True) + 1e-6)
            updates = torch.einsum('bkn,bnd->bkd', weights, v)
            slots = self.gru(updates.reshape(-1, d), slots.reshape(-1, d)).reshape(b, -1, d)
            slots = slots + self.mlp(self.norm_mlp(slots))
        share = self.shares(slots, k).reshape(b, -1, t, s)                      # [B, K, T, S]
        weights = share / (share.sum(dim=3, keepdim=True) + 1e-6)
        per_frame = torch.einsum('bkts,btsd->btkd', weights, v.reshape(b, t, s, d))   # [B, T, K, D]
        return slots[:, None] + self.readout(per_frame)                          # [B, T, K, D]


PLACEMENT_MIN_SCALE, PLACEMENT_MAX_SCALE = 0.05, 1.5


def placement_from_raw(raw: torch.Tensor) -> torch.Tensor:
    """
    Turn the placement head's output [..., 4] into a placement (x, y, sx, sy).

    Centre in [-1, 1] image coordinates (x right, y down) and half-extent scales in [PLACEMENT_MIN_SCALE,
    PLACEMENT_MAX_SCALE].
    """
    centre = torch.tanh(raw[..., :2])
    scale = PLACEMENT_MIN_SCALE + (PLACEMENT_MAX_SCALE - PLACEMENT_MIN_SCALE) * torch.sigmoid(raw[..., 2:])
    return torch.cat([centre, scale], dim=-1)


class FrameMotion(nn.Module):
    """
    Where each frame's features are found in the window's first frame.

    For every encoding of frame t, the soft-argmax over frame 0's grid of their correlation gives a displacement; the S
    displacements [2S] are projected to D. A camera that turns shifts them all alike, one that advances spreads them:
    the viewpoint's change, read off the image rather than learned from scratch.
    """

    def __init__(self, cfg: SimoneConfig):
        super().__init__()
        d = cfg.model_dim
        gh, gw = cfg.grid
        ys, xs = torch.meshgrid((torch.arange(gh) + 0.5) / gh * 2 - 1, (torch.arange(gw) + 0.5) / gw * 2 - 1,
                                indexing='ij')
        self.register_buffer('cells', torch.stack([xs.flatten(), ys.flatten()], -1), persistent=False)   # [S, 2]
        self.norm = nn.LayerNorm(d)
        self.key = nn.Linear(d, d, bias=False)
        self.log_temperature = nn.Parameter(torch.tensor(2.0))
        self.proj = nn.Linear(2 * cfg.num_spatial, d)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        b, t, s, d = features.shape
        k = self.key(self.norm(features))                                              # [B, T, S, D]
        k = k / (k.norm(dim=-1, keepdim=True) + 1e-6)
        corr = torch.einsum('btsd,bud->btsu', k, k[:, 0]) * self.log_temperature.exp()   # [B, T, S, S0]
        found = torch.softmax(corr, dim=-1) @ self.cells                                # [B, T, S, 2]
        return self.proj((found - self.cells).reshape(b, t, 2 * s))                    # [B, T, D]


class FrameEncoder(nn.Module):
    """
    Per-frame CNN: [N, C, H, W] in [0, 1] -> [N, S, model_dim] spatial encodings.

    Parameters
    ----------
        cfg: the model config (conv_channels, conv_strides, model_dim, pos_encoding).

    """

    def __init__(self, cfg: SimoneConfig):
        super().__init__()
        layers, c_in = [], cfg.channels
        for c_out, stride in zip(cfg.conv_channels, cfg.conv_strides):
            layers += [nn.Conv2d(c_in, c_out, kernel_size=4 if stride == 2 else 3, stride=stride,
                                 padding=1), nn.ReLU()]
            c_in = c_out
        self.cnn = nn.Sequential(*layers)
        self.proj = nn.Linear(c_in, cfg.model_dim)
        if cfg.pos_encoding == 'learned':
            self.position = nn.Parameter(torch.randn(cfg.num_spatial, cfg.model_dim) * 0.02)
        else:
            self.register_buffer('position', spatial_position_table(cfg), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        h = self.cnn(frames * 2.0 - 1.0)                    # [N, C', gh, gw]
        h = h.flatten(2).transpose(1, 2)                    # [N, S, C']
        return self.proj(h) + self.position                 # [N, S, D]


def _head(dim_in: int, hidden: int, dim_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim_in, hidden), nn.ReLU(), nn.Linear(hidden, 2 * dim_out))


class WindowEncoder(nn.Module):
    """
    Cached encodings of a window -> posterior parameters.

    Input ``features`` [B, T, S, D] (from ``FrameEncoder``) and an optional ``cond`` [B, cond_dim].
    Returns (object_mean [B, K, Do], object_log_scale [B, K, Do], frame_mean [B, T, Df],
    frame_log_scale [B, T, Df]), and with ``placement`` each slot's per-frame placement [B, K, T, 4]
    (``placement_from_raw``); log-scales are softly bounded to [min_log_scale, max_log_scale].
    """

    def __init__(self, cfg: SimoneConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.model_dim
        if cfg.pos_encoding == 'learned':
            self.time_position = nn.Parameter(torch.randn(cfg.frames, d) * 0.02)
        else:
            self.register_buffer('time_position', sinusoidal_1d(torch.arange(cfg.frames), d), persistent=False)
        self.cond_proj = nn.Linear(cfg.cond_dim, d) if cfg.cond_dim else None
        block = dict(dim=d, heads=cfg.num_heads, ff_dim=cfg.ff_dim)
        if cfg.attention == 'factorised':
            self.spatial_blocks = nn.ModuleList(FactorisedBlock(**block, frames=cfg.frames, spatial=cfg.num_spatial)
                                                for _ in range(cfg.spatial_layers))
        else:
            self.spatial_blocks = nn.ModuleList(TransformerBlock(**block) for _ in range(cfg.spatial_layers))
        self.register_buffer('pool', pooling_matrix(cfg.grid, cfg.slot_grid), persistent=False)  # [K, S]
        self.compete = CompetitiveReduction(d, cfg.ff_dim) if cfg.slot_reduction == 'compete' else None
        self.slot_attention = (WindowSlotAttention(d, cfg.ff_dim, cfg.num_slots, cfg.slot_iterations)
                               if cfg.slot_reduction == 'slot_attention' else None)
        self.slot_blocks = nn.ModuleList(TransformerBlock(**block) for _ in range(cfg.slot_layers))
        self.norm = nn.LayerNorm(d)
        self.object_head = _head(d, d, cfg.object_dim)
        self.frame_head = _head(d, d, cfg.frame_dim)
        self.frame_tokens = (nn.Sequential(nn.LayerNorm(d), nn.Flatten(2), nn.Linear(cfg.num_spatial * d, d))
                             if cfg.frame_tokens else None)
        self.frame_motion = FrameMotion(cfg) if cfg.frame_motion else None
        self.placement_head = nn.Linear(d, 4) if cfg.placement else None

    def forward(self, features: torch.Tensor, cond: torch.Tensor | None = None):
        b, t, s, d = features.shape
        x = features + self.time_position[:, None, :]                   # [B, T, S, D]
        if self.cond_proj is not None:
            if cond is None:
                raise ValueError(f'this model is conditioned: pass cond of shape [B, {self.cfg.cond_dim}]')
            x = x + self.cond_proj(cond)[:, None, None, :]
        x = x.reshape(b, t * s, d)                                      # [B, T*S, D]
        for blk in self.spatial_blocks:
            x = blk(x)
        tokens = x.reshape(b, t, s, d)
        if self.slot_attention is not None:
            x = self.slot_attention(tokens)                             # [B, T, K, D]
        else:
            x = torch.einsum('ks,btsd->btkd', self.pool, tokens)       # [B, T, K, D]
        if self.compete is not None:
            x = self.compete(x, tokens)
        k = x.shape[2]
        x = x.reshape(b, t * k, d)                                      # [B, T*K, D]
        for blk in self.slot_blocks:
            x = blk(x)
        x = self.norm(x).reshape(b, t, k, d)                            # [B, T, K, D]
        obj = self.object_head(x.mean(dim=1))                           # [B, K, 2*Do]  (over time)
        frame = x.mean(dim=2)                                           # [B, T, D]  (over space)
        if self.frame_tokens is not None:
            frame = frame + self.frame_tokens(tokens)                   # [B, T, S, D] -> [B, T, D], layout kept
        if self.frame_motion is not None:
            frame = frame + self.frame_motion(features)                 # image motion against frame 0
        frm = self.frame_head(frame)                                    # [B, T, 2*Df]
        obj_mean, obj_log_scale = obj.chunk(2, dim=-1)
        frm_mean, frm_log_scale = frm.chunk(2, dim=-1)
        out = (obj_mean, self._bound(obj_log_scale), frm_mean, self._bound(frm_log_scale))
        if self.placement_head is not None:
            out += (placement_from_raw(self.placement_head(x)).transpose(1, 2),)   # [B, K, T, 4]
        return out

    def _bound(self, log_scale: torch.Tensor) -> torch.Tensor:
        # Smooth clamp to [min_log_scale, max_log_scale]: bounded, yet never a dead gradient.
        lo, hi = self.cfg.min_log_scale, self.cfg.max_log_scale
        log_scale = hi - F.softplus(hi - log_scale)
        return lo + F.softplus(log_scale - lo)
