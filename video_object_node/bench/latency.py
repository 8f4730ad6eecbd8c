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
Runtime benchmark: per-window latency, streaming cost per new frame, speed-up, peak RSS per backend.

Each (bundle, backend) is measured in a fresh process so its peak RSS is its own.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ..bundle.layout import Bundle


def timed_runs(fn, runs: int, warmup: int = 5) -> list[float]:
    """Return the seconds of ``runs`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000.0
    return float(np.median(ms)), float(np.percentile(ms, 90))


def window_gflop(cfg) -> float:
    """Return the GFLOP of one window (T frames through the CNN + the window encoder), attention included."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from ..model import Simone
    model = Simone(cfg).eval()
    # The math kernel decomposes attention into matmuls the counter sees (the fused CPU kernel it does not).
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model.window_encoder(model.frame_encoder(torch.zeros(cfg.frames, cfg.channels, cfg.height, cfg.width))[None])
    return counter.get_total_flops() / 1e9


def matmul_peak_gflops(threads: int, dtype: str = 'fp32', n: int = 2048) -> float:
    """
    Return this machine's dense matmul rate (best of 8 n x n products, torch, ``threads`` threads).

    The roofline that bounds any backend's speed on these models, whose time is nearly all matmul and convolution.
    """
    import torch
    torch.set_num_threads(threads)
    dt = {'fp32': torch.float32, 'bf16': torch.bfloat16}[dtype]
    a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
    for _ in range(2):
        a @ b
    best = float('inf')
    for _ in range(8):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def _measure(bundle: str, kind: str, runs: int, threads: int, queue, precision: str = 'fp32',
             compile: bool = False) -> None:
    import torch
    torch.set_num_threads(threads)
    from ..runtime.backend_choice import create_backend
    from ..runtime.streaming import StreamingEncoder
    if precision == 'int8':      # measured even when its check failed; the row says whether it passed
        from ..runtime.backends import OnnxRuntimeBackend
        backend = OnnxRuntimeBackend(Bundle.open(bundle), num_threads=threads, int8=True, require_passed=False)
    else:
        backend = create_backend(bundle, kind, num_threads=threads, precision=precision, compile=compile)
    c = backend.cfg
    rng = np.random.default_rng(0)
    frames = rng.random((runs + 2 * c.frames, c.channels, c.height, c.width), dtype=np.float32)
    window = frames[:c.frames]

    def full_window():
        backend.encode_window(backend.encode_frames(window)[None])

    times = timed_runs(full_window, runs)
    result = {'backend': backend.describe(), 'T': c.frames, 'size': f'{c.height}x{c.width}', 'threads': threads}
    if kind == 'onnxruntime':      # the window graph's opset: int8's is the one it was quantized from
        source = backend.exports.get('int8', {}).get('window_source', {}) if precision == 'int8' else {}
        result['backend'] += f' opset {source.get("opset", backend.exports["window_encoder"]["opset"])}'
    # Parity against fp32 torch on the same window: the largest difference of the object and frame means.
    ref = create_backend(bundle, 'torch', num_threads=threads)
    want = ref.encode_window(ref.encode_frames(window)[None])
    got = backend.encode_window(backend.encode_frames(window)[None])
    result['parity_max_abs'] = float(max(np.abs(got.object_mean - want.object_mean).max(),
                                         np.abs(got.frame_mean - want.frame_mean).max()))
    result['precision'] = precision
    result['window_ms_median'], result['window_ms_p90'] = _percentiles(times)
    # The stream takes camera images: a model that reads motion gets it computed per frame, as in the node.
    images = frames[:, :getattr(c, 'image_channels', c.channels)]
    for stride in sorted({1, max(1, c.frames // 2)}):
        stream = StreamingEncoder(backend, stride=stride)
        for i in range(c.frames):           # fill the buffer
            stream.push(images[i], i)
        per_frame = []
        for i in range(c.frames, c.frames + runs):
            start = time.perf_counter()
            stream.push(images[i], i)
            per_frame.append(time.perf_counter() - start)
        result[f'stream_stride{stride}_ms_per_frame'] = float(np.mean(per_frame) * 1000)
        result[f'frame_ms_p50_stride{stride}'] = float(np.median(per_frame) * 1000)
    # Recomputing each window at stride 1 costs a full window per new frame.
    result['streaming_speedup_stride1'] = result['window_ms_median'] / result['stream_stride1_ms_per_frame']
    result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    queue.put(result)


def measure(bundle: str | Path, kind: str, runs: int = 50, threads: int = 2, precision: str = 'fp32',
            compile: bool = False) -> dict:
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(str(bundle), kind, runs, threads, queue, precision, compile))
    proc.start()
    import queue as queue_module
    deadline = time.monotonic() + 1800
    while True:                 # a child that dies (an error in the backend) must not leave the bench waiting
        try:
            result = queue.get(timeout=5)
            break
        except queue_module.Empty:
            if not proc.is_alive() or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f'runtime benchmark of {bundle} ({kind}, {precision}) ended without a result '
                                   f'(exit code {proc.exitcode})') from None
    proc.join()
    return result


def shipped_fp32_tail(bundle: Path) -> float:
    """Return the fp32 tail a bundle's int8 export records (what the node runs), 0 (all in int8) without one."""
    return float((Bundle.open(bundle).exports.get('int8') or {}).get('fp32_tail') or 0.0)


def quantize_for_bench(bundle: Path, tmp: Path, fp32_tail: float = 0.0) -> dict:
    """
    Quantize a benchmark bundle to int8, calibrated on a few simulated clips of its size and length.

    One try, with ``fp32_tail`` (``shipped_fp32_tail`` of the bundle it copies: a re-export drops the copy's int8
    record).
    """
    from ..data.config import SimConfig
    from ..data.simulate import generate
    from ..export.quantize import quantize_bundle
    c = Bundle.open(bundle).model
    data = tmp / f'calibration-{c.height}x{c.width}x{c.frames}'
    if not data.is_dir():
        generate(SimConfig.preset('movi-a-like', frames=max(c.frames, 8)), data, seed=99,
                 counts={'train': 8, 'val': 0, 'test': 4}, progress=False)
    return quantize_bundle(bundle, data, calibration_clips=8, test_clips=4, fp32_tail=fp32_tail)


def bench_bundles(specs: dict, runs: int = 50, threads: int = 2) -> list[dict]:
    """``specs``: label -> bundle path or SimoneConfig (built with seeded random weights)."""
    import torch

    from ..model import Simone, save_bundle
    from ..runtime.backend_choice import cpu_has_bf16
    from ..bundle.graphs import ATTENTION_OPSET, DEFAULT_OPSET
    from ..export.onnx import export_bundle
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, spec in specs.items():
            path = Path(tmp) / label
            tail = 0.0
            if isinstance(spec, (str, Path)):
                shutil.copytree(spec, path, ignore=shutil.ignore_patterns('engines'))
                tail = shipped_fp32_tail(path)
            else:
                torch.manual_seed(0)
                save_bundle(Simone(spec), path)
            gflop = window_gflop(Bundle.open(path).model)
            runs_here = [('torch', 'fp32', None), ('onnxruntime', 'fp32', DEFAULT_OPSET),
                         ('onnxruntime', 'fp32', ATTENTION_OPSET)]               # the ONNX Attention op
            if cpu_has_bf16() or torch.cuda.is_available():
                runs_here += [('torch', 'bf16', None), ('torch', 'bf16+compile', None)]
            # int8 as video-object-quantize makes it from the shipped (opset-20) bundle: its window graph comes from
            # an opset-23 export (the fused Attention op, which dynamic quantization leaves in fp32)
            runs_here += [('onnxruntime', 'int8', DEFAULT_OPSET)]
            for kind, precision, opset in runs_here:
                compile = precision.endswith('+compile')
                precision = precision.replace('+compile', '')
                if opset is not None:
                    export_bundle(path, opset)
                int8_check = None
                if precision == 'int8':
                    int8_check = quantize_for_bench(path, Path(tmp), tail)
                r = measure(path, kind, runs, threads, precision, compile)
                r.update(model=label, kind=kind + (' compiled' if compile else ''), gflop_per_window=gflop,
                         gflops_achieved=gflop / (r['window_ms_median'] / 1000.0))
                if int8_check is not None:
                    r.update(int8_check_passed=int8_check['passed'], int8_fg_ari_drop=int8_check['fg_ari_drop'],
                             int8_fp32_tail=int8_check['fp32_tail'])
                results.append(r)
                print(json.dumps(r), flush=True)
    return results
