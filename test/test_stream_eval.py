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

"""`video-object-eval --stream`: scores frame by frame through the node's pipeline, on answers known by hand."""
import json
import subprocess
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from video_object_node.learn.stream_eval import (StreamSequence, fragment_count, read_sequences, stable_id_score,
                                                 stream_scores)

K, H, W, T = 3, 8, 8, 2


class ScriptedPipeline:
    """
    The pipeline's surface that the stream evaluation uses, with each window's segments and ids given by hand.

    ``script``: per frame, (segments [H, W] slot labels, ids [K]); a window is due from the T-th frame of a stream.
    """

    def __init__(self, script):
        self.script = script
        self.model_cfg = SimpleNamespace(height=H, width=W, num_slots=K, image_channels=3)
        self.stream = SimpleNamespace(reset=self._reset)
        self.tracker = SimpleNamespace(reset=lambda: None)
        self.n = 0

    def _reset(self):
        self.n = 0

    def accept(self, reading, stamp_ns):
        return SimpleNamespace(data=np.zeros((3, H, W), np.float32) + reading.mean() / 255.0, motion_image=None,
                               n=stamp_ns)

    def encode(self, frames):
        n = self.n
        self.n += 1
        if n < T - 1:
            return SimpleNamespace(result=None)
        seg, ids = self.script[n]
        masks = np.stack([(seg == k).astype(np.float32) for k in range(K)])
        return SimpleNamespace(result=SimpleNamespace(last_masks=lambda m=masks: m, ids=np.asarray(ids, np.uint32)))


def _object():
    fg = np.zeros((H, W), bool)
    fg[2:6, 2:6] = True                                             # 16 pixels
    return fg


def test_stream_scores_punish_an_id_switch_and_count_a_split_object():
    fg = _object()
    whole = np.where(fg, 1, 0)                                      # slot 1 is the object, slot 0 the rest
    split = np.zeros((H, W), int)
    split[2:6, 2:4], split[2:6, 4:6] = 1, 2                         # the object halved between slots 1 and 2
    # Frames 1-2: the object whole under id 11; frames 3-4: whole but its slot now carries id 21 (an id switch);
    # frame 5: split in two. Frame 0 has no window yet.
    script = {1: (whole, [10, 11, 12]), 2: (whole, [10, 11, 12]), 3: (whole, [10, 21, 12]),
              4: (whole, [10, 21, 12]), 5: (split, [10, 21, 12])}
    frames = np.full((6, 24, 24, 3), 90, np.uint8)
    masks = np.repeat(cv2.resize(fg.astype(np.uint8), (24, 24), interpolation=cv2.INTER_NEAREST)[None] > 0, 6, 0)
    report = stream_scores(ScriptedPipeline(script), [StreamSequence('seq', frames, masks)], kmeans=False,
                           progress=False)
    assert report['num_frames'] == 5                                 # every window's last frame, none before
    assert report['frame_best_slot_j'] == pytest.approx((1 + 1 + 1 + 1 + 0.5) / 5)
    # The best single id: 11 covers frames 1-2 (J 1 each), 21 covers 3-4 whole and half of frame 5.
    assert report['stable_id_j'] == pytest.approx((1 + 1 + 0.5) / 5)
    assert report['fragments'] == pytest.approx((1 + 1 + 1 + 1 + 2) / 5)
    assert report['per_sequence']['stable_id_j']['seq'] == pytest.approx(0.5)
    assert 0.0 <= report['motion_frame_j'] <= 1.0 and report['kmeans_frame_j'] is None
    # Without the switch the tracked id is as good as the best slot.
    steady = {n: (seg, [10, 11, 12]) for n, (seg, _ids) in script.items()}
    again = stream_scores(ScriptedPipeline(steady), [StreamSequence('seq', frames, masks)], kmeans=False,
                          progress=False)
    assert again['stable_id_j'] == pytest.approx(again['frame_best_slot_j'])


def test_stable_id_and_fragments_by_hand():
    fg = _object()
    seg = np.where(fg, 2, 0)
    assert fragment_count(seg, fg, K) == 1
    seg[2:6, 2:3] = 1                                               # a quarter of the object: a fragment (>= 20%)
    assert fragment_count(seg, fg, K) == 2
    seg[2, 3] = 0                                                   # one pixel of it (1/16) is no fragment
    assert fragment_count(seg, fg, K) == 2
    assert stable_id_score([], [], []) == (0.0, None)
    score, ident = stable_id_score([[5, 6, 7]], [np.where(fg, 1, 0)], [fg])
    assert ident == 6 and score == pytest.approx(1.0)


def _write_sequence(root, frames, masks):
    (root / 'frames').mkdir(parents=True)
    (root / 'masks').mkdir()
    for i, (f, m) in enumerate(zip(frames, masks)):
        cv2.imwrite(str(root / 'frames' / f'{i:05d}.jpg'), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / 'masks' / f'{i:05d}.png'), m)


def test_stream_cli_on_frame_folders_through_the_real_pipeline(tmp_path):
    from test_real_video import moving_square_frames
    from video_object_node.model import Simone, SimoneConfig, save_bundle
    torch.manual_seed(0)
    tiny = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1,
                decoder_hidden=16, frames=4)
    bundle = save_bundle(Simone(SimoneConfig.preset('real-motion', **tiny)), tmp_path / 'bundle')
    for name, seed in (('seq-a', 0), ('seq-b', 1)):
        frames, masks = moving_square_frames(9, size=96, seed=seed)
        _write_sequence(tmp_path / 'data' / name, np.ascontiguousarray(frames[:, :, :80]), masks[:, :, :80])
    assert [s.name for s in read_sequences(tmp_path / 'data', names=('seq-b',))] == ['seq-b']
    out = tmp_path / 'eval'
    cmd = [sys.executable, '-m', 'video_object_node.learn.evaluate', '--stream', '--model', str(bundle), '--data',
           str(tmp_path / 'data'), '--out', str(out), '--backend', 'torch', '--threads', '1', '--no-progress']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / 'report.json').read_text())
    assert report['num_sequences'] == 2 and report['num_frames'] == 2 * (9 - 3)   # stride 1 after T - 1 frames
    for key in ('frame_best_slot_j', 'stable_id_j', 'kmeans_frame_j', 'motion_frame_j'):
        assert 0.0 <= report[key] <= 1.0, key
    assert report['stable_id_j'] <= report['frame_best_slot_j'] + 1e-9          # one id is never above the best slot
    assert 1.0 <= report['fragments'] <= K * 2 and report['motion_frame_j'] > 0.3   # the square moves unlike the pan
    assert set(report['per_sequence']['frame_best_slot_j']) == {'seq-a', 'seq-b'}
    assert 'stable_id_j' in (out / 'report.md').read_text()
    # A missing mask: one line naming it, exit 2.
    (tmp_path / 'data' / 'seq-a' / 'masks' / '00003.png').unlink()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.strip().count('\n') == 0 and '00003.png' in proc.stderr
