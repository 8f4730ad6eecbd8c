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

"""The objectness head: segments made whole by it, its training on exact masks, and the node's pipeline serving it."""
import json

import cv2
import numpy as np
import pytest
import torch

from video_object_node.learn.objectness_train import augment, fit, frame_j, loss_fn, paste
from video_object_node.model.objectness import ObjectnessNet
from video_object_node.runtime.objectness import whole_object_masks


def _split_object():
    """Three slots on 32x32: an object (rows 8-23, cols 8-23) split between slots 0 (left, more) and 1; slot 2 bg."""
    masks = np.zeros((3, 32, 32), np.float32)
    masks[2] = 1.0
    masks[:, 8:24, 8:18] = [[[0.9]], [[0.1]], [[0.0]]]
    masks[:, 8:24, 18:24] = [[[0.2]], [[0.8]], [[0.0]]]
    masks[:, 0:4, 0:32] = [[[0.5]], [[0.0]], [[0.5]]]        # slot 0 also spills over the top rows
    fg = np.zeros((32, 32), bool)
    fg[8:24, 8:24] = True
    return masks, fg


def test_a_split_object_goes_whole_to_the_slot_holding_most_of_it():
    masks, fg = _split_object()
    out = whole_object_masks(masks, fg)
    np.testing.assert_allclose(out.sum(axis=0), 1.0, atol=1e-6)
    seg = out.argmax(axis=0)
    assert (seg[fg] == 0).all()                       # whole, in slot 0 (it held 0.9 * 160 + 0.2 * 96 > slot 1)
    assert out[0][~fg].max() == 0.0                   # and nothing of slot 0 outside the object
    assert (seg[~fg] == 2).all()                      # the spill went to the background slot
    assert out[1].max() == 0.0                        # slot 1 is empty now


def test_a_slot_keeps_its_part_of_a_region_only_when_its_mass_lies_there():
    masks = np.zeros((3, 32, 32), np.float32)
    masks[2] = 1.0
    masks[:, 8:24, 8:16] = [[[1.0]], [[0.0]], [[0.0]]]        # the left half of one region: slot 0
    masks[:, 8:24, 16:24] = [[[0.0]], [[1.0]], [[0.0]]]       # the right half: slot 1, 128 of its pixels
    fg = np.zeros((32, 32), bool)
    fg[8:24, 8:24] = True
    kept = whole_object_masks(masks, fg, keep_share=0.1, keep_purity=0.6).argmax(axis=0)
    assert (kept[8:24, 16:24] == 1).all()             # slot 1 lies wholly in the region: a touching object, kept
    masks[:, 26:32, :] = [[[0.0]], [[1.0]], [[0.0]]]          # now slot 1 also holds 192 background pixels
    seg = whole_object_masks(masks, fg, keep_share=0.1, keep_purity=0.6).argmax(axis=0)
    assert (seg[fg] == 0).all()                       # 128 / 320 < 0.6: its piece goes to the top slot
    assert (seg[26:32] == 1).all()                    # and it keeps what it held outside
    split = whole_object_masks(masks, fg, keep_share=0.1).argmax(axis=0)
    assert (split[8:24, 16:24] == 1).all()            # without the condition it keeps its piece


def test_two_objects_stay_two_slots_and_noise_keeps_the_slots_masks():
    masks = np.full((3, 40, 40), 1 / 3, np.float32)
    masks[0, :, :20] += 0.2
    masks[2, :, :20] -= 0.2
    fg = np.zeros((40, 40), bool)
    fg[5:15, 2:12] = True                             # region A: slot 0 holds most of it
    fg[25:35, 4:14] = True                            # region B: slot 0 holds most of it too, but A took slot 0
    out = whole_object_masks(masks, fg)
    seg = out.argmax(axis=0)
    assert (seg[5:15, 2:12] == 0).all()
    assert len(np.unique(seg[25:35, 4:14])) == 1 and seg[30, 8] != 0
    np.testing.assert_allclose(out.sum(axis=0), 1.0, atol=1e-6)
    speck = np.zeros((40, 40), bool)
    speck[30, 30] = True                              # one pixel: below the region share, changes nothing
    np.testing.assert_array_equal(whole_object_masks(masks, speck), masks)
    np.testing.assert_array_equal(whole_object_masks(masks, np.zeros((40, 40), bool)), masks)


def test_when_every_slot_takes_a_region_the_rest_goes_to_the_last_that_holds_it():
    """All slots take regions (a LIDAR sweep's case: more clusters than slots): the mass outside them is kept whole."""
    masks = np.zeros((2, 4, 6), np.float32)
    masks[0], masks[1] = 0.3, 0.7
    masks[:, 0, :2] = [[1.0], [0.0]]                     # region 1: slot 0's
    masks[:, 3, 4:] = [[0.0], [1.0]]                     # region 2: slot 1's
    masks[:, 1, 0] = 0.0                                 # a pixel nobody holds stays empty
    labels = np.zeros((4, 6), np.int64)
    labels[0, :2], labels[3, 4:] = 1, 2
    out = whole_object_masks(masks, labels, min_share=0.0, order='label')
    assert (out[0, 0, :2] == 1).all() and (out[1, 3, 4:] == 1).all()
    rest = labels == 0
    # slot 0 took its part first and passed on its weight; slot 1, the last to take one, holds the rest whole
    np.testing.assert_allclose(out[:, rest].sum(axis=0), masks[:, rest].sum(axis=0), atol=1e-6)
    assert (out[1, rest & (masks.sum(axis=0) > 0)] == 1).all() and out[:, 1, 0].sum() == 0
    # with a slot that takes no region, the others' weight outside their parts goes to it, scaled to the pixel's sum
    three = np.concatenate([masks, np.full((1, 4, 6), 0.5, np.float32)]) / 1.5
    out = whole_object_masks(three, labels, min_share=0.0, order='label')
    np.testing.assert_allclose(out[2, rest], three[:, rest].sum(axis=0), atol=1e-6)
    assert out[:2, rest].max() == 0.0


def test_flip_reverses_horizontal_motion_and_paste_unions_the_masks():
    rng = np.random.default_rng(0)
    x = torch.rand(64, 5, 8, 8)
    y = (torch.rand(64, 1, 8, 8) > 0.5).float()
    x0, y0 = x.clone(), y.clone()
    xa, ya = augment(x.clone(), y.clone(), rng)
    flipped = [b for b in range(64) if torch.equal(ya[b], y0[b].flip(-1)) and not torch.equal(ya[b], y0[b])]
    assert 10 < len(flipped) < 54
    b = flipped[0]
    torch.testing.assert_close(xa[b, 3], 1.0 - x0[b, 3].flip(-1))        # horizontal motion changes sign
    torch.testing.assert_close(xa[b, 4], x0[b, 4].flip(-1))              # vertical motion does not
    inputs = np.zeros((2, 5, 16, 16), np.uint8)
    fg = np.zeros((2, 16, 16), np.uint8)
    donors = np.full((1, 5, 16, 16), 200, np.uint8)
    donor_fg = np.zeros((1, 16, 16), np.uint8)
    donor_fg[0, 6:10, 6:10] = 1
    out, out_fg = paste(inputs, fg, donors, donor_fg, rng)
    assert out_fg.sum(axis=(1, 2)).tolist() == [16, 16]
    assert (out[:, :, out_fg[0] > 0][0] == 200).all() and inputs.max() == 0      # the inputs are not changed


def test_recolour_shuffles_or_greys_the_colour_alone():
    x = torch.zeros(64, 5, 4, 4)
    x[:, :3] = torch.tensor([0.3, 0.5, 0.7])[:, None, None]                  # three distinct channels, everywhere
    x[:, 3:] = 0.25
    y = torch.ones(64, 1, 4, 4)
    orders = set()
    for recolour in (0.0, 1.0):
        xa, ya = augment(x.clone(), y.clone(), np.random.default_rng(1), recolour=recolour)
        assert torch.equal(ya, y) and torch.equal(xa[:, 4], x[:, 4])           # masks and motion untouched
        pixel = xa[:, :3, 0, 0]                                                # [64, 3] after gain and bias
        grey = (pixel.max(1).values - pixel.min(1).values) < 1e-6
        found = {tuple(np.argsort(p.numpy()).tolist()) for p in pixel[~grey]}
        orders.add((recolour, int(grey.sum()), len(found)))
    # Without it the channels keep their order and none is grey; with it every order and some grey samples appear.
    assert (0.0, 0, 1) in orders and any(r == 1.0 and 4 < g < 32 and n == 6 for r, g, n in orders)


def _square_samples(seed: int, n: int = 10):
    """Make a moving square over a panning background at 64x64: model inputs (RGB + motion) and masks."""
    from test_real_video import moving_square_frames
    from video_object_node.sensing.motion import clip_motion
    frames, masks = moving_square_frames(n, size=96, seed=seed)
    video = np.stack([cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in frames])
    inputs = np.concatenate([video.transpose(0, 3, 1, 2), clip_motion(frames, (64, 64))], axis=1)
    fg = np.stack([cv2.resize(m, (64, 64), interpolation=cv2.INTER_NEAREST) > 0 for m in masks]).astype(np.uint8)
    return inputs[1:], fg[1:]                        # the first frame has no motion


def test_fit_learns_a_moving_object_and_the_pipeline_serves_it_whole(tmp_path):
    from test_stream_eval import _write_sequence
    from test_real_video import moving_square_frames
    from video_object_node.export.objectness import attach
    from video_object_node.learn.stream_eval import evaluate_stream
    from video_object_node.model import Simone, SimoneConfig, save_bundle
    torch.manual_seed(0)
    train = [_square_samples(s) for s in (0, 1, 2)]
    val = _square_samples(3)
    run = tmp_path / 'run'
    result = fit(run, train, [0], val, minutes=5.0, batch=8, lr=3e-3, eval_every=40, max_steps=160, log=lambda _: 0)
    assert result['steps'] == 160 and result['best_val_frame_j'] > 0.6
    curve = [json.loads(line) for line in (run / 'curve.jsonl').read_text().splitlines()]
    assert len(curve) == 4 and curve[-1]['loss'] < 1.0
    # Resume: the run goes on from its step count.
    assert fit(run, train, [0], val, 5.0, batch=8, eval_every=40, max_steps=200, log=lambda _: 0)['steps'] == 200

    tiny = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1,
                decoder_hidden=16, frames=4)
    bundle = save_bundle(Simone(SimoneConfig.preset('real-motion', **tiny)), tmp_path / 'bundle')
    frames, masks = moving_square_frames(10, size=96, seed=4)
    _write_sequence(tmp_path / 'data' / 'seq', frames, masks)
    without = evaluate_stream(bundle, tmp_path / 'data', 'test', kmeans=False, threads=1, backend='torch',
                              progress=False)
    entry = attach(run, bundle)
    assert entry['parity_max_abs_diff'] < 1e-3 and entry['val_frame_j'] > 0.6
    assert json.loads((bundle / 'config.json').read_text())['objectness']['sha256'] == entry['sha256']
    assert (bundle / 'objectness.safetensors').read_bytes() == (run / 'best.safetensors').read_bytes()
    last = attach(run, tmp_path / 'bundle', keep='last')                  # the end of the schedule instead
    assert last['kept'] == 'last' and last['steps'] == 200 and last['val_frame_j'] is None
    assert (bundle / 'objectness.safetensors').read_bytes() == (run / 'last.safetensors').read_bytes()
    entry = attach(run, bundle)
    served = evaluate_stream(bundle, tmp_path / 'data', 'test', kmeans=False, threads=1, backend='torch',
                             progress=False)
    # An untrained slot model splits the square; the head gives it whole to one slot with its own boundary.
    assert served['fragments'] == 1.0 and served['frame_best_slot_j'] > 0.6
    assert served['frame_best_slot_j'] > without['frame_best_slot_j'] + 0.1


def test_loss_and_j_by_hand():
    target = torch.zeros(1, 1, 4, 4)
    target[..., :2, :] = 1
    good = (target * 2 - 1) * 8
    assert float(loss_fn(good, target)) < 0.01 < float(loss_fn(-good, target))
    pred = np.zeros((2, 4, 4), bool)
    pred[0, :2, :2] = True
    fg = np.zeros((2, 4, 4), bool)
    fg[0, :2, :] = True
    j = frame_j(pred, fg)
    assert j[0] == 0.5 and np.isnan(j[1])


def test_the_head_keeps_the_input_size():
    net = ObjectnessNet(channels=5)
    assert net(torch.rand(2, 5, 64, 64)).shape == (2, 1, 64, 64)


def test_zoom_scales_the_motion_with_the_picture():
    from video_object_node.learn.objectness_train import zoom
    x = torch.full((2, 5, 16, 16), 0.5)
    x[:, 3] = 0.5 + 0.1                               # a uniform motion to the right
    y = torch.zeros(2, 1, 16, 16)
    y[..., 4:12, 4:12] = 1
    zx, zy = zoom(x.clone(), y.clone(), np.random.default_rng(3), least=0.5)
    side = 16 / ((zx[0, 3, 0, 0] - 0.5) / 0.1)        # the crop's side, read back from the motion's gain
    assert 8 <= side <= 16 and torch.allclose(zx[:, 4], torch.tensor(0.5))
    assert set(zy.unique().tolist()) <= {0.0, 1.0} and zy.mean() >= y.mean()   # masks stay binary, objects grow


def test_touching_objects_are_marked_on_both_sides_and_split_into_their_regions():
    from video_object_node.learn.objectness_train import touching
    from video_object_node.runtime.objectness import object_regions
    labels = np.zeros((12, 12), np.int32)
    labels[2:10, 1:6] = 1
    labels[2:10, 6:11] = 2                             # touching along columns 5 | 6
    edge = touching(labels)
    assert edge[2:10, 5].all() and edge[2:10, 6].all() and edge.sum() == 16
    alone = np.zeros((12, 12), np.int32)
    alone[:, 8:] = 3                                   # one object at the image's edge: no wrap-around contact
    alone[:, :2] = 4
    assert not touching(alone).any()
    fg = labels > 0
    assert object_regions(fg).max() == 1               # one connected region without the second output
    split = object_regions(fg, edge)
    assert split.max() == 2 and (split > 0).sum() == fg.sum()
    assert len(np.unique(split[2:10, 1:6])) == 1 and len(np.unique(split[2:10, 6:11])) == 1
    assert split[5, 3] != split[5, 8]
    # Given as labels, the regions go to different slots: each object its own.
    masks = np.full((3, 12, 12), 1 / 3, np.float32)
    masks[0, :, :] += 0.3
    masks[2, :, :] -= 0.3
    out = whole_object_masks(masks, split).argmax(axis=0)
    assert out[5, 3] != out[5, 8] and len(np.unique(out[2:10, 1:6])) == 1


def test_two_outputs_learn_touching_pixels_and_paste_marks_the_contact():
    target = torch.zeros(1, 1, 8, 8)
    target[..., 2:6, 2:6] = 1
    target[..., 2:6, 3:5] = 2                          # touching pixels are foreground too
    logit = torch.zeros(1, 2, 8, 8)
    logit[:, 0] = (target[:, 0] > 0).float() * 16 - 8
    right = logit.clone()
    right[:, 1] = (target[:, 0] == 2).float() * 16 - 8
    assert float(loss_fn(right, target)) < float(loss_fn(logit, target))
    inputs = np.zeros((1, 5, 16, 16), np.uint8)
    fg = np.zeros((1, 16, 16), np.uint8)
    fg[0, 4:12, 0:8] = 1                               # the sample's own object
    donors = np.full((1, 5, 16, 16), 200, np.uint8)
    donor_fg = np.zeros((1, 16, 16), np.uint8)
    donor_fg[0, 4:12, 8:12] = 1
    from video_object_node.learn.objectness_train import touching
    for seed in range(50):                             # a shift that puts the pasted object beside the sample's own
        out, out_fg = paste(inputs, fg, donors, donor_fg, np.random.default_rng(seed))
        if (out_fg == 2).any():
            break
    pasted = out[0, 0] == 200
    labels = np.where(pasted, 2, fg[0]).astype(np.int32)
    assert (out_fg[0] == (labels > 0).astype(int) + touching(labels)).all()   # both sides of the contact only


def test_a_head_starts_from_a_run_folder_or_its_weights_file(tmp_path):
    from safetensors.torch import save_file

    from video_object_node.learn.objectness_train import ObjectnessError, load_net, start_from
    net = ObjectnessNet(channels=5)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, tmp_path / 'best.safetensors')
    for source in (tmp_path, tmp_path / 'best.safetensors'):
        loaded = load_net(source)
        assert loaded.outputs == 1 and torch.equal(loaded.out.weight, net.out.weight)
    two = ObjectnessNet(channels=5, outputs=2)
    start_from(two, net)                               # the foreground output carried over, the second kept
    assert torch.equal(two.out.weight[:1], net.out.weight) and two.out.weight.shape[0] == 2
    with pytest.raises(ObjectnessError, match='is not a file'):
        load_net(tmp_path / 'missing.safetensors')


def test_a_moving_average_of_the_weights_is_evaluated_kept_and_resumed(tmp_path, capsys):
    from safetensors.torch import load_file

    from video_object_node.export.objectness import attach, main
    from video_object_node.model import Simone, SimoneConfig, save_bundle
    torch.manual_seed(0)
    train, val, run = [_square_samples(0)], _square_samples(3), tmp_path / 'run'
    fit(run, train, [], val, 5.0, batch=4, eval_every=1, max_steps=3, ema=0.75, log=lambda _: 0)
    before = load_file(run / 'ema.safetensors')
    fit(run, train, [], val, 5.0, batch=4, eval_every=1, max_steps=4, ema=0.75, log=lambda _: 0)
    raw, after = load_file(run / 'last.safetensors'), load_file(run / 'ema.safetensors')
    # Resumed from its files, the average takes the fourth step's weights at a quarter.
    for name, value in after.items():
        assert torch.allclose(value, 0.75 * before[name] + 0.25 * raw[name], atol=1e-6)
    assert not all(torch.equal(after[k], raw[k]) for k in raw)
    curve = [json.loads(line) for line in (run / 'curve.jsonl').read_text().splitlines()]
    assert len(curve) == 4 and all('val_frame_j_raw' in row for row in curve)
    tiny = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1,
                decoder_hidden=16, frames=4)
    bundle = save_bundle(Simone(SimoneConfig.preset('real-motion', **tiny)), tmp_path / 'bundle')
    entry = attach(run, bundle, keep='last')                         # the end of the schedule: the average
    assert entry['ema'] == 0.75 and entry['steps'] == 4 and 'recolour' not in entry
    assert (bundle / 'objectness.safetensors').read_bytes() == (run / 'ema.safetensors').read_bytes()
    assert main(['train', '--data', str(tmp_path), '--val', str(tmp_path), '--out', str(tmp_path / 'x'),
                 '--minutes', '1', '--ema', '1.0']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and '--ema' in err
