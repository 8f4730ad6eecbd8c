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

"""Metrics against hand-computed cases."""
import numpy as np
import pytest

from video_object_node.scores.segments import (adjusted_rand_index, fg_ari, fixed_grid_segments, kmeans_segments,
                                               mean_best_overlap, psnr, split_and_merge)

TRUE = np.array([[0, 0, 1, 1],
                 [0, 0, 1, 1],
                 [2, 2, 3, 3],
                 [2, 2, 3, 3]])


def test_perfect_and_permuted_segmentations_score_one():
    assert adjusted_rand_index(TRUE, TRUE) == 1.0
    permuted = np.array([7, 5, 9, 4])[TRUE]
    assert adjusted_rand_index(TRUE, permuted) == 1.0
    assert fg_ari(TRUE, permuted) == 1.0
    assert mean_best_overlap(TRUE, permuted) == 1.0


def test_merged_segmentation_hand_computed():
    # Merge objects 2 and 3 into one segment; foreground pixels: 4 of label 1, 4 of 2, 4 of 3.
    pred = np.where(TRUE == 3, 2, TRUE)
    # Over foreground: pairs C(12,2)=66; true same-pairs 3*C(4,2)=18; pred same-pairs C(4,2)+C(8,2)=6+28=34;
    # agreeing pairs 18; expected 18*34/66; max 0.5*(18+34)=26.
    expected = (18 - 18 * 34 / 66) / (26 - 18 * 34 / 66)
    assert fg_ari(TRUE, pred) == pytest.approx(expected)
    # mBO: object 1 -> IoU 1; objects 2 and 3 -> IoU 4/8 each.
    assert mean_best_overlap(TRUE, pred) == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert split_and_merge(TRUE, pred) == (1.0, pytest.approx(2 / 3))     # 2 of the 3 objects share a segment


def test_split_segmentation_hand_computed():
    # Split object 1 (4 pixels) into two segments of 2 pixels.
    pred = TRUE.copy()
    pred[0, 2] = pred[0, 3] = 8
    # Foreground: true same-pairs 18; pred same-pairs 2*C(2,2) + 2*C(4,2) = 2 + 12 = 14; agree 14.
    expected = (14 - 18 * 14 / 66) / (16 - 18 * 14 / 66)
    assert fg_ari(TRUE, pred) == pytest.approx(expected)
    assert mean_best_overlap(TRUE, pred) == pytest.approx((0.5 + 1 + 1) / 3)
    assert split_and_merge(TRUE, pred) == (pytest.approx((0.5 + 1 + 1) / 3), 0.0)


def test_all_background_and_single_cluster_cases():
    background = np.zeros((2, 4, 4), int)
    assert np.isnan(fg_ari(background, background))
    assert all(np.isnan(v) for v in split_and_merge(background, background))
    assert split_and_merge(TRUE, np.array([7, 5, 9, 4])[TRUE]) == (1.0, 0.0)
    assert np.isnan(mean_best_overlap(background, background))
    assert adjusted_rand_index(background, background) == 1.0
    one = np.ones((2, 4, 4), int)
    assert fg_ari(one, one * 5) == 1.0                             # one object, one segment
    assert fg_ari(one, np.arange(32).reshape(2, 4, 4)) == 0.0      # one object shattered into pixels
    assert adjusted_rand_index(one, one) == 1.0


def test_chance_segmentation_is_near_zero():
    rng = np.random.default_rng(0)
    true = rng.integers(1, 5, size=(4, 32, 32))
    pred = rng.integers(0, 4, size=(4, 32, 32))
    assert abs(fg_ari(true, pred)) < 0.01


def test_whole_video_table_penalises_identity_switches():
    true = np.stack([TRUE, TRUE])
    switched = np.stack([TRUE, np.array([1, 0, 3, 2])[TRUE]])   # labels swap between frames
    assert fg_ari(true, switched) < 0.5 and fg_ari(true[0], switched[1]) == 1.0


def test_baselines():
    grid = fixed_grid_segments((2, 4, 4), 2, 2)
    assert adjusted_rand_index(np.stack([TRUE, TRUE]), grid) == 1.0
    video = np.zeros((1, 8, 8, 3), np.uint8)
    video[0, :4, :4] = [255, 0, 0]
    video[0, 4:, 4:] = [0, 0, 255]
    truth = np.zeros((1, 8, 8), int)
    truth[0, :4, :4], truth[0, 4:, 4:] = 1, 2
    assert fg_ari(truth, kmeans_segments(video, 3)) == 1.0
    assert psnr(0.01) == pytest.approx(20.0)
