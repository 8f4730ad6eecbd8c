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

"""Data sources named on a command line: ROOT[:SPLIT[:WEIGHT]] and, for the objectness head, ROOT[:SPLIT]."""
import re

import pytest

from video_object_node.learn.data_sources import SourceError, parse_split, parse_weighted


def test_sources_parse_with_their_defaults_and_refuse_in_one_line(tmp_path, capsys):
    root = str(tmp_path)
    assert parse_weighted(root) == (tmp_path, 'train', 1.0)
    assert parse_weighted(f'{root}:val:2.5') == (tmp_path, 'val', 2.5)
    assert parse_split(root) == (tmp_path, 'train') and parse_split(f'{root}:val') == (tmp_path, 'val')
    for text, message in ((f'{root}:val:2', 'expected ROOT[:SPLIT]'), (str(tmp_path / 'none'), 'not a folder')):
        with pytest.raises(SourceError, match=re.escape(message)):
            parse_split(text)
    for text, message in ((f'{root}:val:x', 'not a number'), (f'{root}:val:0', 'must be > 0'),
                          (f'{root}:a:1:2', 'expected ROOT')):
        with pytest.raises(SourceError, match=re.escape(message)):
            parse_weighted(text)
    from video_object_node.export.objectness import main
    assert main(['train', '--data', str(tmp_path / 'none'), '--val', root, '--out', str(tmp_path / 'run'),
                 '--minutes', '1']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'is not a folder' in err
