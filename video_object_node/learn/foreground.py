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
Scores against one annotated foreground object per clip (real footage: DAVIS-style masks), with baselines.

Per window of T frames (numpy only):

- ``best_slot_j``: the model's best segment (argmax of the mixture weights): the slot whose segment has the
  highest IoU with the foreground over the whole window; ``j_and_f``: DAVIS' J&F of that segment per frame;
- ``kmeans_best_slot_j`` (and ``kmeans_j_and_f``): the same for k-means on colour + position (k = K);
- ``box_j``: a fixed centre box, the middle half of the image;
- ``motion_j``: no learning: each frame's residual motion (``sensing/motion.py``: optical flow minus the
  camera's homography) thresholded by Otsu's method;
- ``motion_teacher_j``: no learning either: the pseudo foreground the ``motion_mask`` loss teaches with
  (``learn/supervision.pseudo_foreground``: the motion smoothed over 3 frames, Otsu, its largest region), so a
  model taught by motion is seen beside its teacher.
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ..sensing.motion import clip_motion, motion_magnitude, otsu_foreground
from .supervision import pseudo_foreground
from ..scores.segments import best_segment, centre_box, j_and_f, kmeans_segments, window_j

KEYS = ('best_slot_j', 'j_and_f', 'kmeans_best_slot_j', 'kmeans_j_and_f', 'box_j', 'motion_j', 'motion_teacher_j')


def is_foreground_data(records: list[dict]) -> bool:
    """Whether every window's truth is one foreground object (labels 0 and 1 only, no object list)."""
    return all(r['masks'] is not None and 'object_ids' not in r and int(r['masks'].max()) <= 1 for r in records)


def foreground_scores(records: list[dict], num_slots: int, kmeans: bool = True, progress: bool = False) -> dict:
    """Per window: the keys of ``KEYS`` (lists; NaN where the foreground is absent from the whole window)."""
    per = {key: [] for key in KEYS}
    for r in tqdm(records, desc='foreground', unit='window', disable=not progress):
        fg = r['masks'] > 0
        label, j = best_segment(r['seg'], fg)
        per['best_slot_j'].append(j if fg.any() else float('nan'))
        per['j_and_f'].append(j_and_f(r['seg'] == label, fg))
        per['box_j'].append(window_j(centre_box(fg.shape), fg))
        motion = r.get('motion')
        if motion is None:
            motion = clip_motion(np.ascontiguousarray((r['video'] * 255).round().astype(np.uint8)
                                                      if r['video'].dtype != np.uint8 else r['video']))
        per['motion_j'].append(window_j(otsu_foreground(motion_magnitude(motion / 255.0)), fg))
        per['motion_teacher_j'].append(window_j(pseudo_foreground(motion / 255.0)[0], fg))
        if kmeans:
            km = kmeans_segments(r['video'], num_slots)
            label, j = best_segment(km, fg)
            per['kmeans_best_slot_j'].append(j if fg.any() else float('nan'))
            per['kmeans_j_and_f'].append(j_and_f(km == label, fg))
    return per


def per_sequence(records: list[dict], values: list, names: list | None) -> dict:
    """Mean of a per-window score by sequence (the data set's ``sequences`` names when it has them)."""
    groups: dict = {}
    for r, v in zip(records, values):
        key = r.get('sequence', r['clip'])
        key = names[key] if names is not None and isinstance(key, int) and key < len(names) else str(key)
        groups.setdefault(key, []).append(v)
    return {k: float(np.nanmean(v)) for k, v in sorted(groups.items())}
