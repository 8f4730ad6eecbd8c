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
Objects in a LIDAR range image by geometry alone: the classical pipeline (numpy + scipy; no torch).

    range image [ch, az] -> ground plane (RANSAC) removed -> range-image connected components -> labels [ch, az]

Neighbouring returns (next column, next beam; on a 360-degree sensor the last column and the first) are one object
when they are closer in 3-D than ``distance`` metres, or than ``spread`` times the gap between two neighbouring rays
at that range (so that a coarse range image does not break far objects apart). The LIDAR baseline of evaluation
(``scores/lidar.py``) and the node's LIDAR segments read the same function.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .config import LidarConfig
from .lidar import azimuth_grid, beam_angles, range_points

GROUND_TOLERANCE_M = 0.25          # returns this close to the fitted ground plane (or below it) are ground
CLUSTER_DISTANCE_M = 0.5           # neighbouring returns closer than this are one object
CLUSTER_SPREAD = 2.0               # or closer than this many ray gaps at their range (chosen on sequences 00 and 05)
MIN_CLUSTER_PIXELS = 3             # smaller clusters join the clutter segment


def ground_plane(points: np.ndarray, iterations: int = 60, seed: int = 0) -> np.ndarray | None:
    """
    Fit the ground plane to points [N, 3] by RANSAC among the lowest third of them.

    Return (a, b, c, d) with a*x + b*y + c*z + d = 0, c > 0 (so the signed distance is the height above it), or None
    when there are fewer than 3 points; planes steeper than 20 degrees are not ground.
    """
    if len(points) < 3:
        return None
    rng = np.random.default_rng(seed)
    low = points[points[:, 2] <= np.quantile(points[:, 2], 1 / 3)]
    best, best_count = None, -1
    for _ in range(iterations):
        p = low[rng.choice(len(low), 3, replace=False)]
        normal = np.cross(p[1] - p[0], p[2] - p[0])
        norm = np.linalg.norm(normal)
        if norm < 1e-9:
            continue
        normal = normal / norm
        if normal[2] < 0:
            normal = -normal
        if normal[2] < np.cos(np.radians(20)):
            continue
        d = -normal @ p[0]
        count = int((np.abs(low @ normal + d) < GROUND_TOLERANCE_M / 2).sum())
        if count > best_count:
            best, best_count = np.append(normal, d), count
    return best


def range_clusters(range_image: np.ndarray, lc: LidarConfig, distance: float = CLUSTER_DISTANCE_M,
                   spread: float = CLUSTER_SPREAD, points: np.ndarray | None = None,
                   plane: np.ndarray | None = None) -> np.ndarray:
    """
    Segment a range image as the classical pipeline does: int [ch, az], -1 no return, 0 ground and clutter, 1.. objects.

    The ground (RANSAC plane; returns within ``GROUND_TOLERANCE_M`` of it or below) is removed, then 4-neighbouring
    returns closer than ``distance`` in 3-D, or than ``spread`` x the gap between their rays at the nearer one's range,
    join one cluster; on a 360-degree sensor the first and last columns are neighbours. Clusters under
    ``MIN_CLUSTER_PIXELS`` go to segment 0. ``points`` and ``plane``: the returns (``range_points``) and their
    ``ground_plane`` when the caller has them.
    """
    pts = range_points(range_image, lc) if points is None else points
    valid = np.isfinite(range_image)
    labels = np.full(range_image.shape, -1, np.int64)
    if not valid.any():
        return labels
    plane = ground_plane(pts[valid]) if plane is None else plane
    ground = np.zeros_like(valid)
    if plane is not None:
        height = np.where(valid, pts @ plane[:3] + plane[3], np.inf)
        ground = valid & (height < GROUND_TOLERANCE_M)
    keep = valid & ~ground
    ch, az = range_image.shape
    index = np.arange(ch * az).reshape(ch, az)
    rows, cols = [], []
    shifts = [((slice(None), slice(0, az - 1)), (slice(None), slice(1, az))),         # right neighbour
              ((slice(0, ch - 1), slice(None)), (slice(1, ch), slice(None)))]         # next beam
    if lc.horizontal_fov >= 360:
        shifts.append(((slice(None), slice(az - 1, az)), (slice(None), slice(0, 1))))  # across the seam
    elevation, _ = beam_angles(lc)
    row_gap = np.abs(np.diff(elevation)) if ch > 1 else np.zeros(0)
    gaps = [np.full((ch, az - 1), azimuth_grid(lc)[1]), np.broadcast_to(row_gap[:, None], (ch - 1, az)),
            np.full((ch, 1), azimuth_grid(lc)[1])]
    r = np.where(valid, range_image, np.inf)
    for (a, b), gap in zip(shifts, gaps):
        reach = np.maximum(distance, spread * np.minimum(r[a], r[b]) * gap) if spread > 0 else distance
        close = keep[a] & keep[b] & (np.linalg.norm(np.nan_to_num(pts[a] - pts[b], nan=np.inf), axis=-1) < reach)
        rows.append(index[a][close])
        cols.append(index[b][close])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(ch * az, ch * az))
    _, component = connected_components(graph, directed=False)
    component = component.reshape(ch, az)
    labels[valid] = 0
    found, sizes = np.unique(component[keep], return_counts=True)
    number = 0
    for c, size in zip(found, sizes):
        if size >= MIN_CLUSTER_PIXELS:
            number += 1
            labels[keep & (component == c)] = number
    return labels


def object_sized(labels: np.ndarray, points: np.ndarray, max_extent: float = 8.0,
                 max_height: float = 4.0) -> np.ndarray:
    """
    Keep the clusters the size of a road agent: labels int [ch, az] with the others set to 0.

    ``points`` [ch, az, 3]: the range image's returns (``sensing/lidar.range_points``).
    A cluster whose returns span more than ``max_extent`` metres across (x or y) or ``max_height`` metres up is a
    building, a hedge or a row of trees, not an object.
    """
    count = int(labels.max())
    if count == 0:
        return labels
    from scipy import ndimage
    pts = points
    index = np.arange(1, count + 1)
    out = labels.copy()
    too_big = np.zeros(count + 1, bool)
    for axis, limit in ((0, max_extent), (1, max_extent), (2, max_height)):
        values = np.nan_to_num(pts[..., axis])
        span = (np.asarray(ndimage.maximum(values, labels, index)) - np.asarray(ndimage.minimum(values, labels, index)))
        too_big[1:] |= span > limit
    out[too_big[np.maximum(labels, 0)] & (labels > 0)] = 0
    return out


def near_enough(labels: np.ndarray, range_image: np.ndarray, max_range: float) -> np.ndarray:
    """
    Keep the clusters whose returns lie on average within ``max_range`` metres: labels int [ch, az], the others 0.

    ``range_image`` [ch, az] (metres, inf = no return). The node's slots are few (a city sweep holds ~200 clusters):
    a far cluster that takes one leaves a near object without.
    """
    count = int(labels.max())
    if count == 0:
        return labels
    lab = np.maximum(labels, 0).ravel()
    ranges = np.where(np.isfinite(range_image), range_image, 0.0).ravel()
    seen = np.isfinite(range_image).ravel()
    mean = np.bincount(lab, weights=ranges, minlength=count + 1) / np.maximum(
        np.bincount(lab, weights=seen, minlength=count + 1), 1)
    far = mean > max_range
    far[0] = False
    return np.where(far[lab].reshape(labels.shape), 0, labels)
