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
The graphs a bundle exports, by name: the window graph's outputs and their shapes, the opset.

Shared by the exporter (``export.py``, torch) and every backend (numpy, ONNX Runtime, TensorRT), so this module needs no
torch.
"""
from __future__ import annotations

from ..palette import SHAPES
from .viewpoint_probe import TARGET_NAMES

DEFAULT_OPSET = 20
# From this opset the exporter writes attention as the ONNX ``Attention`` op (written in its 3-D layout).
ATTENTION_OPSET = 23
WINDOW_OUTPUTS = ('object_mean', 'object_std', 'frame_mean', 'frame_std')
# Outputs a bundle's window graph has when its model config turns them on.
OPTIONAL_WINDOW_OUTPUTS = ('placement', 'viewpoint', 'attributes')


def window_output_names(cfg) -> tuple:
    """Return the window graph's outputs, in order, for a model config."""
    extra = (('placement',) if cfg.placement else ()) + (('viewpoint',) if cfg.pose_head else ()) + \
        (('attributes',) if cfg.attribute_heads else ())
    return WINDOW_OUTPUTS + extra


def window_output_shape(c, name: str) -> list:
    """Return the shape of one window-graph output ('batch' marks the dynamic axis)."""
    return {'object_mean': ['batch', c.num_slots, c.object_dim], 'object_std': ['batch', c.num_slots, c.object_dim],
            'frame_mean': ['batch', c.frames, c.frame_dim], 'frame_std': ['batch', c.frames, c.frame_dim],
            'placement': ['batch', c.num_slots, c.frames, 4], 'viewpoint': ['batch', c.frames, len(TARGET_NAMES)],
            'attributes': ['batch', c.num_slots, 3 + len(SHAPES) + 2]}[name]
