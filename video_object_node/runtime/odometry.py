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

"""
Windows' relative viewpoints chained into one trajectory: the odometry a robot's tf tree can use (numpy only).

Each window gives the pose of each of its T frames in its first frame's coordinates (cam_first <- cam_t, OpenCV axes:
x right, y down, z forward). Consecutive windows share frames (stride < T), so a frame whose odometry pose is known
anchors the next window:

    odom <- cam_first = (odom <- cam_anchor) @ inv(cam_first <- cam_anchor)
    odom <- cam_t     = (odom <- cam_first) @ (cam_first <- cam_t)          for the frames after the anchor

The odometry frame is the first camera of the first window. A window that shares no frame with the chain (stride >= T,
or the buffer reset after a frame gap) cannot be chained: its last frame keeps the previous pose (the motion across the
gap is lost, the trajectory stays continuous) and ``gaps`` counts it. Translation is in the units the pose head learnt
(the simulator's metres): for a camera without depth, up to scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OdometryPose:
    """The chained pose of a window's last frame (odom <- camera), its stamp, and the velocity since the last window."""

    stamp_ns: int
    pose: np.ndarray                 # [4, 4]
    linear: np.ndarray               # [3] units per second, in the camera frame
    angular: np.ndarray              # [3] rad per second, in the camera frame (axis * angle / dt)
    chained: bool                    # False: the window shared no frame with the chain (a gap)
    dt: float = 0.0                  # seconds since the last window's last frame (0: no velocity)


def rotation_vector(r: np.ndarray) -> np.ndarray:
    """Return the axis * angle of a 3x3 rotation."""
    angle = float(np.arccos(np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0)))
    skew = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]]) / 2.0      # sin(angle) * axis
    if angle < 1e-4:
        return skew                                          # sin(angle) = angle to 1e-12
    if np.pi - angle > 1e-4:
        return skew / np.sin(angle) * angle
    axis = np.sqrt(np.clip((np.diag(r) + 1.0) / 2.0, 0.0, None))   # near pi: the axis from the symmetric part
    signs = np.sign(skew + (skew == 0))
    return axis * signs * angle


class OdometryChain:
    """Chain each window's per-frame poses into odom <- camera poses (see the module doc)."""

    def __init__(self, keep: int = 256):
        self.keep = keep
        self.gaps = 0
        self._known: dict = {}           # stamp -> odom <- camera, for the frames of recent windows
        self._last: tuple | None = None  # (stamp, pose) of the last window's last frame

    def reset(self) -> None:
        self._known.clear()
        self._last = None
        self.gaps = 0

    def update(self, stamps: list, frame_poses: np.ndarray) -> OdometryPose:
        """Take one window: its stamps (ns, oldest first) and poses [T, 4, 4] (cam_first <- cam_t)."""
        stamps = [int(s) for s in stamps]
        anchor = max((i for i, s in enumerate(stamps) if s in self._known), default=None)
        chained = anchor is not None
        if chained:
            first = self._known[stamps[anchor]] @ np.linalg.inv(frame_poses[anchor])
        elif self._last is None:
            first, anchor, chained = np.eye(4), -1, True        # the chain starts: odom = this first camera
        else:
            self.gaps += 1                                      # no shared frame: the last frame keeps the last pose
            first, anchor = self._last[1] @ np.linalg.inv(frame_poses[-1]), -1
        for i in range(anchor + 1, len(stamps)):
            self._known.setdefault(stamps[i], first @ frame_poses[i])
        if len(self._known) > self.keep:
            for s in sorted(self._known)[:len(self._known) - self.keep]:
                del self._known[s]
        pose = self._known.get(stamps[-1], first @ frame_poses[-1])
        linear, angular, dt = np.zeros(3), np.zeros(3), 0.0
        if self._last is not None and stamps[-1] > self._last[0]:
            dt = (stamps[-1] - self._last[0]) / 1e9
            rel = np.linalg.inv(self._last[1]) @ pose           # previous camera <- this camera
            linear, angular = rel[:3, 3] / dt, rotation_vector(rel[:3, :3]) / dt
        self._last = (stamps[-1], pose)
        return OdometryPose(stamps[-1], pose, linear, angular, chained, dt)
