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

"""The node's diagnostics say the last seconds: stale input is an ERROR, a past hiccup does not hold a WARN."""
from video_object_node.ros.health import ERROR, HEALTH_WINDOW_S, OK, WARN, EncoderHealth


def _run(health, seconds, start, rate_hz=30.0, counters=None, tick=0.5, drop_windows_at=(), reject_per_tick=0):
    """Feed ``seconds`` of a steady stream at ``rate_hz`` (stride 1: one window per frame) into ``health``."""
    c = counters if counters is not None else {'frames_received': 0, 'frames_rejected': 0, 'frames_dropped': 0,
                                               'windows_published': 0, 'windows_dropped': 0}
    t, out = start, None
    while t < start + seconds - 1e-9:
        t += tick
        frames = int(round(rate_hz * tick))
        c['frames_received'] += frames
        c['frames_rejected'] += reject_per_tick
        dropped = sum(1 for d in drop_windows_at if t - tick < d <= t)
        c['windows_dropped'] += dropped
        c['windows_published'] += frames - dropped
        out = health.update(t, c, t if frames else None)
    return out, c, t


def test_a_steady_stream_is_ok_and_one_dropped_window_does_not_hold_a_warn():
    health = EncoderHealth(expected_rate_hz=30.0, stale_input_s=1.0, started=0.0)
    out, c, t = _run(health, 3.0, 0.0)
    assert out.level == OK and abs(out.values['input_rate_hz'] - 30.0) < 1.0
    out, c, t = _run(health, 1.0, t, counters=c, drop_windows_at=(t + 0.3,))    # one routine drop at stride 1
    assert out.level == OK and 0 < out.values['windows_dropped_share'] < 0.05
    out, c, t = _run(health, HEALTH_WINDOW_S + 1, t, counters=c)
    assert out.level == OK and out.values['windows_dropped_share'] == 0.0     # out of the window


def test_stale_input_is_an_error_and_clears_when_frames_come_back():
    health = EncoderHealth(stale_input_s=1.0, started=0.0)
    assert health.update(0.5, {}, None).level == OK                     # just activated
    out = health.update(1.6, {}, None)
    assert out.level == ERROR and 'no input frame yet' in out.message   # the topic never delivered
    out, c, t = _run(health, 2.0, 1.6)
    assert out.level == OK
    last = t
    out = health.update(last + 0.5, c, last)
    assert out.level == OK
    out = health.update(last + 1.5, c, last)
    assert out.level == ERROR and out.values['seconds_since_last_frame'] > 1.4 and 'stale' in out.message
    out, c, t = _run(health, 1.0, last + 1.5, counters=c)
    assert out.level == OK


def test_a_slow_stream_and_lost_frames_warn_while_they_last():
    health = EncoderHealth(expected_rate_hz=30.0, started=0.0)
    out, c, t = _run(health, 3.0, 0.0, rate_hz=12.0)
    assert out.level == WARN and 'expected 30 Hz' in out.message
    health = EncoderHealth(started=0.0)                                 # no expected rate: no rate check
    out, c, t = _run(health, 3.0, 0.0, rate_hz=12.0)
    assert out.level == OK
    out, c, t = _run(health, 2.0, t, counters=c, reject_per_tick=3)     # half the frames refused
    assert out.level == WARN and 'rejected or dropped' in out.message
    out, c, t = _run(health, HEALTH_WINDOW_S + 1, t, counters=c)
    assert out.level == OK
