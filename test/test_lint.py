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
The linters package.xml names (ament_flake8, ament_pep257), run through ament's own wheels.

flake8 reads ament's rules with this project's line limit (setup.cfg [flake8]); pep257 runs ament's own
convention with nothing added to what it ignores.
"""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATHS = [str(REPO / name) for name in ('video_object_node', 'test', 'tools', 'launch', 'setup.py')]


def test_flake8(capsys):
    from ament_flake8.main import main
    rc = main(argv=['--config', str(REPO / 'setup.cfg'), *PATHS])
    out = capsys.readouterr().out
    found = [line for line in out.splitlines() if re.match(r'.+:\d+:\d+: [A-Z]+\d+ ', line)]
    assert rc == 0, '\n'.join(found[:50]) or out[-3000:]


def test_pep257(capsys):
    from ament_pep257.main import main
    rc = main(argv=['--', *PATHS])
    assert rc == 0, capsys.readouterr().out[-3000:]
