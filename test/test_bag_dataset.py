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

"""Robot bags as data: compressed images and odometry / tf -> clip data sets, checked against the simulator."""
import json
import subprocess
import sys

import numpy as np
import pytest

from ros_env import ros_env
from video_object_node.data.dataset import ClipDataset, read_index
from video_object_node.data.bag_dataset import (BagDatasetError, FromBagOptions, PoseTrack, TfTree, cut_clips,
                                                from_bag, pose_matrix)
from video_object_node.data.robot_bag import MOUNT, quaternion_xyzw, simulate_robot_bag

ODOM = dict(odom_topic='/odom', camera_in_base=(*MOUNT[:3, 3], *quaternion_xyzw(MOUNT[:3, :3])))


@pytest.fixture(scope='module', params=['mcap', 'sqlite3'])
def robot_bag(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f'bag-{request.param}')
    truth = simulate_robot_bag(root / 'bag', 'movi-a-like', clips=2, fmt='png', storage=request.param)
    return root, truth


def test_pose_track_interpolates_linearly_and_by_slerp():
    track = PoseTrack()
    yaw = lambda a: pose_matrix([0, 0, 0], [0, 0, np.sin(a / 2), np.cos(a / 2)])  # noqa: E731
    a, b = yaw(0.0), yaw(np.pi / 2)
    a[:3, 3], b[:3, 3] = [0, 0, 0], [2, 4, 0]
    track.add(0, a)
    track.add(1_000_000_000, b)
    mid = track.at(250_000_000, max_gap_ns=2_000_000_000)
    assert np.allclose(mid[:3, 3], [0.5, 1.0, 0.0])
    assert np.allclose(mid[:3, :3], yaw(np.pi / 8)[:3, :3])
    assert track.at(250_000_000, max_gap_ns=500_000_000) is None       # the later sample is 0.75 s away
    assert track.at(-1, max_gap_ns=10**12) is None and track.at(2_000_000_000, 10**12) is None


def test_tf_tree_composes_static_and_timed_edges():
    tree = TfTree()
    mount = pose_matrix([0.2, 0, 0.4], [0, 0, 0, 1])
    tree.add('base', 'cam', 0, mount, static=True)
    tree.add('odom', 'base', 0, pose_matrix([0, 0, 0], [0, 0, 0, 1]), static=False)
    tree.add('odom', 'base', 10, pose_matrix([10, 0, 0], [0, 0, 0, 1]), static=False)
    tree.finish()
    assert np.allclose(tree.lookup('odom', 'cam', 5, 100)[:3, 3], [5.2, 0, 0.4])
    assert np.allclose(tree.lookup('cam', 'odom', 5, 100), np.linalg.inv(tree.lookup('odom', 'cam', 5, 100)))
    with pytest.raises(BagDatasetError, match="no chain between 'map' and 'cam'"):
        tree.lookup('map', 'cam', 5, 100)


def test_clips_are_cut_at_gaps_and_backward_stamps():
    stamps = [0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 1, 2, 3, 4]
    clips, left = cut_clips(stamps, frames=4, every=1, max_gap_ns=10)
    assert clips == [[0, 1, 2, 3], [6, 7, 8, 9], [10, 11, 12, 13]]
    assert left == {'frame_gap': 1, 'stamp_not_increasing': 1, 'images_left_over': 2}
    clips, _ = cut_clips(list(range(10)), frames=2, every=3, max_gap_ns=10)
    assert clips == [[0, 3], [6, 9]]


@pytest.mark.parametrize('poses', ['odom', 'tf'])
def test_a_robot_bag_becomes_clips_with_the_simulators_poses(robot_bag, poses):
    root, truth = robot_bag
    opts = FromBagOptions(image_topic='/camera/image_raw/compressed', frames=8, camera_info_topic='/camera/camera_info',
                          test=0.25, **(ODOM if poses == 'odom' else dict(tf=True, camera_frame='camera_optical')))
    out = root / f'ds-{poses}'
    index = from_bag(root / 'bag', out, opts)
    assert read_index(out)['splits']['train']['clips'] == 3 and index['splits']['test']['clips'] == 1
    assert index['labels']['train'] == ['extrinsics', 'intrinsics', 'video']
    assert index['counts']['frame_gap'] == 1 and index['counts']['frames_without_pose'] == 0
    train, test = ClipDataset(out, 'train'), ClipDataset(out, 'test')
    clips = [train[i] for i in range(3)] + [test[0]]
    video = np.concatenate([c['video'] for c in clips])
    assert video.shape == (32, 64, 64, 3) and 'masks' not in clips[0]
    # PNG is lossless and the sizes agree, so the frames are the simulator's; the poses are its camera's.
    from video_object_node.data.sim import SceneSimulator
    from video_object_node.data.config import SimConfig
    with SceneSimulator(SimConfig.preset('movi-a-like')) as sim:
        from video_object_node.data.dataset import clip_seed
        first = sim.clip(clip_seed(0, 'test', 0))
    assert np.array_equal(video[:16], first['video'])
    extrinsics = np.concatenate([c['extrinsics'] for c in clips])
    assert np.abs(extrinsics - truth['extrinsics']).max() < 1e-4
    assert np.allclose(clips[0]['intrinsics'], first['intrinsics'], atol=1e-4)


def test_frames_beyond_the_odometry_have_no_pose_and_their_clip_carries_none(tmp_path):
    from nav_msgs.msg import Odometry
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    from video_object_node.sensing.conversions import ns_to_stamp, rgb_to_compressed
    store = get_typestore(Stores.ROS2_KILTED)
    writer = Writer(tmp_path / 'bag', version=9)
    writer.open()
    images = writer.add_connection('/cam/compressed', 'sensor_msgs/msg/CompressedImage', typestore=store)
    odom = writer.add_connection('/odom', 'nav_msgs/msg/Odometry', typestore=store)
    for i in range(10):                                # images every 100 ms; odometry only for the first 450 ms
        stamp = i * 10**8
        frame = np.full((32, 32, 3), 20 * i, np.uint8)
        writer.write(images, stamp, serialize_message(rgb_to_compressed(frame, 'png', 'cam', ns_to_stamp(stamp))))
        if stamp <= 450_000_000:
            msg = Odometry()
            msg.header.stamp = ns_to_stamp(stamp)
            msg.pose.pose.position.x, msg.pose.pose.orientation.w = float(i), 1.0
            writer.write(odom, stamp, serialize_message(msg))
    writer.close()
    opts = FromBagOptions(image_topic='/cam/compressed', frames=5, odom_topic='/odom')
    index = from_bag(tmp_path / 'bag', tmp_path / 'ds', opts)
    assert index['counts']['frames_without_pose'] == 5 and index['counts']['clips_without_pose'] == 1
    assert index['labels']['train'] == ['video']             # not every clip has poses
    ds = ClipDataset(tmp_path / 'ds')
    assert np.allclose(ds[0]['extrinsics'][:, 0, 3], [0, 1, 2, 3, 4]) and 'extrinsics' not in ds[1]


def test_bad_inputs_give_one_line_and_leave_nothing(robot_bag, tmp_path):
    root, _truth = robot_bag
    env = ros_env(tmp_path)

    def run(*args):
        proc = subprocess.run([sys.executable, '-m', 'video_object_node.data.bag_dataset', 'from-bag', *args],
                              capture_output=True, text=True, timeout=120, env=env)
        return proc.returncode, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''

    rc, line = run(str(root / 'bag'), str(tmp_path / 'a'), '--image-topic', '/nope')
    assert rc == 2 and "topic '/nope' is not in the bag; it has: /camera/camera_info" in line
    rc, line = run(str(root / 'bag'), str(tmp_path / 'a'), '--image-topic', '/odom')
    assert rc == 2 and "topic '/odom' is nav_msgs/msg/Odometry; expected sensor_msgs/msg/Image or" in line
    rc, line = run(str(root / 'bag'), str(tmp_path / 'a'), '--image-topic', '/camera/image_raw/compressed',
                   '--frames', '500')
    assert rc == 2 and 'make no clip of 500 frames' in line
    rc, line = run(str(tmp_path), str(tmp_path / 'a'), '--image-topic', '/x')
    assert rc == 2 and 'is not a rosbag2 folder' in line
    rc, line = run(str(root / 'bag'), str(tmp_path / 'a'), '--image-topic', '/camera/image_raw/compressed',
                   '--val', '0.6', '--test', '0.6')
    assert rc == 2 and '--val and --test must be shares' in line
    assert not (tmp_path / 'a').exists() and not (tmp_path / 'a.partial').exists()
    rc, _ = run(str(root / 'bag'), str(tmp_path / 'a'), '--image-topic', '/camera/image_raw/compressed',
                '--frames', '8')
    assert rc == 0 and (tmp_path / 'a' / 'index.json').is_file()
    rc, line = run(str(root / 'bag'), str(tmp_path / 'a'), '--image-topic', '/camera/image_raw/compressed')
    assert rc == 2 and 'exists; choose a new folder' in line


def test_corrupt_compressed_images_are_counted_and_skipped(tmp_path):
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    from video_object_node.sensing.conversions import ns_to_stamp, rgb_to_compressed
    writer = Writer(tmp_path / 'bag', version=9)
    writer.open()
    conn = writer.add_connection('/cam/compressed', 'sensor_msgs/msg/CompressedImage',
                                 typestore=get_typestore(Stores.ROS2_KILTED))
    rng = np.random.default_rng(0)
    for i in range(10):
        frame = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        msg = rgb_to_compressed(frame, 'jpeg', 'cam', ns_to_stamp(i * 10**8))
        if i == 4:
            msg.data = bytes(msg.data)[:40]            # truncated
        writer.write(conn, i * 10**8, serialize_message(msg))
    writer.close()
    index = from_bag(tmp_path / 'bag', tmp_path / 'ds', FromBagOptions(image_topic='/cam/compressed', frames=3))
    assert index['counts']['images_undecodable'] == 1 and index['counts']['images_read'] == 10
    assert index['splits']['train']['clips'] == 3


def test_fine_tune_on_bag_clips_and_score_what_the_labels_allow(robot_bag, tmp_path):
    import yaml

    from video_object_node.learn.evaluate import evaluate
    from video_object_node.model import load_bundle
    from video_object_node.learn.train import main as train_main
    root, _truth = robot_bag
    opts = FromBagOptions(image_topic='/camera/image_raw/compressed', frames=8, test=0.25, val=0.25, **ODOM)
    from_bag(root / 'bag', tmp_path / 'ds', opts)
    model = {'preset': 'small-objects', 'conv_channels': [16, 16, 16], 'model_dim': 32, 'ff_dim': 64,
             'spatial_layers': 1, 'slot_layers': 1, 'decoder_hidden': 16}
    config = {'model': model, 'train': {'data': str(tmp_path / 'ds'), 'steps': 4, 'batch_size': 4, 'log_every': 1,
                                        'eval_every': 4, 'eval_clips': 2, 'checkpoint_every': 4, 'num_threads': 1,
                                        'amp': 'off', 'losses': {'mask': 1.0, 'pose': 1.0}}}
    (tmp_path / 'train.yaml').write_text(yaml.safe_dump(config))
    assert train_main(['--config', str(tmp_path / 'train.yaml'), '--run-dir', str(tmp_path / 'run'),
                       '--no-progress']) == 0
    # The pose loss trained on the bag's clips (poses only); the mask loss found no masks to apply to.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / 'run' / 'tb'))
    events.Reload()
    assert 'train/sup_pose' in events.Tags()['scalars'] and 'train/sup_mask' not in events.Tags()['scalars']
    metrics = [json.loads(line) for line in (tmp_path / 'run' / 'metrics.jsonl').read_text().splitlines()]
    assert 'val_pose_r2' in metrics[-1] and np.isnan(metrics[-1]['val_fg_ari'])
    report = evaluate(load_bundle(tmp_path / 'run' / 'bundle'), tmp_path / 'ds', 'test', kmeans=False,
                      progress=False, out=tmp_path / 'eval', bundle=tmp_path / 'run' / 'bundle')
    assert report['viewpoint_source'] == 'pose head' and report['viewpoint_windows'] == 1
    assert 'fg_ari' not in report and 'no segmentation masks' in report['not_computed']['fg_ari']
    text = (tmp_path / 'eval' / 'report.md').read_text()
    assert 'Not computed: fg_ari (the clips have no segmentation masks)' in text
