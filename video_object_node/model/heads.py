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
Heads on the latents, trained with the model and stored in its bundle.

- ``PoseHead``: frame latents -> the viewpoint of each frame (the targets of ``viewpoint.viewpoint_targets``:
  the camera's pose relative to the window's first frame, its height and pitch). It reads f_t and f_t - f_0
  (a pose relative to frame 0 needs a reference) and works in standardised units; the standardisation
  and the validation residuals (the node's covariance) are buffers, so they travel with the weights.
- ``AttributeHeads``: object latents -> colour (RGB in [0, 1]), shape (``SHAPES``), size (metres) and
  presence (does the slot hold an object at all).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..bundle.viewpoint_probe import TARGET_NAMES
from ..palette import SHAPES
from .config import SimoneConfig

POSE_TARGETS = TARGET_NAMES
HEAD_HIDDEN = 64


def pose_features(frame_mean: torch.Tensor) -> torch.Tensor:
    """Frame latents [B, T, Df] -> [B, T, 2*Df]: f_t and f_t - f_0."""
    return torch.cat([frame_mean, frame_mean - frame_mean[:, :1]], dim=-1)


class PoseHead(nn.Module):
    """[B, T, Df] frame-latent means -> [B, T, 11] viewpoint targets (``POSE_TARGETS``), in their units."""

    def __init__(self, cfg: SimoneConfig):
        super().__init__()
        n = len(POSE_TARGETS)
        self.net = nn.Sequential(nn.Linear(2 * cfg.frame_dim, HEAD_HIDDEN), nn.GELU(), nn.Linear(HEAD_HIDDEN, n))
        self.register_buffer('target_mean', torch.zeros(n))
        self.register_buffer('target_std', torch.ones(n))
        self.register_buffer('residual_std', torch.full((n,), float('nan')))   # set from validation residuals

    def standardised(self, frame_mean: torch.Tensor) -> torch.Tensor:
        return self.net(pose_features(frame_mean))

    def forward(self, frame_mean: torch.Tensor) -> torch.Tensor:
        return self.standardised(frame_mean) * self.target_std + self.target_mean

    def standardise(self, targets: torch.Tensor) -> torch.Tensor:
        return (targets - self.target_mean) / self.target_std


@dataclass
class Attributes:
    """
    A slot's attributes: colour, shape, size and presence.

    Per slot: colour [B, K, 3] in [0, 1], shape_logits [B, K, len(SHAPES)], size [B, K] metres,
    presence_logit [B, K].
    """

    colour: torch.Tensor
    shape_logits: torch.Tensor
    size: torch.Tensor
    presence_logit: torch.Tensor


class AttributeHeads(nn.Module):
    """[B, K, Do] object-latent means -> ``Attributes``."""

    def __init__(self, cfg: SimoneConfig):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(cfg.object_dim, HEAD_HIDDEN), nn.GELU(),
                                 nn.Linear(HEAD_HIDDEN, 3 + len(SHAPES) + 2))

    def forward(self, object_mean: torch.Tensor) -> Attributes:
        out = self.net(object_mean)
        n = len(SHAPES)
        return Attributes(colour=torch.sigmoid(out[..., :3]), shape_logits=out[..., 3:3 + n],
                          size=out[..., 3 + n], presence_logit=out[..., 4 + n])
