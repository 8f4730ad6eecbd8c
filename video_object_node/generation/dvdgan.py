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
DVD-GAN (Clark, Donahue and Simonyan, 2019), class-free and small: two critics split the work.

    z [B, Dz] -> a map [B, c, H/8, W/8] -> a convolutional GRU unrolled over T frames (the latent's motion)
              -> each frame's map upsampled by the shared frame decoder
    spatial critic D_S: ``spatial_frames`` random frames of each clip at full size (appearance)
    temporal critic D_T: the whole clip, average-pooled 2x in space (motion, at a quarter of the pixels)

Hinge loss, spectral normalisation in both critics.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import as_clip, check_size, critic_loss, generator_loss, image_critic, random_frames, video_critic
from .harness import VideoGenerator


class ConvGRUCell(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.gates = nn.Conv2d(2 * channels, 2 * channels, 3, padding=1)
        self.candidate = nn.Conv2d(2 * channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        update, reset = torch.sigmoid(self.gates(torch.cat([x, h], 1))).chunk(2, 1)
        fresh = torch.tanh(self.candidate(torch.cat([x, reset * h], 1)))
        return (1 - update) * h + update * fresh


class DVDGAN(VideoGenerator):
    kind = 'dvdgan'
    idea = 'two critics: a spatial one on random full-size frames, a temporal one on the downsampled clip'
    optim = {'lr': 2e-4, 'betas': (0.0, 0.999)}

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, noise_dim: int = 64,
                 width: int = 64, spatial_frames: int = 4):
        super().__init__(size, frames, channels)
        h, w = check_size(size, frames)
        if not 1 <= spatial_frames <= frames:
            raise ValueError(f'spatial_frames must be in 1..{frames}, got {spatial_frames}')
        self.noise_dim, self.width, self.spatial_frames = noise_dim, width, spatial_frames
        c = 2 * width
        self.base = (c, h // 8, w // 8)
        self.from_noise = nn.Linear(noise_dim, c * (h // 8) * (w // 8))
        self.gru = ConvGRUCell(c)
        self.decoder = nn.Sequential(
            nn.BatchNorm2d(c), nn.ReLU(),
            nn.ConvTranspose2d(c, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2), nn.ReLU(),
            nn.ConvTranspose2d(width // 2, channels, 4, 2, 1), nn.Sigmoid())
        self.spatial = image_critic(channels, size, width, spectral=True)
        self.temporal = video_critic(channels, width, spectral=True)

    def settings(self) -> dict:
        return {**super().settings(), 'noise_dim': self.noise_dim, 'width': self.width,
                'spatial_frames': self.spatial_frames}

    def param_groups(self):
        return {'critic': [*self.spatial.parameters(), *self.temporal.parameters()],
                'generator': [*self.from_noise.parameters(), *self.gru.parameters(), *self.decoder.parameters()]}

    def sample(self, n: int, generator: torch.Generator | None = None, real: dict | None = None) -> torch.Tensor:
        x = self.from_noise(torch.randn(n, self.noise_dim, generator=generator)).reshape(-1, *self.base)
        h, maps = torch.zeros_like(x), []
        for _ in range(self.frames):
            h = self.gru(x, h)
            maps.append(h)
        frames = self.decoder(torch.stack(maps, 1).flatten(0, 1))
        return frames.reshape(n, self.frames, *frames.shape[1:])

    def _scores(self, video, rng):
        small = F.avg_pool3d(as_clip(video), (1, 2, 2))
        return self.spatial(random_frames(video, rng, self.spatial_frames)), self.temporal(small)

    def phases(self):
        def critic(ctx):
            with torch.no_grad():
                fake = self.sample(len(ctx['video']))
            real_s, fake_s = self._scores(ctx['video'], ctx['rng']), self._scores(fake, ctx['rng'])
            spatial, temporal = (critic_loss('hinge', r, f) for r, f in zip(real_s, fake_s))
            return spatial + temporal, {'spatial': spatial, 'temporal': temporal}

        def gen(ctx):
            spatial, temporal = (generator_loss('hinge', s)
                                 for s in self._scores(self.sample(len(ctx['video'])), ctx['rng']))
            return spatial + temporal, {'spatial': spatial, 'temporal': temporal}
        return [('critic', critic), ('generator', gen)]
