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
