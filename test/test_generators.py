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

"""The classic video generators (``generation/<kind>.py``) and their one training harness."""
import json

import numpy as np
import pytest
import torch

from video_object_node.generation import scores as gs
from video_object_node.generation.harness import KINDS, HarnessError, Schedule, Trainer, Windows, make_generator

SIZE, FRAMES = (16, 16), 8
TINY = {'mocogan': dict(width=16), 'vgan': dict(width=16), 'tgan': dict(width=16), 'dvdgan': dict(width=16),
        'swgan': dict(width=16, projections=32, patches_per_clip=4), 'svg': dict(width=16, hidden=32),
        'videovae': dict(width=16, hidden=32, code_dim=32), 'vid2vid': dict(width=8, layout_classes=4)}


def tiny(kind):
    torch.manual_seed(0)
    return make_generator(kind, size=SIZE, frames=FRAMES, channels=3, **TINY[kind])


def clips(n=4, t=10, seed=0):
    """Make moving squares on a flat background: video uint8 [n, t, 3, 16, 16] and their masks (0 ground, 1 square)."""
    rng = np.random.default_rng(seed)
    video = np.zeros((n, t, 3, *SIZE), np.uint8)
    masks = np.zeros((n, t, *SIZE), np.int64)
    for i in range(n):
        video[i] = (rng.integers(40, 90, 3)[:, None, None])[None]
        colour, x, y = rng.integers(150, 255, 3), int(rng.integers(0, 8)), int(rng.integers(0, 8))
        for f in range(t):
            xs = min(SIZE[1] - 6, x + f // 2)
            video[i, f, :, y:y + 6, xs:xs + 6] = colour[:, None, None]
            masks[i, f, y:y + 6, xs:xs + 6] = 1
    return torch.from_numpy(video), masks


def test_every_kind_is_registered_with_its_idea():
    assert set(KINDS) == {'mocogan', 'vgan', 'tgan', 'svg', 'videovae', 'dvdgan', 'swgan', 'vid2vid'}
    for kind in KINDS:
        model = tiny(kind)
        assert model.kind == kind and model.idea and set(model.needs) <= {'context', 'layout'}
        groups = model.param_groups()
        assert {g for g, _ in model.phases()} == set(groups)
        owned = [id(p) for ps in groups.values() for p in ps]
        assert len(owned) == len(set(owned)) == len(list(model.parameters())), 'every parameter in exactly one group'
    with pytest.raises(HarnessError, match="unknown --kind 'gan'"):
        make_generator('gan', size=SIZE, frames=FRAMES, channels=3)


@pytest.mark.parametrize('kind', list(KINDS))
def test_shapes(kind):
    model = tiny(kind).eval()
    video, masks = clips(3, FRAMES)
    real = {'video': video.float() / 255, 'masks': torch.from_numpy(masks)}
    with torch.no_grad():
        out = model.sample(3, torch.Generator().manual_seed(1), real if model.needs else None)
        again = model.sample(3, torch.Generator().manual_seed(1), real if model.needs else None)
    assert out.shape == (3, FRAMES, 3, *SIZE) and out.dtype == torch.float32
    assert float(out.min()) >= 0 and float(out.max()) <= 1 and torch.equal(out, again)
    if 'context' in model.needs or hasattr(model, 'predict'):
        with torch.no_grad():
            pred = model.predict(real['video']) if hasattr(model, 'predict') else out
        context = getattr(model, 'context', 1)
        assert torch.equal(pred[:, :context], real['video'][:, :context]), 'the given frames are kept'
    if kind == 'vid2vid':
        assert torch.equal(out[:, 0], real['video'][:, 0]), 'vid2vid starts from the real first frame'


def _phase_loss(model, group, batch, seed):
    torch.manual_seed(seed)
    ctx = {'rng': np.random.default_rng(seed), 'step': 0, **batch}
    fn = dict(model.phases())[group]
    return fn(ctx)[0]


@pytest.mark.parametrize('kind', list(KINDS))
def test_one_step_lowers_each_phase_loss_on_a_tiny_batch(kind):
    """Each phase's loss on a fixed batch (same noise) is lower after one step of that phase's optimiser."""
    model = tiny(kind).train()
    video, masks = clips(4, FRAMES)
    batch = {'video': video.float() / 255, 'masks': torch.from_numpy(masks)}
    for group, params in model.param_groups().items():
        others = [p for g, ps in model.param_groups().items() if g != group for p in ps]
        for p in others:
            p.requires_grad_(False)
        before = _phase_loss(model, group, batch, seed=3)
        opt = torch.optim.Adam(params, lr=1e-4)
        opt.zero_grad()
        before.backward()
        opt.step()
        with torch.no_grad():
            after = _phase_loss(model, group, batch, seed=3)
        for p in others:
            p.requires_grad_(True)
        before = float(before.detach())
        assert float(after) < before, f'{kind} {group}: {before:.5f} -> {float(after):.5f}'


def _trainer(kind, run, steps, resume=False):
    schedule = Schedule(minutes=5, max_steps=steps, batch=4, warmup_steps=2, log_every=1, checkpoint_seconds=1e9)
    return Trainer(kind, {'size': SIZE, 'frames': FRAMES, 'channels': 3, **TINY[kind]}, run, schedule, resume=resume)


@pytest.mark.parametrize('kind', ['mocogan', 'vid2vid'])
def test_the_harness_resumes_bit_for_bit(tmp_path, kind):
    """Four steps in one go equal two steps, a stop, and two more from the checkpoint (same batches, same noise)."""
    video, masks = clips()
    windows = Windows(video, masks if kind == 'vid2vid' else None, FRAMES)
    whole = _trainer(kind, tmp_path / 'whole', 4)
    whole.fit(windows)
    half = _trainer(kind, tmp_path / 'half', 2)
    record = half.fit(windows)
    assert record['steps'] == 2
    resumed = _trainer(kind, tmp_path / 'half', 4, resume=True)
    assert resumed.step == 2
    record = resumed.fit(windows)
    assert record['steps'] == 4 and record['steps_this_call'] == 2
    for (name, a), (_, b) in zip(whole.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), name
    history = [json.loads(line) for line in (tmp_path / 'half' / 'history.jsonl').read_text().splitlines()]
    assert [h['step'] for h in history] == [1, 2, 3, 4]
    assert any((tmp_path / 'half' / 'tb').iterdir())
    with pytest.raises(HarnessError, match='already holds checkpoints'):
        _trainer(kind, tmp_path / 'half', 4)
    with pytest.raises(HarnessError, match='nothing to resume'):
        _trainer(kind, tmp_path / 'empty', 4, resume=True)
    other = 'tgan' if kind != 'tgan' else 'vgan'
    with pytest.raises(HarnessError, match=f'holds a {kind} run, not {other}'):
        Trainer(other, {'size': SIZE, 'frames': FRAMES, 'channels': 3}, tmp_path / 'half',
                Schedule(minutes=1), resume=True)


def test_schedule_and_windows_refuse_bad_values():
    with pytest.raises(HarnessError, match='--minutes must be > 0'):
        Schedule(minutes=0).check()
    with pytest.raises(HarnessError, match='the generator needs windows of 8'):
        Windows(clips(2, 6)[0], None, 8)


def test_vgan_draws_the_background_where_its_mask_is_empty():
    model = tiny('vgan').eval()
    with torch.no_grad():
        video, foreground, mask, background = model.layers(2, torch.Generator().manual_seed(0))
        expected = mask * foreground + (1 - mask) * background[:, None]
    assert torch.allclose(video, expected)
    assert video.shape == (2, FRAMES, 3, *SIZE) and mask.shape == (2, FRAMES, 1, *SIZE)


def test_vid2vid_warp_moves_an_image_by_its_flow():
    from video_object_node.generation.vid2vid import warp
    frame = torch.zeros(1, 1, 9, 9)
    frame[0, 0, 4, 4] = 1
    assert torch.allclose(warp(frame, torch.zeros(1, 2, 9, 9)), frame, atol=1e-6)
    flow = torch.zeros(1, 2, 9, 9)
    flow[:, 0] = 2 * 2 / 8                                  # two pixels in grid units (align_corners: 8 steps of 2)
    moved = warp(frame, flow)
    assert moved[0, 0, 4, 2] > 0.99 and moved.sum() == pytest.approx(1, abs=1e-5)


def test_sliced_wasserstein_is_zero_for_a_set_and_grows_with_a_shift():
    from video_object_node.generation.swgan import sliced_wasserstein
    a = torch.randn(64, 12, generator=torch.Generator().manual_seed(0))
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    assert float(sliced_wasserstein(a, a[torch.randperm(64)], 16, g())) == pytest.approx(0, abs=1e-10)
    near, far = sliced_wasserstein(a, a + 0.1, 16, g()), sliced_wasserstein(a, a + 1.0, 16, g())
    assert 0 < float(near) < float(far)


def test_prediction_scores_psnr_ssim_and_copy_baseline():
    torch.manual_seed(0)
    truth = torch.rand(3, 6, 3, 16, 16)
    perfect = gs.prediction_scores(truth.clone(), truth, context=2)
    assert perfect['model']['ssim'] == pytest.approx(1, abs=1e-6) and perfect['model']['psnr'] >= 99
    assert len(perfect['model']['psnr_per_step']) == 4
    noisy = gs.prediction_scores((truth + 0.1 * torch.randn_like(truth)).clamp(0, 1), truth, context=2)
    assert 15 < noisy['model']['psnr'] < 25 and noisy['model']['ssim'] < 1
    assert noisy['copy_last_frame'] == perfect['copy_last_frame'], 'the copy baseline reads only the truth'
    still = truth[:, :1].expand_as(truth).clone()
    assert gs.prediction_scores(still, still, context=2)['copy_last_frame']['ssim'] == pytest.approx(1, abs=1e-6)


def test_mask_following_iou_matches_ids_and_punishes_a_merge():
    _video, masks = clips(2, 4)
    assert gs.mask_following_iou(masks, masks) == pytest.approx(1)
    assert gs.mask_following_iou(5 - masks, masks) == pytest.approx(1), 'ids are matched, not compared'
    merged = gs.mask_following_iou(np.zeros_like(masks), masks)
    assert 0 < merged < 1                                    # the ground is found, the square is not
    held = np.repeat(masks[:, :1], 4, axis=1)                # a square that does not move
    assert merged < gs.mask_following_iou(held, masks) < 1


def test_layout_from_segments_puts_the_border_segment_first():
    seg = np.full((1, 2, 8, 8), 4)
    seg[0, :, 2:5, 2:5] = 1
    seg[0, :, 5:7, 5:7] = 3
    layout = gs.layout_from_segments(seg)
    assert layout[0, 0, 0, 0] == 0 and layout[0, 0, 3, 3] == 1 and layout[0, 0, 6, 6] == 2
