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
The node under rclpy's two executors, side by side: what made its p99 latency (docs/benchmarks.md, 2026-12-06).

Runs ``python -m video_object_node.bench.node_bench`` (640x480, 30 Hz) in alternating pairs, once with the node's
own ``SingleThreadedExecutor`` and once with rclpy's ``MultiThreadedExecutor(num_threads=3)`` swapped in, which the
node used until then. A ``sitecustomize`` module, written to a temporary folder on the node's ``PYTHONPATH`` and
active only in the node's process, does the swap and counts how often the executor's wait set wakes up. Prints one
row per run: frames encoded, windows published / dropped, end-to-end p50 / p90 / p99, the node's CPU time per frame
and the wake-ups per second (median and max over the run's seconds).

    python tools/executor_probe.py --pairs 3 --seconds 30 [--model models/default-real] [--stride 4]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = '''
import os, sys, time
if 'video_object_node.ros.node' in getattr(sys, 'orig_argv', []):
    import rclpy.executors as executors
    if os.environ.get('EXECUTOR_PROBE_KIND') == 'multi':
        executors.SingleThreadedExecutor = lambda **kw: executors.MultiThreadedExecutor(num_threads=3, **kw)
    _log = open(os.environ['EXECUTOR_PROBE_LOG'], 'w', buffering=1)
    _second, _count = [int(time.time()), 0]

    class _CountingWaitSet(executors._rclpy.WaitSet):
        def wait(self, timeout):
            global _second, _count
            now = int(time.time())
            if now != _second:
                _log.write(f'{_second} {_count}\\n')
                _second, _count = now, 0
            _count += 1
            return super().wait(timeout)
    executors._rclpy.WaitSet = _CountingWaitSet
'''


def run(kind: str, args, folder: Path) -> dict:
    """One node benchmark run with the given executor; its JSON row plus the wake-ups per second."""
    log = folder / f'wakeups_{kind}.txt'
    env = dict(os.environ, EXECUTOR_PROBE_KIND=kind, EXECUTOR_PROBE_LOG=str(log),
               PYTHONPATH=os.pathsep.join(filter(None, [str(folder), os.environ.get('PYTHONPATH')])))
    cmd = [sys.executable, '-m', 'video_object_node.bench.node_bench', '--seconds', str(args.seconds),
           '--camera-only', '--stride', str(args.stride)] + (['--model', args.model] if args.model else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f'node benchmark failed ({kind}): {(proc.stderr.strip().splitlines() or ["?"])[-1]}')
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row = row[-1] if isinstance(row, list) else row
    counts = [int(line.split()[1]) for line in log.read_text().splitlines()[2:-1]] if log.is_file() else []
    row['wakeups_per_s'] = (statistics.median(counts), max(counts)) if counts else (float('nan'),) * 2
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--pairs', type=int, default=3, help='alternating pairs of runs (1..20)')
    parser.add_argument('--seconds', type=float, default=30.0, help='length of each run at 30 Hz')
    parser.add_argument('--model', default='', help="model bundle (default: the node's embedded model)")
    parser.add_argument('--stride', type=int, default=4, help='frames between windows')
    args = parser.parse_args(argv)
    if not 1 <= args.pairs <= 20:
        parser.error(f'--pairs must be 1..20, got {args.pairs}')
    if not args.seconds > 0:
        parser.error(f'--seconds must be > 0, got {args.seconds}')
    if args.model and not Path(args.model).is_dir():
        parser.error(f'--model {args.model}: not a bundle folder')
    print(f'{"executor":<8} {"encoded":>9} {"windows/dropped":>16} {"p50/p90/p99 ms":>20} {"CPU ms/frame":>13} '
          f'{"wake-ups/s median/max":>22}')
    with tempfile.TemporaryDirectory(prefix='executor_probe_') as tmp:
        folder = Path(tmp)
        (folder / 'sitecustomize.py').write_text(PROBE)
        for _ in range(args.pairs):
            for kind in ('multi', 'single'):
                r = run(kind, args, folder)
                print(f'{kind:<8} {r["frames_encoded"]:>4}/{r["frames_sent"]:<4} '
                      f'{r["windows"]:>10}/{r["windows_dropped"]:<5} '
                      f'{r["latency_ms_p50"]:>6.1f}/{r["e2e_ms_p90"]:.1f}/{r["latency_ms_p99"]:.1f} '
                      f'{r["node_cpu_ms_per_frame"]:>13.1f} '
                      f'{r["wakeups_per_s"][0]:>15.0f}/{r["wakeups_per_s"][1]:.0f}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
