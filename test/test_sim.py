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

"""Simulated scenes and data sets: determinism, ground truth consistency, CLI errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from video_object_node.data.config import SimConfig
from video_object_node.sensing.config import LidarConfig
from video_object_node.data.dataset import ClipDataset
from video_object_node.data.sim import SceneSimulator
from video_object_node.data.simulate import generate


@pytest.fixture(scope='module')
def tiny_clips():
    cfg = SimConfig.preset('tiny', height=48, width=48)
    with SceneSimulator(cfg) as sim:
        return cfg, [sim.clip(seed) for seed in range(4)]


def project(points_world, intrinsics, world_from_camera):
    """World points [N, 3] -> pixel (u, v) [N, 2] and depth [N] with OpenCV conventions."""
    cam_from_world = np.linalg.inv(world_from_camera)
    cam = points_world @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    uvw = cam @ intrinsics.T
    return uvw[:, :2] / uvw[:, 2:3], cam[:, 2]


def test_generation_is_deterministic_and_resumable(tmp_path):
    cfg = SimConfig.preset('tiny', frames=4)
    counts = {'train': 3, 'val': 0, 'test': 2}
    a = generate(cfg, tmp_path / 'a', seed=5, counts=counts, shard_size=2, workers=2, progress=False)
    b = generate(cfg, tmp_path / 'b', seed=5, counts=counts, shard_size=2, workers=1, progress=False)
    assert a['splits'] == b['splits']
    files = sorted((tmp_path / 'a').rglob('*.npz'))
    assert [f.relative_to(tmp_path / 'a') for f in files] == [f.relative_to(tmp_path / 'b')
                                                              for f in sorted((tmp_path / 'b').rglob('*.npz'))]
    assert all(f.read_bytes() == (tmp_path / 'b' / f.relative_to(tmp_path / 'a')).read_bytes() for f in files)
    # Interrupted run: drop a shard and the index, resume, get the same bytes back.
    victim = tmp_path / 'a' / 'train' / 'shard-00001.npz'
    original = victim.read_bytes()
    victim.unlink()
    (tmp_path / 'a' / 'index.json').unlink()
    again = generate(cfg, tmp_path / 'a', seed=5, counts=counts, shard_size=2, workers=1, progress=False)
    assert victim.read_bytes() == original and again['splits'] == a['splits']
    other = generate(cfg, tmp_path / 'c', seed=6, counts=counts, shard_size=2, workers=1, progress=False)
    assert other['splits']['train']['shards'][0]['sha256'] != a['splits']['train']['shards'][0]['sha256']
    with pytest.raises(ValueError, match='holds a different data set'):
        generate(cfg, tmp_path / 'a', seed=6, counts=counts, shard_size=2, progress=False)


def test_dataset_contract(tmp_path):
    cfg = SimConfig.preset('tiny', frames=6)
    generate(cfg, tmp_path / 'd', seed=0, counts={'train': 0, 'val': 0, 'test': 3}, shard_size=2, progress=False)
    ds = ClipDataset(tmp_path / 'd', split='test')
    assert len(ds) == 3
    clip = ds[2]
    n = len(clip['object_ids'])
    assert clip['video'].dtype == np.uint8 and clip['video'].shape == (6, 32, 32, 3)
    assert clip['masks'].shape == (6, 32, 32) and clip['depth'].dtype == np.float32
    assert clip['intrinsics'].shape == (3, 3) and clip['extrinsics'].shape == (6, 4, 4)
    assert clip['object_positions'].shape == (n, 6, 3) and 3 <= n <= 5
    small = ClipDataset(tmp_path / 'd', split='test', size=(16, 16), frames=4, frame_offset=2)[2]
    assert small['video'].shape == (4, 16, 16, 3) and small['masks'].shape == (4, 16, 16)
    np.testing.assert_array_equal(small['extrinsics'], clip['extrinsics'][2:6])
    np.testing.assert_allclose(small['intrinsics'][0, 0], clip['intrinsics'][0, 0] / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="no split 'nope'"):
        ClipDataset(tmp_path / 'd', split='nope')
    with pytest.raises(ValueError, match='index.json not found'):
        ClipDataset(tmp_path, split='test')


def test_masks_agree_with_objects(tiny_clips):
    _cfg, clips = tiny_clips
    for clip in clips:
        ids = set(np.unique(clip['masks'])) - {0}
        assert ids <= set(clip['object_ids'].tolist())
        assert len(ids) >= 2  # the camera sees the scene
        # Depth is finite and positive; the ground at the image bottom is nearer than the top.
        assert np.all(np.isfinite(clip['depth'])) and clip['depth'].min() > 0
        assert clip['depth'][:, -1].mean() < clip['depth'][:, 0].mean()


def test_object_positions_project_onto_their_masks(tiny_clips):
    cfg, clips = tiny_clips
    hits = total = 0
    for clip in clips:
        for i, obj in enumerate(clip['object_ids']):
            for t in range(cfg.frames):
                mask = clip['masks'][t] == obj
                if mask.sum() < 12:   # mostly hidden or out of view
                    continue
                (u, v), z = [x[0] for x in project(clip['object_positions'][i, t][None], clip['intrinsics'],
                                                   clip['extrinsics'][t])]
                assert z > 0
                ui, vi = int(round(u)), int(round(v))
                total += 1
                window = mask[max(vi - 1, 0):vi + 2, max(ui - 1, 0):ui + 2]
                hits += bool(window.any())
    assert total > 20 and hits / total > 0.9, (hits, total)


def test_lidar_ids_agree_with_camera_masks():
    cfg = SimConfig.preset('lidar', frames=2, lidar=LidarConfig(channels=24, azimuth_bins=360,
                                                                vertical_fov=(-40.0, 5.0), max_range=15.0))
    with SceneSimulator(cfg) as sim:
        clip = sim.clip(3)
    agree = total = 0
    for t in range(cfg.frames):
        ids = clip['lidar_ids'][t]
        pts = clip['lidar_points'][t][ids > 0]
        assert np.allclose(np.linalg.norm(pts, axis=1), clip['lidar_range'][t][ids > 0], atol=1e-3)
        world = pts @ clip['lidar_pose'][t][:3, :3].T + clip['lidar_pose'][t][:3, 3]
        uv, z = project(world, clip['intrinsics'], clip['extrinsics'][t])
        inside = (z > 0) & (uv[:, 0] > 0) & (uv[:, 0] < cfg.width - 1) & (uv[:, 1] > 0) & (uv[:, 1] < cfg.height - 1)
        px = uv[inside].round().astype(int)
        agree += int((clip['masks'][t][px[:, 1], px[:, 0]] == ids[ids > 0][inside]).sum())
        total += int(inside.sum())
        assert np.all(np.isnan(clip['lidar_points'][t][ids < 0]))
    assert total > 50 and agree / total > 0.8, (agree, total)


@pytest.mark.parametrize('args,match', [
    (['--preset', 'huge'], "unknown preset 'huge'"),
    (['--preset', 'tiny', '--train', '-1'], '--train must be a count >= 0'),
])
def test_cli_bad_arguments(tmp_path, args, match):
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.data.simulate', 'generate', '--out',
                           str(tmp_path / 'o'), *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count('\n') == 0 and match in proc.stderr


def test_cli_unwritable_output_and_info(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.data.simulate', 'generate', '--preset', 'tiny',
                           '--out', str(blocker / 'sub'), '--train', '1'], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith('error:') and proc.stderr.strip().count('\n') == 0
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.data.simulate', 'info', str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and 'index.json not found' in proc.stderr


def test_index_records_config(tmp_path):
    cfg = SimConfig.preset('tiny', frames=2)
    generate(cfg, tmp_path / 'd', seed=1, counts={'train': 1, 'val': 1, 'test': 1}, progress=False)
    index = json.loads((tmp_path / 'd' / 'index.json').read_text())
    assert SimConfig.from_dict(index['sim']) == cfg and index['seed'] == 1


def test_preview_writes_a_contact_sheet(tmp_path):
    from video_object_node.data.simulate import preview
    cfg = SimConfig.preset('lidar', frames=2, height=32, width=32,
                           lidar=LidarConfig(channels=8, azimuth_bins=64, vertical_fov=(-40.0, 5.0)))
    generate(cfg, tmp_path / 'd', seed=0, counts={'train': 0, 'val': 0, 'test': 2}, progress=False)
    out = preview(tmp_path / 'd', tmp_path / 'p.png', clips=2)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and out.stat().st_size > 5000


def test_objects_share_movi_a_colours_or_take_a_random_hue():
    from video_object_node.data.sim import PALETTE
    palette = np.array(PALETTE, np.float32)
    shared = 0
    with SceneSimulator(SimConfig.preset('tiny', frames=2, colours='palette')) as sim:
        for seed in range(12):
            colours = sim.clip(seed)['object_colours'][:, :3]
            assert np.abs(colours[:, None] - palette[None]).max(-1).min(1).max() < 1e-6   # every one from the palette
            shared += len(np.unique(colours, axis=0)) < len(colours)
    assert shared >= 3      # 3-5 objects from 8 colours: about half of the clips repeat a colour
    with SceneSimulator(SimConfig.preset('tiny', frames=2)) as sim:
        colours = sim.clip(0)['object_colours'][:, :3]
    assert np.abs(colours[:, None] - palette[None]).max(-1).min(1).min() > 1e-3
    with pytest.raises(Exception, match='colours must be one of'):
        SimConfig(colours='rainbow')


def test_textured_preset_is_deterministic_and_its_ground_and_walls_are_background(tmp_path):
    cfg = SimConfig.preset('textured', frames=3, height=48, width=48)
    assert cfg.ground == 'textured' and cfg.walls and cfg.colours == 'palette'
    with SceneSimulator(cfg) as sim:
        a, b, other = sim.clip(3), sim.clip(3), sim.clip(4)
    with SceneSimulator(cfg) as sim:
        again = sim.clip(3)                        # a fresh process-level simulator: same bytes
    for key in ('video', 'masks', 'depth'):
        assert np.array_equal(a[key], b[key]) and np.array_equal(a[key], again[key]), key
    assert not np.array_equal(a['video'], other['video'])
    # The ground is textured (many colours among background pixels, unlike the plain preset's one grey) and
    # neither it nor the walls are objects.
    background = a['video'][a['masks'] == 0]
    assert len(np.unique(background // 16, axis=0)) > 10
    plain = SimConfig.preset('tiny', frames=1, height=48, width=48)
    with SceneSimulator(plain) as sim:
        flat = sim.clip(3)
    # The walls stand in the background at the image's top: far (several metres) and not objects.
    top = a['depth'][:, :4]
    assert (a['masks'][:, :4] == 0).all() and top.max() > 5.0
    assert len(np.unique(flat['video'][flat['masks'] == 0] // 16, axis=0)) < len(np.unique(background // 16, axis=0))
    with pytest.raises(ValueError, match='room_size'):
        SimConfig.preset('textured', room_size=6.0)
