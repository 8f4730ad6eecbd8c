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

"""Pictures of a decomposition: frames, reconstructions and colour-coded segments side by side."""
from __future__ import annotations

import numpy as np

from ..palette import id_colours


def colour_segments(labels: np.ndarray) -> np.ndarray:
    """Integer labels [...] -> RGB uint8 [..., 3] in the node's colours (``palette.id_colours``)."""
    labels = np.asarray(labels)
    values, inverse = np.unique(labels, return_inverse=True)
    return id_colours(values)[inverse].reshape(labels.shape + (3,))


def decomposition_strip(video: np.ndarray, recon: np.ndarray, segments: np.ndarray,
                        true_masks: np.ndarray | None = None, scale: int = 2) -> np.ndarray:
    """
    Rows: input frames, reconstruction, predicted segments (and true masks) -> uint8 [rows*H, T*W, 3].

    ``video``/``recon`` float [T, H, W, C] in [0, 1] or uint8 (C=3 RGB; other C: channel 0 in grey);
    ``segments``/``true_masks`` int [T, H, W].
    """
    def to_uint8(x):
        x = np.asarray(x)
        x = x if x.dtype == np.uint8 else (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
        # Range images (range, height): show the range channel in grey.
        return np.repeat(x[..., :1], 3, axis=-1) if x.shape[-1] != 3 else x

    rows = [to_uint8(video), to_uint8(recon), colour_segments(segments)]
    if true_masks is not None:
        rows.append(colour_segments(true_masks))
    image = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    return image.repeat(scale, 0).repeat(scale, 1)
