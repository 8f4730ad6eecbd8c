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
A per-frame objectness head: a small U-Net from one frame's model input to a foreground logit per pixel.

    frame [B, C, H, W] (RGB + the motion channels, as the frame encoder reads it)
      -> 3 downsamplings (widths ``widths``) -> 3 upsamplings with skips -> logit [B, 1, H, W]

It says where objects are, not which: ``runtime/objectness.py`` gives each connected foreground region to the one
slot that holds most of it (one object, one slot, with the head's boundary); a second output, the boundaries between
touching objects, splits a region into its objects first. Trained on exact masks (real sequences'
annotations, composites, the simulator) by ``learn/objectness_train.py``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.ReLU(inplace=True))


class ObjectnessNet(nn.Module):
    """
    U-Net: ``channels`` inputs -> ``outputs`` logits per pixel, at the input's size (H, W divisible by 8).

    Output 0 is the foreground; with ``outputs`` = 2, output 1 is the boundary between touching objects (pixels next
    to another object's), which splits one foreground region into its objects.
    """

    def __init__(self, channels: int = 5, widths: tuple = (16, 32, 64, 96), outputs: int = 1):
        super().__init__()
        self.channels, self.widths, self.outputs = int(channels), tuple(int(w) for w in widths), int(outputs)
        w = self.widths
        self.down = nn.ModuleList([_block(channels, w[0])] + [_block(w[i], w[i + 1]) for i in range(len(w) - 1)])
        self.up = nn.ModuleList([_block(w[i + 1] + w[i], w[i]) for i in reversed(range(len(w) - 1))])
        self.out = nn.Conv2d(w[0], self.outputs, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        skips = []
        x = frames                                                       # [B, C, H, W]
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))               # [B, w_i, H / 2^i, W / 2^i]
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear', align_corners=False)
            x = block(torch.cat([x, skip], dim=1))                       # [B, w_i, H / 2^i, W / 2^i]
        return self.out(x)                                               # [B, outputs, H, W]
