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
Siamese masked autoencoding (SiamMAE, Gupta et al. 2023) of frame pairs: self-supervised frame features.

    past frame  [B, C, H, W] --encoder--> all S tokens                               (0% masked)
    future frame --mask 95% of patches--> encoder --> the visible tokens [B, V, D]
    decoder: the future's tokens (visible + mask tokens, with positions) attend to themselves and, by
             cross-attention, to the past's tokens -> the pixels of every patch; loss on the masked ones,
             each patch's pixels normalised by their own mean and std (as MAE).

The encoder is SIMONe's own frame CNN (``cnn``: the weights can start a SIMONe model, ``train.init_from_pretrained``)
or a small ViT (``vit``). For the CNN a patch is one cell of its output grid; masked patches are blanked in
the input (a CNN cannot skip them), and only the visible cells' tokens go on. Pure PyTorch, no ROS.
"""
from __future__ import annotations


import torch
from torch import nn

from .config import SiamMAEConfig, SimoneConfig
from .encoder import FrameEncoder, TransformerBlock, position_table_2d


class CrossBlock(nn.Module):
    """x + self-attention(x), x + cross-attention(x -> memory), x + MLP(x); pre-norm."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.self_block = TransformerBlock(dim=dim, heads=heads, ff_dim=2 * dim)
        self.norm_q, self.norm_kv = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.cross = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        x = self.self_block(x)
        kv = self.norm_kv(memory)
        return x + self.cross(self.norm_q(x), kv, kv, need_weights=False)[0]


class VitEncoder(nn.Module):
    """Patchify (``patch`` px), linear embedding, sinusoidal positions, transformer over the given patches."""

    def __init__(self, cfg: SimoneConfig, patch: int, layers: int, heads: int):
        super().__init__()
        self.patch, self.grid = patch, (cfg.height // patch, cfg.width // patch)
        d = cfg.model_dim
        self.embed = nn.Linear(cfg.channels * patch * patch, d)
        self.register_buffer('position', position_table_2d(*self.grid, d), persistent=False)
        self.blocks = nn.ModuleList(TransformerBlock(dim=d, heads=heads, ff_dim=2 * d) for _ in range(layers))

    def forward(self, frames: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(patchify(frames * 2 - 1, self.patch)) + self.position            # [B, S, D]
        if keep is not None:
            x = torch.gather(x, 1, keep[..., None].expand(-1, -1, x.shape[-1]))          # [B, V, D]
        for block in self.blocks:
            x = block(x)
        return x


def patchify(frames: torch.Tensor, patch: int) -> torch.Tensor:
    """[B, C, H, W] -> [B, S, C*p*p] (row-major patches)."""
    b, c, h, w = frames.shape
    x = frames.reshape(b, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(b, (h // patch) * (w // patch), c * patch * patch)


class SiamMAE(nn.Module):
    """Args: cfg: the pretraining config (``SiamMAEConfig``)."""

    def __init__(self, cfg: SiamMAEConfig):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.simone_cfg = s = cfg.simone_config()
        if cfg.encoder == 'cnn':
            self.encoder = FrameEncoder(s)
            self.patch = s.downsample
            self.grid = s.grid
        else:
            self.encoder = VitEncoder(s, cfg.vit_patch, cfg.vit_layers, cfg.heads)
            self.patch, self.grid = cfg.vit_patch, self.encoder.grid
        n, d, dd = self.grid[0] * self.grid[1], s.model_dim, cfg.decoder_dim
        self.num_patches = n
        self.to_decoder = nn.Linear(d, dd)
        self.mask_token = nn.Parameter(torch.zeros(dd))
        self.decoder_position = nn.Parameter(torch.randn(n, dd) * 0.02)
        self.decoder = nn.ModuleList(CrossBlock(dd, cfg.heads) for _ in range(cfg.decoder_layers))
        self.to_pixels = nn.Sequential(nn.LayerNorm(dd), nn.Linear(dd, s.channels * self.patch * self.patch))

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """All patches' encoder tokens [B, S, D] of frames [B, C, H, W] in [0, 1] (what propagation reads)."""
        return self.encoder(frames)

    def random_keep(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw the indices [B, V] of the future frame's visible patches (at least one)."""
        visible = max(1, round(self.num_patches * (1 - self.cfg.mask_ratio)))
        noise = torch.rand(batch, self.num_patches, generator=generator)
        return noise.argsort(dim=1)[:, :visible].sort(dim=1).values

    def encode_visible(self, future: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        if self.cfg.encoder == 'vit':
            return self.encoder(future, keep)
        b, c, h, w = future.shape
        gh, gw = self.grid
        visible = torch.zeros(b, gh * gw, device=future.device)
        visible.scatter_(1, keep.to(future.device), 1.0)
        pixel_mask = visible.reshape(b, 1, gh, 1, gw, 1).expand(b, 1, gh, self.patch, gw, self.patch)
        blanked = future * pixel_mask.reshape(b, 1, h, w) + 0.5 * (1 - pixel_mask.reshape(b, 1, h, w))
        tokens = self.encoder(blanked)                                                     # [B, S, D]
        return torch.gather(tokens, 1, keep[..., None].to(future.device).expand(-1, -1, tokens.shape[-1]))

    def forward(self, past: torch.Tensor, future: torch.Tensor, keep: torch.Tensor) -> dict:
        """Reconstruction loss of the future's masked patches: past, future [B, C, H, W] in [0, 1]; keep [B, V]."""
        b = past.shape[0]
        memory = self.to_decoder(self.features(past))                                     # [B, S, dd]
        visible = self.to_decoder(self.encode_visible(future, keep))                      # [B, V, dd]
        tokens = self.mask_token.to(visible.dtype).expand(b, self.num_patches, -1).clone()
        tokens.scatter_(1, keep[..., None].expand(-1, -1, tokens.shape[-1]), visible)
        x = tokens + self.decoder_position
        for block in self.decoder:
            x = block(x, memory)
        pred = self.to_pixels(x)                                                           # [B, S, C*p*p]
        target = patchify(future, self.patch)
        target = (target - target.mean(-1, keepdim=True)) / (target.std(-1, keepdim=True) + 1e-6)
        masked = torch.ones(b, self.num_patches, device=past.device)
        masked.scatter_(1, keep, 0.0)
        per_patch = (pred - target).square().mean(-1)
        loss = (per_patch * masked).sum() / masked.sum().clamp_min(1)
        return {'loss': loss, 'visible_loss': (per_patch * (1 - masked)).sum() / (1 - masked).sum().clamp_min(1)}
