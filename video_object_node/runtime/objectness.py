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
takes one region at most, so two objects stay two slots); that slot keeps nothing outside its region. Another slot
holding enough of the region keeps its own part when the bundle's region split says the two parts are two objects
(``runtime/region_split.py``; without one, when enough of its own mass lies there: ``keep_purity``). The slot latents
and ids are untouched: only the segments change, so masses, centroids, the tracker's overlap, the debug view and the
query mask read whole objects with the head's boundary.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from ..bundle.layout import Bundle, BundleError
from .checked_files import read_checked

# A foreground region smaller than this share of the image is noise: it keeps the slots' own masks.
MIN_REGION_SHARE = 0.004


class ObjectnessHead:
    """The bundle's ``objectness.onnx`` (``config.json`` ``objectness``), checked against its recorded sha256."""

    slots_by = 'masks'                  # its regions go to the slots by the decoded masks (``LidarClusters``' default)

    def __init__(self, bundle: Path, entry: dict, num_threads: int = 1):
        import onnxruntime as ort
        _, data = read_checked(bundle, entry, 'objectness head')
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(num_threads))
        # As the backend's sessions: spin within a run, stop at its end (a pool left spinning burns the node's cores).
        options.add_session_config_entry('session.intra_op.allow_spinning', '1')
        options.add_session_config_entry('session.force_spinning_stop', '1')
        self.session = ort.InferenceSession(data, options, providers=['CPUExecutionProvider'])
        self.threshold = float(entry.get('threshold', 0.5))
        self.keep_share = float(entry.get('keep_share', 1.0))
        self.keep_purity = float(entry.get('keep_purity', 0.0))
        self.channels = int(entry['inputs'][0]['shape'][1])
        self.outputs = int(entry['outputs'][0]['shape'][1])
        self.touch_threshold = float(entry.get('touch_threshold', 0.5))
        self.order, self.min_share = 'size', MIN_REGION_SHARE
        self.split = None
        if entry.get('split'):
            from .region_split import RegionSplit, RegionSplitError
            try:
                self.split = RegionSplit(entry['split'])
            except RegionSplitError as exc:
                raise BundleError(f'bundle {bundle}: {exc}') from None

    def probabilities(self, frame: np.ndarray) -> np.ndarray:
        """Return the head's probabilities float32 [outputs, H, W] (foreground; touching) of a model input [C, H, W]."""
        if frame.shape[0] != self.channels:
            raise ValueError(f'the objectness head reads {self.channels} channels, got {frame.shape[0]}')
        logit = self.session.run(None, {'frames': np.ascontiguousarray(frame[None], np.float32)})[0][0]
        return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)

    def probability(self, frame: np.ndarray) -> np.ndarray:
        """Foreground probability float32 [H, W] of one frame's model input [C, H, W]."""
        return self.probabilities(frame)[0]

    def regions_of(self, probabilities: np.ndarray) -> np.ndarray:
        """Return the objects in the head's ``probabilities``: labels int [H, W] (0: background; ``object_regions``)."""
        p = probabilities
        return object_regions(p[0] > self.threshold, p[1] > self.touch_threshold if self.outputs > 1 else None)

    def take(self, masks: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        """
        Return (the slots' masks [K, H, W] with the head's regions of ``frame`` made whole, those regions, None).

        ``frame``: the model input [C, H, W]. With the bundle's region split, which slots keep their parts of a region
        apart is its call (``runtime/region_split.py``), else ``keep_purity``'s. The head runs once.
        """
        p = self.probabilities(frame)
        regions = self.regions_of(p)
        keep = None if self.split is None else self.split.keeper(frame, p[0])
        return (whole_object_masks(masks, regions, keep_share=self.keep_share, keep_purity=self.keep_purity,
                                   order=self.order, min_share=self.min_share, keep=keep), regions, None)


class LidarClusters:
    """
    A LIDAR bundle's objectness by geometry (``config.json`` ``objectness``: ``{"kind": "lidar-clusters", ...}``).

    The classical pipeline's clusters of the range image (``sensing/lidar_clusters.py``: ground removed, connected
    components) are the regions; they go to the slots that overlap them most (``order='overlap'``: a slot the model
    put on an object takes that object's cluster whole, buildings and vegetation no slot holds stay the slots').
    With ``order='scorer'`` the bundle's learned scorer (``runtime/cluster_scorer.py``) ranks the clusters by how
    likely each is one object, and the K slots take the K likeliest (those above ``min_score``), each whole.
    Clusters wider than ``max_extent`` or farther than ``max_range`` (metres, the mean of their returns) take no slot.
    """

    def __init__(self, entry: dict, sensor, bundle: Path | None = None):
        self.sensor, self.lidar = sensor, sensor.lidar
        self.distance = float(entry.get('distance', 0.5))
        self.spread = float(entry.get('spread', 2.0))
        if not (self.distance > 0 and self.spread >= 0):
            raise BundleError(f'objectness lidar-clusters: distance must be > 0 and spread >= 0, got {entry}')
        self.keep_share = float(entry.get('keep_share', 1.0))
        self.keep_purity = float(entry.get('keep_purity', 0.0))
        self.order = str(entry.get('order', 'overlap'))
        self.min_share = 1.0 / (self.lidar.channels * self.lidar.azimuth_bins)      # every cluster counts
        self.max_extent = entry.get('max_extent')            # metres; None: every cluster is a candidate
        self.max_range = entry.get('max_range')              # metres; None: at any range
        if self.max_range is not None and not float(self.max_range) > 0:
            raise BundleError(f'objectness lidar-clusters: max_range must be > 0, got {self.max_range}')
        self.assign = str(entry.get('assign', 'one'))
        if self.assign not in ('one', 'all'):
            raise BundleError(f"objectness lidar-clusters: assign must be 'one' or 'all', got {self.assign!r}")
        self.scorer = None
        if self.order == 'scorer':
            from .cluster_scorer import ClusterScorer
            if bundle is None:
                raise BundleError('objectness lidar-clusters: order scorer needs the bundle that holds the scorer')
            self.scorer = ClusterScorer.load(bundle, entry)
            from ..sensing.cluster_features import FEATURES
            if self.scorer.features != FEATURES:
                raise BundleError(f'bundle {bundle}: its cluster scorer reads features {list(self.scorer.features)}, '
                                  f'this version computes {list(FEATURES)} (train the scorer again)')
        self.min_score = float(entry.get('min_score', 0.0))
        # Which slot takes which cluster: by the decoded masks, or (``placement``) by where the window encoder placed
        # each slot (no mask decoder: with a scorer the clusters are the segments, the slots only carry them).
        self.slots_by = str(entry.get('slots_by', 'masks'))
        if self.slots_by not in ('masks', 'placement'):
            raise BundleError("objectness lidar-clusters: slots_by must be 'masks' or 'placement', "
                              f'got {self.slots_by!r}')

    def take(self, masks: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """
        Return (the slots' masks with the clusters of a LIDAR model input given to them, the clusters, probabilities).

        ``frame``: the model input [2, ch, az]; probabilities: each cluster label's of being one object (None without a
        scorer).
        """
        regions, probability = self.ranked_regions(self.sensor.geometry(frame))
        return self.give(masks, regions), regions, probability

    def range_regions(self, range_image: np.ndarray) -> np.ndarray:
        """Return the clusters of a range image [ch, az] (metres, inf = none): labels int [ch, az] (0 = none)."""
        return self.ranked_regions(range_image)[0]

    def ranked_regions(self, range_image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """
        Return the clusters of a range image and, with the scorer, each label's probability [count + 1] (0: none).

        With the scorer the labels are numbered by probability, best first.
        """
        from ..sensing.lidar import range_points
        from ..sensing.lidar_clusters import ground_plane, near_enough, object_sized, range_clusters
        points = range_points(range_image, self.lidar)
        plane = ground_plane(points[np.isfinite(range_image)])          # fitted once: the clusters and the scorer's
        labels = np.maximum(range_clusters(range_image, self.lidar, self.distance, self.spread, points, plane), 0)
        sized = labels if self.max_extent is None else object_sized(labels, points, float(self.max_extent))
        if self.max_range is not None:
            sized = near_enough(sized, range_image, float(self.max_range))
        if self.scorer is None:
            return sized, None
        # The scorer's order: clusters numbered by their probability of being one object, best first.
        from ..sensing.cluster_features import cluster_features
        count = int(labels.max())
        if count == 0:
            return labels, np.zeros(1)
        score = self.scorer.probability(cluster_features(range_image, labels, self.lidar, points, plane))
        kept = np.zeros(count + 1, bool)
        kept[1:] = score >= self.min_score
        kept[np.unique(labels[(labels > 0) & (sized == 0)])] = False          # too large for an object, or too far
        order = [int(c) for c in np.argsort(-score, kind='stable') if kept[c + 1]]
        number = np.zeros(count + 1, np.int64)
        number[np.array(order, np.int64) + 1] = np.arange(1, len(order) + 1)
        return number[labels], np.concatenate([[0.0], score[np.array(order, np.int64)]])

    def placed(self, placement: np.ndarray, shape: tuple) -> np.ndarray:
        """Return mixture weights [K, H, W] from the slots' placement [K, 4] of a frame (``slots_by: placement``)."""
        return placement_masks(placement, shape, wrap=self.lidar.horizontal_fov >= 360)

    def segments(self, masks: np.ndarray, range_image: np.ndarray) -> np.ndarray:
        """Return the slots' masks [K, ch, az] with the clusters of ``range_image`` given to them (as the node)."""
        return self.give(masks, self.range_regions(range_image))

    def give(self, masks: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """Return the slots' masks [K, ch, az] with ``regions`` given to them (``assign``: one a slot, or all)."""
        if self.assign == 'all':
            return every_region_to_its_slot(masks, regions)
        return whole_object_masks(masks, regions, keep_share=self.keep_share, keep_purity=self.keep_purity,
                                  order='label' if self.scorer is not None else self.order, min_share=self.min_share)


def placement_masks(placement: np.ndarray, shape: tuple, wrap: bool = False) -> np.ndarray:
    """
    Return mixture weights [K, H, W] drawn from each slot's placement [K, 4] alone (no decoder).

    placement: centre x, y in [-1, 1] (x right, y down) and half-extents, as the window encoder gives them for a frame;
    each slot weighs a pixel by how far inside its box the pixel lies (a Gaussian of the distance in half-extents),
    the weights normalised over the slots. ``wrap``: x wraps round (a 360-degree range image's seam).
    """
    placement = np.asarray(placement, np.float64)
    h, w = shape
    xs = (np.arange(w) + 0.5) / w * 2 - 1
    ys = (np.arange(h) + 0.5) / h * 2 - 1
    dx = xs[None, :] - placement[:, 0:1]                                       # [K, W]
    if wrap:
        dx = (dx + 1) % 2 - 1
    dx = (dx / placement[:, 2:3]) ** 2
    dy = ((ys[None, :] - placement[:, 1:2]) / placement[:, 3:4]) ** 2          # [K, H]
    logit = -0.5 * (dy[:, :, None] + dx[:, None, :])                           # [K, H, W]
    logit -= logit.max(axis=0, keepdims=True)
    weight = np.exp(logit) + 1e-6              # never exactly 0 (as a decoder's softmax): a slot keeps no stray pixel
    return (weight / weight.sum(axis=0, keepdims=True)).astype(np.float32)


def every_region_to_its_slot(masks: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """
    Give every region (labels int [H, W], 0 = none) whole to the slot with the most weight in it.

    masks [K, H, W] summing to 1 over K; a slot may take many regions; pixels outside the regions keep the masks.
    """
    count = int(labels.max())
    if count == 0:
        return masks
    flat = labels.ravel()
    mass = np.stack([np.bincount(flat, weights=m.ravel(), minlength=count + 1) for m in masks])   # [K, R + 1]
    winner = mass.argmax(axis=0)                                                                  # [R + 1]
    out = masks.copy()
    inside = labels > 0
    out[:, inside] = 0.0
    out[winner[labels[inside]], np.nonzero(inside)[0], np.nonzero(inside)[1]] = 1.0
    return out


def objectness_for(bundle: Bundle, sensor, num_threads: int = 1):
    """Return a bundle's objectness: its head (camera) or its geometric clusters (LIDAR, ``kind: lidar-clusters``)."""
    entry = bundle.objectness or {}
    if entry.get('kind') == 'lidar-clusters':
        if getattr(sensor, 'modality', None) != 'lidar':
            raise BundleError(f'bundle {bundle.path}: objectness lidar-clusters needs a LIDAR bundle')
        return LidarClusters(entry, sensor, bundle.path)
    return ObjectnessHead(bundle.path, entry, num_threads=num_threads)


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
                       keep_share: float = 1.0, keep_purity: float = 0.0, order: str = 'size',
                       keep=None) -> np.ndarray:
    """
    Give each connected foreground region to the slots that hold it.

    masks [K, H, W] (mixture weights, summing to 1 over K); foreground bool [H, W] (its connected regions) or labels
    int [H, W] (``object_regions``; 0 = background). The slot holding most of a region takes it, and so does every
    other slot holding at least ``keep_share`` of it and at least ``keep_purity`` of its own mass over the image there
    (1: the top slot alone, the region whole; below 1, touching objects that the slots tell apart stay apart, while a
    slot that holds a piece of a large object beside background leaves that piece to the top slot): each of them takes
    the part of the region where it is the strongest of them, with weight 1; its weight outside that part goes to the
    other slots (in proportion to theirs; where only slots with parts have weight, to the last of them to take its
    part: ``_take_parts``). A slot takes part in one region at most. Regions below ``min_share`` of the image, and
    regions left when every slot has one, keep the slots' masks. Regions are taken largest first (``order='size'``),
    or (``'overlap'``) by how much a slot points at them (its mean weight inside the region less its mean weight
    outside, the best slot's), or (``'iou'``) by the best slot's IoU with them, or (``'label'``) in the order of their
    labels (a scorer numbered them best first): when regions outnumber slots, the first in that order win.
    ``keep(masks, region, top, slot)``, when given, replaces the ``keep_purity`` test: True keeps the second slot's
    part apart (``runtime/region_split.py``: are the two parts one object?).
    """
    masks = np.asarray(masks, np.float32)
    if foreground.dtype == bool:
        labels, count = ndimage.label(foreground)
    else:
        labels, count = foreground, int(foreground.max())
    if count == 0:
        return masks
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    if order == 'overlap':
        flat = labels.ravel()
        mass = np.stack([np.bincount(flat, weights=m.ravel(), minlength=count + 1)[1:] for m in masks])  # [K, R]
        totals_k = masks.reshape(len(masks), -1).sum(axis=1)[:, None]
        inside = mass / np.maximum(sizes[None, :], 1)
        outside = (totals_k - mass) / np.maximum(labels.size - sizes[None, :], 1)
        rank = (inside - outside).max(axis=0)             # how much more a slot weighs the region than the rest
    elif order == 'iou':
        flat = labels.ravel()
        hard = np.eye(len(masks), dtype=np.float64)[masks.argmax(axis=0).ravel()].T                     # [K, P]
        inter = np.stack([np.bincount(flat, weights=h, minlength=count + 1)[1:] for h in hard])       # [K, R]
        rank = (inter / np.maximum(sizes[None, :] + hard.sum(axis=1)[:, None] - inter, 1)).max(axis=0)
    elif order == 'size':
        rank = sizes.astype(np.float64)
    elif order == 'label':
        rank = -np.arange(count, dtype=np.float64)
    else:
        raise ValueError(f"order must be 'size', 'overlap', 'iou' or 'label', got {order!r}")
    order = [r for r in np.argsort(-rank, kind='stable') if sizes[r] >= min_share * labels.size]
    totals = masks.reshape(masks.shape[0], -1).sum(axis=1)                    # [K]: each slot's whole mass
    used: set = set()
    parts = []                                                   # (slot, bool [H, W]): the part of a region it takes
    for r in order:
        region = labels == r + 1
        mass = masks[:, region].sum(axis=1)                                   # [K]
        free = [int(k) for k in np.argsort(-mass, kind='stable') if int(k) not in used]
        if not free:
            break
        kept = free[:1] + [k for k in free[1:] if mass[k] >= keep_share * mass.sum()
                           and (keep(masks, region, free[0], k) if keep else mass[k] >= keep_purity * totals[k])]
        strongest = np.array(kept)[masks[kept][:, region].argmax(axis=0)]        # per region pixel
        for slot in kept:
            part = np.zeros_like(region)
            part[region] = strongest == slot
            if part.any():
                parts.append((slot, part))
                used.add(slot)
    return _take_parts(masks, parts)


def _take_parts(masks: np.ndarray, parts: list) -> np.ndarray:
    """
    Return the masks with each (slot, part) of ``parts`` taking its part whole and leaving the rest to the others.

    In turn, each slot of ``parts`` leaves its weight outside its part to the other slots, in proportion to theirs,
    and keeps it where no other slot has any. That comes to: where a slot without a part has weight, the slots with
    parts drop out and the others are scaled back to the pixel's sum; where none has, the last slot (in the order of
    ``parts``) with weight there holds the whole sum. Both are computed for all pixels at once (32 slots over a 64x256
    range image: about 13 ms on this project's 2-core CPU; slot by slot, 50).
    """
    out = masks.copy()
    if not parts:
        return out
    order = np.array([slot for slot, _ in parts])
    rest = masks.astype(np.float64)
    rest[order] = 0.0
    total, whole = rest.sum(axis=0), masks.sum(axis=0, dtype=np.float64)
    free = total > 0
    out[:, free] = rest[:, free] * (whole[free] / total[free])
    stuck = np.nonzero(~free.ravel())[0]
    if len(stuck):
        held = masks.reshape(len(masks), -1)[order][:, stuck] > 0                    # [parts, M]
        last = len(order) - 1 - np.argmax(held[::-1], axis=0)
        flat = out.reshape(len(masks), -1)
        flat[:, stuck] = 0.0
        some = held.any(axis=0)
        flat[order[last[some]], stuck[some]] = whole.ravel()[stuck[some]]
    owner = np.full(masks.shape[1:], -1, np.int64)               # each part's pixels: its slot, weight 1
    for slot, part in parts:
        owner[part] = slot
    inside = owner >= 0
    out[:, inside] = 0.0
    out[(owner[inside], *np.nonzero(inside))] = 1.0
    return out
