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
A bundle's objectness head at run time, and segments made whole by it (numpy + onnxruntime; no torch).

    frame's model input [C, H, W] -> objectness.onnx -> foreground probability [H, W]
    slot masks [K, H, W] + foreground -> whole_object_masks -> masks [K, H, W] (still summing to 1 over K)

Each connected foreground region goes to the one slot that holds most of it (regions are taken largest first and a slot
takes one region at most, so two objects stay two slots); that slot keeps nothing outside its region. The slot latents
and ids are untouched: only the segments change, so masses, centroids, the tracker's overlap, the debug view and the
query mask read whole objects with the head's boundary.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..bundle.layout import BundleError

# A foreground region smaller than this share of the image is noise: it keeps the slots' own masks.
MIN_REGION_SHARE = 0.004


class ObjectnessHead:
    """The bundle's ``objectness.onnx`` (``config.json`` ``objectness``), checked against its recorded sha256."""

    def __init__(self, bundle: Path, entry: dict, num_threads: int = 1):
        import onnxruntime as ort
        path = Path(bundle) / str(entry.get('file', ''))
        if not path.is_file():
            raise BundleError(f'bundle {bundle}: objectness head {path.name!r} is missing (copy the bundle again)')
        data = path.read_bytes()
        if entry.get('sha256') and hashlib.sha256(data).hexdigest() != entry['sha256']:
            raise BundleError(f'bundle {bundle}: {path.name} does not match its sha256 (copy the bundle again)')
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(num_threads))
        self.session = ort.InferenceSession(data, options, providers=['CPUExecutionProvider'])
        self.threshold = float(entry.get('threshold', 0.5))
        self.keep_share = float(entry.get('keep_share', 1.0))
        self.channels = int(entry['inputs'][0]['shape'][1])
        self.outputs = int(entry['outputs'][0]['shape'][1])
        self.touch_threshold = float(entry.get('touch_threshold', 0.5))

    def probabilities(self, frame: np.ndarray) -> np.ndarray:
        """Return the head's probabilities float32 [outputs, H, W] (foreground; touching) of a model input [C, H, W]."""
        if frame.shape[0] != self.channels:
            raise ValueError(f'the objectness head reads {self.channels} channels, got {frame.shape[0]}')
        logit = self.session.run(None, {'frames': np.ascontiguousarray(frame[None], np.float32)})[0][0]
        return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)

    def probability(self, frame: np.ndarray) -> np.ndarray:
        """Foreground probability float32 [H, W] of one frame's model input [C, H, W]."""
        return self.probabilities(frame)[0]

    def regions(self, frame: np.ndarray) -> np.ndarray:
        """Return the objects the head finds in a frame: labels int [H, W] (0 = background; ``object_regions``)."""
        p = self.probabilities(frame)
        return object_regions(p[0] > self.threshold, p[1] > self.touch_threshold if self.outputs > 1 else None)


def object_regions(foreground: np.ndarray, touching: np.ndarray | None = None) -> np.ndarray:
    """
    Label the foreground's objects: int [H, W], 0 = background.

    Without ``touching``: its connected regions. With it (bool [H, W], the pixels next to another object): the regions
    of the foreground less those pixels, then each touching pixel joins the nearest region.
    """
    if touching is None or not (touching & foreground).any():
        return ndimage.label(foreground)[0]
    cores, count = ndimage.label(foreground & ~touching)
    if count == 0:
        return ndimage.label(foreground)[0]
    _, (iy, ix) = ndimage.distance_transform_edt(cores == 0, return_indices=True)
    return np.where(foreground, cores[iy, ix], 0)


def whole_object_masks(masks: np.ndarray, foreground: np.ndarray, min_share: float = MIN_REGION_SHARE,
                       keep_share: float = 1.0) -> np.ndarray:
    """
    Give each connected foreground region to the slots that hold it.

    masks [K, H, W] (mixture weights, summing to 1 over K); foreground bool [H, W] (its connected regions) or labels
    int [H, W] (``object_regions``; 0 = background). The slot holding most of a region
    takes it, and so does every other slot holding at least ``keep_share`` of it (1: the top slot alone, the region
    whole; below 1, touching objects that the slots tell apart stay apart): each of them takes the part of the region
    where it is the strongest of them, with weight 1; its weight outside that part goes to the other slots (in
    proportion to theirs; all to the slot itself where no other slot has any). A slot takes part in one region at
    most. Regions below ``min_share`` of the image, and regions left when every slot has one, keep the slots' masks.
    """
    masks = np.asarray(masks, np.float32)
    if foreground.dtype == bool:
        labels, count = ndimage.label(foreground)
    else:
        labels, count = foreground, int(foreground.max())
    if count == 0:
        return masks
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    order = [r for r in np.argsort(-sizes, kind='stable') if sizes[r] >= min_share * labels.size]
    used: set = set()
    parts = []                                                   # (slot, bool [H, W]): the part of a region it takes
    for r in order:
        region = labels == r + 1
        mass = masks[:, region].sum(axis=1)                                   # [K]
        free = [int(k) for k in np.argsort(-mass, kind='stable') if int(k) not in used]
        if not free:
            break
        kept = free[:1] + [k for k in free[1:] if mass[k] >= keep_share * mass.sum()]
        strongest = np.array(kept)[masks[kept][:, region].argmax(axis=0)]        # per region pixel
        for slot in kept:
            part = np.zeros_like(region)
            part[region] = strongest == slot
            if part.any():
                parts.append((slot, part))
                used.add(slot)
    out = masks.copy()
    for slot, part in parts:
        outside = ~part
        # The slot leaves everything outside its part to the others ...
        moved = out[slot] * outside
        others = out.copy()
        others[slot] = 0.0
        total = others.sum(axis=0)
        share = np.where(total > 0, others / np.maximum(total, 1e-12), 0.0)
        out = out + share * moved
        out[slot] = np.where(outside & (total > 0), 0.0, out[slot])
        # ... and takes its part whole.
        out[:, part] = 0.0
        out[slot, part] = 1.0
    return out
