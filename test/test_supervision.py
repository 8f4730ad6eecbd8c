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

"""Supervised losses on hand-made cases, source mixing, loss balancing, heads through bundle and export."""
import numpy as np
import pytest
import torch

from video_object_node.model import Simone, SimoneConfig, load_bundle, save_bundle
from video_object_node.learn.supervision import (Labels, attribute_loss, empty_labels, mask_loss, match_segments,
                                                 placement_loss, placement_targets, pose_loss, stack_numpy)
from video_object_node.learn.objective import LossBalancer

TINY = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1, decoder_hidden=16)


def two_object_labels(t=2, h=8, w=8) -> torch.Tensor:
    """[1, T, H, W]: background 0, object 3 in the top-left quarter, object 5 in the bottom-right one."""
    labels = torch.zeros(1, t, h, w, dtype=torch.int64)
    labels[:, :, :4, :4] = 3
    labels[:, :, 4:, 4:] = 5
    return labels


def masks_for(labels: torch.Tensor, slot_of: dict, k: int, confidence: float = 0.97) -> torch.Tensor:
    """Mixture weights [B, T, K, H, W] that give each label's pixels to slot_of[label] with ``confidence``."""
    b, t, h, w = labels.shape
    masks = torch.full((b, t, k, h, w), (1 - confidence) / (k - 1))
    for label, slot in slot_of.items():
        masks[:, :, slot][labels == label] = confidence
    return masks


def test_mask_loss_is_minimal_for_a_perfect_prediction_and_blind_to_slot_order():
    labels = two_object_labels()
    has = torch.ones(1, dtype=torch.bool)
    perfect = masks_for(labels, {0: 0, 3: 1, 5: 2}, k=4)
    permuted = masks_for(labels, {0: 3, 3: 0, 5: 2}, k=4)
    wrong = masks_for(labels, {0: 0, 3: 1, 5: 1}, k=4)        # both objects in one slot
    loss = {name: float(mask_loss(m, match_segments(m, labels, has)))
            for name, m in (('perfect', perfect), ('permuted', permuted), ('wrong', wrong))}
    assert loss['perfect'] == pytest.approx(-np.log(0.97), rel=1e-4)
    assert loss['permuted'] == pytest.approx(loss['perfect'], rel=1e-6)
    assert loss['wrong'] > loss['perfect'] + 0.5
    matching = match_segments(permuted, labels, has)
    assert sorted(matching.pairs[0]) == [(0, 3), (3, 0), (5, 2)]


def test_mask_loss_skips_clips_without_masks_and_more_segments_than_slots():
    labels = two_object_labels().repeat(2, 1, 1, 1)
    masks = masks_for(labels, {0: 0, 3: 1, 5: 1}, k=2)
    matching = match_segments(masks, labels, torch.tensor([False, True]))
    assert matching.pairs[0] == [] and (matching.target[0] == -1).all()
    assert len(matching.pairs[1]) == 2                 # 3 segments, 2 slots: the smallest is left out
    assert (matching.target[1] == -1).sum() == 16 * 2  # its pixels (16 per frame) get no target
    none = match_segments(masks, labels, torch.tensor([False, False]))
    assert mask_loss(masks, none) is None


def test_placement_targets_of_a_square_and_the_loss_of_a_perfect_placement():
    mask = torch.zeros(3, 8, 8, dtype=torch.bool)
    mask[0, 0:4, 0:4] = True           # top-left quarter: centre (-0.5, -0.5)
    mask[1, 2:6, 4:8] = True           # right half, middle rows: centre (0.5, 0)
    target, visible = placement_targets(mask)
    assert visible.tolist() == [True, True, False]
    assert target[0, :2].tolist() == pytest.approx([-0.5, -0.5])
    assert target[1, :2].tolist() == pytest.approx([0.5, 0.0])
    # Half-extent of 4 pixels of width 0.25 each: a uniform box [-0.5, 0.5] -> ~0.5 (std of pixel centres).
    assert target[0, 2:].tolist() == pytest.approx([np.sqrt(3) * np.sqrt(1.25) * 0.25] * 2, rel=1e-5)
    labels = two_object_labels(t=3)
    matching = match_segments(masks_for(labels, {0: 0, 3: 1, 5: 2}, k=3), labels, torch.ones(1, dtype=torch.bool))
    placement = torch.zeros(1, 3, 3, 4)
    placement[0, 1] = placement_targets(labels[0] == 3)[0]
    placement[0, 2] = placement_targets(labels[0] == 5)[0]
    assert float(placement_loss(placement, labels, matching)) == pytest.approx(0.0, abs=1e-6)
    placement[0, 2, :, 0] += 0.4
    assert float(placement_loss(placement, labels, matching)) == pytest.approx(0.4 / 4 / 2, rel=1e-5)


def test_pose_loss_reads_only_clips_with_poses():
    cfg = SimoneConfig.preset('small-objects', **TINY)
    model = Simone(cfg)
    frames = torch.randn(2, cfg.frames, cfg.frame_dim)
    truth = model.pose_head(frames).detach()
    garbage = torch.randn_like(truth) * 100
    targets = torch.stack([truth[0], garbage[1]])
    only_first = pose_loss(model.pose_head, frames, targets, torch.tensor([True, False]))
    assert float(only_first.detach()) == pytest.approx(0.0, abs=1e-10)
    assert float(pose_loss(model.pose_head, frames, targets, torch.tensor([True, True])).detach()) > 1.0
    assert pose_loss(model.pose_head, frames, targets, torch.tensor([False, False])) is None


def test_attribute_loss_prefers_the_right_attributes_under_any_slot_order():
    from video_object_node.model.heads import Attributes
    labels_grid = two_object_labels()
    labels = stack_numpy([{'masks': labels_grid[0].numpy(), 'object_ids': np.array([3, 5]),
                           'object_shapes': np.array([0, 2]), 'object_sizes': np.array([0.5, 1.0]),
                           'object_colours': np.array([[1, 0, 0], [0, 0, 1]], np.float32)}], 2, 8, 8)

    def attrs(slot_of_3, slot_of_5, right=True):
        colour = torch.full((1, 3, 3), 0.5)
        shape = torch.zeros(1, 3, 4)
        size = torch.zeros(1, 3)
        presence = torch.full((1, 3), -8.0)
        for slot, (c, s, z) in ((slot_of_3, ([1, 0, 0], 0, 0.5)), (slot_of_5, ([0, 0, 1], 2, 1.0))):
            colour[0, slot] = torch.tensor(c if right else [0.0, 1.0, 0.0])
            shape[0, slot, s if right else 1] = 10.0
            size[0, slot] = z if right else 3.0
            presence[0, slot] = 8.0
        return Attributes(colour, shape, size, presence)

    def loss(slot_of_3, slot_of_5, right=True):
        masks = masks_for(labels.masks, {0: 0, 3: slot_of_3, 5: slot_of_5}, k=3)
        return float(attribute_loss(attrs(slot_of_3, slot_of_5, right), labels,
                                    match_segments(masks, labels.masks, labels.has_masks)))

    assert loss(1, 2) < 1e-3
    assert loss(2, 1) == pytest.approx(loss(1, 2), abs=1e-6)
    assert loss(1, 2, right=False) > 1.0


def test_stack_numpy_marks_only_the_labels_a_row_carries():
    labels = stack_numpy([{'masks': np.zeros((2, 4, 4))}, {'pose': np.ones((2, 11))}, {}], 2, 4, 4)
    assert labels.has_masks.tolist() == [True, False, False]
    assert labels.has_pose.tolist() == [False, True, False]
    assert not labels.has_attributes.any() and not labels.has_colours.any()
    assert isinstance(empty_labels(1, 2, 4, 4), Labels)


def test_loss_balancer_schemes():
    terms = {'mask': torch.tensor(10.0), 'pose': torch.tensor(0.1)}
    assert float(LossBalancer('fixed', {'mask': 1.0, 'pose': 2.0})(terms)) == pytest.approx(10.2)
    running = LossBalancer('running_mean', {'mask': 1.0, 'pose': 1.0})
    assert float(running(terms)) == pytest.approx(2.0)            # each term / its own running mean
    uncertain = LossBalancer('uncertainty', {'mask': 1.0, 'pose': 1.0})
    assert uncertain.log_vars is not None and float(uncertain(terms)) == pytest.approx(10.1)
    total = uncertain(terms)
    total.backward()
    assert uncertain.log_vars.grad[0] < 0            # a large loss pushes its log-variance up (weight down)


def test_heads_round_trip_through_bundle_and_onnx(tmp_path):
    from video_object_node.runtime.backend_choice import create_backend
    from video_object_node.export.onnx import export_bundle
    cfg = SimoneConfig.preset('small-objects', **TINY)
    torch.manual_seed(0)
    model = Simone(cfg)
    model.pose_head.target_mean.copy_(torch.arange(11.0))
    model.pose_head.residual_std.copy_(torch.full((11,), 0.25))
    save_bundle(model, tmp_path / 'b')
    loaded = load_bundle(tmp_path / 'b')
    assert torch.equal(loaded.pose_head.target_mean, torch.arange(11.0))
    export_bundle(tmp_path / 'b')
    video = torch.rand(2, cfg.frames, 3, cfg.height, cfg.width)
    with torch.no_grad():
        post = loaded.encode(video)
        want_view = loaded.pose_head(post.frame_mean).numpy()
    frames = video.flatten(0, 1).numpy()
    for kind in ('torch', 'onnxruntime'):
        backend = create_backend(tmp_path / 'b', kind)
        features = backend.encode_frames(frames).reshape(2, cfg.frames, cfg.num_spatial, cfg.model_dim)
        out = backend.encode_window(features)
        assert np.abs(out.viewpoint - want_view).max() < 1e-4, kind
        assert np.abs(out.placement - post.placement.numpy()).max() < 1e-4, kind
        assert out.attributes.shape == (2, cfg.num_slots, 9)


def test_source_mix_honours_each_sources_labels_and_weights(tmp_path):
    from video_object_node.data.config import SimConfig
    from video_object_node.learn.banks import ClipBank, SourceMix
    from video_object_node.data.simulate import generate
    root = tmp_path / 'tiny'
    generate(SimConfig.preset('tiny', frames=8), root, seed=0, counts={'train': 4, 'val': 0, 'test': 0},
             progress=False)
    cfg = SimoneConfig.preset('small-objects', **TINY)
    full = ClipBank(str(root), 'train', cfg)
    poses_only = ClipBank(str(root), 'train', cfg, labels=('pose',))
    unlabelled = ClipBank(str(root), 'train', cfg, labels=())
    assert full.label_kinds == ('masks', 'pose', 'attributes')
    assert poses_only.label_kinds == ('pose',) and unlabelled.label_kinds == ()
    mix = SourceMix([full, poses_only, unlabelled], [2.0, 1.0, 1.0])
    rng = np.random.default_rng(0)
    source, idx, offsets = mix.draw(rng, 400)
    share = np.bincount(source, minlength=3) / 400
    assert share == pytest.approx([0.5, 0.25, 0.25], abs=0.07)
    video, labels = mix.batch(source[:40], idx[:40], offsets[:40])
    assert video.shape == (40, cfg.frames, 3, cfg.height, cfg.width)
    assert labels.has_masks.tolist() == (source[:40] == 0).tolist()
    assert labels.has_attributes.tolist() == (source[:40] == 0).tolist()
    assert labels.has_pose.tolist() == (source[:40] != 2).tolist()
    # The pose targets are those of the drawn window (the camera relative to the window's first frame).
    from video_object_node.bundle.viewpoint_probe import viewpoint_targets
    i = int(np.flatnonzero(source[:40] == 1)[0])
    want = viewpoint_targets(poses_only.extrinsics[idx[i], offsets[i]:offsets[i] + cfg.frames])
    assert np.allclose(labels.pose[i].numpy(), want, atol=1e-5)


def test_supervised_training_steps_run_and_log_every_term(tmp_path):
    import yaml

    from video_object_node.data.config import SimConfig
    from video_object_node.data.simulate import generate
    from video_object_node.learn.train import main
    root = tmp_path / 'textured'
    generate(SimConfig.preset('textured', frames=8, height=32, width=32), root, seed=0,
             counts={'train': 4, 'val': 2, 'test': 0}, progress=False)
    model = {k: list(v) if isinstance(v, tuple) else v for k, v in TINY.items()}
    config = {'model': {'preset': 'small-objects', **model},
              'train': {'sources': [{'data': str(root)},
                                    {'data': str(root), 'labels': ['pose'], 'weight': 0.5, 'elbo': 0.3}],
                        'losses': {'mask': 1.0, 'placement': 1.0, 'pose': 0.3, 'attributes': 0.1},
                        'balance': 'uncertainty', 'steps': 4, 'batch_size': 4, 'log_every': 1, 'eval_every': 4,
                        'eval_clips': 2, 'checkpoint_every': 4, 'num_threads': 1, 'amp': 'off'}}
    path = tmp_path / 'train.yaml'
    path.write_text(yaml.safe_dump(config))
    assert main(['--config', str(path), '--run-dir', str(tmp_path / 'run'), '--no-progress']) == 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / 'run' / 'tb'))
    events.Reload()
    tags = set(events.Tags()['scalars'])
    assert {'train/sup_mask', 'train/sup_placement', 'train/sup_pose', 'train/sup_attributes', 'train/elbo',
            'balance/log_var_mask', 'val/pose_r2'} <= tags
    bundle = load_bundle(tmp_path / 'run' / 'bundle')
    assert torch.isfinite(bundle.pose_head.residual_std).all()      # validation residuals: the node's covariance
    assert not torch.equal(bundle.pose_head.target_std, torch.ones(11))
