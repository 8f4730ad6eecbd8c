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
The debug view of a window.

Its last input frame with each slot's segment blended in, in a colour fixed per stable id, the id written at the
segment's centroid and a chosen segment outlined (a query's answer).

ROS-free (numpy + OpenCV); ``ros/`` wraps the picture in a sensor_msgs/Image. Segments are decoded at the
model's size and mapped back through the same crop or letterbox that fitted the frame to the model.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..sensing.edges import GUIDE_EPS, grey_guide, guided_filter
from ..palette import id_colours
from ..sensing.preprocess import centre_crop

ALPHA = 0.45            # weight of the segment colour in the blend
EDGE_RADIUS_CELLS = 1.5  # the edge-aware upsampling's filter radius, in model pixels


def view_box(height: int, width: int, model_h: int, model_w: int, mode: str) -> tuple:
    """
    Where the model's frame lies in an input image, and which part of the model frame shows it.

    ((y0, x0, h, w) in input pixels, (my0, mx0, mh, mw) in model pixels).
    """
    if mode == 'crop':
        return centre_crop(height, width, model_h, model_w), (0, 0, model_h, model_w)
    fit = min(model_h / height, model_w / width)     # letterbox: the image fills a centred box of the frame
    nh, nw = max(1, round(height * fit)), max(1, round(width * fit))
    return (0, 0, height, width), ((model_h - nh) // 2, (model_w - nw) // 2, nh, nw)


def segment_boxes(masks: np.ndarray, height: int, width: int, mode: str) -> np.ndarray:
    """
    Return each slot's box in the input image: [K, 5] centre x, centre y, width, height (pixels), pixel count.

    From the argmax segments of the masks [K, h, w] (the model's frame), mapped to the input image of ``height`` x
    ``width`` as the model saw it (``mode``: crop or letterbox). A slot without pixels has NaN box and count 0.
    """
    k, mh, mw = masks.shape
    (y0, x0, bh, bw), (my0, mx0, vh, vw) = view_box(height, width, mh, mw, mode)
    labels = masks.argmax(axis=0)[my0:my0 + vh, mx0:mx0 + vw]
    sx, sy = bw / vw, bh / vh                                     # input pixels per model pixel
    out = np.full((k, 5), np.nan)
    out[:, 4] = 0
    for slot in range(k):
        ys, xs = np.nonzero(labels == slot)
        if len(ys):
            left, right, top, bottom = x0 + xs.min() * sx, x0 + (xs.max() + 1) * sx, y0 + ys.min() * sy, \
                y0 + (ys.max() + 1) * sy
            out[slot] = ((left + right) / 2, (top + bottom) / 2, right - left, bottom - top, len(ys) * sx * sy)
    return out


def segment_labels(masks: np.ndarray, roi: np.ndarray | None, height: int, width: int) -> np.ndarray:
    """
    Return the slot of every pixel of the image region the model saw.

    masks [K, h, w] (mixture weights of the visible part of the model's frame) -> labels [height, width]. With the
    region's image ``roi`` (uint8 RGB or grey, height x width) the segments follow its edges: each slot's weights are
    upsampled bilinearly and refined by a guided filter on the image (``sensing/edges.py``; radius 1.5 model pixels)
    before the argmax; without it, the argmax is upsampled by nearest neighbour.
    """
    k, h, w = masks.shape
    if roi is None or (height, width) == (h, w):
        return cv2.resize(masks.argmax(axis=0).astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    soft = cv2.resize(np.ascontiguousarray(masks.transpose(1, 2, 0), np.float32), (width, height),
                      interpolation=cv2.INTER_LINEAR).reshape(height, width, k)
    radius = max(1, round(EDGE_RADIUS_CELLS * max(height / h, width / w)))
    return guided_filter(grey_guide(roi), soft, radius, GUIDE_EPS).argmax(axis=2).astype(np.uint8)


def debug_view(image: np.ndarray, masks: np.ndarray, ids: np.ndarray, mode: str = 'crop', scale: float = 1.0,
               highlight: int | None = None, edges: bool = False) -> np.ndarray:
    """
    Draw the debug view: uint8 RGB [H, W, 3] (or mono) + masks [K, h, w] + ids [K] -> RGB [H*scale, W*scale, 3].

    ``highlight``: a slot index to outline (a query's best match). ``edges``: the segments follow the image's edges
    (``segment_labels``: about 10 ms at 640x480 with 6 slots); without, they are resized (nearest) from the model's
    size (about a millisecond).
    """
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.dtype != np.uint8:
        image = (image.astype(np.float32) / max(float(image.max()), 1.0) * 255).astype(np.uint8)
    if scale != 1.0:
        image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    else:
        image = image.copy()
    h, w = image.shape[:2]
    k, mh, mw = masks.shape
    (y0, x0, bh, bw), (my0, mx0, vh, vw) = view_box(h, w, mh, mw, mode)
    roi = image[y0:y0 + bh, x0:x0 + bw]
    labels = segment_labels(masks[:, my0:my0 + vh, mx0:mx0 + vw], roi if edges else None, bh, bw)   # [bh, bw]
    tint = id_colours(ids)[labels]
    cv2.addWeighted(roi, 1.0 - ALPHA, tint, ALPHA, 0.0, dst=roi)
    font = max(0.3, 0.35 * h / 240)
    for slot in range(k):
        ys, xs = np.nonzero(labels[::4, ::4] == slot)
        if len(ys):
            centre = (int(x0 + xs.mean() * 4) - 4, int(y0 + ys.mean() * 4) + 4)
            cv2.putText(image, str(int(ids[slot])), centre, cv2.FONT_HERSHEY_SIMPLEX, font, (255, 255, 255), 1,
                        cv2.LINE_AA)
    if highlight is not None:
        mask = (labels == highlight).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(roi, contours, -1, (255, 255, 0), max(1, h // 160))
    return image


def segment_mask(masks: np.ndarray, slot: int, height: int, width: int, mode: str = 'crop',
                 image: np.ndarray | None = None) -> np.ndarray:
    """
    Return a slot's segment on the input image, uint8 [height, width].

    255 where ``slot`` wins the argmax of masks [K, h, w], mapped onto the input image the model saw (through the crop
    or letterbox), along the edges of ``image`` (the input, height x width) when given (``segment_labels``); 0
    elsewhere.
    """
    k, mh, mw = masks.shape
    (y0, x0, bh, bw), (my0, mx0, vh, vw) = view_box(height, width, mh, mw, mode)
    roi = None if image is None else image[y0:y0 + bh, x0:x0 + bw]
    labels = segment_labels(masks[:, my0:my0 + vh, mx0:mx0 + vw], roi, bh, bw)
    out = np.zeros((height, width), np.uint8)
    out[y0:y0 + bh, x0:x0 + bw] = (labels == slot).astype(np.uint8) * 255
    return out
