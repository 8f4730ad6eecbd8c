"""Stable object ids across windows: match each window's slots to the previous window's."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


class SlotTracker:
    """
    Hungarian matching on the distance between slot latent means (and, when given, on mask overlap).

    Matched slots keep their id; a slot whose best match is farther than ``max_distance`` gets a new id.
    """

    def __init__(self, max_distance: float = float('inf'), mask_weight: float = 1.0):
        self.max_distance = max_distance
        self.mask_weight = mask_weight
        self.previous: np.ndarray | None = None
        self.previous_masks: np.ndarray | None = None
        self.ids: np.ndarray | None = None
        self.next_id = 0

    def reset(self) -> None:
        self.previous = self.previous_masks = self.ids = None

    def update(self, means: np.ndarray, masks: np.ndarray | None = None) -> np.ndarray:
        """``means`` [K, D] (and optional masks [K, P]) -> ids [K] (uint32)."""
        k = len(means)
        if self.previous is None or len(self.previous) != k:
            ids = np.arange(self.next_id, self.next_id + k, dtype=np.uint32)
            self.next_id += k
        else:
            cost = np.linalg.norm(means[:, None, :] - self.previous[None, :, :], axis=-1)     # [K, K]
            if masks is not None and self.previous_masks is not None:
                inter = masks @ self.previous_masks.T
                union = masks.sum(1)[:, None] + self.previous_masks.sum(1)[None, :] - inter
                cost = cost + self.mask_weight * (1.0 - inter / np.maximum(union, 1e-9))
            rows, cols = linear_sum_assignment(cost)
            ids = np.empty(k, np.uint32)
            for r, c in zip(rows, cols):
                if cost[r, c] <= self.max_distance:
                    ids[r] = self.ids[c]
                else:
                    ids[r] = self.next_id
                    self.next_id += 1
        self.previous, self.previous_masks, self.ids = means.copy(), None if masks is None else masks.copy(), ids
        return ids
