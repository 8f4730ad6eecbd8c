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
What each cluster of a range image looks like, as numbers a learned scorer reads (numpy + scipy; no torch).

    range image [ch, az] + cluster labels [ch, az] (``lidar_clusters.range_clusters``) -> features float32 [R, F]

One row per cluster 1..R, the columns named by ``FEATURES``: its size in returns and in metres (length and width along
its own main axis on the ground, height), where it stands (range, its top and bottom above the fitted ground plane),
how densely the sensor saw it for its range, and how many beams and columns it spans. A car, a cyclist and a person
differ from a wall, a pole, a bush or a piece of road edge in these numbers on any sensor, simulated or real.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .config import LidarConfig
from .lidar import azimuth_grid, range_points
from .lidar_clusters import ground_plane

FEATURES = ('log_returns', 'range_m', 'log_area', 'length_m', 'width_m', 'height_m', 'top_m', 'bottom_m',
            'beams', 'columns', 'fill', 'elongation', 'beside_ground', 'beside_cluster', 'beside_nothing', 'in_front')


def cluster_features(range_image: np.ndarray, labels: np.ndarray, lc: LidarConfig,
                     points: np.ndarray | None = None, plane: np.ndarray | None = None) -> np.ndarray:
    """
    Return float32 [R, len(FEATURES)] for the clusters 1..R of ``labels`` (int [ch, az]; <= 0 is no cluster).

    ``points`` and ``plane``: the range image's returns [ch, az, 3] (``range_points``) and their ``ground_plane``,
    when the caller has them (the clustering fitted the same plane).
    """
    count = int(max(labels.max(), 0))
    out = np.zeros((count, len(FEATURES)), np.float32)
    if count == 0:
        return out
    pts = range_points(range_image, lc) if points is None else points
    valid = np.isfinite(range_image)
    plane = ground_plane(pts[valid]) if plane is None else plane
    lab = np.where(valid & (labels > 0), labels, 0)
    flat = lab.ravel()
    p = np.nan_to_num(pts.reshape(-1, 3))
    index = np.arange(1, count + 1)

    def total(values):
        return np.bincount(flat, weights=values, minlength=count + 1)[1:]

    n = np.maximum(total(np.ones(flat.size)), 1)
    mean = [total(p[:, i]) / n for i in range(3)]
    r = total(np.where(flat > 0, np.nan_to_num(range_image.ravel(), posinf=0.0), 0.0)) / n
    # Spread on the ground: the eigenvalues of the xy covariance give the length and width (4 standard deviations).
    sxx = total(p[:, 0] ** 2) / n - mean[0] ** 2
    syy = total(p[:, 1] ** 2) / n - mean[1] ** 2
    sxy = total(p[:, 0] * p[:, 1]) / n - mean[0] * mean[1]
    half = np.sqrt(np.maximum(((sxx - syy) / 2) ** 2 + sxy ** 2, 0))
    major = np.maximum((sxx + syy) / 2 + half, 0)
    minor = np.maximum((sxx + syy) / 2 - half, 0)
    # Heights above the fitted ground plane (above the sensor's own level when no plane is found).
    height = (p @ plane[:3] + plane[3] if plane is not None else p[:, 2]).reshape(lab.shape)
    top = np.asarray(ndimage.maximum(height, lab, index))
    bottom = np.asarray(ndimage.minimum(height, lab, index))
    row = np.broadcast_to(np.arange(lab.shape[0])[:, None], lab.shape)
    beams = np.asarray(ndimage.maximum(row, lab, index)) - np.asarray(ndimage.minimum(row, lab, index)) + 1
    # Columns spanned, the 360-degree seam wrapped: the angular width of the cluster's xy spread at its range.
    step = azimuth_grid(lc)[1]
    columns = np.maximum(np.sqrt(major) * 4 / np.maximum(r, 1e-3) / step, 1)
    out[:, 0] = np.log(n)
    out[:, 1] = r
    out[:, 2] = np.log(n * np.maximum(r, 1e-3) ** 2 * step ** 2)          # the area the returns cover (m^2, roughly)
    out[:, 3] = 4 * np.sqrt(major)
    out[:, 4] = 4 * np.sqrt(minor)
    out[:, 5] = top - bottom
    out[:, 6] = top
    out[:, 7] = bottom
    out[:, 8] = beams
    out[:, 9] = columns
    out[:, 10] = n / np.maximum(beams * columns, 1)
    out[:, 11] = np.sqrt(major / np.maximum(minor, 1e-4))
    out[:, 12:] = surroundings(range_image, labels, lc, count)
    return out


def surroundings(range_image: np.ndarray, labels: np.ndarray, lc: LidarConfig, count: int) -> np.ndarray:
    """
    Return float [count, 4]: what lies beside each cluster in the range image, as shares of its outside neighbours.

    Columns: ground (label 0 with a return), another cluster, no return (or a label < 0), and the share of the
    neighbours nearer to the sensor than the cluster's own pixel (something in front of it). A car on the road is
    ringed by ground; a piece of a hedge or a wall is ringed by its other pieces; a fragment behind a pole by nearer
    returns. On a 360-degree sensor the first and last columns are neighbours.
    """
    wrap = lc.horizontal_fov >= 360
    r = np.where(np.isfinite(range_image), range_image, np.inf)
    seen = np.isfinite(range_image)
    tally = np.zeros((count + 1, 4))
    for axis, shift in ((0, 1), (0, -1), (1, 1), (1, -1)):
        if axis == 1 and wrap:
            other, other_r, other_seen = (np.roll(a, shift, axis=1) for a in (labels, r, seen))
            inside = np.ones(labels.shape, bool)
        else:
            other, other_r, other_seen = (np.roll(a, shift, axis=axis) for a in (labels, r, seen))
            inside = np.ones(labels.shape, bool)
            edge = [slice(None)] * 2
            edge[axis] = 0 if shift == 1 else -1
            inside[tuple(edge)] = False                   # np.roll brought the far edge round: not a neighbour
        mine = (labels > 0) & inside & (other != labels)
        lab = labels[mine]
        kinds = np.stack([other_seen[mine] & (other[mine] == 0), other[mine] > 0,
                          ~other_seen[mine] | (other[mine] < 0), other_r[mine] < r[mine] - 0.5], axis=1)
        for j in range(4):
            tally[:, j] += np.bincount(lab, weights=kinds[:, j], minlength=count + 1)
    edges = np.maximum(tally[1:, :3].sum(axis=1, keepdims=True), 1)
    return tally[1:] / edges


def cluster_truth(labels: np.ndarray, truth: np.ndarray, least_iou: float = 0.5) -> np.ndarray:
    """
    Return bool [R]: whether each cluster 1..R is one labelled object (IoU >= ``least_iou`` with it).

    ``truth`` int [ch, az] (> 0 objects, as a LIDAR data set's ``lidar_ids``).
    """
    count = int(max(labels.max(), 0))
    lab, obj = np.maximum(labels, 0).ravel(), np.maximum(truth, 0).ravel()
    ids, inverse = np.unique(obj, return_inverse=True)
    joint = np.zeros((count + 1, len(ids)))
    np.add.at(joint, (lab, inverse), 1)
    size_c, size_o = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    iou = joint / np.maximum(size_c + size_o - joint, 1)
    iou[:, ids == 0] = 0
    return iou[1:].max(axis=1, initial=0.0) >= least_iou
