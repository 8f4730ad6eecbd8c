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
TGAN (Saito, Matsumoto and Saito, ICCV 2017): one latent per frame from a temporal generator, each frame drawn.

A temporal generator makes one latent per frame; an image generator draws each frame from it.

    z0 [B, D0] -> temporal generator (1-D transposed convolutions over time) -> z1[t] [B, T, D1]
    image generator G([z0, z1[t]]) -> frame t

A Wasserstein critic (3-D convolutions) kept Lipschitz by TGAN's singular value clipping: after every critic
step each weight matrix's singular values are clipped to 1.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import FrameDecoder, as_clip, check_size, clip_singular_values, critic_loss, generator_loss
from .blocks import video_critic
from .harness import VideoGenerator


class TemporalGenerator(nn.Module):
    """z0 [B, D0] -> one latent per frame [B, T, D1] (1-D transposed convolutions from T/4 steps to T)."""

    def __init__(self, noise_dim: int, frame_dim: int, frames: int, width: int = 64):
        super().__init__()
        self.start = (width, frames // 4)
        self.from_noise = nn.Linear(noise_dim, width * (frames // 4))
        self.net = nn.Sequential(
            nn.BatchNorm1d(width), nn.ReLU(),
            nn.ConvTranspose1d(width, width, 4, 2, 1), nn.BatchNorm1d(width), nn.ReLU(),
            nn.ConvTranspose1d(width, frame_dim, 4, 2, 1), nn.Tanh())

    def forward(self, z0: torch.Tensor) -> torch.Tensor:
        return self.net(self.from_noise(z0).reshape(-1, *self.start)).transpose(1, 2)


class TGANGenerator(nn.Module):
    """TGAN's generator alone (the sliced-Wasserstein generator reuses it): noise -> video [B, T, C, H, W]."""

    def __init__(self, size: tuple, frames: int, channels: int, noise_dim: int = 64, frame_dim: int = 32,
                 width: int = 64):
        super().__init__()
        check_size(size, frames)
        self.noise_dim, self.frames = noise_dim, frames
        self.temporal = TemporalGenerator(noise_dim, frame_dim, frames, width)
        self.image = FrameDecoder(noise_dim + frame_dim, size, channels, width)

    def forward(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z0 = torch.randn(n, self.noise_dim, generator=generator)
        z1 = self.temporal(z0)                                                        # [B, T, D1]
        codes = torch.cat([z0[:, None].expand(-1, self.frames, -1), z1], -1).flatten(0, 1)
        frames = self.image(codes)
        return frames.reshape(n, self.frames, *frames.shape[1:])


class TGAN(VideoGenerator):
    kind = 'tgan'
    idea = ('a temporal generator (one latent per frame) + an image generator; a Wasserstein critic, '
            'singular values clipped')
    optim = {'lr': 1e-4, 'betas': (0.5, 0.999)}

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, noise_dim: int = 64,
                 frame_dim: int = 32, width: int = 64, critic_steps: int = 1):
        super().__init__(size, frames, channels)
        self.noise_dim, self.frame_dim, self.width, self.critic_steps = noise_dim, frame_dim, width, critic_steps
        self.generator = TGANGenerator(size, frames, channels, noise_dim, frame_dim, width)
        self.critic = video_critic(channels, width)

    def settings(self) -> dict:
        return {**super().settings(), 'noise_dim': self.noise_dim, 'frame_dim': self.frame_dim, 'width': self.width,
                'critic_steps': self.critic_steps}

    def param_groups(self):
        return {'critic': list(self.critic.parameters()), 'generator': list(self.generator.parameters())}

    def sample(self, n: int, generator: torch.Generator | None = None, real: dict | None = None) -> torch.Tensor:
        return self.generator(n, generator)

    def after_phase(self, group: str) -> None:
        if group == 'critic':
            clip_singular_values(self.critic)

    def phases(self):
        def critic(ctx):
            with torch.no_grad():
                fake = self.sample(len(ctx['video']))
            loss = critic_loss('wasserstein', self.critic(as_clip(ctx['video'])), self.critic(as_clip(fake)))
            return loss, {'wasserstein': -loss}

        def gen(ctx):
            loss = generator_loss('wasserstein', self.critic(as_clip(self.sample(len(ctx['video'])))))
            return loss, {'loss': loss}
        return [('critic', critic)] * self.critic_steps + [('generator', gen)]
