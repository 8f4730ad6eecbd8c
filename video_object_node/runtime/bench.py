"""Runtime benchmark: per-window latency, streaming cost per new frame, speed-up, peak RSS per backend.

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


def _percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000.0
    return float(np.median(ms)), float(np.percentile(ms, 90))


def _measure(bundle: str, kind: str, runs: int, threads: int, queue) -> None:
    import torch
    torch.set_num_threads(threads)
    from .backends import create_backend
    from .streaming import StreamingEncoder
    backend = create_backend(bundle, kind, num_threads=threads)
    c = backend.cfg
    rng = np.random.default_rng(0)
    frames = rng.random((runs + 2 * c.frames, c.channels, c.height, c.width), dtype=np.float32)
    window = frames[:c.frames]

    def full_window():
        backend.encode_window(backend.encode_frames(window)[None])

    for _ in range(5):
        full_window()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        full_window()
        times.append(time.perf_counter() - start)
    result = {'backend': backend.describe(), 'T': c.frames, 'size': f'{c.height}x{c.width}'}
    result['window_ms_median'], result['window_ms_p90'] = _percentiles(times)
    for stride in sorted({1, max(1, c.frames // 2)}):
        stream = StreamingEncoder(backend, stride=stride)
        for i in range(c.frames):           # fill the buffer
            stream.push(frames[i], i)
        per_frame = []
        for i in range(c.frames, c.frames + runs):
            start = time.perf_counter()
            stream.push(frames[i], i)
            per_frame.append(time.perf_counter() - start)
        result[f'stream_stride{stride}_ms_per_frame'] = float(np.mean(per_frame) * 1000)
    # Recomputing each window at stride 1 costs a full window per new frame.
    result['streaming_speedup_stride1'] = result['window_ms_median'] / result['stream_stride1_ms_per_frame']
    result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    queue.put(result)


def measure(bundle: str | Path, kind: str, runs: int = 50, threads: int = 2) -> dict:
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(str(bundle), kind, runs, threads, queue))
    proc.start()
    result = queue.get(timeout=1800)
    proc.join()
    return result


def bench_bundles(specs: dict, runs: int = 50, threads: int = 2) -> list[dict]:
    """``specs``: label -> bundle path or SimoneConfig (built with seeded random weights)."""
    import torch

    from ..model import Simone, save_bundle
    from .export import export_bundle
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, spec in specs.items():
            path = Path(tmp) / label
            if isinstance(spec, (str, Path)):
                shutil.copytree(spec, path, ignore=shutil.ignore_patterns('engines'))
            else:
                torch.manual_seed(0)
                save_bundle(Simone(spec), path)
            export_bundle(path)
            for kind in ('torch', 'onnxruntime'):
                r = measure(path, kind, runs, threads)
                r['model'] = label
                results.append(r)
                print(json.dumps(r), flush=True)
    return results
