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
A small MoCoGAN (Tulyakov et al. 2018): the survey's kind of video generator, as SIMONe's baseline.

    content code z_c [B, Dc] (one per video) + motion codes z_m[t] = GRU(noise_t) [B, T, Dm]
    image generator G([z_c, z_m[t]]) -> frame t [B, C, H, W]
    image discriminator (random single frames) and video discriminator (3-D convolutions over the clip)

Trained with the non-saturating GAN loss on the same clips, resolution and window length as the SIMONe model
it is compared with. Pure PyTorch.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class MoCoGAN(nn.Module):
    """Args: size: (H, W), both divisible by 8; frames: T; channels: C."""

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, content_dim: int = 32,
                 motion_dim: int = 16, noise_dim: int = 8, width: int = 64):
        super().__init__()
        self.size, self.frames, self.content_dim, self.noise_dim = size, frames, content_dim, noise_dim
        h, w = size[0] // 8, size[1] // 8
        self.motion = nn.GRUCell(noise_dim, motion_dim)
        self.from_codes = nn.Linear(content_dim + motion_dim, 2 * width * h * w)
        self.base = (2 * width, h, w)
        self.generator = nn.Sequential(
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2), nn.ReLU(),
            nn.ConvTranspose2d(width // 2, channels, 4, 2, 1), nn.Sigmoid())
        self.image_critic = nn.Sequential(
            nn.Conv2d(channels, width // 2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width // 2, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * width * h * w, 1))
        self.video_critic = nn.Sequential(
            nn.Conv3d(channels, width // 2, (3, 4, 4), (1, 2, 2), (1, 1, 1)), nn.LeakyReLU(0.2),
            nn.Conv3d(width // 2, width, (3, 4, 4), (1, 2, 2), (1, 1, 1)), nn.LeakyReLU(0.2),
            nn.Conv3d(width, 2 * width, (3, 4, 4), (2, 2, 2), (1, 1, 1)), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(2 * width, 1))

    def generator_parameters(self):
        return [*self.motion.parameters(), *self.from_codes.parameters(), *self.generator.parameters()]

    def critic_parameters(self):
        return [*self.image_critic.parameters(), *self.video_critic.parameters()]

    def sample(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Videos [B, T, C, H, W] in [0, 1]."""
        content = torch.randn(batch, self.content_dim, generator=generator)
        state = torch.zeros(batch, self.motion.hidden_size)
        codes = []
        for _ in range(self.frames):
            state = self.motion(torch.randn(batch, self.noise_dim, generator=generator), state)
            codes.append(torch.cat([content, state], -1))
        x = self.from_codes(torch.stack(codes, 1).flatten(0, 1)).reshape(-1, *self.base)
        frames = self.generator(x)                                                  # [B*T, C, H, W]
        return frames.reshape(batch, self.frames, *frames.shape[1:])

    def critics(self, video: torch.Tensor, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Image critic on one random frame per video, video critic on the clip."""
        b = video.shape[0]
        frames = video[torch.arange(b), torch.from_numpy(rng.integers(0, video.shape[1], b))]
        return self.image_critic(frames * 2 - 1), self.video_critic(video.transpose(1, 2) * 2 - 1)


def train_mocogan(model: MoCoGAN, clips: torch.Tensor, minutes: float, batch: int = 16, seed: int = 0,
                  lr: float = 2e-4, progress=None) -> dict:
    """Train on ``clips`` uint8 [N, T0, C, H, W] (random T-frame windows) for ``minutes`` of wall time."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(model.critic_parameters(), lr=lr, betas=(0.5, 0.999))
    start, steps, history = time.monotonic(), 0, []
    t0 = clips.shape[1]
    while time.monotonic() - start < minutes * 60:
        idx = rng.integers(0, len(clips), batch)
        offsets = rng.integers(0, t0 - model.frames + 1, batch)
        real = torch.stack([clips[i, o:o + model.frames] for i, o in zip(idx, offsets)]).float().div_(255)
        fake = model.sample(batch)
        d_real, d_fake = model.critics(real, rng), model.critics(fake.detach(), rng)
        loss_d = sum(F.softplus(-r).mean() + F.softplus(f).mean() for r, f in zip(d_real, d_fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = sum(F.softplus(-f).mean() for f in model.critics(fake, rng))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        steps += 1
        if steps % 25 == 0:
            history.append({'step': steps, 'loss_d': float(loss_d), 'loss_g': float(loss_g)})
            if progress is not None:
                progress(steps, float(loss_d), float(loss_g))
    return {'steps': steps, 'seconds': round(time.monotonic() - start, 1), 'history': history}
