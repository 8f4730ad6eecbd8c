"""`video-object-sim-camera`: publish PyBullet-rendered frames as sensor_msgs/Image, a new scene every few seconds.

Parameters: ``rate`` (Hz, 30), ``width``/``height`` (64), ``scene_seconds`` (3.0), ``seed`` (0),
``frame_id`` ('camera'), ``reliable`` (false: sensor-data QoS). Publishes ``image`` (rgb8).
"""
from __future__ import annotations

import dataclasses
import sys
import threading

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image

from ..config import SimConfig
from ..data.sim import SceneSimulator
from .conversions import array_to_image


class SimCamera(Node):
    def __init__(self):
        super().__init__('sim_camera')
        self.rate = float(self.declare_parameter('rate', 30.0).value)
        width = int(self.declare_parameter('width', 64).value)
        height = int(self.declare_parameter('height', 64).value)
        seconds = float(self.declare_parameter('scene_seconds', 3.0).value)
        self.seed = int(self.declare_parameter('seed', 0).value)
        self.frame_id = str(self.declare_parameter('frame_id', 'camera').value)
        reliable = bool(self.declare_parameter('reliable', False).value)
        if self.rate <= 0 or width <= 0 or height <= 0 or seconds <= 0:
            raise ValueError('rate, width, height and scene_seconds must be > 0')
        cfg = SimConfig.preset('movi-a-like')
        self.sim_cfg = dataclasses.replace(cfg, width=width, height=height, frame_rate=self.rate,
                                           frames=max(2, int(round(seconds * self.rate))))
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE) if reliable else qos_profile_sensor_data
        self.pub = self.create_publisher(Image, 'image', qos)
        self.sim = SceneSimulator(self.sim_cfg)
        self.scene = 0
        self.frames = self.sim.clip(self.seed)['video']
        self.index = 0
        self.next_frames = None
        self._render_next()
        self.timer = self.create_timer(1.0 / self.rate, self._tick)
        self.get_logger().info(f'publishing {width}x{height} rgb8 at {self.rate:.0f} Hz on {self.pub.topic_name}, '
                               f'a new scene every {seconds:.1f} s')

    def _render_next(self) -> None:
        def work(seed):
            self.next_frames = self.sim.clip(seed)['video']
        self.render_thread = threading.Thread(target=work, args=(self.seed + self.scene + 1,), daemon=True)
        self.render_thread.start()

    def _tick(self) -> None:
        if self.index >= len(self.frames):
            self.render_thread.join()
            self.frames, self.index = self.next_frames, 0
            self.scene += 1
            self._render_next()
        msg = array_to_image(self.frames[self.index], 'rgb8', self.frame_id, self.get_clock().now().to_msg())
        self.pub.publish(msg)
        self.index += 1


def main(args=None) -> int:
    try:
        with rclpy.init(args=args):
            node = SimCamera()
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
