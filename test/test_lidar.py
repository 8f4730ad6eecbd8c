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

"""LIDAR sweep <-> range image: hand-computed points, bad returns, nearest wins, inverse, simulator agreement."""
import numpy as np

from video_object_node.data.config import SimConfig
from video_object_node.sensing.config import LidarConfig
from video_object_node.sensing.lidar import (HEIGHT_OFFSET, HEIGHT_SCALE, project, range_image_input, segment_centroids,
                                             unproject)
from video_object_node.data.sim import SceneSimulator

LC = LidarConfig(channels=5, azimuth_bins=8, vertical_fov=(-20.0, 20.0), max_range=50.0)   # beams every 10 deg


def test_hand_computed_points():
    points = np.array([[10.0, 0.0, 0.0],                                        # row 2 (0 deg), column 0
                       [0.0, 5.0, 0.0],                                         # azimuth 90 deg -> column 2
                       [-3.0, 0.0, 3.0 * np.tan(np.radians(20))],               # top beam, azimuth 180 -> col 4
                       [0.0, -2.0, -2.0 * np.tan(np.radians(10))]])             # -10 deg, azimuth 270 -> col 6
    p = project(points, LC)
    assert p.range[2, 0] == np.float32(10.0) and p.index[2, 0] == 0
    assert p.range[2, 2] == np.float32(5.0) and p.index[2, 2] == 1
    assert p.index[0, 4] == 2 and np.isclose(p.range[0, 4], 3.0 / np.cos(np.radians(20)))
    assert p.index[3, 6] == 3
    assert np.isfinite(p.range).sum() == 4
    back = unproject(p.range, LC)
    assert np.allclose(sorted(map(tuple, back.round(5))), sorted(map(tuple, points.round(5))))


def test_bad_returns_dropped_and_nearest_wins():
    points = np.array([[np.nan, 0, 0], [np.inf, 1, 0], [0, 0, 0], [100.0, 0, 0],   # non-finite, origin, too far
                       [1.0, 0, 10.0],                                             # straight up: outside the fov
                       [8.0, 0, 0], [4.0, 0, 0], [6.0, 0, 0]])                     # three in one pixel
    p = project(points, LC)
    assert p.dropped == {'non_finite': 2, 'out_of_range': 2, 'outside_fov': 1}
    assert p.range[2, 0] == np.float32(4.0) and p.index[2, 0] == 6 and np.isfinite(p.range).sum() == 1
    empty = project(np.zeros((0, 3)), LC)
    assert not np.isfinite(empty.range).any()


def test_segment_maps_back_to_its_points_and_input_channels():
    points = np.array([[10.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    p = project(points, LC)
    mask = np.zeros_like(p.range, bool)
    mask[2, 2] = True
    assert np.allclose(unproject(p.range, LC, mask), [[0.0, 5.0, 0.0]], atol=1e-6)
    x = range_image_input(p.range, LC)
    assert x.shape == (2, 5, 8) and x.dtype == np.float32
    assert np.isclose(x[0, 2, 0], 10 / 50) and np.isclose(x[1, 2, 0], HEIGHT_OFFSET / HEIGHT_SCALE)
    assert x[:, 0, 0].sum() == 0


def test_projection_reproduces_the_simulated_sweep():
    lc = LidarConfig(channels=16, azimuth_bins=180, vertical_fov=(-40.0, 5.0), max_range=15.0)
    cfg = SimConfig.preset('lidar', frames=1, height=16, width=16, lidar=lc)
    with SceneSimulator(cfg) as sim:
        clip = sim.clip(2)
    points = clip['lidar_points'][0].reshape(-1, 3)
    p = project(points, lc)
    expected = clip['lidar_range'][0]
    hit = np.isfinite(expected)
    assert hit.sum() > 100
    np.testing.assert_array_equal(np.isfinite(p.range), hit)
    np.testing.assert_allclose(p.range[hit], expected[hit], rtol=1e-5)


def test_sector_sensor_hand_computed_columns_and_outside_fov():
    lc = LidarConfig(channels=5, azimuth_bins=9, vertical_fov=(-20.0, 20.0), max_range=50.0,
                     horizontal_fov=90.0)                                           # 10-degree bins, centred on +x
    points = np.array([[10.0, 0.0, 0.0],                                            # straight ahead -> column 4
                       [np.cos(np.radians(40)), np.sin(np.radians(40)), 0.0],     # 40 deg left -> column 8
                       [np.cos(np.radians(-40)), np.sin(np.radians(-40)), 0.0],   # 40 deg right -> column 0
                       [np.cos(np.radians(60)), np.sin(np.radians(60)), 0.0],     # outside the sector
                       [-5.0, 0.0, 0.0]])                                           # behind
    p = project(points, lc)
    assert p.index[2, 4] == 0 and p.index[2, 8] == 1 and p.index[2, 0] == 2
    assert p.dropped['outside_fov'] == 2 and np.isfinite(p.range).sum() == 3
    back = unproject(p.range, lc)
    assert np.allclose(sorted(map(tuple, back.round(5))), sorted(map(tuple, points[:3].round(5))))


def test_sector_projection_reproduces_the_simulated_sweep():
    lc = LidarConfig(channels=16, azimuth_bins=48, vertical_fov=(-40.0, 5.0), max_range=15.0, horizontal_fov=90.0)
    cfg = SimConfig.preset('lidar', frames=1, height=16, width=16, lidar=lc)
    with SceneSimulator(cfg) as sim:
        clip = sim.clip(3)
    expected = clip['lidar_range'][0]
    assert expected.shape == (16, 48) and (clip['lidar_ids'][0] > 0).sum() > 20      # objects ahead are seen
    p = project(clip['lidar_points'][0].reshape(-1, 3), lc)
    hit = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(p.range), hit)
    np.testing.assert_allclose(p.range[hit], expected[hit], rtol=1e-5)


def test_segment_centroids_hand_computed():
    points = np.array([[10.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 4.0, 0.0]])
    p = project(points, LC)                      # [2, 0], and [2, 2] twice (nearest, 4 m, wins)
    seg = np.full(p.range.shape, 2)
    seg[2, 0], seg[2, 2] = 0, 1
    c = segment_centroids(p.range, LC, seg, 3)
    assert np.allclose(c[0], [10, 0, 0], atol=1e-5) and np.allclose(c[1], [0, 4, 0], atol=1e-5)
    assert np.isnan(c[2]).all()
