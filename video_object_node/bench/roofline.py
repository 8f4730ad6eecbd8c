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
This processor's real limit per precision: the fastest dense matrix product any kernel here runs.

- fp32: the better of torch's GEMM and ONNX Runtime's (MLAS) MatMul;
- bf16: torch's GEMM (oneDNN: AVX512-BF16 or AMX where the CPU has them);
- int8: ONNX Runtime's MatMulInteger (VNNI / AMX-INT8 kernels where present), in GOP/s.

Each is the best of several n x n products on ``threads`` threads, measured in the run that measures the
models, so a model row's share of the peak compares within one run (machines of this project differ by ~2x).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

FEATURES = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_bf16', 'amx_int8')


def cpu_features() -> dict:
    """Return the model name and the SIMD / matrix features that decide the kernels (from /proc/cpuinfo)."""
    text = Path('/proc/cpuinfo').read_text() if Path('/proc/cpuinfo').is_file() else ''
    flags = set()
    name = ''
    for line in text.splitlines():
        if line.startswith('flags') and not flags:
            flags = set(line.split(':', 1)[1].split())
        elif line.startswith('model name') and not name:
            name = line.split(':', 1)[1].strip()
    return {'model_name': name, 'features': [f for f in FEATURES if f in flags]}


def _best(fn, repeats: int = 8) -> float:
    for _ in range(2):
        fn()
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def torch_gemm_gflops(threads: int, dtype: str = 'fp32', n: int = 2048) -> float:
    import torch
    torch.set_num_threads(threads)
    dt = {'fp32': torch.float32, 'bf16': torch.bfloat16}[dtype]
    a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
    return 2 * n ** 3 / _best(lambda: a @ b) / 1e9


def _ort_session(model, threads: int):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(model.SerializeToString(), options, providers=['CPUExecutionProvider'])


def ort_gemm_gflops(threads: int, precision: str = 'fp32', n: int = 2048) -> float:
    """ONNX Runtime's MatMul (fp32) or MatMulInteger (int8: uint8 x int8 -> int32) on n x n inputs."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(0)
    if precision == 'fp32':
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        node = helper.make_node('MatMul', ['a', 'b'], ['y'])
        types = (TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT)
    else:
        a = rng.integers(0, 255, (n, n), dtype=np.uint8)
        b = rng.integers(-127, 127, (n, n), dtype=np.int8)
        node = helper.make_node('MatMulInteger', ['a', 'b'], ['y'])
        types = (TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32)
    graph = helper.make_graph([node], 'gemm', [helper.make_tensor_value_info('a', types[0], [n, n]),
                                               helper.make_tensor_value_info('b', types[1], [n, n])],
                              [helper.make_tensor_value_info('y', types[2], [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    session = _ort_session(model, threads)
    return 2 * n ** 3 / _best(lambda: session.run(None, {'a': a, 'b': b})) / 1e9


def roofline(threads: int) -> dict:
    """Return the ``bench: roofline`` row: peak GFLOP/s (GOP/s for int8) per precision and which kernel gave it."""
    from ..runtime.backend_choice import cpu_has_bf16
    fp32 = {'torch': torch_gemm_gflops(threads, 'fp32'), 'onnxruntime': ort_gemm_gflops(threads, 'fp32')}
    peaks = {'fp32': max(fp32.values())}
    kernels = {'fp32': max(fp32, key=fp32.get)}
    if cpu_has_bf16():
        peaks['bf16'], kernels['bf16'] = torch_gemm_gflops(threads, 'bf16'), 'torch'
    peaks['int8'], kernels['int8'] = ort_gemm_gflops(threads, 'int8'), 'onnxruntime MatMulInteger'
    return {'bench': 'roofline', 'threads': threads, 'gflops': peaks, 'kernel': kernels,
            'fp32_by_kernel': fp32, **cpu_features()}
