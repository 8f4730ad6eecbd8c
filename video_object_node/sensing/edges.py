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
Edge-aware filtering: a soft map (motion, a segment's mask) made to follow the edges of an image.

The guided filter (He, Sun and Tang, "Guided Image Filtering", ECCV 2010 / TPAMI 2013): within each window of
radius ``r`` the output is a linear function of the guide image, ``q = a * I + b``, fitted by ridge regression to
the input ``p`` (``eps`` is the ridge: large = plain box smoothing, small = the guide's edges kept). Box filters
only (OpenCV), so it costs O(pixels) whatever the radius. Used by the motion teacher (the smoothed residual motion
refined along the frame's edges) and by the node's edge-aware mask upsampling (``runtime/overlay.py``).
"""
from __future__ import annotations

import cv2
import numpy as np

GUIDE_RADIUS = 3        # pixels of the image the filter runs on
GUIDE_EPS = 0.02        # ridge on the guide's local variance (guide in [0, 1])


def grey_guide(image: np.ndarray) -> np.ndarray:
    """uint8 RGB [H, W, 3] (or grey [H, W]) -> float32 grey [H, W] in [0, 1]."""
    if image.ndim == 3:
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int = GUIDE_RADIUS,
                  eps: float = GUIDE_EPS) -> np.ndarray:
    """
    Filter ``src`` along the edges of ``guide``.

    guide float32 [H, W] in [0, 1]; src float32 [H, W] or [H, W, C] (each channel filtered alike) -> same shape.
    """
    if radius < 1:
        raise ValueError(f'guided filter radius must be >= 1, got {radius}')
    if guide.shape[:2] != src.shape[:2]:
        raise ValueError(f'guide {guide.shape[:2]} and input {src.shape[:2]} differ in size')
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    g = guide.astype(np.float32)
    p = src.astype(np.float32)
    channels = p[..., None] if p.ndim == 2 else p
    mean_g, var_g = box(g), box(g * g) - box(g) ** 2
    out = np.empty_like(channels)
    for c in range(channels.shape[-1]):
        pc = np.ascontiguousarray(channels[..., c])
        mean_p = box(pc)
        a = (box(g * pc) - mean_g * mean_p) / (var_g + eps)
        b = mean_p - a * mean_g
        out[..., c] = box(a) * g + box(b)
    return out[..., 0] if p.ndim == 2 else out
