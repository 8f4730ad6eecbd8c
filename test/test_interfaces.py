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

"""The typed outputs and the first release's tables: the same numbers, read back from bags of either kind."""
import numpy as np
import pytest

from video_object_node.data.bag_reading import open_bag, typestore
from video_object_node.ros.interfaces import typed
from video_object_node.ros.messages import (frame_latents_msg, frame_latents_typed, object_latents_msg,
                                            object_latents_typed, query_result_msg, query_result_typed, table_from_msg)
from video_object_node.runtime.streaming import Latents

pytestmark = pytest.mark.skipif(not typed(), reason='video_object_msgs is not built here (make builds it)')
K, D, T, DF = 4, 6, 3, 5


def _latents(placement: bool = True) -> Latents:
    rng = np.random.default_rng(0)
    return Latents(rng.normal(size=(K, D)).astype(np.float32), rng.uniform(0.1, 1, (K, D)).astype(np.float32),
                   rng.normal(size=(T, DF)).astype(np.float32), rng.uniform(0.1, 1, (T, DF)).astype(np.float32),
                   [10**9 + 10**8 * t for t in range(T)], 1,
                   placement=rng.uniform(-1, 1, (K, T, 4)).astype(np.float32) if placement else None)


def _write(path, topic_msgs):
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import Writer
    writer = Writer(path, version=9)
    writer.open()
    store = typestore()
    conns = {}
    for i, (topic, type_name, msg) in enumerate(topic_msgs):
        if topic not in conns:
            conns[topic] = writer.add_connection(topic, type_name, typestore=store)
        writer.write(conns[topic], 10**9 + i, serialize_message(msg))
    writer.close()


def _read(path) -> dict:
    out = {}
    with open_bag(path) as bag:
        for topic, msgtype, _stamp, raw in bag.messages([t for t in bag.topics]):
            out[topic] = (msgtype, table_from_msg(bag.deserialize(raw, msgtype)))
    return out


def test_typed_and_table_latents_read_back_the_same_from_bags(tmp_path):
    lat = _latents()
    ids = np.array([7, 3, 9, 1], np.uint32)
    masses = np.array([0.4, 0.3, 0.2, 0.1], np.float32)
    centroids = np.array([[1, 2, 3], [np.nan] * 3, [0, 0, 1], [4, 5, 6]], np.float32)
    rows = [dict(id=3, score=0.9, u=10.0, v=20.0, area=0.1, x=1.0, y=2.0, z=3.0)]
    _write(tmp_path / 'typed', [
        ('/vo/object_latents', 'video_object_msgs/msg/ObjectLatents',
         object_latents_typed(lat, ids, 'cam', masses, centroids, 'default-real')),
        ('/vo/frame_latents', 'video_object_msgs/msg/FrameLatents', frame_latents_typed(lat, 'cam')),
        ('/vo/query_result', 'video_object_msgs/msg/QueryResult', query_result_typed('red cube', rows, 10**9, 'cam'))])
    _write(tmp_path / 'tables', [
        ('/vo/object_latents', 'sensor_msgs/msg/PointCloud2', object_latents_msg(lat, ids, 'cam', masses, centroids)),
        ('/vo/frame_latents', 'sensor_msgs/msg/PointCloud2', frame_latents_msg(lat, 'cam')),
        ('/vo/query_result', 'sensor_msgs/msg/PointCloud2', query_result_msg(rows, True, 10**9, 'cam'))])
    typed_tables, old_tables = _read(tmp_path / 'typed'), _read(tmp_path / 'tables')
    assert typed_tables['/vo/object_latents'][0] == 'video_object_msgs/msg/ObjectLatents'
    for topic in ('/vo/object_latents', '/vo/frame_latents', '/vo/query_result'):
        a, b = typed_tables[topic][1], old_tables[topic][1]
        assert set(a.dtype.names) == set(b.dtype.names), topic
        for name in a.dtype.names:
            np.testing.assert_array_equal(a[name], b[name], err_msg=f'{topic} {name}')
    objects = typed_tables['/vo/object_latents'][1]
    np.testing.assert_array_equal(objects['mean'], lat.object_mean)                    # K x D, row per slot
    np.testing.assert_array_equal(objects['placement'].reshape(K, T, 4), lat.placement)
    assert objects['id'].tolist() == [7, 3, 9, 1]


def test_the_typed_message_carries_its_sizes_and_window():
    lat = _latents(placement=False)
    msg = object_latents_typed(lat, np.arange(K), 'cam', model_id='b')
    assert (msg.num_slots, msg.latent_dim, msg.placement_frames) == (K, D, 0)
    assert len(msg.means) == K * D and not len(msg.placements) and not len(msg.masses) and not msg.centroids
    assert (msg.window_start.sec, msg.header.stamp.nanosec) == (1, 2 * 10**8) and msg.model_id == 'b'
    frames = frame_latents_typed(lat, 'cam')
    assert [s.nanosec for s in frames.stamps] == [0, 10**8, 2 * 10**8] and len(frames.means) == T * DF
    empty = table_from_msg(query_result_typed('blue', [], 10**9, 'cam'))
    assert len(empty) == 0 and 'score' in empty.dtype.names
