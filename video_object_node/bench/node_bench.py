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
Node benchmark: end-to-end latency at 30 Hz for small and VGA input, and a soak run.

The node runs in its own process on an isolated domain; this process publishes frames (best-effort QoS by
default, as camera drivers do, stamped with the publish time; both processes on the shipped Fast DDS profile)
and receives the latents. End-to-end latency = receive time - stamp of
the window's last frame; the node's own window time (backend) comes from its diagnostics. The soak run
samples the node's RSS every few seconds and reads its dropped-window and dropped-frame counters.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..bundle.layout import resolve_model_path


def _env(tmp: str) -> dict:
    from ..devtools.local_env import local_ros_env
    return local_ros_env(tmp, domain_id=150 + os.getpid() % 80)


def _rss_mb(pid: int) -> float:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024.0
    return float('nan')


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def lidar_sweeps(folder: str | None, count: int = 10, points: int = 120_000) -> list[np.ndarray]:
    """
    Return sweeps to publish: a KITTI-style folder's first ``count`` (``velodyne/*.bin``), else made-up ones.

    A made-up sweep: ``points`` returns of a 64-beam 360-degree sensor 1.73 m above a road, boxes around it.
    """
    if folder:
        from ..data.lidar_dataset import read_sweep
        files = sorted(Path(folder, 'velodyne').glob('*.bin'))[:count]
        if not files:
            raise FileNotFoundError(f'{folder}: no velodyne/*.bin sweeps')
        return [read_sweep(f)[:, :3] for f in files]
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        el = np.radians(rng.uniform(-24.8, 2.0, points))
        az = rng.uniform(-np.pi, np.pi, points)
        d = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=1)
        r = np.where(d[:, 2] < -0.02, -1.73 / np.minimum(d[:, 2], -0.02), rng.uniform(5, 60, points))
        near = rng.uniform(size=points) < 0.15                          # objects in front of the road
        r = np.where(near, r * rng.uniform(0.3, 0.9, points), r)
        out.append((d * np.minimum(r, 80.0)[:, None]).astype(np.float32))
    return out


def run_node_bench(height: int, width: int, seconds: float, stride: int = 4, rate: float = 30.0,
                   bundle: str = '', sample_every: float = 5.0, reliability: str = 'best_effort',
                   debug_image: bool = False, input_depth: int = 0, sweeps: list | None = None,
                   decode_masses: bool = False) -> dict:
    """
    Measure the node in its own process at a camera rate.

    The node in its own process fed ``rate`` Hz frames (``reliability`` QoS on both ends, as a camera driver
    publishes them); frames sent / received / encoded, end-to-end latency, window time, RSS. With
    ``debug_image`` a subscriber on ``~/debug_image`` makes the node build it every window. With ``sweeps`` (point
    arrays [N, 3]) the node gets those as PointCloud2 on ``points`` instead (a LIDAR bundle). With ``decode_masses``
    the node decodes every window's segments (masses, centroids, the bundle's objectness: a LIDAR bundle's clusters).
    """
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, PointCloud2

    from ..ros.outputs import output_class
    from ..sensing.conversions import array_to_cloud, array_to_image, stamp_to_ns
    tmp = tempfile.mkdtemp(prefix='node_bench_')
    env = _env(tmp)
    args = ['-p', f'stride:={stride}', '-p', f'input_reliability:={reliability}']
    if input_depth:
        args += ['-p', f'input_depth:={input_depth}']
    if decode_masses:
        args += ['-p', 'decode_masses:=true']
    if bundle:   # rcl cannot parse an empty override; the node's default is the embedded model
        args += ['-p', f'model_path:={bundle}']
    proc = subprocess.Popen([sys.executable, '-m', 'video_object_node.ros.node', '--ros-args', *args],
                            env=env, stdout=open(Path(tmp) / 'node.log', 'w'), stderr=subprocess.STDOUT)
    # The publisher here stands for the camera driver: it needs the node's Fast DDS profile too. With Fast DDS'
    # defaults (a 512 KB shared-memory segment) a 640x480 frame goes over UDP in 64 KB fragments, and at best
    # effort most frames were lost (measured: 64 of 600 received in 20 s; 600 of 600 with the profile). The
    # profile is read when this process creates its first participant.
    os.environ.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', env['FASTDDS_DEFAULT_PROFILES_FILE'])
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=int(env['ROS_DOMAIN_ID']))
    node = rclpy.create_node('node_bench', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    input_qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliability == 'reliable'
                           else ReliabilityPolicy.BEST_EFFORT)
    latencies, diags, debug = [], [], []

    def on_latents(msg):
        latencies.append((node.get_clock().now().nanoseconds - stamp_to_ns(msg.header.stamp)) / 1e6)
    node.create_subscription(output_class('object_latents'), '/video_object_node/object_latents', on_latents, qos)
    node.create_subscription(DiagnosticArray, '/diagnostics', diags.append, qos)
    pub = node.create_publisher(PointCloud2 if sweeps else Image, '/points' if sweeps else '/image', input_qos)
    if debug_image:
        node.create_subscription(Image, '/video_object_node/debug_image', lambda m: debug.append(1), qos)
    try:
        deadline = time.monotonic() + 60
        while (pub.get_subscription_count() == 0 or not diags) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        if not diags:
            log = (Path(tmp) / 'node.log').read_text().strip().splitlines()[-3:]
            raise RuntimeError(f'the node did not come up within 60 s: {" | ".join(log)}')
        if sweeps:
            table = np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('intensity', '<f4')])
            frames = []
            for sweep in sweeps:
                cloud = np.zeros(len(sweep), table)
                cloud['x'], cloud['y'], cloud['z'] = sweep[:, 0], sweep[:, 1], sweep[:, 2]
                frames.append(cloud)

            def message(i):
                return array_to_cloud(frames[i % len(frames)], 'lidar', node.get_clock().now().to_msg())
        else:
            frames = np.random.default_rng(0).integers(0, 255, (8, height, width, 3), dtype=np.uint8)

            def message(i):
                return array_to_image(frames[i % 8], 'rgb8', 'camera', node.get_clock().now().to_msg())
        period, start, sent, rss, gaps = 1.0 / rate, time.monotonic(), 0, [], []
        cpu_start = _cpu_seconds(proc.pid)
        next_sample = start
        while time.monotonic() - start < seconds:
            now = time.monotonic()
            if now >= start + sent * period:
                pub.publish(message(sent))
                gaps.append(now - (start + sent * period))   # how late this process published the frame
                sent += 1
            if now >= next_sample:
                rss.append(_rss_mb(proc.pid))
                next_sample += sample_every
            executor.spin_once(timeout_sec=max(0.0, start + sent * period - time.monotonic()))
        cpu_run = _cpu_seconds(proc.pid) - cpu_start
        # Settle: wait (up to 10 s, at least 2) until the node's 1 Hz diagnostics account for every frame it received
        # (encoded, dropped or rejected), so that a frame still queued at the end is not reported as lost.
        begun, values = time.monotonic(), {}
        while time.monotonic() - begun < 10:
            executor.spin_once(timeout_sec=0.1)
            values = {kv.key: kv.value for kv in diags[-1].status[0].values}
            settled = sum(int(values.get(k, 0)) for k in ('frames_encoded', 'frames_dropped', 'frames_rejected'))
            if time.monotonic() - begun >= 2 and settled >= int(values['frames_received']):
                break
    finally:
        proc.send_signal(subprocess.signal.SIGINT)
        proc.wait(timeout=20)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    lat = np.array(latencies[len(latencies) // 10:])   # skip the warm-up tenth
    window_ms = float(values['window_ms_median'])
    size = f'{len(sweeps[0])} points' if sweeps else f'{width}x{height}'
    return {'bench': 'node', 'model': resolve_model_path(bundle).name, 'input': size, 'rate_hz': rate,
            'stride': stride, 'seconds': seconds, 'decode_masses': decode_masses,
            'reliability': reliability, 'debug_image': debug_image, 'debug_images_received': len(debug),
            'frames_sent': sent, 'frames_received': int(values['frames_received']),
            'frames_encoded': int(values['frames_encoded']),
            'frames_received_share': int(values['frames_received']) / max(sent, 1),
            'windows': len(latencies), 'windows_dropped': int(values['windows_dropped']),
            'frames_dropped': int(values['frames_dropped']), 'backend': values['backend'],
            'input_depth': input_depth or None, 'publish_late_ms_max': 1000 * max(gaps, default=0.0),
            'e2e_ms_median': float(np.median(lat)), 'e2e_ms_p90': float(np.percentile(lat, 90)),
            'latency_ms_p50': float(np.median(lat)), 'latency_ms_p99': float(np.percentile(lat, 99)),
            'backend_window_ms_median': window_ms,
            'overhead_ms_median': float(np.median(lat)) - window_ms,
            'overhead_ms_p90': float(np.percentile(lat, 90)) - window_ms,
            # the node's CPU time (all threads) per frame sent while frames came: the executor's overhead shows here
            'node_cpu_ms_per_frame': 1000 * cpu_run / max(sent, 1),
            'rss_mb_first': rss[0] if rss else None, 'rss_mb_last': rss[-1] if rss else None,
            'rss_mb_max': max(rss) if rss else None}


def main(argv: list[str] | None = None) -> int:
    """
    Return the node rows of ``make bench``, one JSON line each.

    ``bench/suite.py`` runs this in a child process: a publisher in a process that has imported torch and set its
    threads stalled for ~150 ms at times on a quiet 2-core machine (64x64, 20 s: 576 of 600 frames received, p90 211 ms;
    without torch 600, p90 8.5 ms).
    """
    import argparse
    import json
    parser = argparse.ArgumentParser(prog='python -m video_object_node.bench.node_bench',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--seconds', type=float, default=60.0, help='length of each run at 30 Hz')
    parser.add_argument('--soak-seconds', type=float, default=180.0, help='length of the 64x64 soak run')
    parser.add_argument('--input-depth', type=int, default=0,
                        help="the node's input_depth for every run (0: the node's default)")
    parser.add_argument('--model', default='', help="model bundle (default: the node's embedded model)")
    parser.add_argument('--stride', type=int, default=4, help='frames between windows')
    parser.add_argument('--camera-only', action='store_true', help='only the 640x480 run (a model comparison)')
    parser.add_argument('--lidar', metavar='BUNDLE', help='instead: a LIDAR bundle fed sweeps at 10 Hz (--sweeps)')
    parser.add_argument('--sweeps', help='with --lidar: a KITTI-style folder (velodyne/*.bin); default: made-up '
                        '120,000-point sweeps')
    parser.add_argument('--decode-masses', action='store_true',
                        help='the node decodes each window\'s segments (masses, centroids, a LIDAR bundle\'s clusters)')
    args = parser.parse_args(argv)
    if not (args.seconds > 0 and args.soak_seconds > 0):
        parser.error('--seconds and --soak-seconds must be > 0')
    if not 0 <= args.input_depth <= 1000:
        parser.error(f'--input-depth must be 0..1000, got {args.input_depth}')
    if not 1 <= args.stride <= 1024:
        parser.error(f'--stride must be 1..1024, got {args.stride}')
    if args.model and not Path(args.model).is_dir():
        parser.error(f'--model {args.model}: not a bundle folder')
    if args.lidar:
        if not Path(args.lidar).is_dir():
            parser.error(f'--lidar {args.lidar}: not a bundle folder')
        try:
            sweeps = lidar_sweeps(args.sweeps)
        except (FileNotFoundError, ValueError) as exc:
            parser.error(str(exc))
        print(json.dumps(run_node_bench(0, 0, args.seconds, stride=args.stride, rate=10.0, bundle=args.lidar,
                                        input_depth=args.input_depth, sweeps=sweeps,
                                        decode_masses=args.decode_masses)), flush=True)
        return 0
    runs = [dict(height=480, width=640, seconds=args.seconds)]
    if not args.camera_only:
        runs = [dict(height=64, width=64, seconds=args.seconds), *runs,
                dict(height=480, width=640, seconds=args.seconds, debug_image=True),
                dict(height=64, width=64, seconds=args.soak_seconds, sample_every=10.0)]
    for kwargs in runs:
        print(json.dumps(run_node_bench(**kwargs, input_depth=args.input_depth, bundle=args.model,
                                        stride=args.stride, decode_masses=args.decode_masses)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
