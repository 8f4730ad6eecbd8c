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
What the node's diagnostics say: the state of the last few seconds, not of the whole run (ROS-free).

diagnostic_updater's ``FrequencyStatus`` and ``TimeStampStatus`` semantics, by hand (no wheel of it here): the
counters the node keeps since start are sampled at each diagnostics tick, and every rate and share is taken over
the last ``HEALTH_WINDOW_S`` seconds of samples, so a past hiccup (one dropped window at stride 1, a burst of bad
frames) leaves the status once it is out of the window. Levels:

- ERROR: no input frame for more than ``stale_input_s`` seconds (since activation when none came yet): the camera or
  LIDAR stopped, or its topic is not connected;
- WARN: the windowed input rate below ``1 - RATE_TOLERANCE`` of ``expected_rate_hz`` (when set), or more than
  ``MAX_LOST_SHARE`` of the window's frames rejected or dropped, or of its due windows dropped;
- OK otherwise.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

HEALTH_WINDOW_S = 5.0       # rates and shares over the last this many seconds
RATE_TOLERANCE = 0.2        # the input rate may fall this share below the expected one before WARN
MAX_LOST_SHARE = 0.05       # frames rejected or dropped (or windows dropped) above this share of the window: WARN

OK, WARN, ERROR = 0, 1, 2


@dataclass(frozen=True)
class Health:
    """One tick's verdict: ``level`` (OK, WARN, ERROR), a one-line ``message`` and the windowed ``values``."""

    level: int
    message: str
    values: dict


class EncoderHealth:
    """
    Windowed health of the encoder from the node's running counters.

    ``update(now, counters, last_frame)``: ``now`` and ``last_frame`` (the monotonic time the last frame was received,
    None before the first) in seconds; ``counters`` the node's totals since start: frames_received, frames_rejected,
    frames_dropped, windows_published, windows_dropped.
    """

    def __init__(self, expected_rate_hz: float = 0.0, stale_input_s: float = 1.0, started: float = 0.0):
        self.expected_rate_hz = expected_rate_hz
        self.stale_input_s = stale_input_s
        self.started = started
        self.samples: deque = deque()

    def update(self, now: float, counters: dict, last_frame: float | None) -> Health:
        self.samples.append((now, dict(counters)))
        while len(self.samples) > 2 and now - self.samples[1][0] >= HEALTH_WINDOW_S:
            self.samples.popleft()
        then, before = self.samples[0]
        span = max(now - then, 1e-6)

        def delta(key):
            return counters.get(key, 0) - before.get(key, 0)

        received = delta('frames_received')
        lost = delta('frames_rejected') + delta('frames_dropped')
        windows_due = delta('windows_published') + delta('windows_dropped')
        since = now - (self.started if last_frame is None else last_frame)
        values = {'input_rate_hz': received / span if len(self.samples) > 1 else float('nan'),
                  'expected_rate_hz': self.expected_rate_hz, 'seconds_since_last_frame': since,
                  'frames_rejected_per_s': delta('frames_rejected') / span,
                  'frames_dropped_per_s': delta('frames_dropped') / span,
                  'windows_dropped_share': delta('windows_dropped') / windows_due if windows_due else 0.0,
                  'health_window_s': span}
        if since > self.stale_input_s:
            what = 'no input frame yet' if last_frame is None else 'no input frame'
            return Health(ERROR, f'{what} for {since:.1f} s (stale after {self.stale_input_s:g} s)', values)
        problems = []
        rate = values['input_rate_hz']
        if self.expected_rate_hz > 0 and rate == rate and span >= 1.0 \
                and rate < (1 - RATE_TOLERANCE) * self.expected_rate_hz:
            problems.append(f'input at {rate:.1f} Hz, expected {self.expected_rate_hz:g} Hz')
        if received and lost / received > MAX_LOST_SHARE:
            problems.append(f'{lost} of {received} frames rejected or dropped in {span:.0f} s')
        if windows_due and values['windows_dropped_share'] > MAX_LOST_SHARE:
            problems.append(f'{delta("windows_dropped")} of {windows_due} windows dropped in {span:.0f} s')
        if problems:
            return Health(WARN, '; '.join(problems), values)
        return Health(OK, 'ok', values)
