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
The viewpoint probe: a ridge regression from frame-latent means to the camera's pose.

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
from pathlib import Path

import numpy as np
import torch

from ..bundle.layout import PROBE_FILE
from ..bundle.viewpoint_probe import TARGET_NAMES, RidgeProbe, probe_features, viewpoint_targets
from ..scores.viewpoint import r2_scores
from ..data.dataset import DatasetError, iter_windows
from ..data.dataset import sensor_for_dataset
from ..sensing.sensors import SensorError


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
    parser = argparse.ArgumentParser(prog='video-object-probe', description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', type=Path, required=True, help='model bundle folder (the probe is stored in it)')
    parser.add_argument('--data', type=Path, required=True, help='labelled data set folder')
    parser.add_argument('--split', default='train')
    parser.add_argument('--clips', type=int, default=500, help='clips to fit on')
    parser.add_argument('--alpha', type=float, default=1.0, help='ridge penalty (standardised features)')
    args = parser.parse_args(argv)
    from ..bundle.layout import BundleError
    from ..model import load_bundle
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
