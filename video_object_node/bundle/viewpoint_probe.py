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
The viewpoint's numbers, numpy only (the node applies them without torch).

The targets a pose is turned into, the probe's features, the pose read back from a prediction, and the ridge probe
itself. See ``learn/viewpoint.py`` (``video-object-probe``) for what the targets mean and how a probe is fitted.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file


TARGET_NAMES = ('x', 'y', 'z', 'fwd_x', 'fwd_y', 'fwd_z', 'down_x', 'down_y', 'down_z', 'height', 'pitch')
FEATURES = 'f_t,f_t-f_0'   # stored in the probe's metadata; a probe fitted on other features is refused


def probe_features(frame_mean: np.ndarray) -> np.ndarray:
    """Frame-latent means of one window [T, Df] -> probe features [T, 2*Df]: f_t and f_t - f_0."""
    frame_mean = np.asarray(frame_mean, np.float64)
    return np.concatenate([frame_mean, frame_mean - frame_mean[:1]], axis=1)


def viewpoint_targets(extrinsics: np.ndarray) -> np.ndarray:
    """world<-camera poses [T, 4, 4] of one window -> targets [T, 11] (see the module doc)."""
    first_inv = np.linalg.inv(extrinsics[0])
    rel = first_inv[None] @ extrinsics                                  # [T, 4, 4] cam0<-cam_t
    forward_world = extrinsics[:, :3, 2]
    pitch = np.arcsin(np.clip(-forward_world[:, 2], -1, 1))           # positive looking down
    return np.concatenate([rel[:, :3, 3], rel[:, :3, 2], rel[:, :3, 1], extrinsics[:, 2:3, 3], pitch[:, None]],
                          axis=1).astype(np.float64)


def pose_from_targets(target: np.ndarray) -> np.ndarray:
    """Return a predicted target row [11] -> a proper 4x4 pose (cam0<-cam_t), axes re-orthonormalised."""
    fwd = target[3:6] / max(np.linalg.norm(target[3:6]), 1e-9)
    down = target[6:9] - fwd * np.dot(target[6:9], fwd)
    down /= max(np.linalg.norm(down), 1e-9)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = np.cross(down, fwd), down, fwd, target[:3]
    return pose


@dataclass
class RidgeProbe:
    """y = ((x - mean) / std) @ weight + bias."""

    mean: np.ndarray
    std: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    residual_std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> 'RidgeProbe':
        mean, std = x.mean(0), x.std(0) + 1e-6
        xs = (x - mean) / std
        bias = y.mean(0)
        weight = np.linalg.solve(xs.T @ xs + alpha * np.eye(xs.shape[1]), xs.T @ (y - bias))
        probe = cls(mean, std, weight, bias, np.zeros(y.shape[1]))
        probe.residual_std = (y - probe.predict(x)).std(0)
        return probe

    def predict(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std) @ self.weight + self.bias

    def save(self, path: Path) -> None:
        arrays = {k: np.ascontiguousarray(getattr(self, k), np.float64)
                  for k in ('mean', 'std', 'weight', 'bias', 'residual_std')}
        save_file(arrays, str(path), metadata={'targets': ','.join(TARGET_NAMES), 'features': FEATURES})

    @classmethod
    def load(cls, path: Path, frame_dim: int | None = None) -> 'RidgeProbe':
        """
        Read a stored viewpoint probe (one read: metadata and arrays).

        With ``frame_dim`` (the model's frame-latent size) its input width is checked against ``probe_features``.
        """
        if not Path(path).is_file():
            raise FileNotFoundError(f'viewpoint probe not found: {path}')
        try:
            with safe_open(str(path), 'numpy') as f:
                meta = f.metadata() or {}
                arrays = {k: f.get_tensor(k) for k in ('mean', 'std', 'weight', 'bias', 'residual_std')}
        except Exception as exc:  # noqa: BLE001 - safetensors' own error type: a damaged or foreign file
            raise ValueError(f'{path}: damaged or unreadable viewpoint probe ({str(exc).splitlines()[0]}); refit it '
                             'with video-object-probe') from None
        if meta.get('features') != FEATURES:
            raise ValueError(f'viewpoint probe {path} was fitted on features {meta.get("features", "f_t")!r}, '
                             f'this version reads {FEATURES!r}: refit it with video-object-probe')
        probe = cls(**arrays)
        if frame_dim is not None:
            width = probe_features(np.zeros((1, frame_dim))).shape[1]
            if probe.weight.shape[0] != width:
                raise ValueError(f'viewpoint probe {path} reads {probe.weight.shape[0]} features, the model gives '
                                 f'{width}: refit it with video-object-probe')
        return probe
