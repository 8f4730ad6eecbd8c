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

from ..sensing.preprocess import centre_crop

ALPHA = 0.45            # weight of the segment colour in the blend


def id_colours(ids: np.ndarray) -> np.ndarray:
    """Return a fixed, well-spread RGB colour per id [K] -> uint8 [K, 3] (golden-ratio hues)."""
    hue = (np.asarray(ids, np.float64) * 0.61803398875) % 1.0
    hsv = np.stack([hue * 179, np.full_like(hue, 200), np.full_like(hue, 255)], -1).astype(np.uint8)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]


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


def debug_view(image: np.ndarray, masks: np.ndarray, ids: np.ndarray, mode: str = 'crop', scale: float = 1.0,
               highlight: int | None = None) -> np.ndarray:
    """
    Draw the debug view: uint8 RGB [H, W, 3] (or mono) + masks [K, h, w] + ids [K] -> RGB [H*scale, W*scale, 3].

    ``highlight``: a slot index to outline (a query's best match). The segments are coloured at the model's
    size and only then resized (nearest) onto the image region the model saw, so a 640x480 view costs
    about a millisecond.
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
    labels = masks.argmax(axis=0)[my0:my0 + vh, mx0:mx0 + vw]                   # the part of the frame shown
    tint = cv2.resize(id_colours(ids)[labels], (bw, bh), interpolation=cv2.INTER_NEAREST)
    roi = image[y0:y0 + bh, x0:x0 + bw]
    cv2.addWeighted(roi, 1.0 - ALPHA, tint, ALPHA, 0.0, dst=roi)
    sy, sx = bh / vh, bw / vw
    font = max(0.3, 0.35 * h / 240)
    for slot in range(k):
        ys, xs = np.nonzero(labels == slot)
        if len(ys):
            centre = (int(x0 + (xs.mean() + 0.5) * sx) - 4, int(y0 + (ys.mean() + 0.5) * sy) + 4)
            cv2.putText(image, str(int(ids[slot])), centre, cv2.FONT_HERSHEY_SIMPLEX, font, (255, 255, 255), 1,
                        cv2.LINE_AA)
    if highlight is not None:
        mask = cv2.resize((labels == highlight).astype(np.uint8), (bw, bh), interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(roi, contours, -1, (255, 255, 0), max(1, h // 160))
    return image


def segment_mask(masks: np.ndarray, slot: int, height: int, width: int, mode: str = 'crop') -> np.ndarray:
    """
    Return a slot's segment on the input image, uint8 [height, width].

    255 where ``slot`` wins the argmax of masks [K, h, w], mapped onto the input image the model saw (through the crop
    or letterbox); 0 elsewhere.
    """
    k, mh, mw = masks.shape
    (y0, x0, bh, bw), (my0, mx0, vh, vw) = view_box(height, width, mh, mw, mode)
    labels = masks.argmax(axis=0)[my0:my0 + vh, mx0:mx0 + vw]
    out = np.zeros((height, width), np.uint8)
    out[y0:y0 + bh, x0:x0 + bw] = cv2.resize((labels == slot).astype(np.uint8) * 255, (bw, bh),
                                             interpolation=cv2.INTER_NEAREST)
    return out
