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
One object or two: whether a second slot's part of a foreground region is the same object as the top slot's.

The objectness head finds foreground regions; slots cut them up. On real footage a slot's part of a region is mostly
a piece of one large object (a car split by a boundary through it): the region should go whole to one slot. In the
simulator two touching objects make one region and the slots hold them apart: the parts should stay apart. Numbers
of their colour, motion, boundary and shape describe a pair of parts (``PAIR_FEATURES``; a bundle's entry names the
ones it reads, so a split trained on the first eight still runs); a logistic regression trained on both kinds of footage
(``learn/region_split_train.py``, the bundle's ``config.json`` ``objectness.split``) gives the probability that the
two parts are one object, and the second slot keeps its part only when that is below the threshold.

    masks [K, H, W], region bool [H, W], the two slots, the frame's model input [C, H, W] (RGB, then motion),
    the head's foreground probability [H, W] -> features -> P(one object)

numpy only: the node runs it without torch.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT_FEATURES = (
    'share',                # the second slot's share of the region's mass
    'purity',               # the share of the second slot's own mass (over the image) that lies in the region
    'log_colour_contrast',  # distance of the two parts' mean colours over their pooled spread
    'log_motion_contrast',  # distance of the two parts' mean motion over the region's motion (+ 0.1 px)
    'log_boundary_edges',   # image gradient on the parts' boundary over the gradient in the whole region
    'log_boundary_foreground',  # the head's probability on the boundary over its mean in the region
    'region_share',         # the region's share of the image
    'part_share',           # the second slot's part's share of the region
)
# The shape of the two parts (the thirteenth session): two touching objects meet at a short contact and make a region
# with a waist; a slot boundary through one object cuts it along a long line and leaves its outline convex.
SHAPE_FEATURES = (
    'log_contact',          # the parts' shared boundary (pixels) over the side of the smaller part (sqrt of its size)
    'contact_of_perimeter',  # the shared boundary's share of the second part's outline
    'region_solidity',      # the region's share of its convex hull
)
# The footage (the same for every pair of a frame): camera footage has many colours, a rendered scene few, and the two
# answer differently (a real annotated object is often parts that slots hold apart: a rider and a horse).
FRAME_FEATURES = (
    'log_frame_colours',    # distinct colours of the frame (RGB at 16 levels each), log
)
PAIR_FEATURES = EIGHT_FEATURES + SHAPE_FEATURES + FRAME_FEATURES   # what a split is trained on; an entry names its own
MIN_PART = 4                # pixels; a smaller part is no evidence either way (no features: it is not kept)
EPS = 1e-3


class RegionSplitError(ValueError):
    """A region-split entry that cannot be used (one line)."""


def solidity(mask: np.ndarray) -> float:
    """Return a mask's share of its convex hull (pixels; 1 for a filled convex shape)."""
    import cv2
    ys, xs = np.nonzero(mask)
    hull = cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))
    filled = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(filled, hull, 1)
    return float(mask.sum() / (filled.astype(bool) | mask).sum())


def frame_colours(rgb: np.ndarray) -> int:
    """Return how many distinct colours an RGB frame [3, H, W] (values in [0, 1]) has at 16 levels a channel."""
    q = np.clip((np.asarray(rgb) * 16).astype(np.int64), 0, 15)
    return int(np.unique((q[0] * 16 + q[1]) * 16 + q[2]).size)


def frame_stats(frame: np.ndarray) -> dict:
    """Return what every pair of a frame shares: its grey gradient magnitude [H, W] and the log of its colours."""
    rgb = frame[:3]
    gy, gx = np.gradient(rgb.mean(axis=0))
    return {'gradient': np.hypot(gx, gy), 'log_colours': float(np.log(frame_colours(rgb)))}


def pair_features(masks: np.ndarray, region: np.ndarray, top: int, slot: int, frame: np.ndarray,
                  foreground: np.ndarray, names: tuple = PAIR_FEATURES, stats: dict | None = None) -> np.ndarray | None:
    """
    Return the features ``names`` (of ``PAIR_FEATURES``) of ``slot``'s part of ``region`` beside ``top``'s.

    None when either part is tiny. The parts: the region's pixels where ``slot`` outweighs ``top``, and the rest.
    ``frame`` [C, H, W]: RGB in its first three channels, motion in channels 3-4 when it has them (else the motion
    contrast is 0). ``stats``: the frame's ``frame_stats`` when the caller has them (computed once for all its pairs).
    """
    a = region & (masks[slot] > masks[top])
    b = region & ~a
    if a.sum() < MIN_PART or b.sum() < MIN_PART:
        return None
    stats = frame_stats(frame) if stats is None else stats
    mass_region = masks[:, region].sum(axis=1)
    edge = a & ndimage.binary_dilation(b)

    def colour_contrast():
        ca, cb = frame[:3, a], frame[:3, b]
        spread = np.sqrt(0.5 * (ca.var(axis=1).sum() + cb.var(axis=1).sum())) + EPS
        return np.linalg.norm(ca.mean(axis=1) - cb.mean(axis=1)) / spread

    def motion_contrast():
        if frame.shape[0] < 5:
            return 0.0
        mo = frame[3:5]
        return (np.linalg.norm(mo[:, a].mean(axis=1) - mo[:, b].mean(axis=1))
                / (np.linalg.norm(mo[:, region].mean(axis=1)) + 0.1))

    gradient = stats['gradient']
    value = {
        'share': lambda: mass_region[slot] / max(float(mass_region.sum()), EPS),
        'purity': lambda: mass_region[slot] / max(float(masks[slot].sum()), EPS),
        'log_colour_contrast': lambda: np.log(colour_contrast() + EPS),
        'log_motion_contrast': lambda: np.log(motion_contrast() + EPS),
        'log_boundary_edges': lambda: np.log(gradient[edge].mean() / (gradient[region].mean() + 1e-4) + EPS),
        'log_boundary_foreground': lambda: np.log(foreground[edge].mean() / (foreground[region].mean() + 1e-4) + EPS),
        'region_share': lambda: region.sum() / region.size,
        'part_share': lambda: a.sum() / region.sum(),
        'log_contact': lambda: np.log(edge.sum() / np.sqrt(min(a.sum(), b.sum())) + EPS),
        'contact_of_perimeter': lambda: edge.sum() / max(1, int((a & ~ndimage.binary_erosion(a)).sum())),
        'region_solidity': lambda: solidity(region),
        'log_frame_colours': lambda: stats['log_colours'],
    }
    try:
        return np.array([value[name]() for name in names], np.float64)
    except KeyError as exc:
        raise ValueError(f'unknown pair features {sorted(set(names) - set(PAIR_FEATURES))}') from exc


class RegionSplit:
    """
    The bundle's logistic regression over the features its entry names (``objectness.split``).

    Entry: features (names, each one of this version's ``PAIR_FEATURES``), mean and scale (standardisation), coef,
    intercept,
    threshold (a second slot keeps its part when P(one object) < threshold).
    """

    def __init__(self, entry: dict):
        try:
            features = tuple(entry['features'])
            self.mean, self.scale, self.coef = (np.asarray(entry[k], np.float64) for k in ('mean', 'scale', 'coef'))
            self.intercept, self.threshold = float(entry['intercept']), float(entry['threshold'])
        except (KeyError, TypeError, ValueError) as exc:
            raise RegionSplitError(f'objectness split: bad entry ({exc})') from None
        unknown = [f for f in features if f not in PAIR_FEATURES]
        if unknown or not features or len(set(features)) != len(features):
            raise RegionSplitError(f'objectness split reads features {list(features)}, this version computes '
                                   f'{list(PAIR_FEATURES)} (train it again: video-object-objectness split)')
        self.features = features
        n = len(features)
        if any(v.shape != (n,) or not np.isfinite(v).all() for v in (self.mean, self.scale, self.coef)):
            raise RegionSplitError(f'objectness split: mean, scale and coef need {n} finite numbers each')
        if not (self.scale > 0).all() or not np.isfinite(self.intercept) or not 0.0 < self.threshold < 1.0:
            raise RegionSplitError('objectness split: scale must be > 0, the intercept finite, threshold in (0, 1)')

    def one_object(self, features: np.ndarray) -> float:
        """P(the two parts are one object) of a feature row (``self.features``)."""
        z = float(((features - self.mean) / self.scale) @ self.coef + self.intercept)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0))))

    def keeper(self, frame: np.ndarray, foreground: np.ndarray):
        """Return ``keep(masks, region, top, slot)`` for ``whole_object_masks``: True to keep the parts apart."""
        stats: dict = {}                                  # the frame's, on the first pair that needs them

        def keep(masks, region, top, slot):
            if not stats:
                stats.update(frame_stats(frame))
            features = pair_features(masks, region, top, slot, frame, foreground, self.features, stats)
            return features is not None and self.one_object(features) < self.threshold
        return keep
