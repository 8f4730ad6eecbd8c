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
Inference backends behind one small interface (``backend_choice.create_backend`` picks one).

Every backend takes and returns numpy float32 arrays:

- ``encode_frames(frames [N, C, H, W]) -> features [N, S, D]``  (the per-frame CNN; cached by streaming)
- ``encode_window(features [B, T, S, D], cond [B, cond_dim] | None) -> WindowOutput``

Backends: ``torch`` (CPU or CUDA, fp32/fp16, optional CUDA graphs), ``onnxruntime`` (the bundle's ONNX
exports; CUDA/TensorRT execution providers when the installed build has them) and ``tensorrt``
(``runtime/tensorrt.py``).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bundle.layout import INT8_FILES, Bundle, BundleError

log = logging.getLogger('video_object_node.runtime')


@dataclass
class WindowOutput:
    """
    Posterior parameters of a batch of windows: objects [B, K, Do], frames [B, T, Df].

    And what the bundle's heads add (``export.window_output_names``): placement [B, K, T, 4], viewpoint [B, T, 11],
    attributes [B, K, 9]; None when the bundle has no such head.
    """

    object_mean: np.ndarray
    object_std: np.ndarray
    frame_mean: np.ndarray
    frame_std: np.ndarray
    placement: np.ndarray | None = None
    viewpoint: np.ndarray | None = None
    attributes: np.ndarray | None = None

    @classmethod
    def from_named(cls, names, arrays) -> 'WindowOutput':
        return cls(**dict(zip(names, arrays)))


class InputError(ValueError):
    """An input array has the wrong shape, dtype or values."""


def check_array(x, name: str, shape: tuple) -> np.ndarray:
    """``x`` must be a float32 ndarray of ``shape`` (None = any size on that axis) with finite values."""
    if not isinstance(x, np.ndarray):
        raise InputError(f'{name} must be a numpy array, got {type(x).__name__}')
    if x.dtype != np.float32:
        raise InputError(f'{name} must be float32, got {x.dtype}')
    if x.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape)):
        want = ', '.join('N' if s is None else str(s) for s in shape)
        raise InputError(f'{name} must have shape [{want}], got {list(x.shape)}')
    if not np.isfinite(x).all():
        raise InputError(f'{name} contains NaN or Inf')
    return np.ascontiguousarray(x)


class Backend:
    """Shared input checks; subclasses implement ``_frames`` and ``_window``."""

    name = 'backend'

    def __init__(self, cfg):
        self.cfg = cfg

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        c = self.cfg
        return self._frames(check_array(frames, 'frames', (None, c.channels, c.height, c.width)))

    def encode_window(self, features: np.ndarray, cond: np.ndarray | None = None) -> WindowOutput:
        c = self.cfg
        features = check_array(features, 'features', (None, c.frames, c.num_spatial, c.model_dim))
        if c.cond_dim:
            if cond is None:
                raise InputError(f'this bundle is conditioned: pass cond of shape [B, {c.cond_dim}]')
            cond = check_array(cond, 'cond', (features.shape[0], c.cond_dim))
        return self._window(features, cond)

    def decode_masks(self, object_mean: np.ndarray, frame_mean: np.ndarray,
                     placement: np.ndarray | None = None) -> np.ndarray:
        """
        Decode the mixture weights of the last frame of windows.

        The mixture weights [B, K, H, W] of the last frame of windows with these latent means (and
        placement, for bundles that place their slots).
        """
        c = self.cfg
        object_mean = check_array(object_mean, 'object_mean', (None, c.num_slots, c.object_dim))
        frame_mean = check_array(frame_mean, 'frame_mean', (len(object_mean), c.frames, c.frame_dim))
        if c.placement:
            if placement is None:
                raise InputError('this bundle places its slots: pass placement [B, K, T, 4]')
            placement = check_array(placement, 'placement', (len(object_mean), c.num_slots, c.frames, 4))
        return self._masks(object_mean, frame_mean, placement if c.placement else None)

    def _masks(self, object_mean, frame_mean, placement):
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


GRAPHS = ('frame_encoder', 'window_encoder', 'mask_decoder')


def int8_exports(bundle: Path, exports: dict, require_passed: bool = True) -> dict:
    """
    Return the int8 graphs of a bundle (``video-object-quantize``), their files checked.

    BundleError without a passed check unless ``require_passed`` is off (the check itself runs them).
    """
    record = exports.get('int8')
    if not require_passed:
        return record or {}                       # being checked: the files are fresh from the quantizer
    if record is None:
        raise BundleError(f'bundle {bundle} has no int8 export; make one with: video-object-quantize {bundle} '
                          '--data DATA')
    if require_passed and not record.get('passed'):
        raise BundleError(f'bundle {bundle}: its int8 export failed its check (FG-ARI drop '
                          f'{record.get("fg_ari_drop")}, allowed {record.get("max_fg_ari_drop")}); use fp32')
    for rec in record.get('files', {}).values():
        path = bundle / rec['file']
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != rec['sha256']:
            raise BundleError(f'bundle {bundle}: {rec["file"]} is missing or does not match its sha256')
    return record


def bundle_exports(opened: Bundle) -> dict:
    """Return an opened bundle's ONNX export record, each file's presence and checksum verified."""
    bundle, exports = opened.path, opened.exports
    if not exports or not {'frame_encoder', 'window_encoder', 'mask_decoder'} <= set(exports):
        raise BundleError(f'bundle {bundle} has no ONNX exports; run: video-object-export {bundle}')
    for name, rec in exports.items():
        if name not in GRAPHS:
            continue                              # e.g. the int8 record (its files are checked where used)
        path = bundle / rec['file']
        if not path.is_file():
            raise BundleError(f'bundle {bundle}: {rec["file"]} is missing; run: video-object-export {bundle}')
        if hashlib.sha256(path.read_bytes()).hexdigest() != rec['sha256']:
            raise BundleError(f'bundle {bundle}: {rec["file"]} does not match its recorded sha256 (corrupt or '
                              f'replaced); run: video-object-export {bundle}')
    return exports


class OnnxRuntimeBackend(Backend):
    """The bundle's ONNX graphs in ONNX Runtime; CPU unless other providers are asked for and present."""

    name = 'onnxruntime'

    def __init__(self, opened: Bundle, providers: list[str] | None = None, num_threads: int = 0,
                 int8: bool = False, require_passed: bool = True):
        import onnxruntime as ort

        bundle = opened.path
        self.exports = bundle_exports(opened)
        files = {name: self.exports[name]['file'] for name in GRAPHS}
        self.precision = 'int8' if int8 else 'fp32'
        if int8:
            int8_exports(bundle, self.exports, require_passed)
            files.update(INT8_FILES)
        super().__init__(opened.model)
        available = ort.get_available_providers()
        wanted = providers or ['CPUExecutionProvider']
        missing = [p for p in wanted if p not in available]
        if missing:
            raise RuntimeError(f'ONNX Runtime providers {missing} are not in this build (it has {available})')
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        # Two sessions run back to back (frames, then the window): a pool left spinning after its run steals the
        # cores from the next one (the factorised paper-like window in int8 on 2 cores: 63 ms), a pool that never
        # spins wakes its threads for each of the window graph's ~300 small ops (30 ms); spinning within a run and
        # stopping at its end: 26 ms.
        options.add_session_config_entry('session.intra_op.allow_spinning', '1')
        options.add_session_config_entry('session.force_spinning_stop', '1')
        self.providers = wanted
        try:
            self.sessions = {name: ort.InferenceSession(str(bundle / file), options, providers=wanted)
                             for name, file in files.items()}
        except Exception as exc:  # onnxruntime raises its own exception types
            raise BundleError(f'bundle {bundle}: ONNX Runtime cannot load the exports: '
                              f'{str(exc).splitlines()[0]}') from exc

    def _frames(self, frames):
        return self.sessions['frame_encoder'].run(None, {'frames': frames})[0]

    def _window(self, features, cond):
        feeds = {'features': features}
        if cond is not None:
            feeds['cond'] = cond
        names = [o['name'] for o in self.exports['window_encoder']['outputs']]
        return WindowOutput.from_named(names, self.sessions['window_encoder'].run(names, feeds))

    def _masks(self, object_mean, frame_mean, placement):
        feeds = {'object_mean': object_mean, 'frame_mean': frame_mean}
        if placement is not None:
            feeds['placement'] = placement
        return self.sessions['mask_decoder'].run(['masks'], feeds)[0]

    def describe(self) -> str:
        return f'onnxruntime ({", ".join(self.providers)}{", int8" if self.precision == "int8" else ""})'


class TimedBackend(Backend):
    """Wraps a backend and adds up the seconds spent in it (``seconds``), for benchmarks."""

    def __init__(self, inner: Backend):
        super().__init__(inner.cfg)
        self.inner, self.name, self.seconds = inner, inner.name, 0.0

    def _timed(self, fn, *args):
        import time
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds += time.perf_counter() - start

    def encode_frames(self, frames):
        return self._timed(self.inner.encode_frames, frames)

    def encode_window(self, features, cond=None):
        return self._timed(self.inner.encode_window, features, cond)

    def decode_masks(self, object_mean, frame_mean, placement=None):
        return self._timed(self.inner.decode_masks, object_mean, frame_mean, placement)

    def describe(self) -> str:
        return self.inner.describe()
