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
`make demo`: the node on the embedded default model, fed by a simulated camera, watched by a monitor.

Starts ``video_object_node`` (the default bundle unless ``--model``) and ``video-object-sim-camera``
(PyBullet frames at 30 Hz, a new scene every few seconds) as separate processes on an isolated ROS
domain, then monitors the outputs for ``--seconds``: input rate, windows per second, end-to-end latency
(frame stamp -> latents received), object ids and the viewpoint estimate. At the end it decodes the
last window from the published latents alone (the topic contract is enough to reconstruct the scene)
and writes a PNG of its frames, reconstruction and segmentation. Exits 0 when windows arrived.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np

from ..bundle.layout import default_bundle_path


def ros_environment(log_dir: str) -> dict:
    from .local_env import local_ros_env
    return local_ros_env(os.environ.get('ROS_LOG_DIR', log_dir))


class Recorder:
    """Writes what the demo sees into an mcap bag (``ros2 bag play`` or Foxglove open it later)."""

    def __init__(self, path: Path):
        from rosbags.rosbag2 import StoragePlugin, Writer
        from ..data.bag_reading import typestore
        if path.exists():
            shutil.rmtree(path)
        self.writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        self.typestore = typestore()
        self.connections: dict = {}
        self.count = 0

    def write(self, topic: str, msgtype: str, msg) -> None:
        from rclpy.serialization import serialize_message

        from ..sensing.conversions import stamp_to_ns
        if topic not in self.connections:
            self.connections[topic] = self.writer.add_connection(topic, msgtype, typestore=self.typestore)
        stamp = stamp_to_ns(msg.header.stamp) if hasattr(msg, 'header') else time.time_ns()
        self.writer.write(self.connections[topic], stamp, serialize_message(msg))
        self.count += 1

    def close(self) -> None:
        self.writer.close()


class Monitor:
    """
    Subscribe to the camera and the node's outputs for the demo.

    Subscribes to the camera and the node's outputs, keeps what the summary and the PNG need and records
    everything (input, latents, viewpoint, debug images) with ``recorder``.
    """

    def __init__(self, rclpy, context, recorder: Recorder | None = None):
        from geometry_msgs.msg import PoseWithCovarianceStamped
        from nav_msgs.msg import Odometry
        from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import Image

        from ..ros.outputs import output_class
        self.node = rclpy.create_node('demo_monitor', context=context)
        self.recorder = recorder
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.images: deque = deque(maxlen=64)
        self.objects, self.frames, self.viewpoints, self.latencies, self.odometry = [], [], [], [], []
        self.image_count = self.debug_images = 0
        topics = [('/image', Image, self._on_image, qos_profile_sensor_data),
                  ('/video_object_node/object_latents', output_class('object_latents'), self._on_objects, reliable),
                  ('/video_object_node/frame_latents', output_class('frame_latents'), self.frames.append, reliable),
                  ('/video_object_node/viewpoint', PoseWithCovarianceStamped, self.viewpoints.append, reliable),
                  ('/video_object_node/odometry', Odometry, self.odometry.append, reliable),
                  ('/video_object_node/debug_image', Image, self._on_debug_image, reliable)]
        for topic, msg_type, callback, qos in topics:
            self.node.create_subscription(msg_type, topic, self._recording(topic, msg_type, callback), qos)

    def _recording(self, topic, msg_type, callback):
        type_name = f'{msg_type.__module__.split(".")[0]}/msg/{msg_type.__name__}'

        def on_message(msg):
            if self.recorder is not None:
                self.recorder.write(topic, type_name, msg)
            callback(msg)
        return on_message

    def _on_image(self, msg) -> None:
        from ..sensing.conversions import image_to_rgb, stamp_to_ns
        self.image_count += 1
        self.images.append((stamp_to_ns(msg.header.stamp), image_to_rgb(msg)))

    def _on_debug_image(self, msg) -> None:
        self.debug_images += 1

    def _on_objects(self, msg) -> None:
        from ..sensing.conversions import stamp_to_ns
        now = self.node.get_clock().now().nanoseconds
        self.latencies.append((now - stamp_to_ns(msg.header.stamp)) / 1e6)
        self.objects.append(msg)


def write_png(path: Path, bundle: Path, monitor: Monitor) -> str:
    """Decode the last window from its published latents and draw frames, reconstruction and segments."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import torch

    from ..model import load_bundle
    from ..ros.messages import table_from_msg
    from ..sensing.preprocess import fit_frame
    from ..scores.pictures import decomposition_strip
    model = load_bundle(bundle)
    c = model.cfg
    obj, frm = table_from_msg(monitor.objects[-1]), table_from_msg(monitor.frames[-1])
    stamps = (frm['stamp_sec'].astype(np.int64) * 1_000_000_000 + frm['stamp_nanosec']).tolist()
    by_stamp = dict(monitor.images)
    shown = c.image_channels               # a model that reads motion draws it too: the strip shows the image only
    frames = [fit_frame(by_stamp[s], c.height, c.width, shown).transpose(1, 2, 0) if s in by_stamp
              else np.zeros((c.height, c.width, shown), np.float32) for s in stamps]
    placement = None
    if 'placement' in obj.dtype.names:
        placement = torch.from_numpy(obj['placement'].reshape(len(obj), c.frames, 4).copy())[None]
    with torch.no_grad():
        out = model.decode(torch.from_numpy(obj['mean'].copy())[None], torch.from_numpy(frm['mean'].copy())[None],
                           placement=placement)
    seg = out.masks[0].argmax(1).numpy()
    recon = out.rgb[0, :, :shown].permute(0, 2, 3, 1).numpy()
    strip = decomposition_strip(np.stack(frames), recon, seg, scale=4)
    fig = plt.figure(figsize=(strip.shape[1] / 80, strip.shape[0] / 80 + 0.5))
    plt.imshow(strip)
    plt.axis('off')
    plt.title('last window: camera frames / reconstruction from the published latents / segments', fontsize=8)
    fig.savefig(path, dpi=80, bbox_inches='tight')
    plt.close(fig)
    return f'{sum(s in by_stamp for s in stamps)}/{len(stamps)} frames of the window matched by stamp'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-demo', description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', type=Path, default=default_bundle_path(), help='model bundle folder')
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--out', type=Path, default=Path('demo_last_window.png'))
    parser.add_argument('--backend', default='auto')
    parser.add_argument('--record', type=Path, default=Path('demo_run'),
                        help='mcap bag of the run: input, latents, viewpoint, debug images')
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        print(f'error: --seconds must be > 0, got {args.seconds}', file=sys.stderr)
        return 2
    if not (args.model / 'weights.safetensors').is_file():
        print(f'error: no model bundle at {args.model}', file=sys.stderr)
        return 2
    log_dir = tempfile.mkdtemp(prefix='video_object_demo_')
    env = ros_environment(log_dir)
    os.environ.update({k: env[k] for k in ('ROS_DOMAIN_ID', 'FASTDDS_DEFAULT_PROFILES_FILE', 'ROS_LOG_DIR')})
    procs = [subprocess.Popen([sys.executable, '-m', 'video_object_node.ros.node', '--ros-args', '-p',
                               f'model_path:={args.model}', '-p', f'backend:={args.backend}'],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
             subprocess.Popen([sys.executable, '-m', 'video_object_node.devtools.sim_camera'], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    context = rclpy.Context()
    rclpy.init(context=context)
    recorder = Recorder(args.record)
    monitor = Monitor(rclpy, context, recorder)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor.node)
    print(f'demo: node on {args.model.name} + simulated camera (ROS_DOMAIN_ID={env["ROS_DOMAIN_ID"]}), '
          f'{args.seconds:.0f} s')
    from ..ros.messages import table_from_msg
    start = time.monotonic()
    last_print, last_images, last_windows = start, 0, 0
    try:
        while time.monotonic() - start < args.seconds:
            executor.spin_once(timeout_sec=0.05)
            now = time.monotonic()
            if now - last_print >= 2.0 and monitor.objects:
                dt = now - last_print
                ids = table_from_msg(monitor.objects[-1])['id'].tolist()
                lat = np.median(monitor.latencies[-20:])
                view = ''
                if monitor.viewpoints:
                    p = monitor.viewpoints[-1].pose.pose.position
                    view = f'  camera moved ({p.x:+.2f}, {p.y:+.2f}, {p.z:+.2f}) m in the window'
                print(f'  t={now - start:5.1f}s  input {(monitor.image_count - last_images) / dt:5.1f} Hz  '
                      f'windows {(len(monitor.objects) - last_windows) / dt:4.1f}/s  latency {lat:6.1f} ms  '
                      f'ids {ids}{view}', flush=True)
                last_print, last_images, last_windows = now, monitor.image_count, len(monitor.objects)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        node_log = procs[0].communicate(timeout=20)[0]
        procs[1].wait(timeout=20)
        recorder.close()
    code = 0
    if monitor.objects and monitor.frames:
        print(f'demo: {len(monitor.objects)} windows received, median end-to-end latency '
              f'{np.median(monitor.latencies):.1f} ms')
        for topic, types in sorted(monitor.node.get_topic_names_and_types()):
            if topic.startswith('/video_object_node/'):
                print(f'demo:   {topic}  [{", ".join(types)}]')
        note = write_png(args.out, args.model, monitor)
        print(f'demo: wrote {args.out} ({note})')
        print(f'demo: recorded {recorder.count} messages ({monitor.debug_images} debug images) to {args.record}/ '
              '(mcap: ros2 bag play, or open it in Foxglove)')
    else:
        print('demo: no windows received; node log:\n' + node_log, file=sys.stderr)
        code = 1
    executor.shutdown()
    monitor.node.destroy_node()
    rclpy.shutdown(context=context)
    return code


if __name__ == '__main__':
    sys.exit(main())
