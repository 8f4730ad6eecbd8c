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

"""Real spinning LIDARs: sensor models, real sweeps into data sets, the classical clustering baseline."""
import json

import numpy as np
import pytest

from video_object_node.config import ConfigError
from video_object_node.sensing.config import LidarConfig
from video_object_node.data.bag_dataset import main as dataset_main
from video_object_node.data.dataset import ClipDataset
from video_object_node.learn.evaluate import main as eval_main
from video_object_node.scores.lidar import sector_grid, sweep_scores
from video_object_node.sensing.lidar_clusters import range_clusters
from video_object_node.sensing.lidar import project, range_points


def _point(elevation_deg, azimuth_deg, r):
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    return [r * np.cos(el) * np.cos(az), r * np.cos(el) * np.sin(az), r * np.sin(el)]


def test_each_sensor_model_puts_a_return_on_its_beam_and_wraps_the_seam():
    for name in LidarConfig.SENSORS:
        lc = LidarConfig.sensor(name, azimuth_bins=360)
        beams = (np.array(lc.beam_elevations) if lc.beam_elevations else
                 np.linspace(lc.vertical_fov[1], lc.vertical_fov[0], lc.channels))
        rows = [0, lc.channels // 2, lc.channels - 1]
        # each chosen beam, a hair off its angle, at azimuth 0.2 deg and at 359.8 deg (the same column across the seam)
        pts = [_point(beams[r] + 0.05, az, 10.0) for r in rows for az in (0.2, 359.8)]
        proj = project(np.array(pts), lc)
        hit = np.argwhere(proj.index >= 0)
        assert sorted(set(hit[:, 0])) == rows, name
        assert set(hit[:, 1]) == {0}, name                      # 359.8 deg and 0.2 deg both land in column 0
        near, far = _point(0.0 + beams[0], 90, lc.min_range / 2 + 1e-3), _point(beams[0], 90, lc.max_range + 1)
        assert project(np.array([near, far]), lc).dropped['out_of_range'] == (2 if lc.min_range > 2e-3 else 1)
    with pytest.raises(ConfigError, match='unknown LIDAR sensor'):
        LidarConfig.sensor('hdl32')
    with pytest.raises(ConfigError, match='beam_elevations'):
        LidarConfig(channels=3, beam_elevations=(1.0, 2.0, 0.0))


def test_hdl64_beams_are_uneven_and_a_ring_field_gives_the_row():
    lc = LidarConfig.sensor('hdl64', azimuth_bins=64)
    gaps = -np.diff(lc.beam_elevations)
    assert gaps[:31].mean() == pytest.approx(1 / 3, abs=0.01) and gaps[33:].mean() == pytest.approx(0.515, abs=0.01)
    # a return at -24.0 deg sits on the beam nearest it (row 62), not on an even spread's row
    proj = project(np.array([_point(-24.0, 0, 5.0)]), lc)
    assert np.argwhere(proj.index >= 0)[0][0] == int(np.argmin(np.abs(np.array(lc.beam_elevations) + 24.0)))
    # ring 0 is the bottom beam on a Velodyne, the top on an Ouster, whatever the elevation says
    pts = np.array([_point(0.0, 10, 5.0)] * 2)
    assert list(np.argwhere(project(pts, lc, ring=np.array([0, 63])).index >= 0)[:, 0]) == [0, 63]
    os64 = LidarConfig.sensor('os-64', azimuth_bins=64)
    rows = np.argwhere(project(pts, os64, ring=np.array([0, 5])).index >= 0)[:, 0]
    assert sorted(rows) == [0, 5]
    assert project(pts[:1], os64, ring=np.array([64])).dropped['outside_fov'] == 1


def _scene(lc):
    """Return a sweep: a flat road 1.73 m below the sensor, a box ahead-left and a box straddling the seam."""
    elevation = np.radians(np.array(lc.beam_elevations))
    azimuth = np.radians(np.arange(lc.azimuth_bins) * 360.0 / lc.azimuth_bins)
    pts, ids = [], []
    for el in elevation:
        for az in azimuth:
            d = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            hits = []
            if d[2] < -1e-3:
                hits.append((-1.73 / d[2], 0))                            # the road
            for obj, (cx, cy) in ((1, (8.0, 6.0)), (2, (10.0, 0.0))):    # 2: straddles azimuth 0, the seam
                # a box 2 m wide, from 0.33 to 1.5 m above the road (a car body) facing the sensor: the plane x = cx - 1
                t = (cx - 1.0) / d[0] if d[0] > 1e-6 else np.inf
                p = t * d
                if np.isfinite(t) and abs(p[1] - cy) <= 1.0 and -1.4 <= p[2] <= -0.23:
                    hits.append((t, obj))
            if hits:
                t, obj = min(hits)
                if t <= lc.max_range:
                    pts.append(t * d)
                    ids.append(obj)
    return np.array(pts), np.array(ids)


def test_the_classical_clustering_finds_two_boxes_on_a_road_and_keeps_one_across_the_seam():
    lc = LidarConfig.sensor('hdl64', azimuth_bins=180)
    pts, ids = _scene(lc)
    proj = project(pts, lc)
    truth = np.where(proj.index >= 0, ids[np.maximum(proj.index, 0)], -1)
    labels = range_clusters(proj.range, lc)
    seam = labels[truth == 2]
    assert len(np.unique(seam)) == 1 and seam[0] > 0               # one cluster, across columns 179 and 0
    cols = np.argwhere(truth == 2)[:, 1]
    assert 0 in cols and lc.azimuth_bins - 1 in cols
    scores = sweep_scores(truth, labels, proj.range, lc)
    assert min(scores['best_iou']) > 0.9 and scores['fg_ari'] == pytest.approx(1.0)
    assert max(scores['centroid_error_m']) < 0.1
    grid = sweep_scores(truth, sector_grid(proj.range, 16), proj.range, lc)
    assert np.mean(grid['best_iou']) < 0.5                         # sectors also hold the road


def _kitti(folder, sweeps, damaged=None):
    (folder / 'velodyne').mkdir(parents=True)
    (folder / 'labels').mkdir()
    lc = LidarConfig.sensor('hdl64', azimuth_bins=180)
    pts, ids = _scene(lc)
    label = np.select([ids == 1, ids == 2], [(1 << 16) | 10, (2 << 16) | 252], 40).astype(np.uint32)
    for i in range(sweeps):
        moved = pts + np.array([0.1 * i, 0, 0])
        cloud = np.concatenate([moved, np.full((len(pts), 1), 0.5)], axis=1).astype(np.float32)
        cloud.tofile(folder / 'velodyne' / f'{i:06d}.bin')
        label.tofile(folder / 'labels' / f'{i:06d}.label')
    (folder / 'times.txt').write_text('\n'.join(f'{0.1 * i:.6f}' for i in range(sweeps)) + '\n')
    if damaged is not None:
        with open(folder / 'velodyne' / f'{damaged:06d}.bin', 'ab') as f:
            f.write(b'\0' * 6)


def test_from_lidar_makes_labelled_range_image_clips_and_the_baselines_score_them(tmp_path, capsys):
    _kitti(tmp_path / 'seq', 5)
    out = tmp_path / 'ds'
    assert dataset_main(['from-lidar', str(tmp_path / 'seq'), str(out), '--frames', '2', '--split', 'test',
                         '--azimuth-bins', '180']) == 0
    index = json.loads((out / 'index.json').read_text())
    assert index['counts'] == {'sweeps': 5, 'sweeps_left': 1, 'objects': 2, 'labelled_sweeps': 5}
    ds = ClipDataset(out, 'test')
    assert len(ds) == 2 and ds.sim.lidar.channels == 64 and ds.sim.lidar.beam_elevations
    clip = ds[1]
    assert clip['lidar_range'].shape == (2, 64, 180) and clip['lidar_ids'].shape == (2, 64, 180)
    assert set(np.unique(clip['lidar_ids'])) == {-1, 0, 1, 2}     # none, road, the car, the moving car (252 -> 10)
    assert list(clip['object_ids']) == [1, 2] and list(clip['object_classes']) == [10, 10]
    np.testing.assert_array_equal(clip['stamps_ns'], [200_000_000, 300_000_000])
    capsys.readouterr()
    assert eval_main(['--baselines-only', '--data', str(out), '--split', 'test', '--out', str(tmp_path / 'ev')]) == 0
    report = json.loads((tmp_path / 'ev' / 'report.json').read_text())
    assert report['num_sweeps'] == 4 and report['cluster_mbo'] > 0.9 and report['cluster_mbo'] > report['grid_mbo']
    assert {'kmeans_fg_ari', 'kmeans_mbo', 'grid_fg_ari', 'cluster_fg_ari', 'cluster_centroid_error_m'} <= set(report)


def test_from_lidar_stops_at_a_damaged_sweep_with_one_line(tmp_path, capsys):
    _kitti(tmp_path / 'seq', 3, damaged=1)
    capsys.readouterr()
    assert dataset_main(['from-lidar', str(tmp_path / 'seq'), str(tmp_path / 'ds'), '--frames', '2']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and '000001.bin' in err and 'not a whole number of points' in err
    assert not (tmp_path / 'ds').exists() and not (tmp_path / 'ds.partial').exists()
    (tmp_path / 'seq' / 'velodyne' / '000001.bin').unlink()
    (tmp_path / 'seq' / 'labels' / '000000.label').write_bytes(b'\0' * 8)
    assert dataset_main(['from-lidar', str(tmp_path / 'seq'), str(tmp_path / 'ds'), '--frames', '2']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and '000000.label' in err


def test_a_ring_field_is_read_and_a_bad_one_named():
    from sensor_msgs.msg import PointCloud2  # noqa: F401  (the ROS wheels)
    from video_object_node.sensing.conversions import ConversionError, array_to_cloud, cloud_points
    table = np.zeros(3, np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('intensity', '<f4'), ('ring', '<u2')]))
    table['x'], table['ring'] = [1, 2, 3], [0, 5, 63]
    xyzr = cloud_points(array_to_cloud(table, 'lidar'))
    assert xyzr.shape == (3, 4) and list(xyzr[:, 3]) == [0, 5, 63]
    bad = np.zeros(2, np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('ring', '<f4')]))
    with pytest.raises(ConversionError, match='ring') as info:
        cloud_points(array_to_cloud(bad, 'lidar'))
    assert info.value.reason == 'bad_ring'


def test_clusters_go_to_the_slots_that_point_at_them_when_they_outnumber_the_slots():
    from video_object_node.runtime.objectness import whole_object_masks
    labels = np.zeros((8, 40), np.int64)
    labels[0:6, 0:20] = 1                             # a building: the largest cluster
    labels[5:8, 24:27] = 2                            # a car
    labels[5:8, 32:34] = 3                            # a person
    masks = np.full((2, 8, 40), 0.5, np.float32)
    masks[:, 5:8, 24:27] = [[[0.9]], [[0.1]]]         # slot 0 points at the car
    masks[:, 5:8, 32:34] = [[[0.1]], [[0.9]]]         # slot 1 at the person
    by_size = whole_object_masks(masks, labels, min_share=0.0).argmax(axis=0)
    assert len(np.unique(by_size[labels == 1])) == 1  # largest first: the building takes a slot
    seg = whole_object_masks(masks, labels, min_share=0.0, order='overlap')
    np.testing.assert_allclose(seg.sum(axis=0), 1.0, atol=1e-6)
    assert (seg.argmax(axis=0)[labels == 2] == 0).all() and (seg[0][labels == 2] == 1).all()
    assert (seg.argmax(axis=0)[labels == 3] == 1).all() and (seg[1][labels == 3] == 1).all()


def test_the_road_preset_drives_a_360_degree_sensor_past_labelled_agents_and_clutter():
    from video_object_node.data.config import SimConfig
    from video_object_node.data.sim import SceneSimulator
    cfg = SimConfig.preset('road', frames=3, min_objects=6, max_objects=6, clutter=8, camera_speed=(5.0, 5.0))
    with SceneSimulator(cfg) as sim:
        clip = sim.clip(2)
    ids, rng = clip['lidar_ids'], clip['lidar_range']
    assert ids.shape == (3, 64, 256) and np.isfinite(rng).any(axis=(0, 1)).all()        # returns all around
    seen = set(np.unique(ids[ids > 0]))
    assert seen and seen <= set(clip['object_ids']) and len(clip['object_ids']) <= 6
    assert set(clip['object_classes']) <= {1, 2, 3} and (clip['object_shapes'] == 0).all()
    pose = clip['lidar_pose']
    np.testing.assert_allclose(pose[:, 2, 3], 1.73, atol=1e-5)
    np.testing.assert_allclose(pose[:, 1, 3], 0.0, atol=1e-6)
    np.testing.assert_allclose(np.diff(pose[:, 0, 3]), 0.5, atol=1e-4)                  # 5 m/s at 10 Hz
    assert (np.abs(clip['object_positions'][:, 0, 1]) > 2.0).all()                      # the lane stays free
    # the clutter (poles, walls) returns but is not an object: returns labelled 0 above the road
    points = clip['lidar_points'][0][ids[0] == 0]
    assert (points[:, 2] > -1.0).sum() > 20
    with pytest.raises(ConfigError, match='drive'):
        SimConfig(trajectories=('drive', 'orbit'))


def test_the_city_preset_is_the_road_as_dense_and_as_far_as_a_city_sweep():
    from video_object_node.data.config import SimConfig
    from video_object_node.data.sim import SceneSimulator
    city, road = SimConfig.preset('city', frames=1), SimConfig.preset('road')
    assert (city.lidar, city.trajectories, city.agents) == (road.lidar, road.trajectories, road.agents)
    with SceneSimulator(city) as sim:
        clips = [sim.clip(seed) for seed in range(3)]
    counts = [len(c['object_ids']) for c in clips]
    assert all(8 <= n <= 18 for n in counts)
    far = np.concatenate([np.hypot(*c['object_positions'][:, 0, :2].T) for c in clips])     # [N, T, 3]
    assert far.max() <= 45.0 + 1e-6 and far.max() > 25.0          # beyond the road preset's 25 m
    distance = [np.median(c['lidar_range'][0][c['lidar_ids'][0] == k]) for c in clips
                for k in np.unique(c['lidar_ids'][0]) if k > 0]
    assert np.median(distance) > 17.0                             # the road preset's median object is 17 m away


def test_clusters_wider_than_an_object_are_not_objects():
    from video_object_node.sensing.lidar_clusters import object_sized
    lc = LidarConfig.sensor('hdl64', azimuth_bins=180)
    pts, ids = _scene(lc)
    proj = project(pts, lc)
    labels = range_clusters(proj.range, lc)
    points = range_points(proj.range, lc)
    kept = object_sized(labels, points, max_extent=8.0)
    np.testing.assert_array_equal(kept, labels)                   # two boxes 2 m wide: objects
    narrow = object_sized(labels, points, max_extent=1.5)  # wider than 1.5 m: gone, the rest untouched
    assert (narrow[labels > 0] == 0).all() and (narrow[labels <= 0] == labels[labels <= 0]).all()
    low = object_sized(labels, points, max_extent=8.0, max_height=0.5)
    assert (low[labels > 0] == 0).all()                           # 1.17 m tall: taller than 0.5 m


def test_clusters_farther_than_the_slots_reach_are_dropped_whole():
    from video_object_node.sensing.lidar_clusters import near_enough
    lc = LidarConfig.sensor('hdl64', azimuth_bins=180)
    pts, ids = _scene(lc)
    proj = project(pts, lc)
    labels = range_clusters(proj.range, lc)
    found = [k for k in np.unique(labels) if k > 0]
    mean = {k: proj.range[labels == k].mean() for k in found}
    assert len(found) == 2 and abs(mean[found[0]] - mean[found[1]]) > 0.05
    near, far = sorted(found, key=mean.get)
    kept = near_enough(labels, proj.range, (mean[near] + mean[far]) / 2)
    assert (kept[labels == far] == 0).all()                        # the farther box goes whole, even its near pixels
    np.testing.assert_array_equal(kept[labels != far], labels[labels != far])
    np.testing.assert_array_equal(near_enough(labels, proj.range, 80.0), labels)


def test_from_lidar_reads_a_bags_point_cloud_topic_and_its_ring_field(tmp_path, capsys):
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore
    from video_object_node.sensing.conversions import array_to_cloud, ns_to_stamp
    store = get_typestore(Stores.ROS2_KILTED)
    writer = Writer(tmp_path / 'bag', version=9)
    writer.open()
    points = writer.add_connection('/lidar/points', 'sensor_msgs/msg/PointCloud2', typestore=store)
    table = np.zeros(2, np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('intensity', '<f4'), ('ring', '<u2')]))
    table['x'], table['y'], table['z'] = [10.0, 0.0], [0.0, 10.0], [0.0, 0.0]
    table['ring'] = [0, 15]                            # ring 0: the bottom beam whatever the elevation (a Velodyne)
    for i in range(5):
        stamp = i * 10**8
        writer.write(points, stamp, serialize_message(array_to_cloud(table, 'lidar', ns_to_stamp(stamp))))
    writer.close()
    assert dataset_main(['from-lidar', str(tmp_path / 'bag'), str(tmp_path / 'ds'), '--frames', '2',
                         '--points-topic', '/lidar/points', '--sensor', 'vlp16', '--azimuth-bins', '360']) == 0
    index = json.loads((tmp_path / 'ds' / 'index.json').read_text())
    assert index['counts']['sweeps'] == 5 and index['counts']['sweeps_left'] == 1
    clip = ClipDataset(tmp_path / 'ds', 'train')[0]
    hit = np.argwhere(np.isfinite(clip['lidar_range'][0]))
    assert sorted(map(tuple, hit)) == [(0, 90), (15, 0)]      # ring 15 = the top row; x ahead = column 0
    np.testing.assert_array_equal(clip['stamps_ns'], [0, 10**8])
    assert 'lidar_class' not in clip and set(np.unique(clip['lidar_ids'])) == {-1, 0}
    capsys.readouterr()
    assert dataset_main(['from-lidar', str(tmp_path / 'bag'), str(tmp_path / 'ds2'), '--frames', '2',
                         '--points-topic', '/nope']) == 2
    assert 'no topic' in capsys.readouterr().err
