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
`make bench`: throughput figures on this machine (JSON lines, then a table).

- simulation: clips per second for each preset (one process; generation runs two);
- training: steps per second of the default training config (fp32 and bf16);
- runtime: per backend, for the default bundle and a paper-like encoder (64x64, T=16, 128 wide, 4+4
  layers): latency per window (median, p90), streaming cost per new frame at stride 1 and T/2, the
  speed-up of streaming over recomputing each window, and peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from ..config import load_yaml
from ..data.config import SimConfig
from ..model.config import SimoneConfig
from ..bundle.layout import default_bundle_path
from ..resources import resource_path


def bench_sim(preset: str, clips: int) -> dict:
    from ..data.sim import SceneSimulator
    cfg = SimConfig.preset(preset)
    with SceneSimulator(cfg) as sim:
        sim.clip(0)
        start = time.perf_counter()
        for seed in range(1, clips + 1):
            sim.clip(seed)
        elapsed = time.perf_counter() - start
    per_s = clips / elapsed
    return {'bench': 'sim', 'preset': preset, 'clips_per_s_1proc': round(per_s, 2),
            'est_2000_clips_2proc_s': round(2000 / (2 * per_s), 1)}


def bench_train(amp: bool, steps: int) -> dict:
    from ..model import Simone
    raw = load_yaml(resource_path('config/train_small.yaml'))
    cfg = SimoneConfig.from_dict(raw['model'])
    batch = raw['train']['batch_size']
    torch.manual_seed(0)
    model = Simone(cfg)
    optim = torch.optim.Adam(model.parameters(), lr=1e-4)
    video = torch.rand(batch, cfg.frames, cfg.channels, cfg.height, cfg.width)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
            loss = model(video)['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
        times.append(time.perf_counter() - start)
    median = sorted(times[1:])[len(times[1:]) // 2]
    return {'bench': 'train_step', 'amp': 'bf16' if amp else 'fp32', 'batch': batch,
            'median_s': round(median, 4), 'clips_per_s': round(batch / median, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-bench', description=__doc__.strip().splitlines()[0])
    parser.add_argument('--clips', type=int, default=20, help='clips per simulation preset')
    parser.add_argument('--steps', type=int, default=5, help='timed training steps')
    parser.add_argument('--threads', type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument('--runs', type=int, default=50, help='timed runs per runtime figure')
    parser.add_argument('--only', choices=['sim', 'train', 'runtime', 'replay', 'node'], help='run one group only')
    parser.add_argument('--soak-seconds', type=float, default=180.0, help='length of the node soak run')
    parser.add_argument('--node-seconds', type=float, default=60.0, help='length of each node run at 30 Hz')
    parser.add_argument('--out', type=Path, default=Path('bench/latest.json'), help='runtime rows as JSON')
    parser.add_argument('--models', nargs='+', choices=list(RUNTIME_MODELS), default=list(RUNTIME_MODELS),
                        help='runtime models to measure (real: models/default-real, when it exists)')
    parser.add_argument('--node-strides', type=int, nargs='+', default=[1, 2],
                        help="strides of extra 640x480 node runs of the embedded camera model (its full set runs "
                             "at the node's default stride, 4)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    if args.only in (None, 'sim'):
        results += [bench_sim(p, args.clips) for p in SimConfig.PRESETS]
    if args.only in (None, 'train'):
        results += [bench_train(False, args.steps), bench_train(True, args.steps)]
    has_default = (default_bundle_path() / 'weights.safetensors').is_file()
    if args.only in (None, 'replay') and has_default:
        results.append(bench_replay())
    node = []
    if args.only in (None, 'node') and has_default:
        node += node_rows(args.node_seconds, args.soak_seconds)          # the embedded camera model, stride 4
        for stride in sorted(set(args.node_strides) - {4}):
            node += node_rows(args.node_seconds, args.soak_seconds, ('--stride', str(stride), '--camera-only'))
        small = default_bundle_path('default')                            # the 32x32 camera model beside it
        if (small / 'weights.safetensors').is_file():
            node += node_rows(args.node_seconds, args.soak_seconds, ('--model', str(small), '--camera-only'))
        spinning = default_bundle_path(LIDAR_360)                         # a real spinning LIDAR at 10 Hz
        if (spinning / 'weights.safetensors').is_file():
            sweeps = ('--sweeps', str(REAL_SWEEPS)) if (REAL_SWEEPS / 'velodyne').is_dir() else ()
            # with its segments decoded: each sweep's objects and their centroids, what a robot reads
            lidar_args = ('--lidar', str(spinning), '--stride', '1', '--decode-masses', *sweeps)
            node += node_rows(args.node_seconds, args.soak_seconds, lidar_args)
        results += node + [bench_debug_view()]
    for r in results:
        print(json.dumps(r))
    runtime, peaks = [], {}
    peak_row = None
    if args.only in (None, 'runtime'):
        from .latency import bench_bundles
        specs = {name: spec() for name, spec in RUNTIME_MODELS.items() if name in args.models}
        runtime = bench_bundles({k: v for k, v in specs.items() if v is not None}, runs=args.runs,
                                threads=args.threads)
        from .roofline import roofline
        peak_row = roofline(args.threads)
        peaks = peak_row['gflops']
        print(json.dumps(peak_row))
    if runtime or node:
        write_latest(args.out, runtime, peak_row, node)
    print_table(results, runtime, peaks)
    return 0


# The LIDAR model for real spinning sensors, and real sweeps to feed it where the machine has them (120,000 points
# each; made-up sweeps of that size otherwise).
LIDAR_360 = 'default-lidar-360'
REAL_SWEEPS = Path(__file__).resolve().parents[2].parent / 'shared' / 'reallidar' / 'sequences' / '08'


def _bundle_or(name: str, fallback=None):
    path = default_bundle_path(name)
    return path if (path / 'weights.safetensors').is_file() else fallback


PAPER_LIKE = dict(model_dim=128, num_heads=4, ff_dim=512)
# name -> a bundle folder, or a config built with seeded random weights (None: not measured here).
RUNTIME_MODELS = {
    'default': lambda: _bundle_or('default', SimoneConfig.from_dict(
        load_yaml(resource_path('config/train_small.yaml'))['model'])),
    'real': lambda: _bundle_or('default-real'),
    'paper-like': lambda: SimoneConfig.preset('paper', **PAPER_LIKE),
    'paper-like-factorised': lambda: SimoneConfig.preset('paper', attention='factorised', **PAPER_LIKE),
}


def write_latest(path: Path, runtime: list[dict], peak_row: dict | None, node: list[dict]) -> None:
    """
    Write bench/latest.json, a list of rows.

    One per measured runtime row (model, backend, precision, window_ms_p50, frame_ms_p50_stride1, parity_max_abs against
    fp32 torch, share of this run's peak for its precision), the roofline row, and the node rows (``bench: "node"``:
    model, input, rate_hz, stride, frames_sent, frames_encoded, latency_ms_p50, latency_ms_p99). A run that measures one
    group replaces that group's rows and keeps the others'.
    """
    from ..files import atomic_write_text
    kept = []
    if path.is_file():
        try:
            kept = json.loads(path.read_text())
        except json.JSONDecodeError:
            kept = []
    group = lambda row: 'node' if row.get('bench') == 'node' else 'runtime'      # noqa: E731
    measured = ({'runtime'} if runtime else set()) | ({'node'} if node else set())
    rows = [r for r in kept if isinstance(r, dict) and group(r) not in measured]
    for r in runtime:
        peak = peak_row['gflops'].get(r['precision'])
        rows.append({'model': r['model'], 'backend': r['kind'], 'backend_detail': r['backend'],
                     'precision': r['precision'], 'window_ms_p50': r['window_ms_median'],
                     'window_ms_p90': r['window_ms_p90'], 'frame_ms_p50_stride1': r['frame_ms_p50_stride1'],
                     'parity_max_abs': r['parity_max_abs'], 'gflop_per_window': r['gflop_per_window'],
                     'gflops_achieved': r['gflops_achieved'],
                     'share_of_peak': r['gflops_achieved'] / peak if peak else None,
                     **{k: r[k] for k in ('int8_check_passed', 'int8_fg_ari_drop', 'int8_fp32_tail') if k in r}})
    if peak_row is not None:
        rows.append(peak_row)
    rows += node
    atomic_write_text(path, json.dumps(rows, indent=2))


def runtime_gflop(runtime: list[dict], model: str) -> float:
    return next(r['gflop_per_window'] for r in runtime if r['model'] == model)


def print_table(results: list[dict], runtime: list[dict], peaks: dict | None = None) -> None:
    """``peaks``: this machine's matmul GFLOP/s by dtype, the roofline the runtime rows are set against."""
    print(f'\n{"benchmark":<28} {"figure":>12}  ratio')
    for r in results:
        if r['bench'] == 'sim':
            print(f'{"sim " + r["preset"]:<28} {r["clips_per_s_1proc"]:>8.1f} c/s  2000 clips in ~'
                  f'{r["est_2000_clips_2proc_s"]:.0f} s with 2 procs ({r["est_2000_clips_2proc_s"] / 300:.2f} of the '
                  '5-minute target)')
    train = [r for r in results if r['bench'] == 'train_step']
    for r in train:
        print(f'{"train step " + r["amp"]:<28} {r["median_s"]:>8.3f} s    {r["clips_per_s"]:.0f} clips/s')
    if len(train) == 2:
        print(f'{"bf16 speed-up":<28} {train[0]["median_s"] / train[1]["median_s"]:>8.2f} x')
    for r in results:
        if r['bench'] == 'replay':
            print(f'{"replay " + r["bundle"] + " stride 1":<28} {r["frames_per_s"]:>8.1f} f/s  '
                  f'{100 * r["share_outside_backend"]:.0f}% of the time outside the backend ({r["backend"]})')
    for r in results:
        if r['bench'] == 'debug_image':
            print(f'{"debug image per window":<28} {r["ms_p50_64x64"]:>8.2f} ms at 64x64, '
                  f'{r["ms_p50_640x480"]:.2f} ms at 640x480 (target <= 2 ms)')
    for r in results:
        if r['bench'] == 'node':
            label = f'node {r["input"]} {r["seconds"]:.0f}s{" +debug" if r.get("debug_image") else ""}'
            print(f'{label:<28} frames sent {r["frames_sent"]}, received {r["frames_received"]} '
                  f'({100 * r["frames_received_share"]:.1f}%), encoded {r["frames_encoded"]}; '
                  f'e2e {r["e2e_ms_median"]:.1f}/{r["e2e_ms_p90"]:.1f}/{r["latency_ms_p99"]:.1f} ms '
                  f'(median/p90/p99: p99 {r["latency_ms_p99"] / r["latency_ms_p50"]:.1f}x the median, target <= 3x), '
                  f'minus backend window '
                  f'{r["backend_window_ms_median"]:.1f} ms = '
                  f'{r["overhead_ms_median"]:.1f}/{r["overhead_ms_p90"]:.1f} ms; '
                  f'windows dropped {r["windows_dropped"]}, frames dropped {r["frames_dropped"]}, '
                  f'node CPU {r["node_cpu_ms_per_frame"]:.1f} ms/frame, '
                  f'RSS {r["rss_mb_first"]:.0f} -> {r["rss_mb_last"]:.0f} MB')
    if runtime:
        print(f'\n{"model":<11} {"backend":<44} {"T":>3} {"window ms":>10} {"p90":>7} {"frame ms s=1":>13} '
              f'{"s=T/2":>7} {"speed-up":>9} {"GFLOP/s":>8} {"RSS MB":>7}')
        for r in runtime:
            half = [k for k in r if k.startswith('stream_stride') and k != 'stream_stride1_ms_per_frame']
            print(f'{r["model"]:<11} {r["backend"]:<44} {r["T"]:>3} {r["window_ms_median"]:>10.2f} '
                  f'{r["window_ms_p90"]:>7.2f} {r["stream_stride1_ms_per_frame"]:>13.2f} '
                  f'{(r[half[0]] if half else r["stream_stride1_ms_per_frame"]):>7.2f} '
                  f'{r["streaming_speedup_stride1"]:>8.2f}x {r["gflops_achieved"]:>8.0f} {r["peak_rss_mb"]:>7.0f}'
                  f'  ({r["precision"]}, max |diff| vs fp32 torch {r["parity_max_abs"]:.1e})')
        for model in dict.fromkeys(r['model'] for r in runtime):
            rows = [r for r in runtime if r['model'] == model]
            base = next(r for r in rows if r['kind'] == 'onnxruntime' and r['precision'] == 'fp32')
            print(f'{model}: {rows[0]["gflop_per_window"]:.2f} GFLOP per window; window and stride-1 frame time '
                  'as a share of ONNX Runtime fp32 (target <= 0.5): '
                  + ', '.join(f'{r["backend"]} {r["precision"]} {r["window_ms_median"] / base["window_ms_median"]:.2f}'
                              f' / {r["frame_ms_p50_stride1"] / base["frame_ms_p50_stride1"]:.2f}' for r in rows))
        if peaks:
            print(f'roofline on {runtime[0]["threads"]} threads (best kernel per precision): '
                  + ', '.join(f'{k} {v:.0f} GFLOP/s' for k, v in peaks.items()) + '; lower bound per window: '
                  + ', '.join(f'{m} {runtime_gflop(runtime, m) / v * 1000:.1f} ms ({k})'
                              for m in dict.fromkeys(r['model'] for r in runtime) for k, v in peaks.items()))
        paper = [r for r in runtime if r['model'] == 'paper-like']
        if paper:
            best = min(paper, key=lambda r: r['window_ms_median'])
            best_frame = min(paper, key=lambda r: r['stream_stride1_ms_per_frame'])
            print(f'paper-like fastest CPU path: {best["backend"]} {best["window_ms_median"]:.1f} ms/window '
                  f'({best["window_ms_median"] / 22:.2f} of the 22 ms target); {best_frame["backend"]} '
                  f'{best_frame["stream_stride1_ms_per_frame"]:.1f} ms/new frame '
                  f'({best_frame["stream_stride1_ms_per_frame"] / 16:.2f} of the 16 ms target)')


def node_rows(seconds: float, soak_seconds: float, extra: tuple = ()) -> list[dict]:
    """
    Run the node benchmark (``bench/node_bench.py``) in a child process that has not imported torch (see its main).

    ``extra``: more arguments for it (another model, stride, only the camera run).
    """
    import subprocess
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.bench.node_bench', '--seconds', str(seconds),
                           '--soak-seconds', str(soak_seconds), *extra], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ['no output']
        raise RuntimeError(f'node benchmark failed (exit {proc.returncode}): {tail[0]}')
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]


def bench_debug_view(runs: int = 50) -> dict:
    """
    Measure what building ~/debug_image costs per window.

    Milliseconds to build ~/debug_image for a window of the embedded model, at 64x64 and 640x480 (what a
    subscriber costs the node per window; nobody subscribed costs nothing: it is not built).
    """
    import numpy as np

    from ..runtime.config import NodeConfig
    from ..runtime.pipeline import LatentPipeline
    pipeline = LatentPipeline(NodeConfig(backend='onnxruntime'))
    rng = np.random.default_rng(0)
    out = {'bench': 'debug_image'}
    for h, w in ((64, 64), (480, 640)):
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        result = None
        for i in range(pipeline.model_cfg.frames):
            if pipeline.add(pipeline.accept(image, 10**9 + i)).due:
                result = pipeline.window()
        result.last_masks()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            pipeline.debug_view(result)
            times.append(time.perf_counter() - start)
        out[f'ms_p50_{w}x{h}'] = float(np.median(times) * 1000)
    return out


def bench_replay(frames: int = 240) -> dict:
    """Replay frames/s for the default bundle, and the share of time spent outside the backend."""
    from ..runtime.config import NodeConfig
    from ..bundle.layout import default_bundle_path
    from ..data.sim import render_clip
    from ..ros.replay import replay, write_image_bag
    from ..runtime.backends import TimedBackend
    from ..runtime.backend_choice import create_backend
    video = render_clip(SimConfig.preset('movi-a-like', frames=frames), seed=0)['video']
    cfg = NodeConfig(stride=1)
    bundle = default_bundle_path()
    backend = TimedBackend(create_backend(bundle, cfg.backend, num_threads=cfg.num_threads))
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / 'demo_bag'
        write_image_bag(bag, video, [10**9 + i * 33_333_333 for i in range(frames)])
        summary = replay(bag, Path(tmp) / 'out', cfg, progress=False, backend=backend)
    return {'bench': 'replay', 'bundle': bundle.name, 'backend': summary['backend'], 'frames': frames, 'stride': 1,
            'frames_per_s': summary['frames_per_s'], 'windows': summary['windows_written'],
            'share_outside_backend': round(1 - backend.seconds / summary['seconds'], 3)}


if __name__ == '__main__':
    sys.exit(main())
