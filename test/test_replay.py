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

"""Bag replay: every window, the streaming encoder's latents, stamps, bad messages, both storages."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from video_object_node.data.config import SimConfig
from video_object_node.runtime.config import NodeConfig
from video_object_node.data.sim import render_clip
from video_object_node.model import Simone, SimoneConfig, save_bundle
from video_object_node.sensing.conversions import array_to_image, ns_to_stamp
from video_object_node.ros.messages import table_from_msg
from video_object_node.ros.replay import ReplayError, replay, write_image_bag
from video_object_node.runtime.backend_choice import create_backend
from video_object_node.sensing.preprocess import fit_frame
from video_object_node.runtime.streaming import StreamingEncoder

T = 8


@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    torch.manual_seed(0)
    return save_bundle(Simone(SimoneConfig.preset('small')), tmp_path_factory.mktemp('replay') / 'bundle')


@pytest.fixture(scope='module')
def frames():
    return render_clip(SimConfig.preset('tiny', frames=22, height=48, width=64), seed=4)['video']


def write_bag(path, frames, stamps, storage, garbage_at=None, topic='/camera/image'):
    """Frames as Image messages (receive times always increasing), an undecodable message, another topic."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore
    log_times = [5 * 10**9 + i * 10**8 for i in range(len(frames))]
    if garbage_at is None:
        write_image_bag(path, frames, stamps, storage, topic, 'cam', log_times)
        return
    writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3)
    writer.open()
    typestore = get_typestore(Stores.ROS2_KILTED)
    conn = writer.add_connection(topic, 'sensor_msgs/msg/Image', typestore=typestore)
    other = writer.add_connection('/tf_like', 'std_msgs/msg/String', typestore=typestore)
    from rclpy.serialization import serialize_message
    for i, (frame, stamp, log_time) in enumerate(zip(frames, stamps, log_times)):
        if i == garbage_at:
            writer.write(conn, log_time - 1, b'\x00\x01garbage')
        writer.write(conn, log_time, serialize_message(array_to_image(frame, 'rgb8', 'cam', ns_to_stamp(stamp))))
    writer.write(other, log_times[-1], b'\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00')
    writer.close()


def read_output(path):
    from rclpy.serialization import deserialize_message
    from rosbags.rosbag2 import Reader

    from video_object_node.ros.outputs import message_class, topic_type
    latents = {topic_type('object_latents'), topic_type('frame_latents')}
    out = {}
    with Reader(path) as reader:
        for conn, timestamp, raw in reader.messages():
            if conn.msgtype not in latents:
                continue
            msg = deserialize_message(raw, message_class(conn.msgtype))
            out.setdefault(conn.topic, []).append((timestamp, table_from_msg(msg)))
    return out


def direct_stream(bundle, frames, stride):
    stream = StreamingEncoder(create_backend(bundle, 'torch'), stride=stride)
    out = []
    for i, f in enumerate(frames):
        w = stream.push(fit_frame(f, 32, 32), 10**9 + i * 10**8)
        if w is not None:
            out.append(w)
    return out


@pytest.mark.parametrize('storage', ['sqlite3', 'mcap'])
def test_replay_writes_every_window(tmp_path, bundle, frames, storage):
    stamps = [10**9 + i * 10**8 for i in range(len(frames))]
    write_bag(tmp_path / 'in', frames, stamps, storage, garbage_at=5)
    cfg = NodeConfig(model_path=str(bundle), stride=3, backend='torch')
    summary = replay(tmp_path / 'in', tmp_path / 'out', cfg, storage=storage, progress=False)
    expected = 1 + (len(frames) - T) // 3
    assert summary['frames_read'] == len(frames) + 1 and summary['windows_written'] == expected
    assert summary['frames_rejected'] == 1 and summary['frames_rejected_by_reason'] == {'undecodable': 1}
    assert json.loads((tmp_path / 'out' / 'summary.json').read_text())['windows_written'] == expected
    out = read_output(tmp_path / 'out')
    assert sorted(out) == ['frame_latents', 'object_latents']
    direct = direct_stream(bundle, frames, 3)
    assert len(out['object_latents']) == len(direct) == expected
    for (ts, table), (_, ftable), w in zip(out['object_latents'], out['frame_latents'], direct):
        assert ts == w.stamp
        np.testing.assert_array_equal(table['mean'], w.object_mean)
        np.testing.assert_array_equal(ftable['stddev'], w.frame_std)
        assert (ftable['stamp_sec'].astype(np.int64) * 10**9 + ftable['stamp_nanosec']).tolist() == w.stamps


def test_mcap_output_reads_with_mcap_ros2_and_is_deterministic(tmp_path, bundle, frames):
    from mcap_ros2.reader import read_ros2_messages
    stamps = [10**9 + i * 10**8 for i in range(len(frames))]
    write_bag(tmp_path / 'in', frames, stamps, 'mcap')
    cfg = NodeConfig(model_path=str(bundle), stride=4, backend='torch')
    replay(tmp_path / 'in', tmp_path / 'a', cfg, progress=False, copy_input=True)
    replay(tmp_path / 'in', tmp_path / 'b', cfg, progress=False)
    mcap_file = next((tmp_path / 'a').glob('*.mcap'))
    topics = {}
    for m in read_ros2_messages(str(mcap_file)):
        topics.setdefault(m.channel.topic, []).append(m.ros_msg)
    assert len(topics['object_latents']) == 1 + (len(frames) - T) // 4
    assert len(topics['/camera/image']) == len(frames)
    first = topics['object_latents'][0]
    from video_object_node.ros.interfaces import typed
    if typed():     # the typed message, decoded from the schema the bag carries
        assert first.header.frame_id == 'cam' and len(first.ids) == first.num_slots
        assert len(first.means) == first.num_slots * first.latent_dim and not len(first.masses)
    else:
        assert first.header.frame_id == 'cam' and [f.name for f in first.fields] == ['id', 'mean', 'stddev']
    a, b = read_output(tmp_path / 'a'), read_output(tmp_path / 'b')
    for topic in ('object_latents', 'frame_latents'):
        assert [t.tobytes() for _, t in a[topic]] == [t.tobytes() for _, t in b[topic]]


def test_backwards_stamps_reset_the_window(tmp_path, bundle, frames):
    stamps = [10**9 + i * 10**8 for i in range(12)] + [10**9 + i * 10**8 for i in range(10)]   # the bag loops
    write_bag(tmp_path / 'in', frames, stamps, 'sqlite3')
    summary = replay(tmp_path / 'in', tmp_path / 'out', NodeConfig(model_path=str(bundle), stride=2,
                                                                   backend='torch'), progress=False)
    assert summary['buffer_resets'] == {'stamp_not_increasing': 1}
    assert summary['windows_written'] == (1 + (12 - T) // 2) + (1 + (10 - T) // 2)


def test_cli_errors_and_list(tmp_path, bundle, frames):
    run = lambda *a: subprocess.run([sys.executable, '-m', 'video_object_node.ros.replay', *map(str, a)],  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    proc = run(tmp_path / 'missing', tmp_path / 'out')
    assert proc.returncode == 2 and 'bag not found' in proc.stderr and proc.stderr.count('\n') == 1
    write_bag(tmp_path / 'in', frames[:9], [10**9 + i for i in range(9)], 'mcap')
    proc = run(tmp_path / 'in', '--list')
    assert proc.returncode == 0 and '/camera/image\tsensor_msgs/msg/Image\t9' in proc.stdout
    proc = run(tmp_path / 'in', tmp_path / 'out', '--topic', '/nope', '--model', bundle)
    assert proc.returncode == 2 and "topic '/nope' is not in the bag; it has: /camera/image" in proc.stderr
    assert run(tmp_path / 'in', tmp_path / 'out', '--model', bundle, '--no-progress').returncode == 0
    proc = run(tmp_path / 'in', tmp_path / 'out', '--model', bundle)
    assert proc.returncode == 2 and 'exists; use --overwrite' in proc.stderr
    assert run(tmp_path / 'in', tmp_path / 'out', '--model', bundle, '--overwrite', '--no-progress').returncode == 0


def test_replay_point_cloud_topic(tmp_path):
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    from test_conversions import cloud
    from test_node_lidar import LC, sweep
    torch.manual_seed(0)
    from video_object_node.sensing.sensors import LidarSensor
    cfg = SimoneConfig.preset('small', modality='lidar', channels=2, height=16, width=64)
    bundle = save_bundle(Simone(cfg), tmp_path / 'lidar', sensor=LidarSensor(cfg, LC))
    writer = Writer(tmp_path / 'in', version=9)
    writer.open()
    conn = writer.add_connection('/points', 'sensor_msgs/msg/PointCloud2', typestore=get_typestore(Stores.ROS2_KILTED))
    for i in range(11):
        msg = cloud(sweep(i))
        msg.header.stamp.sec = 10 + i
        writer.write(conn, (10 + i) * 10**9, serialize_message(msg))
    writer.close()
    summary = replay(tmp_path / 'in', tmp_path / 'out', NodeConfig(model_path=str(bundle), stride=3,
                                                                   backend='torch'), progress=False)
    assert summary['topic'] == '/points' and summary['windows_written'] == 1 + (11 - T) // 3
    camera = save_bundle(Simone(SimoneConfig.preset('small')), tmp_path / 'camera')
    with pytest.raises(ReplayError, match='but the camera bundle takes sensor_msgs/msg/Image'):
        replay(tmp_path / 'in', tmp_path / 'out2', NodeConfig(model_path=str(camera), backend='torch'), progress=False)


def test_replay_reads_compressed_images_like_raw_ones(tmp_path, bundle, frames):
    """Check that a CompressedImage topic (PNG, lossless) replays to the same latents as the raw Image topic."""
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    from video_object_node.sensing.conversions import rgb_to_compressed
    stamps = [10**9 + i * 10**8 for i in range(len(frames))]
    write_bag(tmp_path / 'raw', frames, stamps, 'mcap')
    writer = Writer(tmp_path / 'compressed', version=9)
    writer.open()
    conn = writer.add_connection('/camera/image/compressed', 'sensor_msgs/msg/CompressedImage',
                                 typestore=get_typestore(Stores.ROS2_KILTED))
    for frame, stamp in zip(frames, stamps):
        writer.write(conn, stamp, serialize_message(rgb_to_compressed(frame, 'png', 'cam', ns_to_stamp(stamp))))
    writer.close()
    cfg = NodeConfig(model_path=str(bundle), backend='torch', stride=2)
    raw = replay(tmp_path / 'raw', tmp_path / 'out-raw', cfg, progress=False)
    compressed = replay(tmp_path / 'compressed', tmp_path / 'out-compressed', cfg, progress=False)
    assert raw['windows_written'] == compressed['windows_written'] > 0
    a, b = read_output(tmp_path / 'out-raw'), read_output(tmp_path / 'out-compressed')
    for topic in a:
        assert [t for t, _ in a[topic]] == [t for t, _ in b[topic]]
        assert all(np.array_equal(x['mean'], y['mean']) for (_, x), (_, y) in zip(a[topic], b[topic]))
