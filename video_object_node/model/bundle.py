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
Writing and loading model bundles with torch: ``save_bundle``, ``load_bundle``, ``read_weights``.

The layout itself (file names, ``config.json``, a single tensor read with numpy) is ``bundle/layout.py``,
which inference reads without torch; callers import its names from there.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..bundle.layout import (BUNDLE_FORMAT, WEIGHTS_FILE, WEIGHTS_REMEDY, Bundle, BundleError, damaged,
                             write_bundle_config)
from ..files import atomic_write
from .simone import Simone


def save_bundle(model: Simone, path: str | Path, meta: dict | None = None, sensor=None) -> Path:
    """
    Write ``model`` as a bundle folder at ``path`` (created if needed); returns the path.

    ``sensor`` (a ``sensors.Sensor``) adds what its modality needs to config.json: a LIDAR model records its
    sensor model, which turns point clouds into its input range images.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(path / WEIGHTS_FILE, lambda tmp: save_file(state, tmp, metadata={'format': str(BUNDLE_FORMAT)}))
    doc = {'format': BUNDLE_FORMAT, 'model': model.cfg.to_dict(), 'meta': meta or {}}
    if sensor is not None and sensor.modality != model.cfg.modality:
        raise BundleError(f'a {model.cfg.modality} model cannot be saved with a {sensor.modality} sensor')
    doc.update(sensor.bundle_entry() if sensor is not None else {})
    if model.cfg.modality == 'lidar' and 'lidar' not in doc:
        raise BundleError('a LIDAR model needs its sensor model: save_bundle(..., sensor=LidarSensor(cfg, lidar))')
    write_bundle_config(path, doc)
    return path


def read_weights(path: str | Path) -> dict:
    """All tensors of a bundle's ``weights.safetensors`` (torch, on the CPU); BundleError when it is damaged."""
    path = Path(path)
    try:
        return load_file(str(path), device='cpu')
    except Exception as exc:  # noqa: BLE001 - safetensors' own error type, or an OS error
        raise damaged(path, exc, WEIGHTS_REMEDY) from None


def load_bundle(path: Bundle | str | Path, device: str | torch.device = 'cpu') -> Simone:
    """Load a bundle saved by ``save_bundle`` (its folder, or the ``Bundle`` opened from it) in eval mode."""
    opened = path if isinstance(path, Bundle) else Bundle.open(path)
    path, cfg = opened.path, opened.model
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise BundleError(f'model bundle {path} has no {WEIGHTS_FILE}')
    model = Simone(cfg)
    state = read_weights(weights)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        raise BundleError(f'{weights}: weights do not match the config (missing {missing[:3]}, '
                          f'unexpected {unexpected[:3]}, wrong shape {wrong[:3]})')
    model.load_state_dict(state)
    return model.to(device).eval()


def average_bundles(paths: list) -> Simone:
    """
    Return the model whose weights are the mean of several bundles' (checkpoint averaging).

    The bundles must share one model config (late checkpoints of one run, or of runs started from one bundle);
    float tensors are averaged, integer ones taken from the first. BundleError names a bundle that does not fit.
    """
    if len(paths) < 2:
        raise BundleError(f'averaging needs at least two bundles, got {len(paths)}')
    models = [load_bundle(p) for p in paths]
    for path, model in zip(paths[1:], models[1:]):
        if model.cfg != models[0].cfg:
            raise BundleError(f'{path} has another model config than {paths[0]}: only bundles of one config average')
    states = [m.state_dict() for m in models]
    mean = {k: (torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v)
            for k, v in states[0].items()}
    models[0].load_state_dict(mean)
    return models[0]
