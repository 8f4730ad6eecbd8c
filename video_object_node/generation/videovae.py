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
VideoVAE (He, Lehrmann, Marino, Mori and Sigal, ECCV 2018), small: a VAE over video with structured latents.

    holistic latent z_h: the whole clip's (appearance, scene), inferred from the mean code of its first m frames
                         (m drawn in [context, T] while training, so any prefix can infer it)
    per-frame latents z_t: q(z_t | x_t, z_h); a structured prior p(z_t | z_t-1, z_h) (a GRU over time)
    decoder p(x_t | z_h, z_t): the shared frame decoder, Bernoulli likelihood

Unconditional sampling draws z_h ~ N(0, I) and rolls the prior; conditional sampling (``predict``) infers z_h
and the first ``context`` frames' latents from those frames and rolls the prior from there.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import FrameDecoder, FrameEncoder, check_size, gaussian_kl, reparameterise
from .harness import VideoGenerator
from .svg import GaussianGRU


class VideoVAE(VideoGenerator):
    kind = 'videovae'
    idea = 'a VAE with a holistic latent per clip and per-frame latents under a structured (recurrent) prior'
    optim = {'lr': 1e-3, 'betas': (0.9, 0.999)}

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, context: int = 2,
                 holistic_dim: int = 32, latent_dim: int = 16, code_dim: int = 128, hidden: int = 128,
                 width: int = 64):
        super().__init__(size, frames, channels)
        check_size(size, frames)
        if not 1 <= context < frames:
            raise ValueError(f'context must be in 1..{frames - 1}, got {context}')
        self.context, self.holistic_dim, self.latent_dim = context, holistic_dim, latent_dim
        self.code_dim, self.hidden, self.width = code_dim, hidden, width
        self.encoder = FrameEncoder(channels, size, code_dim, width)
        self.holistic = nn.Linear(code_dim, 2 * holistic_dim)
        self.frame_posterior = nn.Linear(code_dim + holistic_dim, 2 * latent_dim)
        self.prior = GaussianGRU(latent_dim + holistic_dim, hidden, latent_dim)
        self.decoder = FrameDecoder(holistic_dim + latent_dim, size, channels, width, sigmoid=False)

    def settings(self) -> dict:
        return {**super().settings(), 'context': self.context, 'holistic_dim': self.holistic_dim,
                'latent_dim': self.latent_dim, 'code_dim': self.code_dim, 'hidden': self.hidden, 'width': self.width}

    def param_groups(self):
        return {'model': list(self.parameters())}

    def _codes(self, video: torch.Tensor) -> torch.Tensor:
        return self.encoder(video.flatten(0, 1)).reshape(*video.shape[:2], -1)

    def _decode(self, zh: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, C, H, W] of z_h [B, Dh] and z [B, T, Dz]."""
        t = z.shape[1]
        out = self.decoder(torch.cat([zh[:, None].expand(-1, t, -1), z], -1).flatten(0, 1))
        return out.reshape(z.shape[0], t, *out.shape[1:])

    def _roll(self, zh: torch.Tensor, given: torch.Tensor | None, generator: torch.Generator | None):
        """Per-frame latents [B, T, Dz]: the ``given`` ones first, the rest drawn from the structured prior."""
        b = zh.shape[0]
        state, prev, out = zh.new_zeros(b, self.hidden), zh.new_zeros(b, self.latent_dim), []
        for t in range(self.frames):
            mu, logvar, state = self.prior(torch.cat([prev, zh], -1), state)
            prev = given[:, t] if given is not None and t < given.shape[1] else reparameterise(mu, logvar, generator)
            out.append(prev)
        return torch.stack(out, 1)

    def phases(self):
        def model(ctx):
            video, rng = ctx['video'], ctx['rng']
            b, t = video.shape[:2]
            codes = self._codes(video)
            m = int(rng.integers(self.context, t + 1))
            mu_h, lv_h = self.holistic(codes[:, :m].mean(1)).chunk(2, -1)
            zh = reparameterise(mu_h, lv_h)
            mu_q, lv_q = self.frame_posterior(torch.cat([codes, zh[:, None].expand(-1, t, -1)], -1)).chunk(2, -1)
            z = reparameterise(mu_q, lv_q)
            state, prev, kl_t = video.new_zeros(b, self.hidden), video.new_zeros(b, self.latent_dim), 0
            for i in range(t):
                mu_p, lv_p, state = self.prior(torch.cat([prev, zh], -1), state)
                kl_t = kl_t + gaussian_kl(mu_q[:, i], lv_q[:, i], mu_p, lv_p)
                prev = z[:, i]
            recon = F.binary_cross_entropy_with_logits(self._decode(zh, z), video, reduction='none').sum((1, 2, 3, 4))
            kl_h = gaussian_kl(mu_h, lv_h)
            pixels = video[0].numel()
            loss = (recon + kl_h + kl_t).mean() / pixels
            return loss, {'recon_nats_per_value': recon.mean() / pixels, 'kl_holistic': kl_h.mean(),
                          'kl_frames': kl_t.mean()}
        return [('model', model)]

    def sample(self, n: int, generator: torch.Generator | None = None, real: dict | None = None) -> torch.Tensor:
        """Unconditional samples (``real`` is not read: use ``predict`` to continue real clips)."""
        zh = torch.randn(n, self.holistic_dim, generator=generator)
        return torch.sigmoid(self._decode(zh, self._roll(zh, None, generator)))

    def predict(self, video: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Keep the first ``context`` frames of ``video`` and draw the rest given them."""
        c = self.context
        codes = self._codes(video[:, :c])
        zh = self.holistic(codes.mean(1)).chunk(2, -1)[0]
        mu_q = self.frame_posterior(torch.cat([codes, zh[:, None].expand(-1, c, -1)], -1)).chunk(2, -1)[0]
        out = torch.sigmoid(self._decode(zh, self._roll(zh, mu_q, generator)))
        return torch.cat([video[:, :c], out[:, c:]], 1)
