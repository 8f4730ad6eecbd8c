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

"""`video-object-dataset zoom`: a sequence cropped round its object, every frame by the same box."""
import json
import subprocess
import sys

import cv2
import numpy as np

from video_object_node.learn.stream_eval import read_sequences


def _sequence(root, frames=4, empty_first=False):
    """Write 60x40 frames whose colour says where a pixel is, and a 10x8 object moving right from (x 40, y 24)."""
    (root / 'frames').mkdir(parents=True)
    (root / 'masks').mkdir()
    cols = np.arange(60)[None, :].repeat(40, 0)
    rows = np.arange(40)[:, None].repeat(60, 1)
    image = np.stack([cols * 4, rows * 6, np.full_like(cols, 9)], -1).astype(np.uint8)
    for i in range(frames):
        mask = np.zeros((40, 60), np.uint8)
        if not (empty_first and i == 0):
            mask[24:32, 40 + i:50 + i] = 255
        cv2.imwrite(str(root / 'frames' / f'{i:05d}.jpg'), cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 100])
        cv2.imwrite(str(root / 'masks' / f'{i:05d}.png'), mask)
    return root


def _zoom(*args):
    cmd = [sys.executable, '-m', 'video_object_node.data.bag_dataset', 'zoom', *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_zoom_crops_every_frame_round_the_objects_mean_centre(tmp_path):
    seq = _sequence(tmp_path / 'car', empty_first=True)
    proc = _zoom(seq, tmp_path / 'out', '--share', '0.5')
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)['sequences']
    # Frames 1-3 show the object centred at x 46.0 + i - 0.5, y 27.5: mean centre (47.5, 27.5); a 30x20 box round it
    # would reach x 62.5, so it is moved inside the frame: x 30-59, y 18-37 (rounded from 17.5: 18).
    assert record['box'] == [18, 30, 20, 30] and record['size'] == [40, 60]
    (out,) = read_sequences(tmp_path / 'out')
    (orig,) = read_sequences(seq)
    assert out.name == 'car' and out.frames.shape == (4, 20, 30, 3)
    np.testing.assert_array_equal(out.masks, orig.masks[:, 18:38, 30:60])       # masks exact
    assert np.abs(out.frames.astype(int) - orig.frames[:, 18:38, 30:60]).max() <= 2   # frames: the same pixels
    assert record['zoomed_share'] == round(float(orig.masks[:, 18:38, 30:60].mean()), 4) > record['object_share']
    assert not list((tmp_path / 'out').glob('.*'))                              # nothing partial left


def test_zoom_refuses_bad_input_in_one_line(tmp_path):
    seq = _sequence(tmp_path / 'car')
    for args, message in (((seq, tmp_path / 'o', '--share', '1.5'), '--share must be in (0, 1]'),
                          ((tmp_path / 'nothing', tmp_path / 'o'), 'frames/ and masks/')):
        proc = _zoom(*args)
        assert proc.returncode == 2 and proc.stderr.strip().count('\n') == 0 and message in proc.stderr
    blank = _sequence(tmp_path / 'blank', frames=1, empty_first=True)
    proc = _zoom(blank, tmp_path / 'o')
    assert proc.returncode == 2 and 'no frame shows the object' in proc.stderr and 'blank' in proc.stderr
