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
VGAN (Vondrick, Pirsiavash and Torralba, NeurIPS 2016): a static background and a moving foreground with a mask.

    z [B, Dz] -> background stream (2-D transposed convolutions) -> one image b [B, C, H, W]
              -> foreground stream (3-D transposed convolutions) -> frames f [B, T, C, H, W], mask m [B, T, 1, H, W]
    video = m * f + (1 - m) * b

One 3-D convolutional critic, non-saturating loss, and VGAN's L1 penalty on the mask (``mask_weight``), which
pushes what does not move into the background.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import FrameDecoder, as_clip, check_size, critic_loss, generator_loss, video_critic
from .harness import VideoGenerator


class VGAN(VideoGenerator):
    kind = 'vgan'
    idea = 'two streams: a static background image and a moving foreground with its mask'

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, noise_dim: int = 64,
                 width: int = 64, mask_weight: float = 0.1):
        super().__init__(size, frames, channels)
        h, w = check_size(size, frames)
        self.noise_dim, self.width, self.mask_weight = noise_dim, width, mask_weight
        self.background = FrameDecoder(noise_dim, size, channels, width)
        self.base = (2 * width, frames // 4, h // 8, w // 8)
        self.from_noise = nn.Linear(noise_dim, 2 * width * (frames // 4) * (h // 8) * (w // 8))
        self.foreground = nn.Sequential(
            nn.BatchNorm3d(2 * width), nn.ReLU(),
            nn.ConvTranspose3d(2 * width, width, 4, 2, 1), nn.BatchNorm3d(width), nn.ReLU(),
            nn.ConvTranspose3d(width, width // 2, 4, 2, 1), nn.BatchNorm3d(width // 2), nn.ReLU(),
            nn.ConvTranspose3d(width // 2, channels + 1, (3, 4, 4), (1, 2, 2), (1, 1, 1)))
        self.critic = video_critic(channels, width)

    def settings(self) -> dict:
        return {**super().settings(), 'noise_dim': self.noise_dim, 'width': self.width,
                'mask_weight': self.mask_weight}

    def param_groups(self):
        return {'critic': list(self.critic.parameters()),
                'generator': [*self.background.parameters(), *self.from_noise.parameters(),
                              *self.foreground.parameters()]}

    def layers(self, n: int, generator: torch.Generator | None = None):
        """Return (video, foreground, mask, background): [B, T, C, H, W], same, [B, T, 1, H, W], [B, C, H, W]."""
        z = torch.randn(n, self.noise_dim, generator=generator)
        background = self.background(z)
        out = self.foreground(self.from_noise(z).reshape(-1, *self.base)).transpose(1, 2)   # [B, T, C+1, H, W]
        foreground, mask = torch.sigmoid(out[:, :, :-1]), torch.sigmoid(out[:, :, -1:])
        video = mask * foreground + (1 - mask) * background[:, None]
        return video, foreground, mask, background

    def sample(self, n: int, generator: torch.Generator | None = None, real: dict | None = None) -> torch.Tensor:
        return self.layers(n, generator)[0]

    def phases(self):
        def critic(ctx):
            with torch.no_grad():
                fake = self.sample(len(ctx['video']))
            loss = critic_loss('ns', self.critic(as_clip(ctx['video'])), self.critic(as_clip(fake)))
            return loss, {'loss': loss}

        def gen(ctx):
            video, _f, mask, _b = self.layers(len(ctx['video']))
            adv = generator_loss('ns', self.critic(as_clip(video)))
            sparsity = mask.abs().mean()
            return adv + self.mask_weight * sparsity, {'adversarial': adv, 'mask_mean': sparsity}
        return [('critic', critic), ('generator', gen)]
