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

"""`video-object-dataset compose`: real objects over real backgrounds, masks, depth order and camera move exact."""
import json
import subprocess
import sys

import cv2
import numpy as np

from video_object_node.data.dataset import ClipDataset, read_index

OBJECT_COLOURS = ((255, 0, 0), (0, 0, 255))


def _object_sequence(root, colour, frames=6):
    """Write a flat-coloured disc on black and its mask: an object whose every pixel has one known colour."""
    (root / 'frames').mkdir(parents=True)
    (root / 'masks').mkdir()
    for i in range(frames):
        image = np.zeros((40, 60, 3), np.uint8)
        mask = np.zeros((40, 60), np.uint8)
        cv2.circle(mask, (20 + i, 20), 12, 255, -1)
        image[mask > 0] = colour
        cv2.imwrite(str(root / 'frames' / f'{i:05d}.png'), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / 'masks' / f'{i:05d}.png'), mask)
    return root


def _gradient_background(root):
    """Write a wall whose colour says where on it a pixel is: red grows left to right, green top to bottom."""
    (root / 'frames').mkdir(parents=True)
    cols = np.linspace(0, 255, 400)[None, :].repeat(300, 0)
    rows = np.linspace(0, 255, 300)[:, None].repeat(400, 1)
    image = np.stack([cols, rows, np.full_like(cols, 128)], -1).round().astype(np.uint8)
    cv2.imwrite(str(root / 'frames' / '00000.png'), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return root


def _compose(tmp_path, *extra):
    objects = [_object_sequence(tmp_path / f'obj{i}', c) for i, c in enumerate(OBJECT_COLOURS)]
    wall = _gradient_background(tmp_path / 'wall')
    cmd = [sys.executable, '-m', 'video_object_node.data.bag_dataset', 'compose', str(tmp_path / 'ds'),
           '--objects', *map(str, objects), '--backgrounds', str(wall), '--clips', '6', '--frames', '5',
           '--size', '48', '48', '--min-objects', '2', '--max-objects', '2', '--no-progress', *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _bilinear(image, u, v):
    x0, y0 = int(np.floor(u)), int(np.floor(v))
    fx, fy = u - x0, v - y0
    patch = image[y0:y0 + 2, x0:x0 + 2].astype(np.float64)
    return (patch[0, 0] * (1 - fx) * (1 - fy) + patch[0, 1] * fx * (1 - fy) + patch[1, 0] * (1 - fx) * fy
            + patch[1, 1] * fx * fy)


def test_compose_writes_objects_with_exact_masks_depth_order_and_camera_move(tmp_path):
    proc = _compose(tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    index = read_index(tmp_path / 'ds')
    assert index['preset'] == 'composite' and index['splits']['train']['clips'] == 6
    assert set(index['labels']['train']) >= {'masks', 'depth', 'extrinsics', 'intrinsics'}
    ds = ClipDataset(tmp_path / 'ds', 'train')
    moved = 0
    for i in range(len(ds)):
        clip = ds.raw(i)
        video, masks, depth = clip['video'], clip['masks'], clip['depth']
        assert video.shape == (5, 48, 48, 3) and set(np.unique(masks)) <= {0, 1, 2}
        for label, source in zip(clip['depth_order'], clip['object_sources']):
            inside = masks == label
            if not inside.any():
                continue
            # Every labelled pixel shows its object's one colour (nothing else is that colour here).
            colour = np.array(OBJECT_COLOURS[source])
            assert np.abs(video[inside].astype(int) - colour).max(axis=1).mean() < 40
        # Depth order: label 1 is the farthest, and where a label is seen its plane is nearer than the wall's.
        for t in range(5):
            wall = depth[t][masks[t] == 0]
            per = [depth[t][masks[t] == label] for label in (1, 2)]
            if len(per[0]) and len(per[1]):
                assert per[0].min() > per[1].max()
            for d in per:
                if len(d):
                    assert np.ptp(d) < 1e-5 and d[0] < wall.min()
        # The camera move is exact: a wall pixel of frame 0, lifted to 3-D by its depth and the camera's pose,
        # projects in the last frame onto the same colour of the wall.
        k, poses = clip['intrinsics'], clip['extrinsics']
        first_inv_k = np.linalg.inv(k)
        last_from_world = np.linalg.inv(poses[-1])
        errors = []
        for v in range(4, 44, 5):
            for u in range(4, 44, 5):
                if masks[0, v, u]:
                    continue
                point = poses[0] @ np.append(first_inv_k @ np.array([u, v, 1.0]) * depth[0, v, u], 1.0)
                cam = (last_from_world @ point)[:3]
                pu, pv, _ = k @ (cam / cam[2])
                if not (1 <= pu < 46 and 1 <= pv < 46) or masks[-1, int(round(pv)), int(round(pu))]:
                    continue
                neighbourhood = masks[-1, int(pv):int(pv) + 2, int(pu):int(pu) + 2]
                if neighbourhood.any():
                    continue
                errors.append(np.abs(_bilinear(video[-1], pu, pv) - video[0, v, u])[:2].max())
        assert errors and np.median(errors) <= 2.0 and max(errors) <= 6.0
        moved += int(np.abs(poses[-1][:3, 3] - poses[0][:3, 3]).max() > 0.05)
    assert moved >= 3                                            # the camera really moves in most clips
    again = _compose(tmp_path / 'again')
    assert again.returncode == 0
    first, second = ClipDataset(tmp_path / 'ds', 'train').raw(2), ClipDataset(tmp_path / 'again' / 'ds', 'train').raw(2)
    assert all(np.array_equal(first[key], second[key]) for key in first)          # same seed, same clips


def test_compose_refuses_bad_sources_with_one_line(tmp_path):
    wall = _gradient_background(tmp_path / 'wall')
    cmd = [sys.executable, '-m', 'video_object_node.data.bag_dataset', 'compose', str(tmp_path / 'ds'),
           '--objects', str(wall), '--backgrounds', str(wall), '--clips', '2', '--frames', '3', '--no-progress']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().count('\n') == 0 and 'masks/' in proc.stderr
    assert not (tmp_path / 'ds').exists()
    obj = _object_sequence(tmp_path / 'obj', OBJECT_COLOURS[0])
    cmd[cmd.index('--objects') + 1] = str(obj)
    cmd[cmd.index('--frames') + 1] = '50'
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and 'lower --frames' in proc.stderr
    assert json.loads(_compose(tmp_path / 'ok').stdout)['splits']['train'] == 6
