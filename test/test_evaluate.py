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

"""Evaluation and the viewpoint probe, end to end on a small simulated split."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from video_object_node.data.config import SimConfig
from video_object_node.learn.evaluate import evaluate, match_slots
from video_object_node.data.simulate import generate
from video_object_node.model import Simone, SimoneConfig, save_bundle
from video_object_node.bundle.layout import PROBE_FILE
from video_object_node.bundle.viewpoint_probe import RidgeProbe, pose_from_targets, probe_features, viewpoint_targets
from video_object_node.scores.viewpoint import r2_scores


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('eval') / 'movi'
    generate(SimConfig.preset('movi-a-like', frames=8), root, seed=1, counts={'train': 6, 'val': 0, 'test': 3},
             shard_size=3, progress=False)
    return root


@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    torch.manual_seed(0)
    return save_bundle(Simone(SimoneConfig.preset('small')), tmp_path_factory.mktemp('b') / 'bundle')


def test_eval_cli_writes_the_contract(tmp_path, data, bundle):
    out = tmp_path / 'out'
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.learn.evaluate', '--model', str(bundle), '--data',
                           str(data), '--split', 'test', '--out', str(out), '--probe-clips', '6', '--no-progress'],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / 'report.json').read_text())
    for key in ('fg_ari', 'ari', 'mbo', 'psnr', 'kmeans_fg_ari', 'viewpoint_r2', 'num_clips'):
        assert key in report
    assert report['num_clips'] == 3 and report['num_windows'] == 3
    assert -1 <= report['fg_ari'] <= 1 and 0 <= report['mbo'] <= 1 and report['psnr'] > 5
    assert report['kmeans_fg_ari'] > 0.2   # k-means finds plain-coloured objects
    assert 0 < report['object_majority_share'] <= 1 and 0 <= report['objects_merged'] <= 1
    for name in ('report.md', 'scores.png', 'strip.png'):
        assert (out / name).stat().st_size > 100


def test_probe_cli_stores_probe_used_by_eval(tmp_path, data, bundle):
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.learn.viewpoint', '--model', str(bundle), '--data',
                           str(data), '--clips', '6'], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    probe = RidgeProbe.load(bundle / PROBE_FILE)
    assert probe.weight.shape == (2 * SimoneConfig.preset('small').frame_dim, 11)
    with pytest.raises(ValueError, match='reads 16 features, the model gives 8'):
        RidgeProbe.load(bundle / PROBE_FILE, 4)
    report = evaluate(Simone(SimoneConfig.preset('small')).eval(), data, 'test', kmeans=False,
                      progress=False, bundle=bundle)
    assert report['viewpoint_probe'] == 'stored in bundle'
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.learn.evaluate', '--model', str(tmp_path / 'none'),
                           '--data', str(data), '--out', str(tmp_path / 'o')], capture_output=True, text=True)
    assert proc.returncode == 2 and 'not found' in proc.stderr and proc.stderr.count('\n') == 1


def test_ridge_probe_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = x @ rng.normal(size=(5, 3)) + 0.5
    probe = RidgeProbe.fit(x, y, alpha=1e-6)
    assert np.all(r2_scores(y, probe.predict(x)) > 0.999)


def test_probe_features_give_the_change_since_the_first_frame():
    frames = np.arange(12, dtype=float).reshape(4, 3)
    feats = probe_features(frames)
    np.testing.assert_array_equal(feats[:, :3], frames)
    np.testing.assert_array_equal(feats[:, 3:], [[0, 0, 0], [3, 3, 3], [6, 6, 6], [9, 9, 9]])


def test_a_probe_fitted_on_other_features_is_refused(tmp_path):
    from safetensors.numpy import save_file
    shapes = {'mean': 8, 'std': 8, 'weight': (8, 11), 'bias': 11, 'residual_std': 11}
    arrays = {k: np.zeros(shape) for k, shape in shapes.items()}
    save_file(arrays, str(tmp_path / PROBE_FILE), metadata={'targets': 'x'})     # an older probe: f_t only
    with pytest.raises(ValueError, match='refit it with video-object-probe'):
        RidgeProbe.load(tmp_path / PROBE_FILE)


def test_viewpoint_targets_and_pose_round_trip():
    from video_object_node.data.sim import look_at
    poses = np.stack([look_at(np.array([4.0 * np.cos(a), 4.0 * np.sin(a), 2.5]), np.zeros(3))
                      for a in np.linspace(0, 0.5, 4)])
    targets = viewpoint_targets(poses)
    np.testing.assert_allclose(targets[0, :9], [0, 0, 0, 0, 0, 1, 0, 1, 0], atol=1e-9)
    np.testing.assert_allclose(targets[:, 9], 2.5)
    np.testing.assert_allclose(pose_from_targets(targets[3]), np.linalg.inv(poses[0]) @ poses[3], atol=1e-9)


def test_match_slots_hungarian():
    masks = np.zeros((1, 4, 4), int)
    masks[0, :2, :2], masks[0, 2:, 2:] = 1, 2
    seg = np.zeros((1, 4, 4), int)
    seg[0, :2, :2], seg[0, 2:, 2:] = 3, 1
    assert match_slots(masks, seg, np.array([1, 2]), 4) == []   # objects under MIN_OBJECT_PIXELS
    big = np.repeat(np.repeat(masks, 3, 1), 3, 2)
    big_seg = np.repeat(np.repeat(seg, 3, 1), 3, 2)
    assert sorted((o, s) for o, s, _ in match_slots(big, big_seg, np.array([1, 2]), 4)) == [(0, 3), (1, 1)]


def test_shipped_bundle_decomposes_fresh_clips(tmp_path, data):
    """
    Check the embedded model on clips it never saw.

    The embedded default model, on clips it never saw, segments objects far better than chance and
    reconstructs them (a regression guard on the committed weights).
    """
    from video_object_node.bundle.layout import default_bundle_path
    from video_object_node.model import load_bundle
    bundle = default_bundle_path()
    report = evaluate(load_bundle(bundle), data, 'test', kmeans=False, progress=False, bundle=bundle,
                      out=tmp_path / 'eval')
    assert report['fg_ari'] > 0.3 and report['psnr'] > 20, report
    assert report['viewpoint_source'] == 'pose head' and report['attribute_presence_accuracy'] > 0.6, report
