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
The node's ``/diagnostics``: what it did (``Activity``) and the windowed health verdict (``health.py``), published.

The shape of diagnostic_updater's ``Updater``: one status per node (``NAME: encoder``, the backend as its hardware
id), refreshed by a timer; its level and message come from ``EncoderHealth`` (FrequencyStatus / TimeStampStatus
semantics over the last seconds), its values are the counters, rates and latencies an operator reads.
"""
from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from .health import EncoderHealth

LEVELS = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR)


@dataclass
class Activity:
    """What the node did since start: counters, the last windows' latencies and times, the last frame's arrival."""

    counts: Counter = field(default_factory=Counter)
    latencies: deque = field(default_factory=lambda: deque(maxlen=300))       # frame received -> published, s
    window_times: deque = field(default_factory=lambda: deque(maxlen=300))    # window encoded + published, s
    last_frame: float | None = None                                           # monotonic time of the last frame


class Diagnostics:
    """The node's one diagnostic status, published on ``/diagnostics`` at each ``publish()`` (a timer's tick)."""

    def __init__(self, node, activity: Activity, qos):
        self._node, self.activity = node, activity
        self._pub = node.create_publisher(DiagnosticArray, '/diagnostics', qos)
        self.health: EncoderHealth | None = None
        self._last = (time.monotonic(), Counter())

    def start(self, expected_rate_hz: float, stale_input_s: float) -> None:
        """Begin judging health (activation): no frame yet is stale after ``stale_input_s`` from now."""
        self.health = EncoderHealth(expected_rate_hz, stale_input_s, started=time.monotonic())
        self.activity.last_frame = None

    def retune(self, expected_rate_hz: float, stale_input_s: float) -> None:
        if self.health is not None:
            self.health.expected_rate_hz, self.health.stale_input_s = expected_rate_hz, stale_input_s

    def status(self, pipeline, outputs: tuple, now: float) -> DiagnosticStatus:
        """Return the status of this tick: level and message from the health, values from the activity."""
        then, previous = self._last
        dt = max(now - then, 1e-6)
        current = Counter(self.activity.counts)
        self._last = (now, current)
        rejected = Counter(pipeline.rejected) if pipeline is not None else Counter()
        backend = pipeline.backend.describe() if pipeline is not None else 'unconfigured'
        status = DiagnosticStatus(name=f'{self._node.get_name()}: encoder', hardware_id=backend)
        health = None
        if self.health is not None:
            health = self.health.update(now, {**current, 'frames_rejected': sum(rejected.values())},
                                        self.activity.last_frame)
        status.level = LEVELS[health.level] if health is not None else DiagnosticStatus.OK
        status.message = health.message if health is not None else 'inactive'
        latencies, window_times = self.activity.latencies, self.activity.window_times
        values = {
            **(health.values if health is not None else {}),
            'windows_per_s': (current['windows_published'] - previous['windows_published']) / dt,
            'latency_ms_median': 1000 * float(np.median(latencies)) if latencies else float('nan'),
            'window_ms_median': 1000 * float(np.median(window_times)) if window_times else float('nan'),
            'frames_received': current['frames_received'], 'frames_encoded': current['frames_encoded'],
            'frames_rejected': sum(rejected.values()), 'frames_dropped': current['frames_dropped'],
            'windows_published': current['windows_published'], 'windows_dropped': current['windows_dropped'],
            'queries_refused': current['queries_refused'],
            **{f'{o.key}s_built': current[f'{o.key}s_built'] for o in outputs if o.on_demand},
            'backend': backend}
        values.update({f'rejected_{k}': v for k, v in sorted(rejected.items())})
        if pipeline is not None:
            values.update({f'buffer_resets_{k}': v for k, v in sorted(pipeline.stream.resets.items())})
        status.values = [KeyValue(key=k, value=f'{v:.2f}' if isinstance(v, float) else str(v))
                         for k, v in values.items()]
        return status

    def publish(self, pipeline, outputs: tuple) -> None:
        array = DiagnosticArray(status=[self.status(pipeline, outputs, time.monotonic())])
        array.header.stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(array)
