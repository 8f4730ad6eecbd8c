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
The walk of a configure: the rooms (modules) the node's config passes through from ``LatentPipeline.__init__``.

A stop is a call into a package module other than the one before it; a room is returned to when it is stopped at
again after the walk left it. The bundle is opened once: its config.json is parsed once per configure, and what was
read goes to the backend, the sensor, the objectness and the viewpoint. ``python test/test_walk.py`` prints the walks.
"""
import json
import sys
from collections import Counter

import pytest

from video_object_node.bundle import layout
from video_object_node.runtime.config import NodeConfig
from video_object_node.runtime.pipeline import LatentPipeline

PACKAGE = 'video_object_node.'
EMBEDDED = ['', 'default', 'default-lidar', 'default-lidar-360']      # every embedded model the node can name


def walk(fn, *args, **kwargs) -> list:
    """Call ``fn`` and return its stops: [(room, function)], consecutive calls within one room as one stop."""
    stops, seen = [], set()

    def profile(frame, event, _arg):
        if event != 'call' or frame in seen:          # a generator resumed is not a new stop
            return
        seen.add(frame)
        room = frame.f_globals.get('__name__', '')
        if room.startswith(PACKAGE) and (not stops or stops[-1][0] != room):
            stops.append((room, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return stops


def returns(stops: list) -> Counter:
    """Return how many times the walk came back to each room it had left."""
    return Counter({room: n - 1 for room, n in Counter(room for room, _ in stops).items() if n > 1})


def configure_walk(model_path: str, monkeypatch=None):
    """Walk one configure of a model (its modules imported by an earlier one); return (stops, config.json reads)."""
    cfg = NodeConfig(model_path=model_path)
    LatentPipeline(cfg)                                # imports every module the configure needs, outside the walk
    reads = []
    real = json.loads

    def counting_loads(text, *args, **kwargs):
        doc = real(text, *args, **kwargs)
        if isinstance(doc, dict) and 'format' in doc and 'model' in doc:
            reads.append(doc)
        return doc

    patch = monkeypatch or pytest.MonkeyPatch()
    patch.setattr(layout.json, 'loads', counting_loads)
    try:
        stops = walk(LatentPipeline, cfg)
    finally:
        if monkeypatch is None:
            patch.undo()
    return stops, len(reads)


@pytest.mark.parametrize('model_path', EMBEDDED)
def test_a_configure_opens_the_bundle_once_and_returns_to_no_room_more_than_twice(model_path, monkeypatch):
    stops, reads = configure_walk(model_path, monkeypatch)
    assert reads == 1, f'config.json was parsed {reads} times in one configure'
    back = {room: n for room, n in returns(stops).items() if n > 2}
    assert not back, f'the walk returned to {back}: ' + ' > '.join(f'{r[len(PACKAGE):]}.{f}' for r, f in stops)
    assert len({room for room, _ in stops}) >= 6                   # the walk was seen: pipeline, bundle, backend ...


def test_the_walk_counts_what_it_should():
    """Check that a room left and entered again is a return, a loop within one room is not, a file read is counted."""
    from video_object_node.bundle.layout import Bundle, default_bundle_path
    from video_object_node.sensing.config import LidarConfig

    def trip():
        for _ in range(3):
            LidarConfig()                                        # sensing.config, then layout, three times
            default_bundle_path('default')
    stops = walk(trip)
    assert returns(stops)['video_object_node.sensing.config'] == 2
    assert returns(stops)['video_object_node.bundle.layout'] >= 2
    reads = []
    real = json.loads
    layout.json.loads = lambda text: reads.append(1) or real(text)
    try:
        Bundle.open(default_bundle_path('default'))
        Bundle.open(default_bundle_path('default'))
    finally:
        layout.json.loads = real
    assert len(reads) == 2


if __name__ == '__main__':
    for name in EMBEDDED:
        found, parsed = configure_walk(name)
        print(f'{name or "(camera default)"}: {len(found)} stops, {len({r for r, _ in found})} rooms, config.json '
              f'parsed {parsed}x; returns {dict(returns(found))}')
        print('   ' + ' > '.join(f'{r[len(PACKAGE):]}.{f}' for r, f in found))
