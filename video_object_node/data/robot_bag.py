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
Simulated robot bags, made from simulated clips.

Simulated robot bags: what a robot records, made from simulated clips, so every bag path can be tested
and measured against the simulator's truth.

    python -m video_object_node.data.robot_bag OUT [--preset textured] [--clips 20] [--seed 0]
        [--transport compressed|raw] [--format jpeg|png] [--storage mcap|sqlite3]

Each simulated clip becomes a stretch of the bag (stretches 2 s apart, as if the robot paused): the camera's
images (``/camera/image_raw``, or ``/camera/image_raw/compressed`` as ROS's compressed transport writes it),
``/camera/camera_info``, ``/odom`` (nav_msgs/Odometry of ``base_link`` in ``odom`` at twice the frame rate,
at every image stamp and halfway between), ``/tf`` (odom -> base_link at the same stamps) and ``/tf_static``
(base_link -> camera_optical, the camera's mounting ``MOUNT``). The camera's world pose is the simulator's.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .config import SimConfig

# The camera's optical frame (x right, y down, z forward) in base_link (x forward, y left, z up), 0.2 m ahead
# and 0.4 m up: x_opt = -y_base, y_opt = -z_base, z_opt = x_base.
MOUNT = np.array([[0.0, 0.0, 1.0, 0.2], [-1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 0.4], [0.0, 0.0, 0.0, 1.0]])
GAP_NS = 2_000_000_000
START_NS = 1_700_000_000_000_000_000


def quaternion_xyzw(r: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation
    return Rotation.from_matrix(r).as_quat()          # x, y, z, w


def _between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the pose halfway between two poses (linear position, slerp rotation)."""
    from scipy.spatial.transform import Rotation, Slerp
    out = np.eye(4)
    out[:3, 3] = (a[:3, 3] + b[:3, 3]) / 2
    out[:3, :3] = Slerp([0, 1], Rotation.from_matrix(np.stack([a[:3, :3], b[:3, :3]])))([0.5]).as_matrix()[0]
    return out


def write_robot_bag(out: Path, clips: list[dict], frame_rate: float, transport: str = 'compressed',
                    fmt: str = 'jpeg', storage: str = 'mcap') -> dict:
    """
    Write simulated ``clips`` (simulator dicts) as a robot bag; returns the truth.

    Image stamps (ns) and the camera's world<-camera poses (OpenCV axes) per image, in bag order.
    """
    from nav_msgs.msg import Odometry
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore
    from sensor_msgs.msg import CameraInfo

    from ..sensing.conversions import array_to_image, ns_to_stamp, rgb_to_compressed
    typestore = get_typestore(Stores.ROS2_KILTED)
    writer = Writer(out, version=9, storage_plugin=StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3)
    writer.open()
    image_topic = '/camera/image_raw/compressed' if transport == 'compressed' else '/camera/image_raw'
    image_type = 'sensor_msgs/msg/CompressedImage' if transport == 'compressed' else 'sensor_msgs/msg/Image'
    conns = {'image': writer.add_connection(image_topic, image_type, typestore=typestore),
             'info': writer.add_connection('/camera/camera_info', 'sensor_msgs/msg/CameraInfo', typestore=typestore),
             'odom': writer.add_connection('/odom', 'nav_msgs/msg/Odometry', typestore=typestore),
             'tf': writer.add_connection('/tf', 'tf2_msgs/msg/TFMessage', typestore=typestore),
             'tf_static': writer.add_connection('/tf_static', 'tf2_msgs/msg/TFMessage', typestore=typestore)}
    types = typestore.types
    Header, Time = types['std_msgs/msg/Header'], types['builtin_interfaces/msg/Time']
    Vector3, Quaternion = types['geometry_msgs/msg/Vector3'], types['geometry_msgs/msg/Quaternion']
    Transform, TransformStamped = types['geometry_msgs/msg/Transform'], types['geometry_msgs/msg/TransformStamped']
    TFMessage = types['tf2_msgs/msg/TFMessage']

    def tf_message(parent: str, child: str, stamp: int, pose: np.ndarray):
        q = quaternion_xyzw(pose[:3, :3])
        t = Transform(translation=Vector3(x=float(pose[0, 3]), y=float(pose[1, 3]), z=float(pose[2, 3])),
                      rotation=Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3])))
        header = Header(stamp=Time(sec=stamp // 1_000_000_000, nanosec=stamp % 1_000_000_000), frame_id=parent)
        msg = TFMessage(transforms=[TransformStamped(header=header, child_frame_id=child, transform=t)])
        return typestore.serialize_cdr(msg, 'tf2_msgs/msg/TFMessage')

    def odometry(stamp: int, base: np.ndarray) -> bytes:
        msg = Odometry()
        msg.header.stamp, msg.header.frame_id, msg.child_frame_id = ns_to_stamp(stamp), 'odom', 'base_link'
        q = quaternion_xyzw(base[:3, :3])
        p = msg.pose.pose
        p.position.x, p.position.y, p.position.z = (float(v) for v in base[:3, 3])
        p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = (float(v) for v in q)
        return serialize_message(msg)

    period = int(1e9 / frame_rate)
    stamps, poses = [], []
    writer.write(conns['tf_static'], START_NS, tf_message('base_link', 'camera_optical', START_NS, MOUNT))
    start = START_NS
    for clip in clips:
        k = clip['intrinsics'].astype(np.float64)
        bases = [pose @ np.linalg.inv(MOUNT) for pose in clip['extrinsics'].astype(np.float64)]
        for f, (frame, pose) in enumerate(zip(clip['video'], clip['extrinsics'])):
            stamp = start + f * period
            if transport == 'compressed':
                msg = rgb_to_compressed(frame, fmt, 'camera_optical', ns_to_stamp(stamp))
            else:
                msg = array_to_image(frame, 'rgb8', 'camera_optical', ns_to_stamp(stamp))
            writer.write(conns['image'], stamp, serialize_message(msg))
            info = CameraInfo(height=frame.shape[0], width=frame.shape[1], k=k.ravel().tolist())
            info.header.stamp, info.header.frame_id = ns_to_stamp(stamp), 'camera_optical'
            writer.write(conns['info'], stamp, serialize_message(info))
            samples = [(stamp, bases[f])]
            if f + 1 < len(bases):
                samples.append((stamp + period // 2, _between(bases[f], bases[f + 1])))
            for t, base in samples:
                writer.write(conns['odom'], t, odometry(t, base))
                writer.write(conns['tf'], t, tf_message('odom', 'base_link', t, base))
            stamps.append(stamp)
            poses.append(pose.astype(np.float64))
        start += len(clip['video']) * period + GAP_NS
    writer.close()
    return {'stamps_ns': np.array(stamps, np.int64), 'extrinsics': np.stack(poses)}


def simulate_robot_bag(out: Path, preset: str = 'textured', clips: int = 20, seed: int = 0, **kwargs) -> dict:
    """Simulate ``clips`` clips of ``preset`` and write them as a robot bag (``write_robot_bag``)."""
    from .dataset import clip_seed
    from .sim import SceneSimulator
    cfg = SimConfig.preset(preset)
    with SceneSimulator(cfg) as sim:
        rendered = [sim.clip(clip_seed(seed, 'test', i)) for i in range(clips)]
    return write_robot_bag(out, rendered, cfg.frame_rate, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m video_object_node.data.robot_bag',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('out', type=Path)
    parser.add_argument('--preset', default='textured', choices=SimConfig.PRESETS)
    parser.add_argument('--clips', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--transport', default='compressed', choices=['compressed', 'raw'])
    parser.add_argument('--format', default='jpeg', choices=['jpeg', 'png'])
    parser.add_argument('--storage', default='mcap', choices=['mcap', 'sqlite3'])
    args = parser.parse_args(argv)
    if args.clips < 1:
        print('error: --clips must be >= 1', file=sys.stderr)
        return 2
    if args.out.exists():
        print(f'error: {args.out} exists; choose a new folder', file=sys.stderr)
        return 2
    truth = simulate_robot_bag(args.out, args.preset, args.clips, args.seed, transport=args.transport,
                               fmt=args.format, storage=args.storage)
    print(json.dumps({'out': str(args.out), 'images': len(truth['stamps_ns'])}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
