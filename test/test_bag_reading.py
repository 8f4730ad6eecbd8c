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

"""Bags as robots leave them: folders named *.bag, and recordings cut off mid-write (mcap and sqlite3)."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from video_object_node.data.bag_reading import BagError, open_bag
from video_object_node.ros.replay import write_image_bag

FRAMES = 300          # 64x64 rgb8: 3.7 MB, several of rosbags' 1 MiB mcap chunks


@pytest.fixture(scope='module', params=['mcap', 'sqlite3'])
def bags(request, tmp_path_factory):
    """Return an intact bag in a folder named run.bag, and a copy whose storage file was cut at 60% of its bytes."""
    root = tmp_path_factory.mktemp(f'bags-{request.param}')
    frames = np.random.default_rng(0).integers(0, 255, (FRAMES, 64, 64, 3), dtype=np.uint8)
    stamps = [i * 33_000_000 for i in range(FRAMES)]
    whole = root / 'run.bag'
    write_image_bag(whole, frames, stamps, storage=request.param)
    cut = root / 'cut'
    shutil.copytree(whole, cut)
    storage = next(p for p in cut.iterdir() if p.suffix in ('.mcap', '.db3'))
    data = storage.read_bytes()
    storage.write_bytes(data[:int(len(data) * 0.6)])
    return whole, cut


def test_a_folder_named_dot_bag_is_a_rosbag2_bag(bags):
    whole, _cut = bags
    with open_bag(whole) as reader:
        assert reader.damage is None and reader.topics['/camera/image'].count == FRAMES
        assert sum(1 for _ in reader.messages(['/camera/image'])) == FRAMES


def test_a_cut_off_recording_is_read_up_to_the_cut(bags):
    _whole, cut = bags
    with open_bag(cut) as reader:
        assert reader.topics['/camera/image'].msgtype == 'sensor_msgs/msg/Image'
        stamps = [t for _topic, _type, t, _raw in reader.messages(['/camera/image'])]
    # Most of what was written before the cut comes back, in order, and the reader says where it stopped.
    assert FRAMES * 0.3 < len(stamps) < FRAMES
    assert stamps == [i * 33_000_000 for i in range(len(stamps))]
    assert f'{len(stamps)} messages recovered' in reader.damage
    assert 'stops at byte' in reader.damage or 'damaged after message' in reader.damage


def test_replay_and_from_bag_recover_a_cut_bag_and_say_so(bags, tmp_path):
    _whole, cut = bags
    run = subprocess.run([sys.executable, '-m', 'video_object_node.ros.replay', str(cut), str(tmp_path / 'out'),
                          '--stride', '8', '--no-progress'], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert FRAMES * 0.3 < summary['frames_read'] < FRAMES and 'messages recovered' in summary['damage']
    assert summary['windows_written'] == (summary['frames_read'] - 8) // 8 + 1
    assert any('messages recovered' in line for line in run.stderr.splitlines())
    made = subprocess.run([sys.executable, '-m', 'video_object_node.data.bag_dataset', 'from-bag', str(cut),
                           str(tmp_path / 'ds'), '--image-topic', '/camera/image', '--frames', '8', '--no-progress'],
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr
    counts = json.loads(made.stdout)['counts']
    assert counts['images_read'] == summary['frames_read'] and 'messages recovered' in counts['bag_damage']


def test_what_cannot_be_read_is_one_line(tmp_path):
    with pytest.raises(BagError, match='not a rosbag2 folder'):
        open_bag(tmp_path)
    (tmp_path / 'metadata.yaml').write_text('rosbag2_bagfile_information: {}\n')
    (tmp_path / 'x.mcap').write_bytes(b'\x89MCAP0\r\n' + b'\x00' * 10)
    with pytest.raises(BagError, match='no topic could be recovered'):
        open_bag(tmp_path)
    run = subprocess.run([sys.executable, '-m', 'video_object_node.ros.replay', str(tmp_path), '--list'],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1


def test_the_last_chunk_of_a_cut_recording_keeps_its_complete_messages(tmp_path):
    """A small recording is one mcap chunk: cut at 60%, every message that was wholly written still comes back."""
    frames = np.random.default_rng(1).integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
    stamps = [i * 33_000_000 for i in range(20)]
    bag = tmp_path / 'small.bag'
    write_image_bag(bag, frames, stamps)
    storage = next(bag.glob('*.mcap'))
    data = storage.read_bytes()
    assert 40_000 < len(data) < 1_048_576                             # one chunk (rosbags' chunks are 1 MiB)
    storage.write_bytes(data[:int(len(data) * 0.6)])
    with open_bag(bag) as reader:
        got = [(t, raw) for _topic, _type, t, raw in reader.messages(['/camera/image'])]
    assert 9 <= len(got) < 20 and [t for t, _raw in got] == stamps[:len(got)]
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image
    last = deserialize_message(got[-1][1], Image)                       # the last one recovered is whole
    assert np.array_equal(np.frombuffer(bytes(last.data), np.uint8).reshape(32, 32, 3), frames[len(got) - 1])
    assert f'{len(got)} messages recovered' in reader.damage and 'records of the cut chunk read' in reader.damage


@pytest.mark.parametrize('compression', ['ZSTD', 'LZ4'])
def test_a_compressed_cut_chunk_is_read_as_far_as_its_stream_decodes(tmp_path, compression):
    from mcap.records import Message
    from mcap.writer import CompressionType, Writer
    from video_object_node.data.bag_reading import _mcap_records
    path = tmp_path / 'x.mcap'
    # 30 messages of 20 kB: one chunk, several blocks of the compressed stream (each block decodes on its own).
    payloads = [np.random.default_rng(i).integers(0, 255, 20_000, dtype=np.uint8).tobytes() for i in range(30)]
    with open(path, 'wb') as f:
        writer = Writer(f, compression=getattr(CompressionType, compression))
        writer.start()
        schema = writer.register_schema('std_msgs/msg/String', 'ros2msg', b'string data')
        channel = writer.register_channel('/t', 'cdr', schema)
        for i, payload in enumerate(payloads):
            writer.add_message(channel, log_time=i, data=payload, publish_time=i)
        writer.finish()
    whole = path.read_bytes()
    assert sum(isinstance(r, Message) for r in _mcap_records(path)) == 30
    path.write_bytes(whole[:int(len(whole) * 0.7)])
    records = list(_mcap_records(path))
    messages = [r for r in records if isinstance(r, Message)]
    assert 5 <= len(messages) < 30 and [m.data for m in messages] == payloads[:len(messages)]
    assert records[-1][0] == 'stop'
