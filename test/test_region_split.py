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

"""One object or two where slots share a region (``runtime/region_split.py``), its training, and ids that follow it."""
from types import SimpleNamespace

import numpy as np
import pytest

from video_object_node.runtime.objectness import whole_object_masks
from video_object_node.runtime.region_split import PAIR_FEATURES, RegionSplit, RegionSplitError, pair_features
from video_object_node.runtime.tracking import SlotTracker


def _two_halves(right_colour):
    """
    Make a 16x16 region (rows 8-23, cols 8-23) on 32x32: slot 0 holds its left 10 columns, slot 1 its right 6.

    Slot 2 is the background. The frame: grey background, the left half red, the right half ``right_colour``; no motion.
    """
    masks = np.zeros((3, 32, 32), np.float32)
    masks[2] = 1.0
    masks[:, 8:24, 8:18] = [[[0.9]], [[0.1]], [[0.0]]]
    masks[:, 8:24, 18:24] = [[[0.2]], [[0.8]], [[0.0]]]
    frame = np.full((5, 32, 32), 0.5, np.float32)
    frame[3:] = 0.0
    frame[:3, 8:24, 8:18] = np.array([0.9, 0.1, 0.1])[:, None, None]
    frame[:3, 8:24, 18:24] = np.asarray(right_colour)[:, None, None]
    region = np.zeros((32, 32), bool)
    region[8:24, 8:24] = True
    return masks, region, frame


def test_pair_features_by_hand():
    masks, region, frame = _two_halves([0.1, 0.1, 0.1])
    foreground = np.where(region, 0.9, 0.1).astype(np.float32)
    f = dict(zip(PAIR_FEATURES, pair_features(masks, region, 0, 1, frame, foreground)))
    assert f['share'] == pytest.approx((0.1 * 160 + 0.8 * 96) / 256)
    assert f['purity'] == pytest.approx(1.0)                           # slot 1 has all its mass in the region
    assert f['part_share'] == pytest.approx(96 / 256) and f['region_share'] == pytest.approx(256 / 1024)
    # Two flat colours 0.8 apart with no spread: far apart; no motion: the floor.
    assert f['log_colour_contrast'] == pytest.approx(np.log(0.8 / 1e-3 + 1e-3), rel=1e-3)
    assert f['log_motion_contrast'] == pytest.approx(np.log(1e-3))
    assert f['log_boundary_foreground'] == pytest.approx(np.log(1 + 1e-3), abs=1e-3)
    assert f['log_boundary_edges'] > 0                      # the brightness edge lies on the boundary, not inside
    masks_same, _, frame_same = _two_halves([0.9, 0.1, 0.1])
    same = dict(zip(PAIR_FEATURES, pair_features(masks_same, region, 0, 1, frame_same, foreground)))
    assert same['log_colour_contrast'] < np.log(0.01)                 # one colour: no contrast
    tiny = masks.copy()
    tiny[1] = np.where(tiny[1] > 0.5, 0.0, tiny[1])                   # slot 1 outweighs slot 0 nowhere
    assert pair_features(tiny, region, 0, 1, frame, foreground) is None


def _colour_split():
    """Make a split that keeps parts apart when their colours differ (the log colour contrast alone, threshold 0.5)."""
    n = len(PAIR_FEATURES)
    coef = np.zeros(n)
    coef[PAIR_FEATURES.index('log_colour_contrast')] = -1.0
    return {'features': list(PAIR_FEATURES), 'mean': [0.0] * n, 'scale': [1.0] * n, 'coef': coef.tolist(),
            'intercept': 0.0, 'threshold': 0.5}


def test_the_split_keeps_two_colours_apart_and_gives_one_colour_whole():
    split = RegionSplit(_colour_split())
    for colour, apart in (([0.1, 0.1, 0.9], True), ([0.9, 0.1, 0.1], False)):
        masks, region, frame = _two_halves(colour)
        foreground = region.astype(np.float32)
        seg = whole_object_masks(masks, region, keep_share=0.05, keep=split.keeper(frame, foreground)).argmax(0)
        assert (seg[8:24, 18:24] == (1 if apart else 0)).all() and (seg[8:24, 8:18] == 0).all()
    z = -np.log(0.8 * np.sqrt(2) / 1e-3 + 1e-3)
    row = np.zeros(len(PAIR_FEATURES))
    row[PAIR_FEATURES.index('log_colour_contrast')] = -z
    assert split.one_object(row) == pytest.approx(1 / (1 + np.exp(-z)))


@pytest.mark.parametrize('change', [{'features': ['share']}, {'threshold': 1.0}, {'scale': [0.0] * 8},
                                    {'coef': [np.nan] * 8}, {'intercept': None}])
def test_a_bad_split_entry_is_one_clear_error(change):
    with pytest.raises(RegionSplitError, match='objectness split'):
        RegionSplit({**_colour_split(), **change})


def test_ids_follow_the_segments_overlap_over_the_latents():
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    masks = np.eye(3)[np.repeat([0, 1, 2], 4)].T                        # [3 slots, 12 pixels]
    boxes = np.tile(np.array([[0.5, 0.5, 0.1, 0.1]]), (3, 2, 1))
    for weight, follows_masks in ((20.0, True), (None, False)):
        tracker = SlotTracker(mask_overlap_weight=weight)
        first = tracker.update(means, masks, boxes, [0, 1])
        # The next window: slots 0 and 1 swap latents, but their segments stay where they were.
        second = tracker.update(means[[1, 0, 2]], masks, boxes, [1, 2])
        assert (second == first).all() == follows_masks


class _HalvesPipeline:
    """The pipeline's surface ``stream_pairs`` reads: every window decodes the two halves of ``_two_halves``."""

    def __init__(self):
        self.masks, self.region, self.frame = _two_halves([0.1, 0.1, 0.1])
        self.model_cfg = SimpleNamespace(height=32, width=32)
        self.stream = self.tracker = SimpleNamespace(reset=lambda: None)
        self.objectness = SimpleNamespace(probabilities=lambda frame: self.region[None].astype(np.float32),
                                          regions_of=lambda p: (p[0] > 0.5).astype(np.int64))

    def accept(self, reading, stamp_ns):
        return reading

    def encode(self, frames):
        latents = SimpleNamespace(last_input=self.frame)
        return SimpleNamespace(result=SimpleNamespace(latents=latents, last_masks=lambda: self.masks))


def test_pairs_are_one_object_inside_one_object_and_two_across_two():
    from video_object_node.learn.region_split_train import stream_pairs
    pipeline = _HalvesPipeline()
    one = np.zeros((32, 32), np.int64)
    one[8:24, 8:24] = 1                                                # the region is one object
    two = one.copy()
    two[8:24, 18:24] = 2                                               # the right part is another
    spill = np.zeros((32, 32), np.int64)
    spill[8:24, 8:18] = 1                                              # the right part is background
    answers = [one_object for labels in (one, two, spill, np.zeros_like(one))
               for _, one_object in stream_pairs(pipeline, [None], [labels], keep_share=0.05)]
    assert answers == [True, False, False, True]                      # both parts on the background: one (merge)
    assert list(stream_pairs(pipeline, [None], [one], keep_share=0.5)) == []   # slot 1 holds 0.36 of the region


def test_fit_split_learns_the_rule_in_its_rows_and_writes_what_scikit_learn_computes():
    from video_object_node.learn.region_split_train import SplitError, fit_split
    rng = np.random.default_rng(0)
    colour = PAIR_FEATURES.index('log_colour_contrast')

    def rows(n, contrast, one):
        x = rng.normal(0.0, 1.0, (n, len(PAIR_FEATURES)))
        x[:, colour] = contrast + rng.normal(0.0, 0.5, n)
        return [(r, one) for r in x]

    # Real footage: mostly one object in pieces (low contrast); the simulator: mostly touching objects (high).
    real = rows(90, -1.0, True) + rows(10, 2.0, False)
    sim = rows(10, -1.0, True) + rows(90, 2.0, False)
    entry = fit_split([({'data': 'real', 'weight': 1.0}, real), ({'data': 'sim', 'weight': 1.0}, sim)])
    assert [(s['pairs'], s['one_object']) for s in entry['trained_on']] == [(100, 90), (100, 10)]
    assert entry['parity_max_abs_diff'] < 1e-9 and entry['train_accuracy'] > 0.9
    split = RegionSplit(entry)
    low, high = np.zeros(len(PAIR_FEATURES)), np.zeros(len(PAIR_FEATURES))
    low[colour], high[colour] = -1.0, 2.0
    assert split.one_object(low) > 0.75 > 0.25 > split.one_object(high)
    with pytest.raises(SplitError, match='nothing to tell apart'):
        fit_split([({'data': 'real', 'weight': 1.0}, rows(20, 0.0, True))])


@pytest.mark.parametrize('args, message', [
    (['--bundle', 'models/default-lidar', '--data', 'models'], 'camera bundle with an objectness head'),
    (['--bundle', 'models/default', '--data', 'models'], 'camera bundle with an objectness head'),
    (['--bundle', 'models/default-real', '--data', 'models', '--threshold', '1.5'], '--threshold'),
    (['--bundle', 'models/default-real', '--data', 'no-such-folder'], 'not a folder'),
])
def test_the_split_cli_refuses_in_one_line(args, message, capsys):
    from video_object_node.export.objectness import main
    assert main(['split', *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_an_ids_mask_is_remembered_as_a_running_mean():
    means = np.zeros((2, 2))
    first = np.array([[1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]], float)
    broken = np.array([[0, 0, 0, 0, 1, 1], [1, 0, 0, 0, 0, 0]], float)    # the slots swapped; one object broke up
    for memory in (1.0, 0.3):
        tracker = SlotTracker(mask_overlap_weight=20.0, mask_memory=memory)
        ids = tracker.update(means, first)
        after = tracker.update(means, broken)
        assert list(after) == list(ids[::-1])                            # each id went with its object
        expected = memory * broken + (1 - memory) * first[::-1]
        np.testing.assert_allclose(tracker.previous_masks, expected)
