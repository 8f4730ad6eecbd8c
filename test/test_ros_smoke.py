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

"""The ROS 2 runtime from the PyPI wheels works: an Image crosses between two processes."""
import json
import subprocess
import sys
import textwrap

from ros_env import ros_env

PUBLISHER = textwrap.dedent('''
    import time, numpy as np, rclpy
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node('smoke_pub')
    pub = node.create_publisher(Image, 'smoke_image', 10)
    deadline = time.monotonic() + 20
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    for i in range(5):
        msg = Image(height=48, width=64, encoding='rgb8', step=64 * 3)
        msg.header.frame_id = 'cam'
        msg.header.stamp.sec = 100 + i
        msg.data = (np.arange(48 * 64 * 3, dtype=np.uint32) * (i + 1) % 251).astype(np.uint8).tobytes()
        pub.publish(msg)
        time.sleep(0.05)
    time.sleep(1.0)
    node.destroy_node(); rclpy.shutdown()
''')

SUBSCRIBER = textwrap.dedent('''
    import json, time, numpy as np, rclpy
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node('smoke_sub')
    got = []
    def on_image(msg):
        data = np.frombuffer(msg.data, np.uint8)
        expected = (np.arange(data.size, dtype=np.uint32) * (msg.header.stamp.sec - 99) % 251).astype(np.uint8)
        got.append(dict(sec=msg.header.stamp.sec, frame=msg.header.frame_id, shape=[msg.height, msg.width],
                        encoding=msg.encoding, ok=bool(np.array_equal(data, expected))))
    node.create_subscription(Image, 'smoke_image', on_image, 10)
    deadline = time.monotonic() + 30
    while len(got) < 5 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    print(json.dumps(got))
    node.destroy_node(); rclpy.shutdown()
''')


def test_image_between_two_processes(tmp_path):
    env = ros_env(tmp_path)
    sub = subprocess.Popen([sys.executable, '-c', SUBSCRIBER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    pub = subprocess.Popen([sys.executable, '-c', PUBLISHER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    out, err = sub.communicate(timeout=60)
    pub.communicate(timeout=30)
    assert sub.returncode == 0, err
    got = json.loads(out.strip().splitlines()[-1])
    assert [m['sec'] for m in got] == [100, 101, 102, 103, 104]
    assert all(m['ok'] and m['frame'] == 'cam' and m['shape'] == [48, 64] and m['encoding'] == 'rgb8' for m in got)
