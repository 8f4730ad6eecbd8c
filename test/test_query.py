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

"""Object queries: the parser, the memory across windows, answers, and the node's query topics."""
import numpy as np
import pytest

from video_object_node.model.heads import SHAPES
from video_object_node.runtime.query import (COLOUR_NAMES, COLOUR_RGB, RELATIONS, SIZES, ObjectMemory, QueryError,
                                             parse_query, slot_positions)


@pytest.mark.parametrize('word', [*COLOUR_NAMES, *SHAPES, *SIZES, *RELATIONS, 'object', 'thing'])
def test_every_word_parses(word):
    q = parse_query(word)
    assert q.text == word
    assert word in (q.colour, q.shape, q.size, q.relation) or word in ('object', 'thing')


def test_queries_combine_attributes_and_one_relation():
    q = parse_query('The nearest large Blue cubes')
    assert (q.colour, q.shape, q.size, q.relation) == ('blue', 'cube', 'large', 'nearest')
    assert parse_query('grey ball').colour == 'gray' and parse_query('grey ball').shape == 'sphere'
    assert parse_query('   ').empty


@pytest.mark.parametrize('text, match', [
    ('red banana', "unknown word 'banana'; vocabulary: colours gray, red"),
    ('red blue cube', 'names two colours'),
    ('leftmost rightmost object', 'names two relations'),
])
def test_bad_queries_are_refused_with_one_line(text, match):
    with pytest.raises(QueryError, match=match) as info:
        parse_query(text)
    assert '\n' not in str(info.value)


def attributes(colour, shape, size=0.7, present=5.0):
    """Return an attribute-head row: RGB of the named colour, a confident shape, size (m), presence logit."""
    row = np.zeros(9, np.float32)
    row[:3] = COLOUR_RGB[COLOUR_NAMES.index(colour)]
    row[3 + SHAPES.index(shape)] = 8.0
    row[7], row[8] = size, present
    return row


def test_memory_answers_with_the_object_and_keeps_it_through_an_occlusion():
    memory = ObjectMemory(forget_after=2)
    ids = np.array([10, 11, 12])
    attrs = np.stack([attributes('red', 'cube'), attributes('blue', 'sphere', 0.9), attributes('red', 'cylinder')])
    positions = np.array([[50.0, 20, 0.1], [10.0, 30, 0.3], [30.0, 30, 0.05]])
    memory.update(ids, attrs, positions)
    assert [r['id'] for r in memory.answer(parse_query('red cube'))] == [10]
    assert memory.answer(parse_query('red'), max_results=5)[0]['id'] in (10, 12)
    assert [r['id'] for r in memory.answer(parse_query('leftmost object'), 3)] == [11, 12, 10]
    assert memory.answer(parse_query('largest object'), 1)[0]['id'] == 11
    assert memory.answer(parse_query('large sphere'), 1)[0]['id'] == 11
    assert memory.answer(parse_query('nearest object')) == []          # no 3-D positions: no answer
    assert memory.answer(parse_query('green cube')) == []
    # The red cube is hidden for a window (its slot covers nothing): still answered at its last position.
    hidden = positions.copy()
    hidden[0, 2] = 0.0
    memory.update(ids, attrs, hidden)
    answer = memory.answer(parse_query('red cube'))
    assert [r['id'] for r in answer] == [10] and answer[0]['u'] == 50.0
    memory.update(ids, attrs, hidden)
    memory.update(ids, attrs, hidden)                                  # unseen for 3 > 2 windows: forgotten
    assert memory.answer(parse_query('red cube')) == []


def test_slot_positions_from_masks_and_from_placement():
    masks = np.zeros((2, 32, 32), np.float32)
    masks[0] = 1.0
    masks[1, 8:16, 16:32] = 2.0                       # slot 1: rows 8-15, columns 16-31 of the model frame
    pos = slot_positions(None, masks, (48, 64), (32, 32), 'crop')    # the model saw the centre 48x48
    assert pos[1] == pytest.approx([8 + 24 * 1.5, 12 * 1.5, 8 * 16 * 2.25 / (48 * 64)])
    placement = np.zeros((2, 8, 4), np.float32)
    placement[1, -1] = (0.5, -0.5, 0.25, 0.25)        # centre at (24, 8) of 32x32, an 8x8 box
    pos = slot_positions(placement, None, (32, 32), (32, 32))
    assert pos[1] == pytest.approx([24.0, 8.0, 64 / 1024])


def test_query_report_has_the_contract_keys_and_checks_the_bundle(tmp_path):
    import json
    import subprocess
    import sys

    import torch

    from ros_env import ros_env
    from video_object_node.data.config import SimConfig
    from video_object_node.model import Simone, SimoneConfig, save_bundle
    from video_object_node.learn.query_eval import boundary_f, window_queries
    from video_object_node.data.simulate import generate
    generate(SimConfig.preset('textured', frames=8), tmp_path / 'data', seed=3,
             counts={'train': 0, 'val': 0, 'test': 3}, progress=False)
    tiny = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1, decoder_hidden=16)
    torch.manual_seed(0)
    save_bundle(Simone(SimoneConfig.preset('small-objects', **tiny)), tmp_path / 'objects')
    save_bundle(Simone(SimoneConfig.preset('small', **tiny)), tmp_path / 'plain')
    env = ros_env(tmp_path)

    def run(bundle):
        return subprocess.run([sys.executable, '-m', 'video_object_node.learn.query_eval', '--model', str(bundle),
                               '--data', str(tmp_path / 'data'), '--out', str(tmp_path / 'out'), '--no-progress'],
                              capture_output=True, text=True, timeout=300, env=env)
    proc = run(tmp_path / 'objects')
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / 'out' / 'report.json').read_text())
    for key in ('referring_accuracy', 'j_mean', 'f_mean', 'baseline_referring_accuracy', 'baseline_j_mean'):
        assert 0.0 <= report[key] <= 1.0, key
    kinds = {'colour shape', 'shape', 'colour', 'size shape', 'leftmost', 'rightmost', 'largest', 'smallest'}
    assert report['num_queries'] > 0 and set(report['by_kind']) <= kinds
    proc = run(tmp_path / 'plain')
    assert proc.returncode == 2 and 'no attribute heads' in proc.stderr
    # Query generation keeps unique referents only; the boundary F of a mask with itself is 1.
    masks = np.zeros((16, 16), int)
    masks[2:6, 2:6], masks[8:14, 8:14] = 1, 2
    queries = window_queries(masks, [1, 2], [COLOUR_RGB[1], COLOUR_RGB[1]], [0, 0], [0.7, 0.9])
    assert ('colour shape', 'red cube', 1) not in queries and ('size shape', 'small cube', 1) in queries
    assert ('leftmost', 'leftmost object', 1) in queries and ('largest', 'largest object', 2) in queries
    assert boundary_f(masks == 1, masks == 1) == 1.0 and boundary_f(masks == 1, masks == 2) == 0.0
