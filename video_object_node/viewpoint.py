"""The viewpoint probe: a ridge regression from frame-latent means to the camera's pose.

What is observable from a window of pixels is the camera's motion within the window and its height and
pitch above the ground, not its absolute azimuth around a scene with no landmarks. So the probe's target
for frame t is the pose of camera t in the coordinates of the window's first camera (position, and the
forward and down axes), plus the camera's height and pitch::

    [x, y, z, fwd_x, fwd_y, fwd_z, down_x, down_y, down_z, height, pitch]     (TARGET_NAMES)

The probe reads, for frame t, the frame latent f_t and its change since the window's first frame, f_t - f_0
(``probe_features``): a pose relative to frame 0 needs a reference, and a latent that moves with the camera
gives one linearly. The node applies it to the window's last frame.

The probe (``viewpoint_probe.safetensors`` in a bundle) holds the feature mean/std, weights, bias and the
residual std of each output on its training data (the node's covariance). Plain numpy, no sklearn, so the
node can apply it anywhere.

    video-object-probe --model models/default --data data/movi --split train [--clips 500]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

from .data.dataset import DatasetError, iter_windows
from .sensors import SensorError, sensor_for_dataset

PROBE_FILE = 'viewpoint_probe.safetensors'
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
    """A predicted target row [11] -> a proper 4x4 pose (cam0<-cam_t), axes re-orthonormalised."""
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
        """Read a stored viewpoint probe (one read: metadata and arrays); with ``frame_dim`` (the model's
        frame-latent size) its input width is checked against ``probe_features``."""
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


def r2_scores(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """R^2 of each output column (1 - SSE / SST); a constant column scores nan."""
    sst = ((y - y.mean(0)) ** 2).sum(0)
    sse = ((y - pred) ** 2).sum(0)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(sst > 1e-12, 1.0 - sse / sst, np.nan)


@torch.no_grad()
def frame_latents_and_targets(model, data: str | Path, split: str, clips: int | None = None,
                              batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Probe features [N*T, 2*Df] (``probe_features``) and viewpoint targets [N*T, 11] over a split's windows."""
    cfg = model.cfg
    feats, targets, videos = [], [], []
    sensor = sensor_for_dataset(data, cfg)
    windows = list(iter_windows(data, split, cfg.frames, sensor.dataset_size(), clips))
    windows = [w for w in windows if sensor.pose_key in w[2]]       # a robot bag's clip may have no poses
    if not windows:
        raise DatasetError(f'split {split!r} of {data} has no clip with camera poses')
    for k, (_i, _start, window) in enumerate(windows):
        videos.append(sensor.window_inputs(window)[0])
        targets.append(viewpoint_targets(window[sensor.pose_key].astype(np.float64)))
        if len(videos) == batch or k == len(windows) - 1:
            chunk, videos = videos, []
            video = torch.from_numpy(np.stack(chunk)).float().div_(255.0)          # [B, T, C, H, W]
            feats.extend(probe_features(f) for f in model.encode(video).frame_mean.numpy())
    return np.concatenate(feats).astype(np.float64), np.concatenate(targets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-probe', description=__doc__.splitlines()[0])
    parser.add_argument('--model', type=Path, required=True, help='model bundle folder (the probe is stored in it)')
    parser.add_argument('--data', type=Path, required=True, help='labelled data set folder')
    parser.add_argument('--split', default='train')
    parser.add_argument('--clips', type=int, default=500, help='clips to fit on')
    parser.add_argument('--alpha', type=float, default=1.0, help='ridge penalty (standardised features)')
    args = parser.parse_args(argv)
    from .model import BundleError, load_bundle
    try:
        torch.set_num_threads(2)
        model = load_bundle(args.model)
        x, y = frame_latents_and_targets(model, args.data, args.split, args.clips)
        probe = RidgeProbe.fit(x, y, args.alpha)
        probe.save(args.model / PROBE_FILE)
    except (BundleError, DatasetError, SensorError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    r2 = r2_scores(y, probe.predict(x))
    print(f'wrote {args.model / PROBE_FILE}: fitted on {len(x)} frames; train R^2 {np.nanmean(r2):.3f} '
          f'({", ".join(f"{n} {v:.2f}" for n, v in zip(TARGET_NAMES, r2))})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
