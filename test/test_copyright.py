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
Every source file carries a copyright notice and the Apache-2.0 header that package.xml names.

With ament_copyright installed (a ROS install) the test runs it, as ``ament_cmake_copyright`` would; its wheel is not
among those this checkout can pin, so elsewhere the same rule is checked here: the first comment block of each Python
and CMake file holds ``Copyright <year> <holder>`` and the Apache License 2.0 notice, word for word.
"""
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTICE = """Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License."""


def source_files() -> list[Path]:
    tracked = subprocess.run(['git', 'ls-files'], cwd=REPO, capture_output=True, text=True).stdout.split()
    files = [REPO / f for f in tracked if f.endswith('.py') or f.endswith('CMakeLists.txt')]
    return files or sorted(p for p in REPO.rglob('*.py') if '.venv' not in p.parts)


def header(path: Path) -> str:
    """Return the first comment block of a file (after a shebang), without the comment marks."""
    lines = path.read_text().splitlines()
    if lines and lines[0].startswith('#!'):
        lines = lines[1:]
    block = []
    for line in lines:
        if not line.startswith('#'):
            break
        block.append(line[2:] if line.startswith('# ') else line[1:])
    return '\n'.join(block)


def missing(path: Path) -> str | None:
    """Say what the file's header lacks (None: nothing)."""
    text = header(path)
    if not re.match(r'Copyright (\d{4})(-\d{4})?(, \d{4})* \S', text):
        return 'no copyright notice in its first lines'
    if NOTICE not in text:
        return 'no Apache-2.0 license notice'
    return None


def test_every_source_file_has_the_copyright_and_licence_header():
    files = source_files()
    assert len(files) > 100                                      # the walk sees the repository
    bad = {str(p.relative_to(REPO)): why for p in files if (why := missing(p))}
    assert not bad, bad


def test_the_check_itself_by_hand(tmp_path):
    good = tmp_path / 'good.py'
    good.write_text('#!/usr/bin/env python3\n# Copyright 2026 someone\n#\n' +
                    '\n'.join(f'# {line}'.rstrip() for line in NOTICE.splitlines()) + '\n\n"""Doc."""\n')
    assert missing(good) is None
    (tmp_path / 'none.py').write_text('"""Doc."""\n')
    assert missing(tmp_path / 'none.py') == 'no copyright notice in its first lines'
    (tmp_path / 'mit.py').write_text('# Copyright 2026 someone\n# Permission is hereby granted, free of charge\n')
    assert missing(tmp_path / 'mit.py') == 'no Apache-2.0 license notice'


@pytest.mark.skipif(importlib.util.find_spec('ament_copyright') is None,
                    reason='ament_copyright is not installed (no wheel to pin); the check above applies its rule')
def test_ament_copyright():
    from ament_copyright.main import main
    assert main(argv=[str(REPO / d) for d in ('video_object_node', 'test', 'tools', 'launch', 'video_object_msgs')]
                + [str(REPO / 'setup.py')]) == 0
