"""Model bundles: a folder with ``config.json`` and ``weights.safetensors`` (never a pickle).

``config.json`` holds ``format`` (the bundle format version), ``model`` (the full ``SimoneConfig``)
and free-form metadata (``meta``) such as training provenance. Other files (``viewpoint_probe``,
ONNX exports, the ``engines/`` cache) are added by the parts of the package that make them.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..config import ConfigError, SimoneConfig
from ..files import atomic_write
from .simone import Simone

BUNDLE_FORMAT = 1
CONFIG_FILE = 'config.json'
WEIGHTS_FILE = 'weights.safetensors'


class BundleError(ValueError):
    """A model bundle is missing, incomplete or incompatible."""


def save_bundle(model: Simone, path: str | Path, meta: dict | None = None, sensor=None) -> Path:
    """Write ``model`` as a bundle folder at ``path`` (created if needed); returns the path.

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
    atomic_write(path / CONFIG_FILE, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=2, sort_keys=True)))
    return path


def read_bundle_config(path: str | Path) -> dict:
    """The parsed ``config.json`` of a bundle, with its format checked."""
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


def read_model_config(path: str | Path, doc: dict | None = None) -> SimoneConfig:
    """The model config of a bundle (``doc``: its already-read config.json), checked."""
    path = Path(path)
    doc = read_bundle_config(path) if doc is None else doc
    try:
        return SimoneConfig.from_dict(doc['model'])
    except (ConfigError, TypeError, KeyError) as exc:
        raise BundleError(f'{path / CONFIG_FILE}: invalid model config: {exc}') from None


def damaged(path: Path, exc: Exception, remedy: str) -> BundleError:
    """One line for a bundle file that cannot be read: the file, the problem, what to do."""
    problem = (str(exc).splitlines() or [type(exc).__name__])[0]
    return BundleError(f'{path}: damaged or unreadable ({problem}); {remedy}')


WEIGHTS_REMEDY = 'copy the bundle again (or ship it again from its run folder)'


def read_weights(path: str | Path) -> dict:
    """All tensors of a bundle's ``weights.safetensors`` (torch, on the CPU); BundleError when it is damaged."""
    path = Path(path)
    try:
        return load_file(str(path), device='cpu')
    except Exception as exc:  # noqa: BLE001 - safetensors' own error type, or an OS error
        raise damaged(path, exc, WEIGHTS_REMEDY) from None


def read_weight(path: str | Path, name: str):
    """One tensor of a weights file as numpy, without building a model; BundleError when it is damaged."""
    from safetensors import safe_open
    path = Path(path)
    try:
        with safe_open(str(path), 'numpy') as f:
            return f.get_tensor(name)
    except Exception as exc:  # noqa: BLE001 - safetensors' own error type, or an OS error
        raise damaged(path, exc, WEIGHTS_REMEDY) from None


def load_bundle(path: str | Path, device: str | torch.device = 'cpu') -> Simone:
    """Load a bundle saved by ``save_bundle``; the model is returned in eval mode."""
    path = Path(path)
    cfg = read_model_config(path)
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


def default_bundle_path(name: str = 'default') -> Path:
    """An embedded model (``default``: camera, ``default-lidar``): the checkout's ``models/NAME``, else the
    installed share folder's."""
    from ..resources import resource_path
    return resource_path(f'models/{name}')


def resolve_model_path(model_path: str) -> Path:
    """``model_path`` as given: '' = the embedded default; a bare name that is no folder here but names an
    embedded model (``default-lidar``) = that model; anything else = a bundle folder."""
    if not model_path:
        return default_bundle_path()
    path = Path(model_path)
    if not path.exists() and '/' not in model_path and default_bundle_path(model_path).is_dir():
        return default_bundle_path(model_path)
    return path
