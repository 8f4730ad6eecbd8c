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
Teachers of whole objects for clips without masks: motion, refined along image edges, and the student itself.

- ``motion_teacher``: the residual motion (optical flow minus the camera's homography, ``sensing/motion.py``) at
  full resolution (DIS refined to finest scale 0, on the stored frames at twice the model's size), its magnitude
  smoothed over 3 frames, blurred, optionally refined along the frame's edges by a guided filter
  (``sensing/edges.py``), thresholded by Otsu's method and its largest region kept (``segment_motion``). Measured on
  the 17 DAVIS training sequences' masks (``tools/teacher_probe.py``, J at 64x64): the model's own motion (DIS at
  half resolution) 0.31, full resolution 0.41, full resolution refined by the grey image's edges 0.40-0.41 (eps
  1e-4..0.1: no gain).
- ``self_teacher``: a self-training round: a trained model's own segment (the slot that overlaps the motion teacher
  most over the window) becomes the teacher on the frames where it agrees with the motion teacher (IoU >=
  ``AGREEMENT_IOU``); elsewhere the motion teacher stays. Each round starts from the last one's student.

Both give per frame a mask and whether the frame is usable (``usable``: the mask is plausible: neither almost
empty nor most of the image, and something really moves). The ``foreground`` loss reads them
(``learn/supervision.py``) as it reads a real data set's annotated foreground masks.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from ..sensing.edges import GUIDE_EPS, grey_guide, guided_filter
from ..sensing.motion import (_grey, dense_flow, motion_source_size, otsu_foreground, residual_flow,
                              to_model_grid)

PSEUDO_MIN_AREA, PSEUDO_MAX_AREA = 0.01, 0.6   # a frame's pseudo foreground is used when it covers this share
PSEUDO_MIN_MOTION_PX = 0.5   # ... and its strongest residual motion (model pixels a frame) reaches this
PSEUDO_TIME_WINDOW, PSEUDO_BLUR_PX = 3, 1.0   # the motion is averaged over 3 frames and blurred before the threshold
AGREEMENT_IOU = 0.5          # a student's segment replaces the motion teacher on frames where they overlap this much
IGNORE = 255                 # a teacher mask's value on frames no loss should read


def segment_motion(magnitude: np.ndarray, guides: np.ndarray | None = None,
                   eps: float = GUIDE_EPS) -> tuple[np.ndarray, np.ndarray]:
    """
    Return the pseudo foreground of a clip's residual motion.

    magnitude float [T, h, w] (model pixels a frame); guides: the frames uint8 RGB [T, h, w, 3] to refine the smoothed
    motion along their edges (a guided filter with ridge ``eps``), or None -> (pseudo foreground [T, h, w] bool,
    usable frames [T] bool).
    """
    smooth = ndimage.uniform_filter1d(magnitude.astype(np.float32), PSEUDO_TIME_WINDOW, axis=0, mode='nearest')
    smooth = np.stack([cv2.GaussianBlur(m, (0, 0), PSEUDO_BLUR_PX) for m in smooth])
    if guides is not None:
        smooth = np.stack([np.maximum(guided_filter(grey_guide(g), m, eps=eps), 0.0) for g, m in zip(guides, smooth)])
    fg = otsu_foreground(smooth)
    for t, frame in enumerate(fg):
        regions, count = ndimage.label(frame)
        if count > 1:
            sizes = ndimage.sum(frame, regions, range(1, count + 1))
            fg[t] = regions == 1 + int(np.argmax(sizes))
    area = fg.mean(axis=(1, 2))
    moving = smooth.max(axis=(1, 2)) >= PSEUDO_MIN_MOTION_PX
    usable = (area >= PSEUDO_MIN_AREA) & (area <= PSEUDO_MAX_AREA) & moving
    return fg, usable


def full_resolution_motion(video: np.ndarray, size: tuple) -> np.ndarray:
    """
    Residual-motion magnitude of every frame of a clip, from flow at full resolution.

    uint8 RGB [T, h, w, 3] (fitted to the model's aspect ratio) -> float32 [T, H, W] on ``size``, in model pixels (the
    first frame: 0). The flow runs on the frames at ``motion_source_size`` (twice the model's size where they have it).
    """
    source = motion_source_size(size, available=video.shape[1:3])
    frames = [f if f.shape[:2] == source else cv2.resize(f, (source[1], source[0]), interpolation=cv2.INTER_AREA)
              for f in video]
    out = np.zeros((len(video),) + tuple(size), np.float32)
    for t in range(1, len(frames)):
        residual, _ = residual_flow(dense_flow(_grey(frames[t - 1]), _grey(frames[t]), full_resolution=True))
        out[t] = np.sqrt(np.square(to_model_grid(residual, size)).sum(-1))
    return out


def model_frames(video: np.ndarray, size: tuple) -> np.ndarray:
    """uint8 RGB [T, h, w, 3] area-resized to ``size`` (the guides of the teacher's edge refinement)."""
    if video.shape[1:3] == tuple(size):
        return video
    return np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA) for f in video])


def motion_teacher(video: np.ndarray, size: tuple, edges: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return the motion teacher of a clip: frames uint8 RGB [T, h, w, 3] -> (mask [T, H, W] bool, usable [T] bool)."""
    return segment_motion(full_resolution_motion(video, size), model_frames(video, size) if edges else None)


def teacher_mask(fg: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(mask [T, H, W] bool, usable [T]) -> uint8 [T, H, W]: 1 object, 0 background, IGNORE on unusable frames."""
    out = fg.astype(np.uint8)
    out[~usable] = IGNORE
    return out


def agree_with_motion(student: np.ndarray, teacher: np.ndarray) -> np.ndarray:
    """
    Combine a student's segment with the motion teacher (one self-training round).

    student bool [T, H, W] (its segment), teacher uint8 [T, H, W] (``teacher_mask``) -> uint8 [T, H, W]: the student's
    segment on the teacher's usable frames where the two overlap with IoU >= AGREEMENT_IOU, the teacher elsewhere.
    """
    out = teacher.copy()
    for t in range(len(teacher)):
        if (teacher[t] == IGNORE).all():
            continue
        y = teacher[t] == 1
        union = np.logical_or(student[t], y).sum()
        if union and np.logical_and(student[t], y).sum() / union >= AGREEMENT_IOU:
            out[t] = student[t].astype(np.uint8)
    return out


def student_segment(masks: np.ndarray, teacher: np.ndarray) -> np.ndarray:
    """
    Return the student's segment that best covers the teacher over a window.

    masks float [T, K, H, W] (mixture weights), teacher uint8 [T, H, W] -> bool [T, H, W]: the argmax segments of
    the slot whose segments have the highest IoU with the teacher's object over its usable frames.
    """
    seg = masks.argmax(axis=1)                                                     # [T, H, W]
    usable = ~(teacher == IGNORE).all(axis=(1, 2))
    y = teacher[usable] == 1
    best, best_iou = 0, -1.0
    for k in range(masks.shape[1]):
        s = seg[usable] == k
        union = np.logical_or(s, y).sum()
        iou = np.logical_and(s, y).sum() / union if union else 0.0
        if iou > best_iou:
            best, best_iou = k, iou
    return seg == best
