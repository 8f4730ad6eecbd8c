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

"""Windows' relative poses chained into odometry: exact on a known trajectory, continuous across a gap."""
import numpy as np

from video_object_node.runtime.odometry import OdometryChain, rotation_vector


def _pose(angle: float, t) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    pose = np.eye(4)
    pose[:3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]          # a turn about the camera's y (down) axis
    pose[:3, 3] = t
    return pose


def _trajectory(n: int) -> list:
    return [_pose(0.05 * i, [0.1 * i, 0.0, 0.02 * i * i]) for i in range(n)]


def _windows(truth, frames: int, stride: int):
    stamps = [10**9 + i * 10**8 for i in range(len(truth))]
    for end in range(frames - 1, len(truth), stride):
        idx = list(range(end - frames + 1, end + 1))
        first_inv = np.linalg.inv(truth[idx[0]])
        yield end, [stamps[i] for i in idx], np.stack([first_inv @ truth[i] for i in idx])


def test_overlapping_windows_chain_into_the_true_trajectory():
    truth = _trajectory(30)
    chain = OdometryChain()
    for end, stamps, poses in _windows(truth, frames=8, stride=3):
        odom = chain.update(stamps, poses)
        assert odom.chained and odom.stamp_ns == stamps[-1]
        np.testing.assert_allclose(odom.pose, np.linalg.inv(truth[0]) @ truth[end], atol=1e-9)
    assert chain.gaps == 0
    # The velocity is the motion since the last window, in the camera's frame, per second.
    rel = np.linalg.inv(truth[end - 3]) @ truth[end]
    np.testing.assert_allclose(odom.linear, rel[:3, 3] / 0.3, atol=1e-9)
    np.testing.assert_allclose(odom.angular, [0, 0.15 / 0.3, 0], atol=1e-9)


def test_a_window_without_shared_frames_is_a_counted_gap_and_the_pose_stays_continuous():
    truth = _trajectory(40)
    chain = OdometryChain()
    poses = [chain.update(s, p) for _, s, p in _windows(truth, frames=4, stride=6)]
    assert chain.gaps == len(poses) - 1 and not poses[1].chained
    for a, b in zip(poses, poses[1:]):                       # no jump: each keeps the pose before the gap
        np.testing.assert_allclose(b.pose, a.pose, atol=1e-9)
        assert np.allclose(b.linear, 0) and np.allclose(b.angular, 0)


def test_rotation_vector_by_hand():
    assert np.allclose(rotation_vector(np.eye(3)), 0)
    np.testing.assert_allclose(rotation_vector(_pose(0.3, [0, 0, 0])[:3, :3]), [0, 0.3, 0], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(rotation_vector(_pose(np.pi, [0, 0, 0])[:3, :3])), np.pi, atol=1e-6)
