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
The torch modules behind the exported graphs.

The window encoder with its heads, and the mask decoder, as every backend runs them (``export/onnx.py`` exports them;
the torch backend runs them directly).
"""
from __future__ import annotations

import torch
from torch import nn

from .simone import Simone


class WindowEncoderGraph(nn.Module):
    """
    The window encoder as every backend runs it.

    Scales instead of log-scales, and the heads applied to the posterior means (``window_output_names``): placement [B,
    K, T, 4], viewpoint [B, T, 11] (pose head, in its units), attributes [B, K, 9] (colour RGB, 4 shape logits, size,
    presence logit).
    """

    def __init__(self, model: Simone):
        super().__init__()
        self.window_encoder = model.window_encoder
        self.pose_head = model.pose_head
        self.attribute_heads = model.attribute_heads

    def forward(self, features: torch.Tensor, cond: torch.Tensor | None = None):
        om, ols, fm, fls, *placement = self.window_encoder(features, cond)
        out = (om, ols.exp(), fm, fls.exp(), *placement)
        if self.pose_head is not None:
            out += (self.pose_head(fm),)
        if self.attribute_heads is not None:
            a = self.attribute_heads(om)
            out += (torch.cat([a.colour, a.shape_logits, a.size[..., None], a.presence_logit[..., None]], dim=-1),)
        return out


class MaskDecoderGraph(nn.Module):
    """
    The decoder as the node runs it: a window's latent means -> the mixture weights of its last frame.

    Inputs object_mean [B, K, Do], frame_mean [B, T, Df] (and placement [B, K, T, 4] for models that place
    their slots); output masks [B, K, H, W] (sum to 1 over K).
    """

    def __init__(self, model: Simone):
        super().__init__()
        self.model = model
        self.register_buffer('last', torch.tensor([model.cfg.frames - 1]), persistent=False)

    def forward(self, object_mean: torch.Tensor, frame_mean: torch.Tensor, placement: torch.Tensor | None = None):
        out = self.model.decode(object_mean, frame_mean, frame_idx=self.last, placement=placement)
        return out.masks[:, 0]                                         # [B, K, H, W]
