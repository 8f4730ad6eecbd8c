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
`video-object-sim-camera`: publish PyBullet frames as a robot's camera would, a new scene every few seconds.

Parameters: ``rate`` (Hz, 30), ``width``/``height`` (64), ``scene_seconds`` (3.0), ``seed`` (0), ``preset``
('movi-a-like' or 'textured'), ``frame_id`` ('camera'), ``reliable`` (false: sensor-data QoS), ``transport``
('raw', 'compressed' or 'both'). Publishes ``image`` (sensor_msgs/Image, rgb8) and/or ``image/compressed``
(sensor_msgs/CompressedImage, JPEG, as ROS's compressed transport writes it), and ``odom``
(nav_msgs/Odometry of ``base_link`` in ``odom``: the simulator's camera pose less the camera's mounting
``robot_bag.MOUNT``), so a ``ros2 bag record`` of it exercises every input path. (``/tf`` is not published:
tf2_msgs has no wheel here; ``robot_bag.py`` writes /tf into bags through rosbags instead.)
"""
from __future__ import annotations

import dataclasses
import sys
import threading

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from ..data.config import SimConfig
from ..data.robot_bag import MOUNT, quaternion_xyzw
from ..data.sim import SceneSimulator
from ..sensing.conversions import array_to_image, rgb_to_compressed
from ..ros.cli import help_requested, program_arguments, quiet_interrupts

TRANSPORTS = ('raw', 'compressed', 'both')
PRESETS = ('movi-a-like', 'textured')
# name -> (default, description): declared as ROS parameters and printed by --help.
PARAMETERS = {
    'rate': (30.0, 'frames per second (> 0)'),
    'width': (64, 'image width in pixels (> 0)'),
    'height': (64, 'image height in pixels (> 0)'),
    'scene_seconds': (3.0, 'seconds before a new scene (> 0)'),
    'seed': (0, 'first scene seed'),
    'frame_id': ('camera', 'header.frame_id of the images'),
    'reliable': (False, 'reliable QoS instead of sensor data (best effort)'),
    'preset': ('movi-a-like', f'scene family: {" or ".join(PRESETS)}'),
    'transport': ('raw', f'what to publish: {", ".join(TRANSPORTS)}'),
}


class SimCamera(Node):
    def __init__(self):
        super().__init__('sim_camera')
        try:
            p = {name: self.declare_parameter(name, default).value for name, (default, _) in PARAMETERS.items()}
        except Exception as exc:  # noqa: BLE001 - rclpy's type errors: a value of the wrong type on the command line
            raise ValueError(str(exc).splitlines()[0]) from None
        self.rate, seconds = float(p['rate']), float(p['scene_seconds'])
        width, height = int(p['width']), int(p['height'])
        self.seed, self.frame_id, reliable = int(p['seed']), str(p['frame_id']), bool(p['reliable'])
        preset, self.transport = str(p['preset']), str(p['transport'])
        if self.rate <= 0 or width <= 0 or height <= 0 or seconds <= 0:
            raise ValueError(f'rate, width, height and scene_seconds must be > 0, got {self.rate}, {width}, {height}, '
                             f'{seconds}')
        if self.transport not in TRANSPORTS:
            raise ValueError(f'transport must be one of {TRANSPORTS}, got {self.transport!r}')
        if preset not in PRESETS:
            raise ValueError(f'preset must be one of {PRESETS}, got {preset!r}')
        cfg = SimConfig.preset(preset)
        self.sim_cfg = dataclasses.replace(cfg, width=width, height=height, frame_rate=self.rate,
                                           frames=max(2, int(round(seconds * self.rate))))
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE) if reliable else qos_profile_sensor_data
        self.pub = self.create_publisher(Image, 'image', qos) if self.transport != 'compressed' else None
        self.compressed_pub = (self.create_publisher(CompressedImage, 'image/compressed', qos)
                               if self.transport != 'raw' else None)
        from nav_msgs.msg import Odometry
        self.odom_pub = self.create_publisher(Odometry, 'odom',
                                              QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        self.sim = SceneSimulator(self.sim_cfg)
        self.scene = 0
        first = self.sim.clip(self.seed)
        self.frames, self.poses = first['video'], first['extrinsics']
        self.index = 0
        self.next_frames = None
        self._render_next()
        self.timer = self.create_timer(1.0 / self.rate, self._tick)
        topics = ', '.join(p.topic_name for p in (self.pub, self.compressed_pub) if p is not None)
        self.get_logger().info(f'publishing {width}x{height} {preset} frames at {self.rate:.0f} Hz on {topics} and '
                               f'odometry on {self.odom_pub.topic_name}, a new scene every {seconds:.1f} s')

    def _render_next(self) -> None:
        def work(seed):
            clip = self.sim.clip(seed)
            self.next_frames = (clip['video'], clip['extrinsics'])
        self.render_thread = threading.Thread(target=work, args=(self.seed + self.scene + 1,), daemon=True)
        self.render_thread.start()

    def _tick(self) -> None:
        if self.index >= len(self.frames):
            self.render_thread.join()
            (self.frames, self.poses), self.index = self.next_frames, 0
            self.scene += 1
            self._render_next()
        stamp = self.get_clock().now().to_msg()
        frame = self.frames[self.index]
        if self.pub is not None:
            self.pub.publish(array_to_image(frame, 'rgb8', self.frame_id, stamp))
        if self.compressed_pub is not None:
            self.compressed_pub.publish(rgb_to_compressed(frame, 'jpeg', self.frame_id, stamp))
        self.odom_pub.publish(self._odometry(self.poses[self.index], stamp))
        self.index += 1

    def _odometry(self, camera_pose, stamp):
        from nav_msgs.msg import Odometry
        base = camera_pose.astype(float) @ np.linalg.inv(MOUNT)
        msg = Odometry()
        msg.header.stamp, msg.header.frame_id, msg.child_frame_id = stamp, 'odom', 'base_link'
        p = msg.pose.pose
        p.position.x, p.position.y, p.position.z = (float(v) for v in base[:3, 3])
        q = quaternion_xyzw(base[:3, :3])
        p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = (float(v) for v in q)
        return msg


def usage() -> str:
    """``video-object-sim-camera --help``."""
    lines = ['usage: video-object-sim-camera [-h] [--ros-args [-p NAME:=VALUE ...] [-r FROM:=TO ...]]', '',
             __doc__.strip(), '', 'parameters:']
    lines += [f'  {name} (default {default!r}): {text}' for name, (default, text) in PARAMETERS.items()]
    return '\n'.join(lines)


def main(args=None) -> int:
    if help_requested(program_arguments(args)):
        print(usage())
        return 0
    quiet_interrupts()
    try:
        with rclpy.init(args=args):
            try:
                node = SimCamera()
            except ValueError as exc:
                print(f'error: video-object-sim-camera: {exc}', file=sys.stderr)
                return 2
            try:
                rclpy.spin(node)
            finally:
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
