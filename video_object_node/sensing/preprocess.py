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

"""Camera frames to model input: fit to the model's size, normalise to float32 [C, H, W] in [0, 1]."""
from __future__ import annotations

import cv2
import numpy as np

from .config import RESIZE_MODES


def centre_crop(h: int, w: int, out_h: int, out_w: int) -> tuple[int, int, int, int]:
    """Return the centre crop (y0, x0, crop_h, crop_w) of an h x w image with the aspect ratio of out_h x out_w."""
    ch, cw = (h, round(h * out_w / out_h)) if w * out_h > h * out_w else (round(w * out_h / out_w), w)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def scaled_intrinsics(k: np.ndarray, crop: tuple, out_h: int, out_w: int) -> np.ndarray:
    """
    Return pinhole intrinsics after a crop and a resize.

    Pinhole intrinsics [3, 3] (OpenCV: pixel centres at integers) after cropping ``crop`` = (y0, x0, crop_h,
    crop_w) and resizing the crop to out_h x out_w.
    """
    y0, x0, ch, cw = crop
    sy, sx = out_h / ch, out_w / cw
    out = np.asarray(k, np.float64).reshape(3, 3).copy()
    out[0, 0], out[1, 1] = out[0, 0] * sx, out[1, 1] * sy
    out[0, 2], out[1, 2] = (out[0, 2] - x0 + 0.5) * sx - 0.5, (out[1, 2] - y0 + 0.5) * sy - 0.5
    return out.astype(np.float32)


def fit_frame(image: np.ndarray, height: int, width: int, channels: int = 3, mode: str = 'crop') -> np.ndarray:
    """
    Fit an image to the model: uint8 RGB, uint8 or uint16 mono [H, W] -> float32 [channels, height, width].

    ``crop`` centre-crops to the model's aspect ratio then resizes (area); ``letterbox`` resizes the whole
    image to fit and pads with black. Mono images are replicated to 3 channels for an RGB model.
    """
    # Resize in the image's own integer type (area averaging, rounded, as the training clips were made),
    # then scale the small result to [0, 1]: a 640x480 frame costs a fraction of a float conversion.
    out = fit_image(image, height, width, channels, mode)
    scale = 1.0 / (65535.0 if out.dtype == np.uint16 else 255.0)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32) * np.float32(scale)


def fit_image(image: np.ndarray, height: int, width: int, channels: int = 3, mode: str = 'crop') -> np.ndarray:
    """``fit_frame`` before the scaling: the fitted image in its own integer type, [height, width, channels]."""
    if mode not in RESIZE_MODES:
        raise ValueError(f'resize mode must be one of {RESIZE_MODES}, got {mode!r}')
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'expected a uint8 or uint16 image, got {image.dtype}')
    if image.ndim == 2:
        image = image[:, :, None]
    h, w = image.shape[:2]
    if mode == 'crop':
        y0, x0, ch, cw = centre_crop(h, w, height, width)
        out = cv2.resize(image[y0:y0 + ch, x0:x0 + cw], (width, height), interpolation=cv2.INTER_AREA)
    else:
        fit = min(height / h, width / w)
        nh, nw = max(1, round(h * fit)), max(1, round(w * fit))
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        out = np.zeros((height, width, image.shape[2]), image.dtype)
        y0, x0 = (height - nh) // 2, (width - nw) // 2
        out[y0:y0 + nh, x0:x0 + nw] = resized.reshape(nh, nw, -1)
    if out.ndim == 2:
        out = out[:, :, None]
    if out.shape[2] == 1 and channels == 3:
        out = np.repeat(out, 3, axis=2)
    if out.shape[2] != channels:
        raise ValueError(f'image has {out.shape[2]} channels, the model takes {channels}')
    return out
