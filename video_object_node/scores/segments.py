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
Segmentation and reconstruction metrics (numpy only; no ROS, no torch).

All segmentation scores take integer label arrays of the same shape covering a whole clip (T, H, W),
so one contingency table spans the video and a segment that changes identity between frames is
penalised.
"""
from __future__ import annotations

import numpy as np


def _contingency(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    _, t = np.unique(true.ravel(), return_inverse=True)
    _, p = np.unique(pred.ravel(), return_inverse=True)
    table = np.zeros((t.max() + 1, p.max() + 1), np.int64)
    np.add.at(table, (t, p), 1)
    return table


def adjusted_rand_index(true: np.ndarray, pred: np.ndarray) -> float:
    """
    ARI of two labellings of the same pixels (1.0 = identical partitions, ~0 = chance).

    Degenerate case (both labellings a single cluster, or a single pixel): 1.0, as in the
    multi-object benchmarks' convention.
    """
    if true.size == 0:
        return float('nan')
    table = _contingency(true, pred)
    n = true.size
    comb = lambda x: x * (x - 1) / 2.0  # noqa: E731
    sum_ij = comb(table).sum()
    sum_a = comb(table.sum(1)).sum()
    sum_b = comb(table.sum(0)).sum()
    expected = sum_a * sum_b / comb(n) if n > 1 else 0.0
    max_index = 0.5 * (sum_a + sum_b)
    if max_index == expected:
        return 1.0
    return float((sum_ij - expected) / (max_index - expected))


def fg_ari(true: np.ndarray, pred: np.ndarray, background: int = 0) -> float:
    """ARI over the pixels whose true label is not ``background`` (FG-ARI)."""
    fg = true != background
    return adjusted_rand_index(true[fg], pred[fg]) if fg.any() else float('nan')


def mean_best_overlap(true: np.ndarray, pred: np.ndarray, background: int = 0) -> float:
    """mBO: for each true object, the best IoU of any predicted segment, averaged over objects."""
    ids = [i for i in np.unique(true) if i != background]
    if not ids:
        return float('nan')
    scores = []
    for i in ids:
        obj = true == i
        best = 0.0
        for j in np.unique(pred[obj]):  # only segments that touch the object can overlap it
            seg = pred == j
            best = max(best, np.logical_and(obj, seg).sum() / np.logical_or(obj, seg).sum())
        scores.append(best)
    return float(np.mean(scores))


def split_and_merge(true: np.ndarray, pred: np.ndarray, background: int = 0) -> tuple[float, float]:
    """
    Say why an FG-ARI is low: split objects and merged ones.

    Why an FG-ARI is low: (the mean share of an object's pixels in its majority segment, the fraction of
    objects whose majority segment is also another object's). 1.0 and 0.0 for a perfect segmentation;
    a split object lowers the first, merged objects raise the second. NaN for no objects.
    """
    table = _contingency(true, pred)
    labels = np.unique(true.ravel())
    table = table[labels != background]
    if len(table) == 0:
        return float('nan'), float('nan')
    owner = table.argmax(1)
    share = table.max(1) / table.sum(1)
    merged = np.bincount(owner)[owner] > 1
    return float(share.mean()), float(merged.mean())


def psnr(mse: float, peak: float = 1.0) -> float:
    return float(10.0 * np.log10(peak ** 2 / max(mse, 1e-12)))


def fixed_grid_segments(shape: tuple, rows: int, cols: int) -> np.ndarray:
    """Return a baseline labelling: the same rows x cols grid of tiles in every frame; shape (T, H, W)."""
    t, h, w = shape
    ys = np.arange(h) * rows // h
    xs = np.arange(w) * cols // w
    return np.broadcast_to(ys[:, None] * cols + xs[None, :], shape).copy()


def kmeans_segments(video: np.ndarray, k: int, seed: int = 0, position_weight: float = 1.0) -> np.ndarray:
    """
    Baseline: k-means on each pixel's colour and (x, y) position, one clustering per clip.

    ``video`` uint8 or float [T, H, W, C] -> labels [T, H, W].
    """
    from sklearn.cluster import KMeans

    t, h, w, c = video.shape
    rgb = video.reshape(-1, c).astype(np.float32)
    rgb = rgb / 255.0 if video.dtype == np.uint8 else rgb
    ys, xs = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing='ij')
    pos = np.broadcast_to(np.stack([ys, xs], -1), (t, h, w, 2)).reshape(-1, 2) * position_weight
    feats = np.concatenate([rgb, pos], axis=1)
    labels = KMeans(n_clusters=k, n_init=2, random_state=seed, max_iter=100).fit_predict(feats)
    return labels.reshape(t, h, w)


# Foreground scores (real footage: one annotated foreground object per clip) -------------------------------
def window_j(pred: np.ndarray, fg: np.ndarray) -> float:
    """Return the IoU of two boolean masks [T, H, W] over the whole window (NaN when both are empty)."""
    union = np.logical_or(pred, fg).sum()
    return float(np.logical_and(pred, fg).sum() / union) if union else float('nan')


def best_segment(segments: np.ndarray, fg: np.ndarray) -> tuple[int, float]:
    """
    Return the segment that overlaps the foreground best, and its J.

    The segment label of ``segments`` [T, H, W] whose mask overlaps the foreground ``fg`` [T, H, W] best over
    the window, and that IoU (J); (-1, 0.0) when no segment touches the foreground.
    """
    best = (-1, 0.0)
    for label in np.unique(segments[fg]):
        j = window_j(segments == label, fg)
        if j > best[1]:
            best = (int(label), j)
    return best


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Return the pixels of a boolean mask [H, W] with a 4-neighbour outside it (the image border counts as inside)."""
    padded = np.pad(mask, 1, mode='edge')
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inner


def boundary_f(pred: np.ndarray, fg: np.ndarray, tolerance: float = 0.008) -> float:
    """
    DAVIS' contour accuracy F of one frame [H, W].

    Boundary precision and recall within ``tolerance`` of the image diagonal (at least one pixel), their harmonic mean;
    1.0 when both masks are empty.
    """
    from scipy.ndimage import binary_dilation
    pb, gb = _boundary(pred), _boundary(fg)
    if not pb.any() and not gb.any():
        return 1.0
    if not pb.any() or not gb.any():
        return 0.0
    radius = max(1, int(round(tolerance * np.hypot(*fg.shape))))
    disk = np.hypot(*np.mgrid[-radius:radius + 1, -radius:radius + 1]) <= radius
    precision = (pb & binary_dilation(gb, disk)).sum() / pb.sum()
    recall = (gb & binary_dilation(pb, disk)).sum() / gb.sum()
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def j_and_f(pred: np.ndarray, fg: np.ndarray) -> float:
    """
    DAVIS' J&F of a mask sequence [T, H, W].

    The mean over frames of the per-frame IoU (1.0 for a frame where both are empty) and of the contour accuracy,
    averaged.
    """
    js = [window_j(p, g) for p, g in zip(pred, fg)]
    js = [1.0 if np.isnan(j) else j for j in js]
    fs = [boundary_f(p, g) for p, g in zip(pred, fg)]
    return float((np.mean(js) + np.mean(fs)) / 2)


def centre_box(shape: tuple) -> np.ndarray:
    """Return the fixed-box baseline: the middle half of the image (in each axis) in every frame; shape (T, H, W)."""
    t, h, w = shape
    box = np.zeros((h, w), bool)
    box[h // 4:h - h // 4, w // 4:w - w // 4] = True
    return np.broadcast_to(box, shape).copy()
