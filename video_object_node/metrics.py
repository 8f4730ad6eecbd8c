"""Segmentation and reconstruction metrics (numpy only; no ROS, no torch).

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
    """ARI of two labellings of the same pixels (1.0 = identical partitions, ~0 = chance).

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
    """Why an FG-ARI is low: (the mean share of an object's pixels in its majority segment, the fraction of
    objects whose majority segment is also another object's). 1.0 and 0.0 for a perfect segmentation;
    a split object lowers the first, merged objects raise the second. NaN for no objects."""
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
    """A baseline labelling: the same rows x cols grid of tiles in every frame; shape (T, H, W)."""
    t, h, w = shape
    ys = np.arange(h) * rows // h
    xs = np.arange(w) * cols // w
    return np.broadcast_to(ys[:, None] * cols + xs[None, :], shape).copy()


def kmeans_segments(video: np.ndarray, k: int, seed: int = 0, position_weight: float = 1.0) -> np.ndarray:
    """Baseline: k-means on each pixel's colour and (x, y) position, one clustering per clip.

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
