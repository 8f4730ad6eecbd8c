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
Image motion as model input and as a teacher: optical flow with the camera's motion taken out.

For each frame, dense optical flow to the previous frame (OpenCV DIS: no downloaded weights), then one
homography fitted to it by RANSAC (the camera's motion over a distant or planar background) and subtracted: what
remains is what moves unlike the camera. The flow is estimated at ``MOTION_RESOLUTION`` times the model's size
where the source has it (the node's camera frames, real clips stored at 128x128) and area-averaged down to the
model's grid, in the model's pixels: on real footage that doubles what the flow finds (a thresholded residual
found the foreground with J 0.34 at 128x128 against 0.22 at 64x64, DAVIS training sequences). Two channels,
encoded into [0, 1] like colour (0.5 = still) so that they travel with the RGB frame through data sets,
exports and backends:

    motion = clip(residual_flow / MOTION_SCALE_PX, -1, 1) * 0.5 + 0.5         # [2, H, W]: x, then y

The same function serves the data sets (``sensors.CameraSensor.window_inputs``), the streaming encoder (the
node and replay: each frame against the previous one of the stream) and the evaluation's motion baseline,
so a model sees at run time exactly what it saw in training. The first frame of a stream (or of a clip) has
no previous frame: its motion is zero (0.5). The simulator's clips use the same estimated flow, not the
simulator's true flow, so that simulated and real inputs come from one estimator.
"""
from __future__ import annotations

import cv2
import numpy as np

MOTION_CHANNELS = 2
MOTION_SCALE_PX = 4.0          # flow (pixels of the model's image per frame) that maps to the channel's end
MOTION_RESOLUTION = 2          # flow is estimated at this multiple of the model's size when the source has it
HOMOGRAPHY_POINTS = 32         # the camera's homography is fitted on about this many points per side
HOMOGRAPHY_THRESHOLD_PX = 1.0  # RANSAC inlier distance
_MIN_FIT_PIXELS = 16
STILL = np.float32(128 / 255)  # zero motion as the channels store it


def _grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] (or float [3, H, W] in [0, 1]) -> uint8 [H, W]."""
    if rgb.dtype != np.uint8:
        rgb = np.clip(np.round(np.moveaxis(rgb, 0, -1) * 255.0), 0, 255).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def dense_flow(previous: np.ndarray, current: np.ndarray, full_resolution: bool = False) -> np.ndarray:
    """
    Flow [H, W, 2] (pixels) at each pixel of ``current`` to where it was in ``previous`` (grey uint8).

    DIS at its MEDIUM preset stops at half the image's resolution (finest scale 1; what the model reads, 1.3 ms a
    128x128 frame); ``full_resolution`` refines down to the image's own pixels (finest scale 0; what the training
    teacher uses: about 3.5x the cost, and on the DAVIS training sequences its motion teacher finds the object with
    J 0.48 instead of 0.40).
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    if full_resolution:
        dis.setFinestScale(0)
    return dis.calc(current, previous, None)


def camera_homography(flow: np.ndarray) -> np.ndarray | None:
    """Return the homography [3, 3] that best explains ``flow`` [H, W, 2] (RANSAC), None when no fit exists."""
    h, w = flow.shape[:2]
    step = max(1, min(h, w) // HOMOGRAPHY_POINTS)
    ys, xs = np.mgrid[0:h:step, 0:w:step].astype(np.float32)
    src = np.stack([xs.ravel(), ys.ravel()], axis=1)
    dst = src + flow[::step, ::step].reshape(-1, 2)
    if len(src) < _MIN_FIT_PIXELS:
        return None
    homography, _inliers = cv2.findHomography(src, dst, cv2.RANSAC, HOMOGRAPHY_THRESHOLD_PX)
    return homography


def residual_flow(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """
    Return (flow minus the camera's homography [H, W, 2], the homography or None).

    Without a fit, the median flow stands for the camera's motion.
    """
    h, w = flow.shape[:2]
    homography = camera_homography(flow)
    if homography is None or not np.isfinite(homography).all():
        return flow - np.median(flow.reshape(-1, 2), axis=0), None
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    points = np.stack([xs, ys], axis=-1).reshape(-1, 1, 2)
    moved = cv2.perspectiveTransform(points, homography).reshape(h, w, 2)
    camera = moved - points.reshape(h, w, 2)
    out = flow - camera
    if not np.isfinite(out).all():
        return flow - np.median(flow.reshape(-1, 2), axis=0), None
    return out, homography


def encode_motion(residual: np.ndarray) -> np.ndarray:
    """Residual flow [H, W, 2] (pixels) -> motion channels float32 [2, H, W] in [0, 1]."""
    scaled = np.clip(residual / MOTION_SCALE_PX, -1.0, 1.0) * 0.5 + 0.5
    return np.ascontiguousarray(scaled.transpose(2, 0, 1), dtype=np.float32)


def still_motion(height: int, width: int) -> np.ndarray:
    """
    Return the motion channels of a frame without a previous one.

    Zero motion (0.5 on the stored uint8 grid, 128/255), float32 [2, H, W].
    """
    return np.full((MOTION_CHANNELS, height, width), STILL, np.float32)


def to_model_grid(residual: np.ndarray, size: tuple) -> np.ndarray:
    """
    Bring residual flow down to the model's grid, in model pixels.

    Residual flow [h, w, 2] in pixels of its own image -> [H, W, 2] area-averaged on the model's ``size``
    (H, W), in the model's pixels (same aspect ratio: the source was fitted like the frame).
    """
    h, w = residual.shape[:2]
    if (h, w) == tuple(size):
        return residual
    resized = cv2.resize(residual, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return resized * np.array([size[1] / w, size[0] / h], np.float32)


def frame_motion(previous: np.ndarray | None, current: np.ndarray, size: tuple | None = None) -> np.ndarray:
    """
    Return the motion channels of a frame against the previous one.

    Motion channels float32 [2, H, W] of ``current`` against ``previous`` (RGB uint8 [h, w, 3] or float
    [3, h, w] in [0, 1]; None = no previous frame), on the model's ``size`` (H, W; default the images' own).
    """
    current_grey = _grey(current)
    size = tuple(size or current_grey.shape)
    if previous is None:
        return still_motion(*size)
    residual, _ = residual_flow(dense_flow(_grey(previous), current_grey))
    # On the uint8 grid of the stored channels, so a stream sees exactly what a data set's clip holds.
    return np.round(encode_motion(to_model_grid(residual, size)) * 255.0) / np.float32(255.0)


def clip_motion(video: np.ndarray, size: tuple | None = None) -> np.ndarray:
    """
    Motion channels of every frame of a clip.

    uint8 RGB [T, h, w, 3] -> uint8 [T, 2, H, W] on ``size`` (the first frame still), stored like the colour channels
    (value * 255, rounded).
    """
    size = tuple(size or video.shape[1:3])
    out = np.empty((len(video), MOTION_CHANNELS) + size, np.uint8)
    previous = None
    for t, frame in enumerate(video):
        out[t] = np.round(frame_motion(previous, frame, size) * 255.0).astype(np.uint8)
        previous = frame
    return out


def motion_source_size(size: tuple, available: tuple | None = None) -> tuple:
    """
    Return the size the flow is estimated at for a model of ``size`` (H, W).

    ``MOTION_RESOLUTION`` times it, or the ``available`` source size when that is smaller (a clip stored at the model's
    size).
    """
    wanted = (size[0] * MOTION_RESOLUTION, size[1] * MOTION_RESOLUTION)
    if available is not None and available[0] < wanted[0]:
        return tuple(available)
    return wanted


def motion_magnitude(channels: np.ndarray) -> np.ndarray:
    """|residual flow| in pixels from motion channels [..., 2, H, W] in [0, 1] -> [..., H, W]."""
    flow = (np.asarray(channels, np.float32) - 0.5) * 2.0 * MOTION_SCALE_PX
    return np.sqrt(np.square(flow).sum(axis=-3))


def otsu_foreground(magnitude: np.ndarray) -> np.ndarray:
    """
    Return the no-learning motion baseline.

    Each frame's residual-motion magnitude [T, H, W] thresholded by Otsu's method (frames with no motion at all are
    empty).
    """
    out = np.zeros(magnitude.shape, bool)
    for t, m in enumerate(magnitude):
        top = float(m.max())
        if top <= 1e-6:
            continue
        scaled = np.round(m / top * 255.0).astype(np.uint8)
        threshold, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        out[t] = scaled > threshold
    return out
