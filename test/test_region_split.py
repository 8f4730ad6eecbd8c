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
from video_object_node.runtime.region_split import (EIGHT_FEATURES, PAIR_FEATURES, RegionSplit, RegionSplitError,
                                                    frame_colours, pair_features, solidity)
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


def test_shape_features_tell_a_cut_object_from_two_touching_ones():
    # One 16x16 square cut by the slots along a straight line, and two 8x8 squares that meet at one corner's side.
    masks, cut, frame = _two_halves([0.1, 0.1, 0.1])
    foreground = cut.astype(np.float32)
    touching = np.zeros((32, 32), bool)
    touching[4:12, 4:12] = True
    touching[10:18, 12:20] = True                                      # shares 2 rows of contact with the first
    two = np.zeros((3, 32, 32), np.float32)
    two[2] = 1.0
    two[:, touching] = np.array([0.9, 0.1, 0.0])[:, None]
    two[:, 10:18, 12:20] = np.array([0.2, 0.8, 0.0])[:, None, None]
    names = ('log_contact', 'contact_of_perimeter', 'region_solidity')
    one = dict(zip(names, pair_features(masks, cut, 0, 1, frame, foreground, names)))
    pair = dict(zip(names, pair_features(two, touching, 0, 1, frame, touching.astype(np.float32), names)))
    assert one['region_solidity'] == pytest.approx(1.0) and pair['region_solidity'] < 0.8
    assert one['contact_of_perimeter'] == pytest.approx(16 / 40)      # 16 of the 6x16 part's 40 outline pixels
    assert pair['contact_of_perimeter'] == pytest.approx(2 / 28)      # 2 of the 8x8 part's 28
    assert one['log_contact'] == pytest.approx(np.log(16 / np.sqrt(96) + 1e-3))
    assert pair['log_contact'] < one['log_contact']
    assert solidity(np.eye(8, dtype=bool)) == pytest.approx(1.0)      # a line is its own hull
    with pytest.raises(ValueError, match='unknown pair features'):
        pair_features(masks, cut, 0, 1, frame, foreground, ('share', 'roundness'))


def test_frame_colours_counts_the_distinct_colours_at_16_levels():
    flat = np.full((3, 8, 8), 0.5, np.float32)
    assert frame_colours(flat) == 1
    flat[:, :4] = np.array([0.0, 0.2, 1.0])[:, None, None]
    flat[:, :2] += 0.01                                                # within one level: the same colour
    assert frame_colours(flat) == 2
    noisy = np.random.default_rng(0).random((3, 64, 64)).astype(np.float32)
    assert 2400 < frame_colours(noisy) <= 4096          # 4096 draws of 4096 colours: about 4096 (1 - 1/e) distinct
    masks, region, frame = _two_halves([0.1, 0.1, 0.9])
    (value,) = pair_features(masks, region, 0, 1, frame, region.astype(np.float32), ('log_frame_colours',))
    assert value == pytest.approx(np.log(3))                          # grey, red, blue


def test_a_split_reads_the_features_its_entry_names():
    # A bundle trained before the shape features (the first eight) still runs; the order is the entry's.
    coef = np.zeros(len(EIGHT_FEATURES))
    coef[EIGHT_FEATURES.index('log_colour_contrast')] = -1.0
    eight = RegionSplit({'features': list(EIGHT_FEATURES), 'mean': [0.0] * 8, 'scale': [1.0] * 8,
                         'coef': coef.tolist(), 'intercept': 0.0, 'threshold': 0.5})
    masks, region, frame = _two_halves([0.1, 0.1, 0.9])
    assert eight.keeper(frame, region.astype(np.float32))(masks, region, 0, 1)
    shape = RegionSplit({'features': ['region_solidity'], 'mean': [0.0], 'scale': [1.0], 'coef': [10.0],
                         'intercept': -5.0, 'threshold': 0.5})
    assert not shape.keeper(frame, region.astype(np.float32))(masks, region, 0, 1)     # a solid square: one object


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


@pytest.mark.parametrize('change', [{'features': ['share']}, {'features': ['share', 'roundness']},
                                    {'features': ['share'] * len(PAIR_FEATURES)}, {'threshold': 1.0},
                                    {'scale': [0.0] * len(PAIR_FEATURES)},
                                    {'coef': [np.nan] * len(PAIR_FEATURES)}, {'intercept': None}])
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
    # Sources told apart by one feature and nothing else: with the answers as often as each source has them (balance
    # none), a pair is called what its source mostly is; with the answers weighed alike, neither.
    n = len(PAIR_FEATURES)
    real = [(np.zeros(n), one) for one in [True] * 90 + [False] * 10]
    sim = [(np.eye(n)[0], one) for one in [True] * 10 + [False] * 90]
    sources = [({'data': 'real', 'weight': 1.0}, real), ({'data': 'sim', 'weight': 1.0}, sim)]
    natural, alike = (RegionSplit(fit_split(sources, balance=b)) for b in ('none', 'answers'))
    assert natural.one_object(np.zeros(n)) > 0.75 and natural.one_object(np.eye(n)[0]) < 0.25
    assert alike.one_object(np.zeros(n)) == pytest.approx(0.5, abs=0.02)
    assert alike.one_object(np.eye(n)[0]) == pytest.approx(0.5, abs=0.02)
    with pytest.raises(SplitError, match='balance must be one of'):
        fit_split([({'data': 'real', 'weight': 1.0}, real)], balance='area')


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
