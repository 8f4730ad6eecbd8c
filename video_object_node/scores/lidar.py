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
LIDAR segmentations scored per sweep, and the baselines a LIDAR engineer would use instead.

Every score reads the pixels of a range image that hold a return (within ``within`` metres): ``fg_ari`` over the
objects' pixels, ``mbo`` the mean over objects of the best IoU any segment reaches (segments count every pixel,
ground and buildings included, so a partition that ignores the background cannot score by chance), and
``centroid_error_m`` between each object's returns and its best segment's, in metres.

Baselines, each a segmentation of the same range image:

- ``sector_grid``: fixed azimuth sectors (what a segmentation without learning or geometry gives);
- ``kmeans_xyz``: k-means on the returns' 3-D points;
- ``range_clusters`` (``sensing/lidar_clusters.py``): the classical pipeline: the ground plane fitted by RANSAC and
  removed, then range-image connected components (neighbouring returns close in 3-D are one object; the 360-degree
  seam wraps, so an object across it stays one).
"""
from __future__ import annotations

import numpy as np

from ..sensing.config import LidarConfig
from ..sensing.lidar import range_points
from ..sensing.lidar_clusters import range_clusters
from .segments import fg_ari, kmeans_segments


def sector_grid(range_image: np.ndarray, sectors: int = 16) -> np.ndarray:
    """Return fixed azimuth sectors int [ch, az] (-1 where there is no return)."""
    az = range_image.shape[1]
    sector = np.minimum(np.arange(az) * sectors // az, sectors - 1)
    return np.where(np.isfinite(range_image), sector[None, :], -1)


def kmeans_xyz(range_image: np.ndarray, lc: LidarConfig, k: int = 16, seed: int = 0) -> np.ndarray:
    """Return k-means clusters of the returns' 3-D points int [ch, az] (-1 where there is no return)."""
    valid = np.isfinite(range_image)
    labels = np.full(range_image.shape, -1, np.int64)
    points = range_points(range_image, lc)[valid]
    if len(points) < k:
        labels[valid] = 0
        return labels
    # kmeans_segments clusters a [T, H, W, C] "video" on its channels (and position, weighted 0 here).
    segs = kmeans_segments(points[None, :, None, :].astype(np.float32), k, seed=seed, position_weight=0.0)
    labels[valid] = segs.reshape(-1)
    return labels


def sweep_scores(truth: np.ndarray, segments: np.ndarray, range_image: np.ndarray, lc: LidarConfig,
                 within: float = 40.0) -> dict:
    """
    Score one sweep's segmentation.

    truth int [ch, az] (-1 no return, 0 not an object, > 0 objects); segments int [ch, az] (any labels; pixels without
    a return are not read). Returns ``fg_ari`` (None with fewer than one object), ``best_iou`` per object and the
    ``centroid_error_m`` of each object against its best segment.
    """
    scored = np.isfinite(range_image) & (truth >= 0) & (range_image <= within)
    t, s = truth[scored], segments[scored]
    objects = [o for o in np.unique(t) if o > 0]
    out = {'fg_ari': fg_ari(t[None], s[None]) if objects else None, 'best_iou': [], 'centroid_error_m': []}
    if not objects:
        return out
    pts = range_points(range_image, lc)[scored]
    seg_ids, seg_index = np.unique(s, return_inverse=True)
    seg_sizes = np.bincount(seg_index, minlength=len(seg_ids))
    for o in objects:
        obj = t == o
        inter = np.bincount(seg_index[obj], minlength=len(seg_ids))
        iou = inter / (seg_sizes + obj.sum() - inter)
        best = int(np.argmax(iou))
        out['best_iou'].append(float(iou[best]))
        out['centroid_error_m'].append(float(np.linalg.norm(pts[obj].mean(0) - pts[seg_index == best].mean(0))))
    return out


BASELINES = ('grid', 'kmeans', 'cluster')


def lidar_report(sweeps, lc: LidarConfig, within: float = 40.0, kmeans: bool = True, sectors: int = 16,
                 k: int = 16) -> dict:
    """
    Score sweeps and baselines: ``fg_ari``, ``mbo``, ``centroid_error_m``, each also ``grid_`` and ``cluster_``.

    ``sweeps`` yields (range image [ch, az], truth int [ch, az], the model's segments int [ch, az] or None); scores are
    means over sweeps (FG-ARI) and over objects in every sweep (mBO; centroid error: the median, metres); ``kmeans_``
    too with ``kmeans``.
    """
    names = ('',) + tuple(f'{b}_' for b in BASELINES if kmeans or b != 'kmeans')
    acc = {n: {'fg_ari': [], 'best_iou': [], 'centroid_error_m': []} for n in names}
    count = 0
    for range_image, truth, segments in sweeps:
        count += 1
        candidates = {'grid_': sector_grid(range_image, sectors), 'cluster_': range_clusters(range_image, lc)}
        if kmeans:
            candidates['kmeans_'] = kmeans_xyz(range_image, lc, k)
        if segments is not None:
            candidates[''] = segments
        for name, segs in candidates.items():
            s = sweep_scores(truth, segs, range_image, lc, within)
            if s['fg_ari'] is not None:
                acc[name]['fg_ari'].append(s['fg_ari'])
            acc[name]['best_iou'] += s['best_iou']
            acc[name]['centroid_error_m'] += s['centroid_error_m']
    out = {'num_sweeps': count, 'within_m': within, 'num_objects': len(acc['cluster_']['best_iou'])}
    for name, a in acc.items():
        if not a['best_iou'] and not a['fg_ari']:
            continue
        out[f'{name}fg_ari'] = float(np.mean(a['fg_ari'])) if a['fg_ari'] else None
        out[f'{name}mbo'] = float(np.mean(a['best_iou'])) if a['best_iou'] else None
        out[f'{name}centroid_error_m'] = float(np.median(a['centroid_error_m'])) if a['centroid_error_m'] else None
    return out


def dataset_sweeps(data, split: str):
    """Yield (range image, truth, None) of every sweep of a LIDAR data set's split (for ``lidar_report``)."""
    from ..data.dataset import ClipDataset
    ds = ClipDataset(data, split)
    for i in range(len(ds)):
        clip = ds.raw(i)
        for t in range(len(clip['lidar_range'])):
            yield clip['lidar_range'][t], clip['lidar_ids'][t], None
