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
A LIDAR bundle's learned cluster scorer at run time: how likely each range-image cluster is one object (numpy only).

    cluster features [R, F] (``sensing/cluster_features.py``) -> boosted trees -> probability [R]

The trees are plain arrays in the bundle's ``cluster_scorer.safetensors`` (no pickle): for every tree and node the
feature it splits on, the threshold (a value at or below it, or a missing one where ``missing_left``, goes left), its
children, whether it is a leaf, and the leaf's value; the probability is the logistic of ``baseline`` plus the leaves
reached. ``learn/cluster_scorer_train.py`` writes them from scikit-learn's ``HistGradientBoostingClassifier``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..bundle.layout import damaged
from .checked_files import read_checked

SCORER_FILE = 'cluster_scorer.safetensors'
TREE_ARRAYS = ('feature', 'threshold', 'left', 'right', 'leaf', 'value', 'missing_left')


class ClusterScorer:
    """Boosted trees over cluster features (see the module doc)."""

    def __init__(self, arrays: dict, features: tuple):
        missing = [k for k in (*TREE_ARRAYS, 'baseline') if k not in arrays]
        if missing:
            raise ValueError(f'cluster scorer: arrays {missing} are missing')
        shapes = {arrays[k].shape for k in TREE_ARRAYS}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f'cluster scorer: the tree arrays must share one [trees, nodes] shape, got {shapes}')
        self.feature = arrays['feature'].astype(np.int64)
        self.threshold = arrays['threshold'].astype(np.float64)
        self.left, self.right = arrays['left'].astype(np.int64), arrays['right'].astype(np.int64)
        self.leaf = arrays['leaf'].astype(bool)
        self.value = arrays['value'].astype(np.float64)
        self.missing_left = arrays['missing_left'].astype(bool)
        self.baseline = float(np.asarray(arrays['baseline']).reshape(-1)[0])
        self.features = tuple(features)
        nodes = self.feature.shape[1]
        inner = ~self.leaf
        if ((self.feature[inner] < 0) | (self.feature[inner] >= len(self.features))).any() or \
                ((self.left[inner] < 0) | (self.left[inner] >= nodes) | (self.right[inner] < 0)
                 | (self.right[inner] >= nodes)).any():
            raise ValueError('cluster scorer: a node points outside its tree or its features')

    @classmethod
    def load(cls, bundle: Path, entry: dict) -> 'ClusterScorer':
        """Read the scorer an objectness entry names (``scorer``: file, sha256, features), checked; BundleError."""
        from safetensors.numpy import load as load_arrays
        spec = entry.get('scorer') or {}
        path, data = read_checked(bundle, spec, 'cluster scorer')
        try:
            return cls(load_arrays(data), tuple(spec.get('features', ())))
        except Exception as exc:         # safetensors raises its own errors on a damaged file
            raise damaged(path, exc, 'copy the bundle again or train the scorer again') from None

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Return float [R]: each cluster's probability of being one object (features [R, len(self.features)])."""
        x = np.asarray(features, np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f'cluster scorer reads {len(self.features)} features a cluster, got shape {x.shape}')
        trees = np.arange(self.feature.shape[0])[:, None]                         # [T, 1]
        node = np.zeros((self.feature.shape[0], len(x)), np.int64)              # [T, R]: every tree starts at its root
        for _ in range(self.feature.shape[1]):
            inner = ~self.leaf[trees, node]
            if not inner.any():
                break
            f = self.feature[trees, node]
            v = x[np.arange(len(x))[None, :], np.maximum(f, 0)]
            go_left = np.where(np.isnan(v), self.missing_left[trees, node], v <= self.threshold[trees, node])
            node = np.where(inner, np.where(go_left, self.left[trees, node], self.right[trees, node]), node)
        raw = self.baseline + self.value[trees, node].sum(axis=0)
        return 1.0 / (1.0 + np.exp(-raw))
