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
Layers and losses the classic video generators share (``generation/<kind>.py``).

Every generator here draws frames of the same size with the same small convolutional decoder
(``FrameDecoder``: a code to a 1/8-size map, three transposed convolutions) and is judged by critics of the
same shape (``image_critic`` on single frames, ``video_critic``: 3-D convolutions over the clip), so that the
side-by-side comparison is about each model's idea, not its width. Sizes must be divisible by 8.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def check_size(size: tuple, frames: int) -> tuple[int, int]:
    """Return (H, W) when both are divisible by 8 and ``frames`` by 4 (every decoder here halves them that often)."""
    h, w = int(size[0]), int(size[1])
    if h % 8 or w % 8 or h < 8 or w < 8:
        raise ValueError(f'frame size must be divisible by 8, got {h}x{w}')
    if frames < 4 or frames % 4:
        raise ValueError(f'the generators need a multiple of 4 frames, got {frames}')
    return h, w


class FrameDecoder(nn.Module):
    """A code [N, D] -> a frame [N, C, H, W] in [0, 1] (or raw outputs with ``sigmoid=False``)."""

    def __init__(self, in_dim: int, size: tuple, channels: int, width: int = 64, sigmoid: bool = True):
        super().__init__()
        h, w = size[0] // 8, size[1] // 8
        self.base = (2 * width, h, w)
        self.from_code = nn.Linear(in_dim, 2 * width * h * w)
        layers = [nn.BatchNorm2d(2 * width), nn.ReLU(),
                  nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
                  nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2), nn.ReLU(),
                  nn.ConvTranspose2d(width // 2, channels, 4, 2, 1)]
        self.net = nn.Sequential(*layers, *([nn.Sigmoid()] if sigmoid else []))

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(self.from_code(code).reshape(-1, *self.base))


class FrameEncoder(nn.Module):
    """A frame [N, C, H, W] in [0, 1] -> a code [N, D] (three strided convolutions and a linear layer)."""

    def __init__(self, channels: int, size: tuple, out_dim: int, width: int = 64):
        super().__init__()
        h, w = size[0] // 8, size[1] // 8
        self.net = nn.Sequential(
            nn.Conv2d(channels, width // 2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width // 2, width, 4, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * h * w, out_dim))

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        return self.net(frame * 2 - 1)


def _norm(layer: nn.Module, spectral: bool) -> nn.Module:
    return spectral_norm(layer) if spectral else layer


def image_critic(channels: int, size: tuple, width: int = 64, spectral: bool = False) -> nn.Sequential:
    """Single frames [N, C, H, W] in [-1, 1] -> one score each."""
    h, w = size[0] // 8, size[1] // 8
    return nn.Sequential(
        _norm(nn.Conv2d(channels, width // 2, 4, 2, 1), spectral), nn.LeakyReLU(0.2),
        _norm(nn.Conv2d(width // 2, width, 4, 2, 1), spectral), nn.LeakyReLU(0.2),
        _norm(nn.Conv2d(width, 2 * width, 4, 2, 1), spectral), nn.LeakyReLU(0.2), nn.Flatten(),
        _norm(nn.Linear(2 * width * h * w, 1), spectral))


def video_critic(channels: int, width: int = 64, spectral: bool = False) -> nn.Sequential:
    """Clips [N, C, T, H, W] in [-1, 1] -> one score each (3-D convolutions, pooled)."""
    return nn.Sequential(
        _norm(nn.Conv3d(channels, width // 2, (3, 4, 4), (1, 2, 2), (1, 1, 1)), spectral), nn.LeakyReLU(0.2),
        _norm(nn.Conv3d(width // 2, width, (3, 4, 4), (1, 2, 2), (1, 1, 1)), spectral), nn.LeakyReLU(0.2),
        _norm(nn.Conv3d(width, 2 * width, (3, 4, 4), (2, 2, 2), (1, 1, 1)), spectral), nn.LeakyReLU(0.2),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), _norm(nn.Linear(2 * width, 1), spectral))


def as_clip(video: torch.Tensor) -> torch.Tensor:
    """[B, T, C, H, W] in [0, 1] -> [B, C, T, H, W] in [-1, 1], as the video critics read it."""
    return video.transpose(1, 2) * 2 - 1


def random_frames(video: torch.Tensor, rng: np.random.Generator, per_clip: int = 1) -> torch.Tensor:
    """``per_clip`` random frames of each clip [B, T, C, H, W] -> [B * per_clip, C, H, W] in [-1, 1]."""
    b, t = video.shape[:2]
    picks = torch.from_numpy(np.stack([rng.choice(t, per_clip, replace=False) for _ in range(b)]))
    return video[torch.arange(b)[:, None], picks].flatten(0, 1) * 2 - 1


# Losses ----------------------------------------------------------------------------------------------------
def critic_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Return the critic's side of a GAN: 'ns' (non-saturating), 'hinge' or 'wasserstein'."""
    if kind == 'ns':
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == 'hinge':
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == 'wasserstein':
        return fake.mean() - real.mean()
    raise ValueError(f'unknown GAN loss {kind!r}')


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Return the generator's side of a GAN loss (see ``critic_loss``)."""
    if kind == 'ns':
        return F.softplus(-fake).mean()
    if kind in ('hinge', 'wasserstein'):
        return -fake.mean()
    raise ValueError(f'unknown GAN loss {kind!r}')


@torch.no_grad()
def clip_singular_values(module: nn.Module, limit: float = 1.0) -> None:
    """Clip every weight matrix's singular values to ``limit`` (TGAN's constraint on a Wasserstein critic)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Conv3d, nn.Linear)):
            w = layer.weight.reshape(layer.weight.shape[0], -1)
            u, s, vh = torch.linalg.svd(w, full_matrices=False)
            if s.max() > limit:
                layer.weight.copy_(((u * s.clamp(max=limit)) @ vh).reshape(layer.weight.shape))


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor, prior_mu=None, prior_logvar=None) -> torch.Tensor:
    """KL(N(mu, e^logvar) || prior) summed over the last axis (prior N(0, I) when not given)."""
    if prior_mu is None:
        return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)
    return 0.5 * (prior_logvar - logvar + (logvar.exp() + (mu - prior_mu).pow(2)) / prior_logvar.exp() - 1).sum(-1)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    noise = torch.randn(mu.shape, generator=generator) if generator is not None else torch.randn_like(mu)
    return mu + noise * (0.5 * logvar).exp()
