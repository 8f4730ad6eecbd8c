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

"""Teachers of whole objects: the edge-aware refinement, the full-resolution motion teacher, self-training, the loss."""
import cv2
import numpy as np
import pytest
import torch

from test_real_video import moving_square_frames, write_sequence
from video_object_node.learn.supervision import foreground_loss
from video_object_node.learn.teacher import (IGNORE, agree_with_motion, full_resolution_motion, motion_teacher,
                                             segment_motion, student_segment, teacher_mask)
from video_object_node.sensing.edges import guided_filter


def _iou(a, b):
    return np.logical_and(a, b).sum() / np.logical_or(a, b).sum()


def test_the_guided_filter_moves_a_blurred_boundary_onto_the_image_edge():
    step = np.zeros((32, 32), np.float32)
    step[:, 16:] = 1.0                                                  # the image: an edge between columns 15 and 16
    blurred = cv2.GaussianBlur(step, (0, 0), 3)                         # a soft map that spills across it
    out = guided_filter(step, blurred)
    assert (out[:, 14:16] < blurred[:, 14:16]).all()                    # the dark side loses what spilled onto it
    assert (out[:, 16:18] > blurred[:, 16:18]).all()                    # the bright side gets it back
    near = slice(13, 19)                                                # within the filter's radius of the edge
    assert np.abs(out - step)[:, near].mean() < 0.85 * np.abs(blurred - step)[:, near].mean()
    assert (out[:, 16] - out[:, 15]).min() > 2.5 * (blurred[:, 16] - blurred[:, 15]).max()   # a steeper boundary
    flat = np.full((32, 32), 0.5, np.float32)                           # no edge in the guide: plain smoothing

    def box(x):
        return cv2.blur(x, (7, 7), borderType=cv2.BORDER_REFLECT)
    assert np.abs(guided_filter(flat, blurred) - box(box(blurred))).max() < 1e-4
    with pytest.raises(ValueError, match='differ in size'):
        guided_filter(step, blurred[:16])


def test_the_motion_teacher_finds_the_moving_object_with_or_without_the_edges():
    frames, masks = moving_square_frames(8, size=96, start=10, step=3, side=30)
    truth = np.stack([cv2.resize(m, (48, 48), interpolation=cv2.INTER_NEAREST) > 0 for m in masks])
    fine = full_resolution_motion(frames, (48, 48))
    assert fine.shape == (8, 48, 48) and fine[0].max() == 0            # the first frame has no previous one
    assert fine[1:][truth[1:]].mean() > 3 * fine[1:][~truth[1:]].mean()
    fg, usable = motion_teacher(frames, (48, 48))
    assert usable[1:].all() and _iou(fg[1:], truth[1:]) > 0.75
    assert np.array_equal(fg, segment_motion(fine)[0])
    edged, usable = motion_teacher(frames, (48, 48), edges=True)        # refined along the (textured) frame's edges
    assert usable[1:].all() and _iou(edged[1:], truth[1:]) > 0.65
    still, usable = motion_teacher(np.repeat(frames[:1], 4, axis=0), (48, 48))
    assert not usable.any()                                             # nothing moves: no frame teaches
    mask = teacher_mask(still, usable)
    assert (mask == IGNORE).all()


def test_a_self_training_round_keeps_the_students_segment_only_where_it_agrees_with_motion():
    teacher = np.zeros((3, 8, 8), np.uint8)
    teacher[:, 2:6, 2:6] = 1
    teacher[2] = IGNORE                                                 # an unusable frame stays left out
    masks = np.zeros((3, 2, 8, 8), np.float32)                          # [T, K, H, W]
    masks[:, 0] = 1.0
    masks[:, 1, 2:6, 2:7] = 2.0                                         # slot 1: the object and a column beside it
    masks[1, 1] = 0.0                                                   # frame 1: slot 1 lost it
    masks[1, 1, 0:2, 0:2] = 2.0
    student = student_segment(masks, teacher)
    assert student[0, 2:6, 2:7].all() and student[0].sum() == 20        # slot 1 chosen
    out = agree_with_motion(student, teacher)
    assert out[0].sum() == 20                                           # agrees (IoU 0.8): the student's segment
    assert (out[1] == teacher[1]).all()                                 # disagrees: the motion teacher stays
    assert (out[2] == IGNORE).all()


def test_the_foreground_loss_pulls_the_overlapping_slot_onto_the_object():
    y = torch.zeros(1, 4, 16, 16, dtype=torch.uint8)
    y[:, :, 4:12, 4:12] = 1
    has = torch.tensor([True])

    def masks_with(region, slot):                                       # one slot on ``region``, another on the rest
        m = torch.full((1, 4, 3, 16, 16), 0.01)
        m[0, :, slot, region] = 0.98
        m[0, :, (slot + 1) % 3, ~region] = 0.98
        return m

    truth = y[0, 0] == 1
    right = foreground_loss(masks_with(truth, 2), y, has).item()
    blurred = foreground_loss(torch.full((1, 4, 3, 16, 16), 1 / 3), y, has).item()
    wrong = foreground_loss(masks_with(torch.roll(truth, 6, dims=1), 2), y, has).item()
    assert right < 0.05 and right < blurred < wrong
    assert foreground_loss(masks_with(truth, 0), y, has).item() == pytest.approx(right, rel=1e-5)   # any slot
    assert foreground_loss(masks_with(truth, 2), y, torch.tensor([False])) is None
    ignored = torch.full_like(y, IGNORE)
    assert foreground_loss(masks_with(truth, 2), ignored, has) is None  # every frame left out: nothing to learn
    half = y.clone()
    half[:, 2:] = IGNORE                                                # frames left out do not count
    assert foreground_loss(masks_with(truth, 2), half, has).item() == pytest.approx(right, rel=1e-5)
    logits = torch.zeros(1, 4, 3, 16, 16, requires_grad=True)
    placement = torch.zeros(1, 3, 4, 4, requires_grad=True)
    foreground_loss(torch.softmax(logits, dim=2), y, has, placement).backward()
    assert logits.grad.abs().sum() > 0 and placement.grad.abs().sum() > 0


def test_banks_carry_annotated_and_taught_foregrounds(tmp_path):
    from video_object_node.model.config import SimoneConfig
    from video_object_node.data.video_dataset import FromVideoOptions, from_video
    from video_object_node.learn.banks import ClipBank
    frames, masks = moving_square_frames(16, size=96, start=4, step=3, side=28)
    seq = write_sequence(tmp_path / 'seq', frames, masks, '.png')
    from_video([seq], tmp_path / 'ds', FromVideoOptions(frames=8, split='train', size=(64, 64)), progress=False)
    cfg = SimoneConfig.preset('real-motion', frames=4, height=32, width=32)
    annotated = ClipBank(tmp_path / 'ds', 'train', cfg, labels=('foreground',))
    assert annotated.label_kinds == ('foreground',) and annotated.foreground.shape == (2, 8, 32, 32)
    assert set(np.unique(annotated.foreground)) == {0, 1}
    taught = ClipBank(tmp_path / 'ds', 'train', cfg, labels=(), teacher='motion')
    assert taught.label_kinds == ('foreground',)
    usable = ~(taught.foreground == IGNORE).all(axis=(2, 3))
    assert usable.sum() >= 10                                           # the square moves in most frames
    assert _iou(taught.foreground[usable] == 1, annotated.foreground[usable] == 1) > 0.5
    rows = taught.label_rows(np.array([1]), np.array([2]))
    assert rows[0]['foreground'].shape == (4, 32, 32)


def test_edge_aware_upsampling_puts_a_segment_boundary_on_the_image_edge():
    from video_object_node.runtime.overlay import debug_view, segment_labels, segment_mask
    masks = np.zeros((2, 8, 8), np.float32)
    masks[0, :, :4], masks[1, :, 4:] = 1.0, 1.0                         # the model's boundary: column 32 of 64
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, 37:] = 200                                                 # the object's real edge: column 37
    blocks = segment_labels(masks, None, 64, 64)
    sharp = segment_labels(masks, image, 64, 64)
    assert (blocks[:, :32] == 0).all() and (blocks[:, 32:] == 1).all()
    boundary = (sharp == 1).argmax(axis=1)                              # first column of slot 1 on each row
    assert (np.abs(boundary - 37) <= 1).all()                           # moved onto the edge
    query = segment_mask(masks, 1, 64, 64, image=image)
    assert (query[:, 38:] == 255).all() and (query[:, :36] == 0).all()
    view = debug_view(image, masks, np.array([3, 4]), edges=True)
    assert view.shape == (64, 64, 3) and not np.array_equal(view, debug_view(image, masks, np.array([3, 4])))


def test_a_bundle_as_teacher_runs_a_self_training_round_over_a_bank(tmp_path):
    from video_object_node.model.config import SimoneConfig
    from video_object_node.data.dataset import DatasetError
    from video_object_node.data.video_dataset import FromVideoOptions, from_video
    from video_object_node.learn.banks import ClipBank
    from video_object_node.model import Simone, save_bundle
    frames, masks = moving_square_frames(16, size=96, start=4, step=3, side=28)
    seq = write_sequence(tmp_path / 'seq', frames, masks, '.png')
    from_video([seq], tmp_path / 'ds', FromVideoOptions(frames=8, split='train', size=(64, 64)), progress=False)
    tiny = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1,
                decoder_hidden=16, frames=4, height=32, width=32)
    cfg = SimoneConfig.preset('real-motion', **tiny)
    torch.manual_seed(0)
    student = save_bundle(Simone(cfg), tmp_path / 'student')
    motion = ClipBank(tmp_path / 'ds', 'train', cfg, labels=(), teacher='motion').foreground
    taught = ClipBank(tmp_path / 'ds', 'train', cfg, labels=(), teacher=str(student)).foreground
    assert taught.shape == motion.shape
    assert ((taught == IGNORE) == (motion == IGNORE)).all()             # the same frames are left out
    changed = (taught != motion).any(axis=(2, 3))
    for i, t in zip(*np.nonzero(changed)):                              # where the student replaced the teacher,
        assert _iou(taught[i, t] == 1, motion[i, t] == 1) >= 0.5        # it agreed with it
    other = save_bundle(Simone(SimoneConfig.preset('real-motion', **dict(tiny, height=48, width=48))), tmp_path / 'o')
    with pytest.raises(DatasetError, match='another input'):
        ClipBank(tmp_path / 'ds', 'train', cfg, labels=(), teacher=str(other))
    with pytest.raises(DatasetError, match='readable bundle'):
        ClipBank(tmp_path / 'ds', 'train', cfg, labels=(), teacher=str(tmp_path / 'nothing'))
