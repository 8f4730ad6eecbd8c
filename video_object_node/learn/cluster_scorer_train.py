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
Train a LIDAR bundle's cluster scorer: which range-image clusters are one object (``runtime/cluster_scorer.py``).

    LIDAR data sets with instance ids -> every sweep's clusters (``sensing/lidar_clusters.range_clusters``)
        -> features (``sensing/cluster_features.py``) and truth (IoU >= 0.5 with one labelled object)
        -> scikit-learn HistGradientBoostingClassifier (trees of depth 3) -> arrays in the bundle (safetensors)

A data set can weigh more than another (``ROOT:SPLIT:WEIGHT``): a few real sweeps beside many simulated ones. The
exported trees are checked against scikit-learn's own probabilities before they are written.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..bundle.layout import Bundle, write_bundle_config
from ..files import atomic_write_bytes
from ..runtime.cluster_scorer import SCORER_FILE, ClusterScorer
from ..sensing.cluster_features import FEATURES, cluster_features, cluster_truth

TREE_DEPTH = 3
PARITY_TOLERANCE = 1e-6


class ScorerError(ValueError):
    """A cluster scorer that cannot be trained from what was given (one line)."""


def sweep_clusters(root: Path, split: str, lidar, clips: int | None = None):
    """Yield (features [R, F], truth bool [R]) for every sweep of a LIDAR data set's split."""
    from ..data.dataset import ClipDataset
    from ..sensing.lidar import range_points
    from ..sensing.lidar_clusters import ground_plane, range_clusters
    ds = ClipDataset(root, split)
    own = ds.sim.lidar if ds.sim is not None else None
    if own is None or (own.channels, own.azimuth_bins) != (lidar.channels, lidar.azimuth_bins):
        shape = 'none' if own is None else f'{own.channels}x{own.azimuth_bins}'
        raise ScorerError(f'{root}: its range images ({shape}) are not the bundle\'s ({lidar.channels}x'
                          f'{lidar.azimuth_bins})')
    for i in range(len(ds) if clips is None else min(clips, len(ds))):
        clip = ds.raw(i)
        if 'lidar_ids' not in clip:
            raise ScorerError(f'{root}:{split} has no instance ids (lidar_ids): nothing to learn objects from')
        for range_image, truth in zip(clip['lidar_range'], clip['lidar_ids']):
            points = range_points(range_image, own)
            plane = ground_plane(points[np.isfinite(range_image)])
            labels = np.maximum(range_clusters(range_image, own, points=points, plane=plane), 0)
            yield cluster_features(range_image, labels, own, points, plane), cluster_truth(labels, truth)


def tree_arrays(model) -> dict:
    """Return the arrays of a fitted binary HistGradientBoostingClassifier (``runtime/cluster_scorer`` reads them)."""
    # scikit-learn keeps its fitted trees (one per boosting round) in a private attribute; the pinned version is the
    # one read here, and train_scorer checks the arrays' probabilities against scikit-learn's before writing them.
    trees = [p[0].nodes for p in model._predictors]
    width = max(len(t) for t in trees)
    out = {'feature': np.zeros((len(trees), width), np.int32), 'threshold': np.zeros((len(trees), width)),
           'left': np.zeros((len(trees), width), np.int32), 'right': np.zeros((len(trees), width), np.int32),
           'leaf': np.ones((len(trees), width), np.uint8), 'value': np.zeros((len(trees), width)),
           'missing_left': np.zeros((len(trees), width), np.uint8)}
    for i, t in enumerate(trees):
        n = len(t)
        out['feature'][i, :n] = t['feature_idx']
        out['threshold'][i, :n] = t['num_threshold']
        out['left'][i, :n], out['right'][i, :n] = t['left'], t['right']
        out['leaf'][i, :n] = t['is_leaf']
        out['value'][i, :n] = t['value']
        out['missing_left'][i, :n] = t['missing_go_to_left']
    return out


def train_scorer(bundle: Path, sources: list[tuple[Path, str, float]], clips: int | None = None,
                 seed: int = 0, min_score: float = 0.0) -> dict:
    """
    Fit the scorer on ``sources``, write it into the LIDAR ``bundle`` (order ``scorer``); return the entry.

    ``min_score``: clusters less likely than this to be one object go to no slot.
    """
    from safetensors.numpy import save
    from sklearn.ensemble import HistGradientBoostingClassifier
    opened = Bundle.open(bundle)
    doc = dict(opened.doc)
    entry = dict(doc.get('objectness') or {})
    if entry.get('kind') != 'lidar-clusters':
        raise ScorerError(f'{bundle}: a cluster scorer needs lidar-clusters objectness (attach --lidar-clusters first)')
    from ..sensing.config import LidarConfig
    lidar = LidarConfig.from_dict(doc['lidar'])
    xs, ys, ws, counts = [], [], [], []
    for root, split, weight in sources:
        rows = list(sweep_clusters(root, split, lidar, clips))
        x = np.concatenate([r[0] for r in rows]) if rows else np.zeros((0, len(FEATURES)), np.float32)
        y = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, bool)
        xs.append(x)
        ys.append(y)
        ws.append(np.full(len(y), weight))
        counts.append({'data': f'{root}:{split}', 'weight': weight, 'sweeps': len(rows), 'clusters': len(y),
                       'objects': int(y.sum())})
    x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    if y.all() or not y.any():
        raise ScorerError('the clusters of these data sets are all objects or none: nothing to tell apart')
    model = HistGradientBoostingClassifier(max_depth=TREE_DEPTH, random_state=seed).fit(x, y, sample_weight=w)
    arrays = {**tree_arrays(model), 'baseline': np.zeros(1)}
    leaves = ClusterScorer(arrays, FEATURES).probability(x[:1])[0]          # the logistic of the leaves reached
    # The trees' constant: scikit-learn's log-odds of one cluster less the leaves its arrays reach.
    arrays['baseline'] = np.array([model.decision_function(x[:1])[0] - np.log(leaves / (1 - leaves))])
    parity = float(np.abs(ClusterScorer(arrays, FEATURES).probability(x) - model.predict_proba(x)[:, 1]).max())
    if parity > PARITY_TOLERANCE:
        raise ScorerError(f'the exported trees differ from scikit-learn\'s by {parity:.2e} (> {PARITY_TOLERANCE})')
    data = save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    atomic_write_bytes(Path(bundle) / SCORER_FILE, data)
    spec = {'file': SCORER_FILE, 'sha256': hashlib.sha256(data).hexdigest(), 'features': list(FEATURES),
            'trees': int(arrays['feature'].shape[0]), 'depth': TREE_DEPTH, 'parity_max_abs_diff': parity,
            'seed': seed, 'trained_on': counts}
    entry.update(order='scorer', min_score=min_score, scorer=spec)
    doc['objectness'] = entry
    write_bundle_config(bundle, doc)
    return entry
