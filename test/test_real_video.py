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

"""Real footage: from-video data sets, motion as input and teacher, foreground scores with their baselines."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from video_object_node.model.config import SimoneConfig
from video_object_node.data.dataset import ClipDataset, read_index
from video_object_node.data.video_dataset import FromVideoOptions, VideoDatasetError, from_video
from video_object_node.learn.foreground import foreground_scores
from video_object_node.scores.segments import best_segment, boundary_f, centre_box, j_and_f, window_j
from video_object_node.learn.supervision import affine_motion_loss, motion_mask_loss, pseudo_foreground
from video_object_node.sensing.motion import MOTION_SCALE_PX, STILL, clip_motion, frame_motion, motion_magnitude

SIZE = 48


def moving_square_frames(n: int, size: int = 96, start: int = 20, step: int = 2, side: int = 24, seed: int = 0):
    """
    Make a panning textured background with a square moving right.

    A textured background that pans by one pixel a frame, and a square moving ``step`` pixels a frame to the
    right: uint8 RGB frames [n, size, size, 3] and masks [n, size, size] (1 = the square).
    """
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur(rng.integers(0, 255, (size, size * 2, 3), dtype=np.uint8), (0, 0), 2)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (side, side, 3), dtype=np.uint8), (0, 0), 1)
    frames, masks, top = [], [], (size - side) // 2
    for t in range(n):
        frame = np.ascontiguousarray(background[:, t:t + size])
        x = start + step * t
        frame[top:top + side, x:x + side] = texture
        mask = np.zeros((size, size), np.uint8)
        mask[top:top + side, x:x + side] = 255
        frames.append(frame)
        masks.append(mask)
    return np.stack(frames), np.stack(masks)


def write_sequence(root, frames, masks=None, suffix='.jpg'):
    (root / 'frames').mkdir(parents=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(root / 'frames' / f'{i:05d}{suffix}'), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    if masks is not None:
        (root / 'masks').mkdir()
        for i, m in enumerate(masks):
            cv2.imwrite(str(root / 'masks' / f'{i:05d}.png'), m)
    return root


def write_video(path, frames, fps=10):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, frames.shape[2:0:-1])
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp('real')
    frames, masks = moving_square_frames(20)
    a = write_sequence(root / 'seq-a', frames, masks, '.png')
    b = write_sequence(root / 'seq-b', *moving_square_frames(12, seed=1))
    video = write_video(root / 'walk.avi', moving_square_frames(17, seed=2)[0])
    return root, a, b, video, frames, masks


# from-video -----------------------------------------------------------------------------------------------
def test_frame_folders_and_videos_become_clips_split_by_sequence(sources, tmp_path):
    root, a, b, video, frames, masks = sources
    opts = FromVideoOptions(frames=4, every=2, test=('seq-b',), size=(SIZE, SIZE), masks=True)
    with pytest.raises(VideoDatasetError, match='mixes sequences with masks and without'):
        from_video([a, video], tmp_path / 'mixed', FromVideoOptions(frames=4, size=(SIZE, SIZE)))   # walk.avi: none
    index = from_video([a, b], tmp_path / 'ds', opts, progress=False)
    assert index['splits']['train']['clips'] == 2 and index['splits']['test']['clips'] == 1   # 10 and 6 frames
    assert index['splits']['test']['sequences'] == ['seq-b'] and index['labels']['train'] == ['masks', 'video']
    assert index['counts']['frames_left_over'] == 2 + 2
    clip = ClipDataset(tmp_path / 'ds', 'train')[1]
    assert clip['video'].shape == (4, SIZE, SIZE, 3) and clip['masks'].shape == (4, SIZE, SIZE)
    assert clip['stamps_ns'].tolist() == [round(i / 30 * 1e9) for i in (8, 10, 12, 14)]     # every 2nd frame
    # Cropped and resized as the node does: the mask lands where the square is, as 0/1.
    expected = cv2.resize(masks[8], (SIZE, SIZE), interpolation=cv2.INTER_NEAREST) > 0
    assert set(np.unique(clip['masks'])) == {0, 1}
    assert (clip['masks'][0].astype(bool) == expected).mean() > 0.98
    # Without masks, and a video file: an unlabelled set in one split.
    index = from_video([a, video], tmp_path / 'plain',
                       FromVideoOptions(frames=8, split='val', size=(SIZE, SIZE), masks=False), progress=False)
    assert index['splits']['val']['clips'] == 2 + 2 and index['labels']['val'] == ['video']
    assert 'masks' not in ClipDataset(tmp_path / 'plain', 'val')[0]


def test_bad_video_inputs_give_one_line_and_exit_2(sources, tmp_path):
    root, a, _b, _video, frames, masks = sources
    (tmp_path / 'broken.mp4').write_bytes(b'not a video')
    empty = tmp_path / 'empty'
    (empty / 'frames').mkdir(parents=True)
    wrong = write_sequence(tmp_path / 'wrong', frames[:6], masks[:6, :50])             # masks of another size
    cases = [([str(tmp_path / 'broken.mp4')], 'not a readable video'),
             ([str(empty)], 'no frames'),
             ([str(wrong)], 'mask is 96x50, its frame 96x96'),
             ([str(tmp_path / 'missing')], 'no such file or folder'),
             ([str(a)], 'make no clip of 64')]
    for srcs, reason in cases:
        out = tmp_path / 'out'
        frames_arg = '64' if 'make no clip' in reason else '4'
        command = [sys.executable, '-m', 'video_object_node.data.bag_dataset', 'from-video', *srcs, str(out),
                   '--frames', frames_arg, '--no-progress']
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 2, (srcs, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and reason in lines[0], result.stderr
        assert not out.exists() and not (tmp_path / 'out.partial').exists()


# motion -----------------------------------------------------------------------------------------------------
def test_motion_channels_show_what_moves_unlike_the_camera():
    frames, masks = moving_square_frames(3, step=3)
    motion = frame_motion(frames[0], frames[1])                         # the camera pans 1 px, the square 3 px
    assert motion.shape == (2, 96, 96) and motion.dtype == np.float32
    magnitude = motion_magnitude(motion)
    inside = masks[1] > 0
    core = cv2.erode(inside.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert np.median(magnitude[core]) > 1.5                             # ~2 px against the background
    assert np.median(magnitude[~cv2.dilate(inside.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)]) < 0.3
    assert np.all(frame_motion(None, frames[0]) == STILL)                 # no previous frame: still
    stored = clip_motion(frames)
    assert stored.dtype == np.uint8 and np.all(stored[0] == 128)
    assert np.array_equal(stored[1], np.round(motion * 255).astype(np.uint8))   # a stream sees what a clip holds


def test_one_affine_motion_per_segment_costs_nothing_and_two_cost_more():
    h = w = 16
    ys, xs = torch.meshgrid((torch.arange(h) + 0.5) / h * 2 - 1, (torch.arange(w) + 0.5) / w * 2 - 1, indexing='ij')
    affine = torch.stack([0.3 * xs + 0.1 * ys + 0.5, -0.2 * xs + 0.4 * ys - 1.0])[None, None]   # [1, 1, 2, h, w]
    one_slot = torch.zeros(1, 1, 3, h, w)
    one_slot[:, :, 0] = 1
    assert affine_motion_loss(one_slot, affine).item() < 1e-6
    two_motions = affine.clone()
    two_motions[..., :, :8] += 2.0                                      # the left half moves 2 more to the right
    merged = affine_motion_loss(one_slot, two_motions).item()
    assert merged > 0.3                                                 # a linear fit cannot take a step
    split = torch.zeros(1, 1, 3, h, w)
    split[:, :, 0, :, :8], split[:, :, 1, :, 8:] = 1, 1
    assert affine_motion_loss(split, two_motions).item() < 1e-6
    soft = torch.softmax(torch.randn(1, 1, 3, h, w, requires_grad=True) * 0.1, dim=2)
    loss = affine_motion_loss(soft, two_motions)
    assert merged * 0.5 < loss.item()                                   # a blurred split explains less
    loss.backward()                                                     # differentiable through the fit


def test_motion_teaches_the_slot_that_covers_what_moves():
    frames, masks = moving_square_frames(9, size=64, start=4, step=3, side=20)
    motion = torch.from_numpy(clip_motion(frames, (32, 32))[1:].astype(np.float32) / 255.0)[None]  # [1, 8, 2, h, w]
    truth = torch.from_numpy(cv2.resize(masks[1:].transpose(1, 2, 0), (32, 32), interpolation=cv2.INTER_NEAREST)
                             .transpose(2, 0, 1) > 0)                                              # [8, 32, 32]
    fg, usable = pseudo_foreground(motion[0].numpy())
    assert usable.all() and (fg & truth.numpy()).sum() / (fg | truth.numpy()).sum() > 0.5
    still = torch.full_like(motion, float(STILL))
    assert not pseudo_foreground(still[0].numpy())[1].any()         # nothing moves: no frame teaches
    no = torch.tensor([False])
    assert motion_mask_loss(torch.full((1, 8, 3, 32, 32), 1 / 3), still, no) is None
    assert motion_mask_loss(torch.full((1, 8, 3, 32, 32), 1 / 3), motion, torch.tensor([True])) is None

    def masks_with(region, slot):                                     # one slot on ``region``, another on the rest
        m = torch.full((1, 8, 3, 32, 32), 0.01)
        m[0, :, slot][region] = 0.98
        m[0, :, (slot + 1) % 3][~region] = 0.98
        return m

    copied = motion_mask_loss(masks_with(torch.from_numpy(fg), 2), motion, no).item()
    right = motion_mask_loss(masks_with(truth, 2), motion, no).item()
    blurred = motion_mask_loss(torch.full((1, 8, 3, 32, 32), 1 / 3), motion, no).item()
    wrong = motion_mask_loss(masks_with(torch.roll(truth, 12, dims=2), 2), motion, no).item()
    assert copied < 0.05 and right < blurred < wrong               # the object's own slot, not a region beside it
    assert motion_mask_loss(masks_with(truth, 0), motion, no).item() == pytest.approx(right, rel=1e-5)
    logits = torch.zeros(1, 8, 3, 32, 32, requires_grad=True)
    placement = torch.zeros(1, 3, 8, 4, requires_grad=True)
    motion_mask_loss(torch.softmax(logits, dim=2), motion, no, placement).backward()
    assert logits.grad.abs().sum() > 0 and placement.grad.abs().sum() > 0


# scores -----------------------------------------------------------------------------------------------------
def test_foreground_scores_on_hand_made_windows():
    fg = np.zeros((2, 8, 8), bool)
    fg[:, 2:6, 2:6] = True                                              # 16 pixels a frame
    seg = np.zeros((2, 8, 8), int)
    seg[:, 2:6, 2:4] = 1                                                # half the object
    seg[:, 2:6, 4:6] = 2                                                # the other half
    assert best_segment(seg, fg)[1] == pytest.approx(0.5)
    seg[1, 2:6, 2:6] = 1                                                # frame 1: all of it
    label, j = best_segment(seg, fg)
    assert label == 1 and j == pytest.approx((8 + 16) / 32)
    assert window_j(fg, fg) == 1.0 and j_and_f(fg, fg) == 1.0 and boundary_f(fg[0], fg[0]) == 1.0
    assert boundary_f(np.zeros((8, 8), bool), fg[0]) == 0.0
    box = centre_box((1, 8, 8))
    assert box.sum() == 16 and box[0, 2:6, 2:6].all()
    # The record-level scores: a model segment equal to the truth scores 1; the baselines are computed beside.
    frames, masks = moving_square_frames(9, size=32, start=2, step=2, side=10)
    truth = (masks[1:] > 0).astype(np.int64)
    record = {'seg': truth.copy(), 'masks': truth, 'video': frames[1:], 'clip': 0,
              'motion': clip_motion(frames)[1:]}
    per = foreground_scores([record], num_slots=4)
    assert per['best_slot_j'] == [1.0] and per['j_and_f'] == [1.0]
    assert 0.5 < per['motion_j'][0] <= 1.0                              # the square moves unlike the pan
    assert 0.5 < per['motion_teacher_j'][0] <= 1.0                      # ... and the motion teacher finds it
    assert per['box_j'][0] < 0.5 and 0 < per['kmeans_best_slot_j'][0] <= 1


def test_eval_reports_the_foreground_keys_for_a_motion_model(sources, tmp_path):
    from video_object_node.learn.evaluate import evaluate
    from video_object_node.model.simone import Simone
    _root, a, b, _video, _frames, _masks = sources
    from_video([a, b], tmp_path / 'ds', FromVideoOptions(frames=8, split='test', size=(64, 64)), progress=False)
    cfg = SimoneConfig.preset('real-motion', frames=4, height=32, width=32)
    torch.manual_seed(0)
    report = evaluate(Simone(cfg).eval(), tmp_path / 'ds', 'test', progress=False, out=tmp_path / 'eval')
    for key in ('best_slot_j', 'j_and_f', 'kmeans_best_slot_j', 'box_j', 'motion_j', 'motion_teacher_j'):
        assert 0.0 <= report[key] <= 1.0, key
    assert set(report['per_sequence']['best_slot_j']) == {'seq-a', 'seq-b'}
    saved = json.loads((tmp_path / 'eval' / 'report.json').read_text())
    assert saved['motion_j'] == report['motion_j'] and read_index(tmp_path / 'ds')['preset'] == 'video'


def test_the_stream_adds_motion_as_the_data_set_does():
    from video_object_node.runtime.streaming import StreamingEncoder

    class Recorder:
        cfg = SimoneConfig.preset('real-motion', height=32, width=32, frames=4)

        def __init__(self):
            self.seen = []

        def encode_frames(self, frames):
            self.seen.append(frames[0])
            return np.zeros((1, self.cfg.num_spatial, self.cfg.model_dim), np.float32)

    frames, _ = moving_square_frames(6, size=32, start=2, step=2, side=10)
    backend = Recorder()
    stream = StreamingEncoder(backend, stride=1, max_frame_gap_ns=10**9)
    for t, f in enumerate(frames[:3]):
        stream.add(f.transpose(2, 0, 1).astype(np.float32) / 255, t * 10**8)
    stream.add(frames[3].transpose(2, 0, 1).astype(np.float32) / 255, 5 * 10**9)     # a gap: reset, still again
    seen = np.stack(backend.seen)
    assert seen.shape == (4, 5, 32, 32)
    expected = clip_motion(frames[:3]).astype(np.float32) / 255
    assert np.allclose(seen[:3, 3:], expected, atol=1e-6)
    assert np.all(seen[3, 3:] == STILL) and stream.resets['frame_gap'] == 1
    # Flow estimated on an image twice the model's size (as the node fits the camera's frame) and brought down to
    # the model's grid: what a data set computes from a clip stored at that size.
    big, _ = moving_square_frames(4, size=64, start=4, step=4, side=20)
    backend.seen.clear()
    stream = StreamingEncoder(backend, stride=1)
    for t, f in enumerate(big):
        small = cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA)
        stream.add(small.transpose(2, 0, 1).astype(np.float32) / 255, t, motion_image=f)
    expected = clip_motion(big, (32, 32)).astype(np.float32) / 255
    assert np.allclose(np.stack(backend.seen)[:, 3:], expected, atol=1e-6)
    moving = motion_magnitude(expected[2]) > 2 * MOTION_SCALE_PX / 4 / 2          # the square: 2 model pixels a frame
    assert moving[12:18, 8:20].mean() > 0.5 and moving[:6].mean() < 0.1


def test_a_bundle_is_carried_to_a_finer_grid_with_motion_channels():
    from video_object_node.model.simone import Simone
    from video_object_node.model.transfer import TransferError, transfer_state
    torch.manual_seed(0)
    small = SimoneConfig.preset('small-objects')
    big = SimoneConfig.preset('real-motion')
    source, target = Simone(small), Simone(big)
    state, adapted = transfer_state(source.state_dict(), small, target.state_dict(), big)
    target.load_state_dict(state)
    assert 'frame_encoder.position' in adapted and 'frame_encoder.cnn.0.weight' in adapted
    # Colour filters copied, motion filters zero; motion outputs of the decoder zero, colour and logit copied.
    w = target.frame_encoder.cnn[0].weight
    assert torch.equal(w[:, :3], source.frame_encoder.cnn[0].weight) and not w[:, 3:].any()
    # The same picture at twice the size decodes to about the same colours (the weights now see the finer grid).
    target.eval()
    source.eval()
    video = torch.rand(1, 8, 3, 32, 32)
    big_video = torch.cat([torch.nn.functional.interpolate(video[0], scale_factor=2)[None],
                           torch.full((1, 8, 2, 64, 64), 0.5)], dim=2)
    with torch.no_grad():
        out = target.decode_means(target.encode(big_video))
    assert torch.allclose(out.rgb[:, :, 3:], torch.full_like(out.rgb[:, :, 3:], 0.5))     # every slot draws "still"
    with pytest.raises(TransferError):
        other = SimoneConfig.preset('small-objects', model_dim=32, num_heads=4)
        transfer_state(source.state_dict(), small, Simone(other).state_dict(), other)


def test_the_shipped_real_footage_model_streams_camera_frames_through_either_backend():
    """
    models/default-real (model_path:=default-real).

    640x480 frames in, the motion its input needs computed from the stream, the same latents from ONNX Runtime and
    torch, and the motion channels matter to them.
    """
    from video_object_node.runtime.config import NodeConfig
    from video_object_node.runtime.pipeline import LatentPipeline
    frames, _ = moving_square_frames(12, size=96, start=10, step=4, side=30)
    frames = [cv2.resize(f, (640, 480)) for f in frames]
    means = {}
    for backend in ('onnxruntime', 'torch'):
        pipeline = LatentPipeline(NodeConfig(model_path='default-real', backend=backend, stride=4, decode_masses=True))
        assert pipeline.model_cfg.motion_input and pipeline.model_cfg.grid == (8, 8)
        results = [pipeline.window() for i, f in enumerate(frames)
                   if pipeline.add(pipeline.accept(f, (i + 1) * 33_000_000)).due]
        assert len(results) == 2 and abs(float(results[-1].masses.sum()) - 1.0) < 1e-3
        means[backend] = results[-1].latents.object_mean
    assert np.abs(means['onnxruntime'] - means['torch']).max() < 1e-3
    still = LatentPipeline(NodeConfig(model_path='default-real', backend='onnxruntime', stride=4))
    first = None
    for i, f in enumerate(frames):          # the flow estimated on one frozen image: no motion anywhere
        frame = still.accept(f, (i + 1) * 33_000_000)
        first = frame.motion_image if first is None else first
        frame.motion_image = first
        if still.add(frame).due:
            frozen = still.window().latents.object_mean
    assert np.abs(np.sort(frozen, 0) - np.sort(means['onnxruntime'], 0)).max() > 1e-2
