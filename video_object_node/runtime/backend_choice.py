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
Which backend runs a bundle.

``create_backend`` builds the one asked for, or with ``auto`` the first that works (TensorRT, torch on CUDA, ONNX
Runtime, torch on CPU), logging every skip. The TensorRT and torch backends (and torch itself) are imported only when
chosen.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..bundle.layout import Bundle, BundleError
from .config import BACKENDS
from .backends import Backend, OnnxRuntimeBackend
from .cuda_memory import cuda_device_count

log = logging.getLogger('video_object_node.runtime')


def _torch_cuda() -> bool:
    """Whether torch is installed and sees a CUDA device (an image without torch has none to offer)."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def __getattr__(name: str):
    """Return the torch backend's names, imported (with torch) only when asked for."""
    if name in ('TorchBackend', 'cpu_has_bf16'):
        from . import torch_backend
        return getattr(torch_backend, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def create_backend(bundle: Bundle | str | Path, kind: str = 'auto', *, device: str | None = None,
                   precision: str = 'fp32', num_threads: int = 0, cuda_graphs: bool = False, workspace_mb: int = 1024,
                   force_rebuild: bool = False, compile: bool = False) -> Backend:
    """
    Return the backend ``kind`` for ``bundle`` (an opened ``Bundle`` or its folder).

    ``auto`` takes the first that works and logs every skip.
    """
    if kind not in BACKENDS:
        raise ValueError(f'backend must be one of {", ".join(BACKENDS)}, got {kind!r}')
    bundle = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
    # ONNX Runtime and TensorRT never import torch (TensorRT finds its device through cuda-python); only the
    # torch backend and ``auto``'s check for torch on CUDA do.
    cuda = kind == 'torch' and device is None and _torch_cuda()

    def make(choice: str, dev: str) -> Backend:
        if precision == 'int8' and choice != 'onnxruntime':
            raise ValueError('int8 runs the bundle\'s checked int8 exports in ONNX Runtime (backend onnxruntime)')
        if choice == 'tensorrt':
            from .tensorrt import TensorRTBackend
            return TensorRTBackend(bundle, precision=precision, workspace_mb=workspace_mb, force_rebuild=force_rebuild)
        if choice == 'onnxruntime':
            if precision == 'bf16':
                raise ValueError('ONNX Runtime runs the fp32 exports; bf16 needs the torch backend')
            return OnnxRuntimeBackend(bundle, num_threads=num_threads, int8=precision == 'int8')
        # fp16 is a GPU precision: a CPU fallback runs fp32; bf16 is kept (refused where the CPU lacks it).
        from ..model.bundle import load_bundle
        from .torch_backend import TorchBackend
        if num_threads:
            import torch
            torch.set_num_threads(num_threads)
        return TorchBackend(load_bundle(bundle), device=dev,
                            precision='fp32' if dev != 'cuda' and precision == 'fp16' else precision,
                            cuda_graphs=cuda_graphs and dev == 'cuda', compile=compile)

    if kind != 'auto':
        return make(kind, device or ('cuda' if cuda else 'cpu'))
    candidates = [('tensorrt', 'cuda'), ('torch', 'cuda'), ('onnxruntime', 'cpu'), ('torch', 'cpu')]
    for choice, dev in candidates:
        label = f'{choice} on {dev}' if choice == 'torch' else choice
        if choice == 'tensorrt' and not cuda_device_count():
            log.info('backend auto: skipped %s: no CUDA device (or no cuda-python to find one)', label)
            continue
        if choice == 'torch' and dev == 'cuda' and not _torch_cuda():
            log.info('backend auto: skipped %s: no CUDA device (or no torch to find one)', label)
            continue
        try:
            backend = make(choice, dev)
        except (ImportError, RuntimeError, BundleError, ValueError) as exc:
            log.info('backend auto: skipped %s: %s', label, str(exc).splitlines()[0])
            continue
        log.info('backend auto: chose %s', backend.describe())
        return backend
    raise RuntimeError(f'no backend could run bundle {bundle.path}')
