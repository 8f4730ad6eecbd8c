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
The palettes every floor names: the objects' shapes and colours, and the colours segments and ids are drawn in.

- ``SHAPES`` / ``SHAPE_IDS``: the simulator's shapes (label ids 1..4), which the attribute heads predict and queries
  name; ``COLOUR_NAMES`` / ``COLOUR_RGB``: the CLEVR colours MOVi-A draws its objects from (gray, red, blue, green,
  brown, purple, cyan, yellow), which the simulator paints and queries name.
- ``id_colours``: one colour per segment or tracked id, the same in the node's debug view and in every picture of a
  decomposition (``learn``, generation, the demo).
"""
from __future__ import annotations

import numpy as np

SHAPE_IDS = {'cube': 1, 'sphere': 2, 'cylinder': 3, 'capsule': 4}
SHAPES = tuple(SHAPE_IDS)
COLOUR_NAMES = ('gray', 'red', 'blue', 'green', 'brown', 'purple', 'cyan', 'yellow')
# with 3-5 objects, two of them often share a colour, so colour alone does not separate objects
COLOUR_RGB = np.array([(87, 87, 87), (173, 35, 35), (42, 75, 215), (29, 105, 20), (129, 74, 25), (129, 38, 192),
                       (41, 208, 208), (255, 238, 51)], np.float32) / 255.0
COLOUR_RGB.flags.writeable = False


def id_colours(ids: np.ndarray) -> np.ndarray:
    """Return a fixed, well-spread RGB colour per id (or segment label) [...] -> uint8 [..., 3] (golden-ratio hues)."""
    import cv2
    ids = np.asarray(ids)
    hue = (ids.reshape(-1).astype(np.float64) * 0.61803398875) % 1.0
    hsv = np.stack([hue * 179, np.full_like(hue, 200), np.full_like(hue, 255)], -1).astype(np.uint8)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0].reshape(ids.shape + (3,))
