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
TensorRT backend (the edge target), written to the TensorRT 10.x Python API, and its engine cache.

Plans are cached in ``BUNDLE/engines/`` under a key of: the ONNX file's sha256, the TensorRT version,
the GPU name and compute capability, the precision, and the optimisation profile's input shapes. A plan
whose recorded key differs is rebuilt, with a log line naming the parts that changed; a plan that fails
to deserialise is rebuilt, not crashed on; every build logs its start, its duration and where it wrote;
plans are written atomically (temp file + rename), the key file last.

The builder and loader are the seam: ``EngineCache`` takes them as callables, so everything around
TensorRT is tested without a GPU. FP16: TensorRT 10 sets the FP16 builder flag; TensorRT 11 removed it,
so there the network is built strongly typed from an FP16 ONNX (``<graph>.fp16.onnx``); the exporter
does not write those yet, and the build says so in one line.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..bundle.graphs import ATTENTION_OPSET, DEFAULT_OPSET, window_output_names, window_output_shape
from ..bundle.layout import Bundle
from ..files import atomic_write
from .backends import Backend, WindowOutput, bundle_exports

log = logging.getLogger('video_object_node.runtime.tensorrt')
KEY_FIELDS = ('onnx_sha256', 'tensorrt_version', 'gpu_name', 'compute_capability', 'precision', 'shapes')


class EngineCacheError(RuntimeError):
    """A plan could not be built."""


def engine_key(onnx_path: Path, tensorrt_version: str, gpu_name: str, compute_capability: str, precision: str,
               shapes: dict) -> dict:
    return {'onnx_sha256': hashlib.sha256(Path(onnx_path).read_bytes()).hexdigest(),
            'tensorrt_version': tensorrt_version, 'gpu_name': gpu_name, 'compute_capability': compute_capability,
            'precision': precision, 'shapes': shapes}


class EngineCache:
    """
    Load a cached plan for a key, or build, store and load a new one.

    Parameters
    ----------
        folder: where plans live (``BUNDLE/engines``).
        builder: ``(onnx_path, precision, shapes) -> plan bytes``.
        loader: ``(plan bytes) -> engine``; raises on a corrupt plan.

    """

    def __init__(self, folder: Path, builder: Callable, loader: Callable):
        self.folder, self.builder, self.loader = Path(folder), builder, loader

    def paths(self, graph: str, precision: str) -> tuple[Path, Path]:
        return self.folder / f'{graph}.{precision}.plan', self.folder / f'{graph}.{precision}.key.json'

    def load_or_build(self, graph: str, onnx_path: Path, key: dict, force_rebuild: bool = False):
        plan_path, key_path = self.paths(graph, key['precision'])
        reason = self._stale_reason(plan_path, key_path, key, force_rebuild)
        if reason is None:
            try:
                engine = self.loader(plan_path.read_bytes())
                log.info('engine %s: loaded cached plan %s', graph, plan_path)
                return engine
            except Exception as exc:  # a corrupt or truncated plan: rebuild
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                reason = f'cached plan {plan_path.name} failed to load ({why})'
        log.warning('engine %s: building a new plan because %s; this can take minutes', graph, reason)
        start = time.monotonic()
        plan = self.builder(onnx_path, key['precision'], key['shapes'])
        if not plan:
            raise EngineCacheError(f'engine {graph}: TensorRT returned no plan for {onnx_path}')
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(plan_path, lambda tmp: Path(tmp).write_bytes(bytes(plan)))
        atomic_write(key_path, lambda tmp: Path(tmp).write_text(json.dumps(key, indent=2, sort_keys=True)))
        log.info('engine %s: built in %.1f s, wrote %s', graph, time.monotonic() - start, plan_path)
        return self.loader(bytes(plan))

    @staticmethod
    def _stale_reason(plan_path: Path, key_path: Path, key: dict, force_rebuild: bool) -> str | None:
        if force_rebuild:
            return 'a rebuild was forced'
        if not plan_path.is_file() or not key_path.is_file():
            return f'no cached plan at {plan_path}'
        try:
            cached = json.loads(key_path.read_text())
        except (json.JSONDecodeError, OSError):
            return f'its key file {key_path.name} is unreadable'
        changed = [f for f in KEY_FIELDS if cached.get(f) != key.get(f)]
        if changed:
            return 'the cache key changed: ' + ', '.join(f'{f} {cached.get(f)!r} -> {key.get(f)!r}' for f in changed)
        return None


def profile_shapes(exports: dict, graph: str, max_batch: int) -> dict:
    """min/opt/max shapes per input of ``graph`` (batch 1, 1, max_batch)."""
    shapes = {}
    for spec in exports[graph]['inputs']:
        dims = spec['shape']
        shapes[spec['name']] = [[b if d == 'batch' else d for d in dims] for b in (1, 1, max_batch)]
    return shapes


# The TensorRT 10.x seam ------------------------------------------------------------------------------------
# From opset 23 the exporter writes scaled-dot-product attention as the ONNX ``Attention`` op, which the
# TensorRT ONNX parser reads from 10.14 on (older 10.x, as on Jetson, fail deep inside the parser).
ATTENTION_TRT = (10, 14)


def check_export_opsets(exports: dict, tensorrt_version: str) -> None:
    """One clear line when this TensorRT cannot parse the bundle's exports; nothing otherwise."""
    have = tuple(int(p) for p in tensorrt_version.split('.')[:2])
    for graph, rec in exports.items():
        if rec.get('opset', 0) >= ATTENTION_OPSET and have < ATTENTION_TRT:
            raise EngineCacheError(f'{rec["file"]} is ONNX opset {rec["opset"]} (Attention op), which TensorRT '
                                   f'{tensorrt_version} cannot parse (needs {ATTENTION_TRT[0]}.{ATTENTION_TRT[1]}+); '
                                   f're-export with: video-object-export BUNDLE --opset {DEFAULT_OPSET}')


def _trt():
    import tensorrt as trt  # noqa: PLC0415 - only on machines that have it
    return trt


def build_plan(onnx_path: Path, precision: str, shapes: dict, workspace_mb: int = 1024) -> bytes:
    trt = _trt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    has_fp16_flag = hasattr(trt.BuilderFlag, 'FP16')
    flags = 0
    if precision == 'fp16' and not has_fp16_flag:
        # TensorRT 11: no FP16 flag; build strongly typed from the FP16 ONNX.
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        onnx_path = Path(onnx_path).with_suffix('.fp16.onnx')
        if not onnx_path.is_file():
            raise EngineCacheError(f'TensorRT {trt.__version__} has no FP16 builder flag and builds FP16 strongly '
                                   f'typed from an FP16 ONNX ({onnx_path.name}), which this bundle lacks; '
                                   'use precision fp32')
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = '; '.join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineCacheError(f'TensorRT cannot parse {onnx_path}: {errors}')
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if precision == 'fp16' and has_fp16_flag:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in shapes.items():
        profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise EngineCacheError(f'TensorRT failed to build {onnx_path} (see the TensorRT log above)')
    return bytes(plan)


class TensorRTBackend(Backend):
    """
    TensorRT engines for the three graphs, run with ``execute_async_v3`` on one CUDA stream.

    Device memory goes through CUDA's own Python API (``cuda_memory.DeviceBuffers``), so an edge image needs
    TensorRT and cuda-python, not torch.
    """

    name = 'tensorrt'

    def __init__(self, opened: Bundle, precision: str = 'fp16', workspace_mb: int = 1024,
                 max_batch: int = 8, force_rebuild: bool = False):
        from .cuda_memory import DeviceBuffers, cuda_device_count, cudart, device_name_and_capability

        cudart()  # ImportError naming cuda-python when it is not installed
        if cuda_device_count() == 0:
            raise RuntimeError('TensorRT needs a CUDA device; none is available')
        trt = _trt()  # ImportError when TensorRT is not installed
        if precision not in ('fp32', 'fp16'):
            raise ValueError(f"precision must be 'fp32' or 'fp16', got {precision!r}")
        bundle = opened.path
        exports = bundle_exports(opened)
        check_export_opsets(exports, trt.__version__)
        super().__init__(opened.model)
        self.precision = precision
        logger = trt.Logger(trt.Logger.WARNING)
        runtime = trt.Runtime(logger)

        def loader(plan: bytes):
            engine = runtime.deserialize_cuda_engine(plan)
            if engine is None:
                raise EngineCacheError('TensorRT could not deserialise the plan')
            return engine

        gpu_name, capability = device_name_and_capability(0)
        cache = EngineCache(bundle / 'engines', lambda o, p, s: build_plan(o, p, s, workspace_mb), loader)
        self.contexts = {}
        for graph in ('frame_encoder', 'window_encoder', 'mask_decoder'):
            batch = max_batch * self.cfg.frames if graph == 'frame_encoder' else max_batch
            shapes = profile_shapes(exports, graph, batch)
            key = engine_key(bundle / exports[graph]['file'], trt.__version__, gpu_name, capability, precision,
                             shapes)
            engine = cache.load_or_build(graph, bundle / exports[graph]['file'], key, force_rebuild)
            self.contexts[graph] = (engine, engine.create_execution_context())
        self.memory = DeviceBuffers()

    def _execute(self, graph: str, inputs: dict, outputs: list[tuple[str, tuple]]) -> list:
        _engine, context = self.contexts[graph]
        for name, array in inputs.items():
            array = np.ascontiguousarray(array, np.float32)
            context.set_input_shape(name, tuple(array.shape))
            context.set_tensor_address(name, self.memory.upload(f'{graph}/{name}', array))
        for name, shape in outputs:
            context.set_tensor_address(name, self.memory.output(f'{graph}/{name}', shape))
        if not context.execute_async_v3(self.memory.stream_handle):
            raise RuntimeError(f'TensorRT execution of {graph} failed')
        return self.memory.download([(f'{graph}/{name}', shape) for name, shape in outputs])

    def _frames(self, frames):
        c = self.cfg
        return self._execute('frame_encoder', {'frames': frames},
                             [('features', (len(frames), c.num_spatial, c.model_dim))])[0]

    def _window(self, features, cond):
        c = self.cfg
        b = len(features)
        inputs = {'features': features, **({'cond': cond} if cond is not None else {})}
        names = window_output_names(c)
        out = self._execute('window_encoder', inputs,
                            [(n, tuple(b if d == 'batch' else d for d in window_output_shape(c, n))) for n in names])
        return WindowOutput.from_named(names, out)

    def _masks(self, object_mean, frame_mean, placement):
        c = self.cfg
        inputs = {'object_mean': object_mean, 'frame_mean': frame_mean}
        if placement is not None:
            inputs['placement'] = placement
        return self._execute('mask_decoder', inputs, [('masks', (len(object_mean), c.num_slots, c.height, c.width))])[0]

    def describe(self) -> str:
        return f'tensorrt ({self.precision})'
