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
Streaming encoder: each frame's CNN runs once, as it arrives; windows reuse the cached features.

    frame -> backend.encode_frames -> ring buffer of the last T frames' features
    every ``stride`` frames (once T are buffered): backend.encode_window(ring) -> Latents

The intermediate results of a frame are computed once and reused by every window that holds it. A stamp
that does not increase (a bag looping) or a gap longer than ``max_frame_gap_ns`` clears the buffer, and
the reason is recorded in ``resets``. The node and bag replay share this object; neither re-implements
windowing.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .backends import Backend


@dataclass
class Latents:
    """One window's posteriors: objects [K, Do], frames [T, Df], and the stamps (ns) of its frames."""

    object_mean: np.ndarray
    object_std: np.ndarray
    frame_mean: np.ndarray
    frame_std: np.ndarray
    stamps: list
    index: int = 0          # windows produced since the encoder was created
    placement: np.ndarray | None = None     # [K, T, 4] per-frame slot placement (bundles with placement)
    viewpoint: np.ndarray | None = None     # [T, 11] pose-head targets (bundles with a pose head)
    attributes: np.ndarray | None = None    # [K, 9] attribute-head outputs (bundles with attribute heads)
    last_input: np.ndarray | None = None    # [C, H, W] the model input of the window's last frame (motion included)

    @property
    def stamp(self) -> int:
        """Return the stamp of the window's last frame."""
        return self.stamps[-1]


@dataclass
class StreamingEncoder:
    """
    Windows of ``backend.cfg.frames`` frames every ``stride`` frames, from a stream of frames.

    Parameters
    ----------
        backend: any ``Backend``.
        stride: frames between windows (1 = a window per frame once T frames are buffered).
        max_frame_gap_ns: a larger gap between consecutive stamps resets the buffer (None = never).
        cond: optional conditioning vector [cond_dim] for conditioned bundles.

    """

    backend: Backend
    stride: int = 1
    max_frame_gap_ns: int | None = None
    cond: np.ndarray | None = None
    resets: Counter = field(default_factory=Counter)

    def __post_init__(self):
        cfg = self.backend.cfg
        if not isinstance(self.stride, int) or self.stride < 1:
            raise ValueError(f'stride must be an integer >= 1, got {self.stride!r}')
        if self.max_frame_gap_ns is not None and self.max_frame_gap_ns <= 0:
            raise ValueError(f'max_frame_gap_ns must be > 0, got {self.max_frame_gap_ns}')
        self.window_length = cfg.frames   # T: frames per window
        self.last_reset: str | None = None
        self._ring = np.zeros((cfg.frames, cfg.num_spatial, cfg.model_dim), np.float32)
        self._stamps: list[int] = []
        self._count = 0            # frames buffered since the last reset
        self._since_window = 0
        self._due = None
        self.windows = 0
        self.reads_motion = bool(getattr(cfg, 'motion_input', False))
        self._previous: np.ndarray | None = None   # the last frame's image, for the motion of the next one

    def reset(self, reason: str | None = None) -> None:
        if reason:
            self.resets[reason] += 1
            self.last_reset = reason
        self._stamps.clear()
        self._count = 0
        self._since_window = 0
        self._previous = None

    @property
    def buffered(self) -> int:
        return min(self._count, self.window_length)

    def add(self, frame: np.ndarray, stamp_ns: int, motion_image: np.ndarray | None = None) -> bool:
        """
        Encode one frame [C, H, W] float32 into the buffer; True when a window is due after it.

        A model that reads motion takes the image alone and gets its motion against the previous frame of the stream
        here (none after a reset: still), estimated on ``motion_image`` (uint8 RGB, up to twice the model's size;
        default the frame itself).
        """
        if self._stamps:
            last = self._stamps[-1]
            if stamp_ns <= last:
                self.reset('stamp_not_increasing')
            elif self.max_frame_gap_ns is not None and stamp_ns - last > self.max_frame_gap_ns:
                self.reset('frame_gap')
        if self.reads_motion and frame.shape[0] != self.backend.cfg.channels:     # the image alone: add its motion
            from ..sensing.motion import frame_motion
            source = frame if motion_image is None else motion_image
            frame = np.concatenate([frame, frame_motion(self._previous, source, frame.shape[1:])])
            self._previous = source
        features = self.backend.encode_frames(frame[None])[0]      # [S, D]
        self._ring[self._count % self.window_length] = features
        self._stamps = (self._stamps + [int(stamp_ns)])[-self.window_length:]
        self._count += 1
        self._since_window += 1
        full = self._count >= self.window_length
        due = full and (self._count == self.window_length or self._since_window >= self.stride)
        if due:
            # Snapshot the due window (oldest frame first), so a later reset cannot take it away.
            start = self._count % self.window_length
            self._due = (np.concatenate([self._ring[start:], self._ring[:start]]), list(self._stamps), frame)
            self._since_window = 0
        return due

    def window(self) -> Latents:
        """Encode the newest due window: the one whose last frame made ``add`` return True; each at most once."""
        if self._due is None:
            raise RuntimeError(f'no window is due (a window needs {self.window_length} buffered frames, have '
                               f'{self.buffered})')
        features, stamps, last_input = self._due
        self._due = None
        cond = None if self.cond is None else np.asarray(self.cond, np.float32)[None]
        out = self.backend.encode_window(features[None], cond)                      # [1, T, S, D]
        self.windows += 1
        first = {k: None if v is None else v[0] for k, v in
                 (('placement', out.placement), ('viewpoint', out.viewpoint), ('attributes', out.attributes))}
        return Latents(out.object_mean[0], out.object_std[0], out.frame_mean[0], out.frame_std[0], stamps,
                       self.windows, **first, last_input=last_input)

    def push(self, frame: np.ndarray, stamp_ns: int) -> Latents | None:
        """``add`` then, when due, ``window``: every window is produced (replay's path)."""
        return self.window() if self.add(frame, stamp_ns) else None
