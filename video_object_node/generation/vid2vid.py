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
vid2vid (Wang et al., NeurIPS 2018), small: video from a layout, kept consistent over time by warping.

Input: a segment id map per frame (the simulator's masks, or SIMONe's decoded segments) and the first real
frame. Each next frame is made from the previous *generated* frame:

    a small U-Net reads (layout_t, layout_t-1, x_t-1) and gives a flow w_t, an occlusion mask m_t, an image h_t
    x_t = m_t * warp(x_t-1, w_t) + (1 - m_t) * h_t

Losses: L1 to the real frame (``l1_weight``), a self-supervised flow term (the real previous frame warped by
w_t should be the real current frame, ``flow_weight``), and two conditional critics as in vid2vid: an image
critic on (frame, layout) pairs and a video critic on the clip with its layouts (non-saturating loss).
Layout ids at or above ``layout_classes - 1`` share the last channel.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import as_clip, check_size, critic_loss, generator_loss, image_critic, random_frames, video_critic
from .harness import VideoGenerator

MAX_FLOW = 0.25            # the largest displacement, as a share of the frame (grid units of 2)


def one_hot_layout(masks: torch.Tensor, classes: int) -> torch.Tensor:
    """Segment ids [B, T, H, W] -> one-hot [B, T, L, H, W] float."""
    return F.one_hot(masks.long().clamp(0, classes - 1), classes).permute(0, 1, 4, 2, 3).float()


def warp(frame: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``frame`` [B, C, H, W] at each pixel moved by ``flow`` [B, 2, H, W] (x, y in grid units)."""
    b, _c, h, w = frame.shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing='ij')
    grid = torch.stack([xs, ys], -1)[None] + flow.permute(0, 2, 3, 1)
    return F.grid_sample(frame, grid, mode='bilinear', padding_mode='border', align_corners=True)


class StepNet(nn.Module):
    """(layout_t, layout_t-1, x_t-1) -> (flow [B, 2, H, W], occlusion mask [B, 1, H, W], image [B, C, H, W])."""

    def __init__(self, in_channels: int, channels: int, width: int):
        super().__init__()
        self.inp = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1), nn.LeakyReLU(0.2))
        self.down1 = nn.Sequential(nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2))
        self.down2 = nn.Sequential(nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.BatchNorm2d(4 * width),
                                   nn.LeakyReLU(0.2))
        self.up1 = nn.Sequential(nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width),
                                 nn.ReLU())
        self.up2 = nn.Sequential(nn.ConvTranspose2d(4 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU())
        self.out = nn.Conv2d(2 * width, 3 + channels, 3, 1, 1)

    def forward(self, x: torch.Tensor):
        a = self.inp(x)
        b = self.down1(a)
        y = self.up1(self.down2(b))
        y = self.out(torch.cat([self.up2(torch.cat([y, b], 1)), a], 1))
        return torch.tanh(y[:, :2]) * 2 * MAX_FLOW, torch.sigmoid(y[:, 2:3]), torch.sigmoid(y[:, 3:])


class Vid2Vid(VideoGenerator):
    kind = 'vid2vid'
    idea = 'frames from a layout, each the previous frame warped by a predicted flow plus what it could not warp'
    needs = ('context', 'layout')

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, layout_classes: int = 12,
                 width: int = 32, l1_weight: float = 10.0, flow_weight: float = 10.0):
        super().__init__(size, frames, channels)
        check_size(size, frames)
        if layout_classes < 2:
            raise ValueError(f'layout_classes must be >= 2, got {layout_classes}')
        self.layout_classes, self.width = layout_classes, width
        self.l1_weight, self.flow_weight = l1_weight, flow_weight
        self.step_net = StepNet(2 * layout_classes + channels, channels, width)
        self.image_critic = image_critic(channels + layout_classes, size, 2 * width)
        self.video_critic = video_critic(channels + layout_classes, 2 * width)

    def settings(self) -> dict:
        return {**super().settings(), 'layout_classes': self.layout_classes, 'width': self.width,
                'l1_weight': self.l1_weight, 'flow_weight': self.flow_weight}

    def param_groups(self):
        return {'critic': [*self.image_critic.parameters(), *self.video_critic.parameters()],
                'generator': list(self.step_net.parameters())}

    def render(self, first: torch.Tensor, masks: torch.Tensor):
        """Frames [B, T, C, H, W] from the first frame [B, C, H, W] and the layouts [B, T, H, W]; and the flows."""
        layout = one_hot_layout(masks, self.layout_classes)
        frames, flows = [first], []
        for t in range(1, masks.shape[1]):
            flow, occlusion, image = self.step_net(torch.cat([layout[:, t], layout[:, t - 1], frames[-1]], 1))
            frames.append(occlusion * warp(frames[-1], flow) + (1 - occlusion) * image)
            flows.append(flow)
        return torch.stack(frames, 1), torch.stack(flows, 1)

    def sample(self, n: int, generator: torch.Generator | None = None, real: dict | None = None) -> torch.Tensor:
        if real is None or 'masks' not in real:
            raise ValueError('vid2vid renders layouts: it needs the first frames and the masks of real clips')
        return self.render(real['video'][:n, 0], real['masks'][:n])[0]

    def _scores(self, video, masks, rng):
        with_layout = torch.cat([video, one_hot_layout(masks, self.layout_classes)], 2)
        frames = random_frames(with_layout, rng)
        frames[:, self.channels:] = (frames[:, self.channels:] + 1) / 2        # layouts stay one-hot
        clip = as_clip(with_layout)
        clip[:, self.channels:] = (clip[:, self.channels:] + 1) / 2
        return self.image_critic(frames), self.video_critic(clip)

    def phases(self):
        def critic(ctx):
            video, masks = ctx['video'], ctx['masks']
            with torch.no_grad():
                fake = self.render(video[:, 0], masks)[0]
            real_s, fake_s = self._scores(video, masks, ctx['rng']), self._scores(fake, masks, ctx['rng'])
            loss = sum(critic_loss('ns', r, f) for r, f in zip(real_s, fake_s))
            return loss, {'loss': loss}

        def gen(ctx):
            video, masks = ctx['video'], ctx['masks']
            fake, flows = self.render(video[:, 0], masks)
            adv = sum(generator_loss('ns', s) for s in self._scores(fake, masks, ctx['rng']))
            l1 = (fake[:, 1:] - video[:, 1:]).abs().mean()
            warped = warp(video[:, :-1].flatten(0, 1), flows.flatten(0, 1))
            flow_l1 = (warped - video[:, 1:].flatten(0, 1)).abs().mean()
            loss = adv + self.l1_weight * l1 + self.flow_weight * flow_l1
            return loss, {'adversarial': adv, 'l1': l1, 'flow_l1': flow_l1}
        return [('critic', critic), ('generator', gen)]
