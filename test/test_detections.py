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
The node's ~/detections (vision_msgs/Detection2DArray) against a simulated scene's masks.

vision_msgs is not among the pinned wheels, so the test builds its interfaces (``test/interfaces/vision_msgs``: the
fields the node publishes, as the real package defines them) into a temporary prefix with the project's own build tool;
skipped, with its reason, where that cannot be built here (no cmake or C compiler).
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ros_env import REPO, ros_env

SUBSCRIBER = textwrap.dedent('''
    import json, sys, time, numpy as np, rclpy
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray, VisionInfo
    from video_object_node.sensing.conversions import array_to_image, ns_to_stamp, stamp_to_ns
    frames = np.load(sys.argv[1])['video']
    rclpy.init()
    node = rclpy.create_node('detections_sub')
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    got, info = [], []
    node.create_subscription(Detection2DArray, '/video_object_node/detections', lambda m: got.append(
        dict(stamp=stamp_to_ns(m.header.stamp), frame=m.header.frame_id,
             boxes=[[d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y]
                    for d in m.detections], ids=[d.id for d in m.detections],
             classes=[[h.hypothesis.class_id for h in d.results] for d in m.detections])), reliable)
    node.create_subscription(VisionInfo, '/video_object_node/vision_info', lambda m: info.append(m.method), latched)
    pub = node.create_publisher(Image, '/image', reliable)
    deadline = time.monotonic() + 60
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    for n, frame in enumerate(frames):
        pub.publish(array_to_image(frame, 'rgb8', 'camera', ns_to_stamp(10**9 + n * 10**8)))
        end = time.monotonic() + 0.1
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.02)
    deadline = time.monotonic() + 30
    while len(got) < len(frames) - 7 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    print(json.dumps(dict(detections=got, info=info)))
    node.destroy_node(); rclpy.shutdown()
''')


@pytest.fixture(scope='module')
def vision_prefix(tmp_path_factory):
    if shutil.which('cmake') is None or shutil.which('cc') is None:
        pytest.skip('vision_msgs is not installed and cmake or a C compiler is missing to build its interfaces')
    prefix = tmp_path_factory.mktemp('vision_msgs')
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'build_interfaces.py'),
                           str(REPO / 'test' / 'interfaces' / 'vision_msgs'), '--prefix', str(prefix / 'install'),
                           '--underlay', sys.prefix, '--build', str(prefix / 'build')],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f'vision_msgs interfaces could not be built here: {proc.stderr.strip()[-300:]}')
    return prefix / 'install'


def _box_iou(det, box) -> float:
    x0, y0, x1, y1 = det[0] - det[2] / 2, det[1] - det[3] / 2, det[0] + det[2] / 2, det[1] + det[3] / 2
    inter = max(0.0, min(x1, box[2]) - max(x0, box[0])) * max(0.0, min(y1, box[3]) - max(y0, box[1]))
    return inter / (det[2] * det[3] + (box[2] - box[0]) * (box[3] - box[1]) - inter)


def test_detections_boxes_overlap_the_simulated_objects(tmp_path, vision_prefix):
    from video_object_node.data.config import SimConfig
    from video_object_node.data.sim import SceneSimulator
    with SceneSimulator(SimConfig.preset('textured', frames=16)) as sim:
        clip = sim.clip(11)
    np.savez(tmp_path / 'clip.npz', video=clip['video'])
    env = ros_env(tmp_path)
    site = next(Path(vision_prefix).glob('lib/python3*/site-packages'))
    env['PYTHONPATH'] = os.pathsep.join([str(site), env['PYTHONPATH']])
    env['AMENT_PREFIX_PATH'] = os.pathsep.join([str(vision_prefix), env['AMENT_PREFIX_PATH']])
    env['LD_LIBRARY_PATH'] = os.pathsep.join(filter(None, [str(Path(vision_prefix) / 'lib'),
                                                           env.get('LD_LIBRARY_PATH')]))
    node = subprocess.Popen([sys.executable, '-m', 'video_object_node.ros.node', '--ros-args', '-p', 'stride:=1',
                             '-p', 'input_reliability:=reliable', '-p', 'backend:=onnxruntime'], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        sub = subprocess.run([sys.executable, '-c', SUBSCRIBER, str(tmp_path / 'clip.npz')], env=env,
                             capture_output=True, text=True, timeout=180)
    finally:
        node.send_signal(subprocess.signal.SIGINT)
        log = node.communicate(timeout=30)[0]
    assert sub.returncode == 0, sub.stderr[-2000:] + log[-2000:]
    out = json.loads(sub.stdout.strip().splitlines()[-1])
    assert out['info'] and 'SIMONe' in out['info'][0]                  # the latched VisionInfo
    detections = out['detections']
    assert len(detections) == len(clip['video']) - 7, log[-2000:]       # one array per window at stride 1
    scores = []
    for msg in detections:
        n = (msg['stamp'] - 10**9) // 10**8
        assert msg['frame'] == 'camera' and len(set(msg['ids'])) == len(msg['ids'])
        assert all(c[0] == 'object' for c in msg['classes'])
        masks = clip['masks'][n]
        for label in np.unique(masks[masks > 0]):
            ys, xs = np.nonzero(masks == label)
            box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            scores.append(max([_box_iou(d, box) for d in msg['boxes']] or [0.0]))
    assert np.mean(scores) > 0.35, np.mean(scores)       # a fixed 2x3 grid of boxes scores 0.18 on this clip


LIDAR_BUILDER = textwrap.dedent('''
    import json, numpy as np
    from video_object_node.ros.messages import detections_3d_msg
    centroids = np.array([[1.0, 2.0, 0.5], [np.nan] * 3, [4.0, -1.0, 0.2], [9.0, 9.0, 1.0]])
    extents = np.array([[0.4, 0.5, 1.7], [np.nan] * 3, [4.2, 1.8, 1.5], [20.0, 1.0, 6.0]])
    scores = np.array([0.75, 0.5, 1.0, 0.0])          # the last: a building, no object: left out
    msg = detections_3d_msg(centroids, extents, np.array([7, 8, 9, 10]), scores, 'nearest car', {9: 0.8}, 2 * 10**9,
                            'lidar')
    print(json.dumps([dict(id=d.id, centre=[d.bbox.center.position.x, d.bbox.center.position.y,
                                            d.bbox.center.position.z],
                           size=[d.bbox.size.x, d.bbox.size.y, d.bbox.size.z],
                           hypotheses=[[h.hypothesis.class_id, h.hypothesis.score] for h in d.results],
                           frame=d.header.frame_id) for d in msg.detections]))
''')


def test_lidar_detections_carry_centroid_and_extent(tmp_path, vision_prefix):
    env = dict(os.environ)
    site = next(Path(vision_prefix).glob('lib/python3*/site-packages'))
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(site), str(REPO), env.get('PYTHONPATH')]))
    env['LD_LIBRARY_PATH'] = os.pathsep.join(filter(None, [str(Path(vision_prefix) / 'lib'),
                                                           env.get('LD_LIBRARY_PATH')]))
    proc = subprocess.run([sys.executable, '-c', LIDAR_BUILDER], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    detections = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [d['id'] for d in detections] == ['7', '9']      # the slot without returns and the one scoring 0 left out
    assert detections[1]['centre'] == [4.0, -1.0, 0.2] and detections[1]['size'] == [4.2, 1.8, 1.5]
    assert detections[0]['hypotheses'] == [['object', 0.75]] and detections[0]['frame'] == 'lidar'
    assert detections[1]['hypotheses'][1][0] == 'nearest car' and abs(detections[1]['hypotheses'][1][1] - 0.8) < 1e-6
