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
A model bundle's layout, readable without torch: what the files are called and how config.json is read.

A bundle is a folder: ``config.json`` (``format``, the model config ``model``, the sensor's entry, the export
record ``exports``, free-form ``meta``), ``weights.safetensors`` (never a pickle), optional
``viewpoint_probe.safetensors``, ONNX exports and an ``engines/`` cache. Inference (``runtime/``, the node,
replay) reads bundles through this module alone; writing one (``model/bundle.py``) needs torch.

``Bundle.open`` reads ``config.json`` once; the value it returns (folder, parsed document, model config) is what the
pipeline hands to the backend, the sensor, the objectness and the viewpoint, so no one reads the file again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import ConfigError
from ..model.config import SimoneConfig
from ..files import atomic_write_text

BUNDLE_FORMAT = 1
CONFIG_FILE = 'config.json'
WEIGHTS_FILE = 'weights.safetensors'
PROBE_FILE = 'viewpoint_probe.safetensors'
ENGINES_DIR = 'engines'
# video-object-quantize's graphs
INT8_FILES = {'frame_encoder': 'frame_encoder_int8.onnx', 'window_encoder': 'window_encoder_int8.onnx'}
WEIGHTS_REMEDY = 'copy the bundle again (or ship it again from its run folder)'


class BundleError(ValueError):
    """A model bundle is missing, incomplete or incompatible."""


def _read_doc(path: Path) -> dict:
    """Return the parsed ``config.json`` of a bundle, with its format checked."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f'model bundle not found: {path} is not a folder')
    cfg_path = path / CONFIG_FILE
    if not cfg_path.is_file():
        raise BundleError(f'model bundle {path} has no {CONFIG_FILE}')
    try:
        doc = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f'{cfg_path}: not valid JSON ({exc.msg} at line {exc.lineno})') from None
    if doc.get('format') != BUNDLE_FORMAT:
        raise BundleError(f'{cfg_path}: bundle format {doc.get("format")!r} is not supported '
                          f'(this version reads format {BUNDLE_FORMAT})')
    return doc


def _model_config(path: Path, doc: dict) -> SimoneConfig:
    """Return the model config of a bundle's parsed config.json, checked."""
    try:
        return SimoneConfig.from_dict(doc['model'])
    except (ConfigError, TypeError, KeyError) as exc:
        raise BundleError(f'{path / CONFIG_FILE}: invalid model config: {exc}') from None


@dataclass(frozen=True, eq=False)
class Bundle:
    """
    A model bundle opened once: its folder, its parsed ``config.json`` and the model config checked from it.

    ``exports`` (the ONNX export record, {} without one) and ``objectness`` (its entry, None without one) are read
    out of it once too, and so is the viewpoint's calibration: the pose head's validation residuals
    ``pose_residual_std`` [11] (a model with a pose head) or ``probe_file`` (an older bundle's ridge viewpoint
    probe), None without. ``doc`` is not to be changed: a writer copies it and writes it back with
    ``write_bundle_config``.
    """

    path: Path
    doc: dict
    model: SimoneConfig
    exports: dict
    objectness: dict | None
    probe_file: Path | None
    pose_residual_std: np.ndarray | None

    @classmethod
    def open(cls, path: str | Path) -> 'Bundle':
        """Read a bundle folder's config.json (BundleError with one line when missing, broken or incompatible)."""
        path = Path(path)
        doc = _read_doc(path)
        model = _model_config(path, doc)
        probe = path / PROBE_FILE
        residuals = read_weight(path / WEIGHTS_FILE, 'pose_head.residual_std').astype(np.float64) \
            if model.pose_head else None
        return cls(path, doc, model, doc.get('exports') or {}, doc.get('objectness') or None,
                   probe if probe.is_file() else None, residuals)

    @classmethod
    def for_model_path(cls, model_path: str) -> 'Bundle':
        """Open the bundle a node's ``model_path`` names (``resolve_model_path``)."""
        return cls.open(resolve_model_path(model_path))

    @property
    def name(self) -> str:
        return self.path.name


def write_bundle_config(path: str | Path, doc: dict) -> None:
    """Write a bundle's ``config.json`` atomically (a reader never sees half a file)."""
    atomic_write_text(Path(path) / CONFIG_FILE, json.dumps(doc, indent=2, sort_keys=True) + '\n')


def damaged(path: Path, exc: Exception, remedy: str) -> BundleError:
    """One line for a bundle file that cannot be read: the file, the problem, what to do."""
    problem = (str(exc).splitlines() or [type(exc).__name__])[0]
    return BundleError(f'{path}: damaged or unreadable ({problem}); {remedy}')


def read_weight(path: str | Path, name: str):
    """One tensor of a weights file as numpy, without building a model; BundleError when it is damaged."""
    from safetensors import safe_open
    path = Path(path)
    try:
        with safe_open(str(path), 'numpy') as f:
            return f.get_tensor(name)
    except Exception as exc:  # noqa: BLE001 - safetensors' own error type, or an OS error
        raise damaged(path, exc, WEIGHTS_REMEDY) from None


# The embedded camera model the node runs when ``model_path`` is empty: the 64x64 model that reads motion (wave 3).
# ``default`` (32x32, simulator only) and ``default-lidar`` are the other embedded models, named by model_path.
CAMERA_DEFAULT = 'default-real'


def default_bundle_path(name: str = CAMERA_DEFAULT) -> Path:
    """
    Return an embedded model (``default-real``: the camera default; ``default``: 32x32 camera; ``default-lidar``).

    The checkout's ``models/NAME``, else the installed share folder's.
    """
    from ..resources import resource_path
    return resource_path(f'models/{name}')


def resolve_model_path(model_path: str) -> Path:
    """
    Return the bundle folder a ``model_path`` names.

    '' = the embedded camera default; a bare name that is no folder here but names an embedded model (``default``,
    ``default-lidar``) = that model; anything else = a bundle folder.
    """
    if not model_path:
        return default_bundle_path()
    path = Path(model_path)
    if not path.exists() and '/' not in model_path:
        embedded = default_bundle_path(model_path)
        return embedded if embedded.is_dir() else path
    return path
