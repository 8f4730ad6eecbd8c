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
SVG-LP (Denton and Fergus, ICML 2018): frame prediction with a learned prior over per-frame latents.

Given the first ``context`` frames, predict the rest. Each frame is encoded to a code h_t; a latent z_t carries
what the past does not determine:

    posterior q(z_t | x_1..x_t)      a GRU over the codes up to t (training only)
    learned prior p(z_t | x_1..x_t-1) a GRU over the codes up to t-1 (sampling)
    predictor g_t = GRU([h_t-1, z_t]) -> decoder(g_t, skips of the last context frame) -> x_t

Loss: squared error of every predicted frame + ``beta`` * KL(q || p). At test time the predictions are fed back as
the past and z_t is drawn from the learned prior; ``predict`` scores against copying the last context frame.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import check_size, gaussian_kl, reparameterise
from .harness import VideoGenerator


class SkipEncoder(nn.Module):
    """A frame -> (code [N, D], feature maps at 1/2 and 1/4 size for the decoder's skips)."""

    def __init__(self, channels: int, size: tuple, code_dim: int, width: int):
        super().__init__()
        h, w = size[0] // 8, size[1] // 8
        self.down1 = nn.Sequential(nn.Conv2d(channels, width // 2, 4, 2, 1), nn.LeakyReLU(0.2))
        self.down2 = nn.Sequential(nn.Conv2d(width // 2, width, 4, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2))
        self.down3 = nn.Sequential(nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
                                   nn.Flatten(), nn.Linear(2 * width * h * w, code_dim), nn.Tanh())

    def forward(self, x: torch.Tensor):
        a = self.down1(x * 2 - 1)
        b = self.down2(a)
        return self.down3(b), (a, b)


class SkipDecoder(nn.Module):
    """A code [N, D] and skips -> a frame [N, C, H, W] in [0, 1]."""

    def __init__(self, channels: int, size: tuple, code_dim: int, width: int):
        super().__init__()
        self.base = (2 * width, size[0] // 8, size[1] // 8)
        self.from_code = nn.Linear(code_dim, 2 * width * self.base[1] * self.base[2])
        self.up1 = nn.Sequential(nn.BatchNorm2d(2 * width), nn.ReLU(), nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
                                 nn.BatchNorm2d(width), nn.ReLU())
        self.up2 = nn.Sequential(nn.ConvTranspose2d(2 * width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2),
                                 nn.ReLU())
        self.up3 = nn.Sequential(nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Sigmoid())

    def forward(self, code: torch.Tensor, skips) -> torch.Tensor:
        x = self.up1(self.from_code(code).reshape(-1, *self.base))
        x = self.up2(torch.cat([x, skips[1]], 1))
        return self.up3(torch.cat([x, skips[0]], 1))


class GaussianGRU(nn.Module):
    """A GRU cell whose state gives a diagonal Gaussian (mean, log-variance) at each step."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.cell, self.out = nn.GRUCell(in_dim, hidden), nn.Linear(hidden, 2 * out_dim)

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        state = self.cell(x, state)
        mu, logvar = self.out(state).chunk(2, -1)
        return mu, logvar.clamp(-8, 8), state


class SVGLP(VideoGenerator):
    kind = 'svg'
    idea = 'frame prediction with a learned prior over per-frame latents (SVG-LP), conditioned on the first frames'
    needs = ('context',)
    optim = {'lr': 1e-3, 'betas': (0.9, 0.999)}

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, context: int = 2,
                 code_dim: int = 64, latent_dim: int = 16, hidden: int = 128, width: int = 64, beta: float = 1e-4):
        super().__init__(size, frames, channels)
        check_size(size, frames)
        if not 1 <= context < frames:
            raise ValueError(f'context must be in 1..{frames - 1}, got {context}')
        self.context, self.code_dim, self.latent_dim, self.hidden = context, code_dim, latent_dim, hidden
        self.width, self.beta = width, beta
        self.encoder = SkipEncoder(channels, size, code_dim, width)
        self.decoder = SkipDecoder(channels, size, code_dim, width)
        self.posterior = GaussianGRU(code_dim, hidden, latent_dim)
        self.prior = GaussianGRU(code_dim, hidden, latent_dim)
        self.predictor = nn.GRUCell(code_dim + latent_dim, hidden)
        self.to_code = nn.Sequential(nn.Linear(hidden, code_dim), nn.Tanh())

    def settings(self) -> dict:
        return {**super().settings(), 'context': self.context, 'code_dim': self.code_dim,
                'latent_dim': self.latent_dim, 'hidden': self.hidden, 'width': self.width, 'beta': self.beta}

    def param_groups(self):
        return {'model': list(self.parameters())}

    def _unroll(self, video: torch.Tensor, generator: torch.Generator | None, teacher: bool):
        """Run over a clip; with ``teacher`` every past frame is the true one (training), else predictions."""
        b, t = video.shape[:2]
        zeros = video.new_zeros(b, self.hidden)
        s_post, s_prior, s_pred = zeros, zeros, zeros
        code, skips = self.encoder(video[:, 0])
        frames, kl = [video[:, 0]], video.new_zeros(b)
        for i in range(1, t):
            mu_p, lv_p, s_prior = self.prior(code, s_prior)
            if teacher or i < self.context:
                target_code, target_skips = self.encoder(video[:, i])
                mu_q, lv_q, s_post = self.posterior(target_code, s_post)
                kl = kl + gaussian_kl(mu_q, lv_q, mu_p, lv_p)
                z = reparameterise(mu_q, lv_q, generator)
            else:
                z = reparameterise(mu_p, lv_p, generator)
            s_pred = self.predictor(torch.cat([code, z], -1), s_pred)
            if i < self.context:
                frames.append(video[:, i])
                code, skips = target_code, target_skips
                continue
            predicted = self.decoder(self.to_code(s_pred), skips)
            frames.append(predicted)
            code = target_code if teacher else self.encoder(predicted)[0]
        return torch.stack(frames, 1), kl

    def phases(self):
        def model(ctx):
            video = ctx['video']
            predicted, kl = self._unroll(video, None, teacher=True)
            mse = F.mse_loss(predicted[:, self.context:], video[:, self.context:], reduction='none').mean((2, 3, 4))
            recon, kl = mse.sum(1).mean(), kl.mean()
            return recon + self.beta * kl, {'mse': recon / (self.frames - self.context), 'kl': kl}
        return [('model', model)]

    def predict(self, video: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Keep the first ``context`` frames of ``video`` [B, T, C, H, W] and predict the rest."""
        return self._unroll(video, generator, teacher=False)[0]

    def sample(self, n: int, generator: torch.Generator | None = None, real: dict | None = None) -> torch.Tensor:
        if real is None:
            raise ValueError('SVG-LP predicts: it needs real clips to take its first frames from')
        return self.predict(real['video'][:n], generator)
