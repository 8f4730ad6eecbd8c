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
MoCoGAN (Tulyakov et al., CVPR 2018): a video is a content code plus a path of motion codes.

    content code z_c [B, Dc] (one per video) + motion codes z_m[t] = GRU(noise_t) [B, T, Dm]
    image generator G([z_c, z_m[t]]) -> frame t [B, C, H, W]
    image critic (one random frame per clip) and video critic (3-D convolutions over the clip)

Non-saturating GAN loss, trained by ``generation/harness.py`` like every generator beside it.
"""
from __future__ import annotations

import torch

from .blocks import FrameDecoder, as_clip, check_size, critic_loss, generator_loss, image_critic, random_frames
from .blocks import video_critic
from .harness import VideoGenerator


class MoCoGAN(VideoGenerator):
    """Args: size (H, W), both divisible by 8; frames T; channels C."""

    kind = 'mocogan'
    idea = 'content code + a recurrent path of motion codes; image and video critics'

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, content_dim: int = 32,
                 motion_dim: int = 16, noise_dim: int = 8, width: int = 64):
        super().__init__(size, frames, channels)
        check_size(size, frames)
        self.content_dim, self.noise_dim, self.width = content_dim, noise_dim, width
        self.motion = torch.nn.GRUCell(noise_dim, motion_dim)
        self.generator = FrameDecoder(content_dim + motion_dim, size, channels, width)
        self.image_critic = image_critic(channels, size, width)
        self.video_critic = video_critic(channels, width)

    def settings(self) -> dict:
        return {**super().settings(), 'content_dim': self.content_dim, 'motion_dim': self.motion.hidden_size,
                'noise_dim': self.noise_dim, 'width': self.width}

    def param_groups(self):
        return {'critic': [*self.image_critic.parameters(), *self.video_critic.parameters()],
                'generator': [*self.motion.parameters(), *self.generator.parameters()]}

    def sample(self, n: int, generator: torch.Generator | None = None, real: dict | None = None) -> torch.Tensor:
        content = torch.randn(n, self.content_dim, generator=generator)
        state = torch.zeros(n, self.motion.hidden_size)
        codes = []
        for _ in range(self.frames):
            state = self.motion(torch.randn(n, self.noise_dim, generator=generator), state)
            codes.append(torch.cat([content, state], -1))
        frames = self.generator(torch.stack(codes, 1).flatten(0, 1))
        return frames.reshape(n, self.frames, *frames.shape[1:])

    def _scores(self, video, rng):
        return self.image_critic(random_frames(video, rng)), self.video_critic(as_clip(video))

    def phases(self):
        def critic(ctx):
            with torch.no_grad():
                fake = self.sample(len(ctx['video']))
            real, fake = self._scores(ctx['video'], ctx['rng']), self._scores(fake, ctx['rng'])
            loss = sum(critic_loss('ns', r, f) for r, f in zip(real, fake))
            return loss, {'loss': loss}

        def gen(ctx):
            loss = sum(generator_loss('ns', f) for f in self._scores(self.sample(len(ctx['video'])), ctx['rng']))
            return loss, {'loss': loss}
        return [('critic', critic), ('generator', gen)]
