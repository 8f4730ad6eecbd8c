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
The commands the README and the guides in docs/ show are ones the package really takes.

Every command line in their code blocks and inline code that starts with one of the package's executables, ``python
-m video_object_node...``, ``python tools/...`` or ``make`` is checked against the real thing: the executable (and
its subcommand) exists, every ``--flag`` on the line is one its ``--help`` lists, and a make target is one the
Makefile defines. The commands' own behaviour is what the other tests run.
"""
import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted({m.group(1) for m in re.finditer(r"'([\w-]+) = video_object_node", (REPO / 'setup.py').read_text())})
DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md'))]
START = re.compile(r'^(?:\.venv/bin/)?(?:' + '|'.join(map(re.escape, SCRIPTS)) +
                   r'|python -m video_object_node[\w.]*|python tools/[\w.]+|make [\w-]+)(?=\s|$)')


def doc_commands() -> list[tuple[str, str]]:
    """Return (document, command line) for every command of ours the documents show."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        blocks = re.findall(r'```[a-z]*\n(.*?)```', text, re.S)
        lines = [line for block in blocks for line in block.replace('\\\n', ' ').splitlines()]
        lines += re.findall(r'`([^`\n]+)`', re.sub(r'```.*?```', '', text, flags=re.S))
        for line in lines:
            line = line.split('#')[0].strip()
            for part in re.split(r'\s*(?:&&|;|\|)\s*', line):
                if START.match(part):
                    found.append((doc.name, part))
    return found


def help_text(words: list[str]) -> tuple[str, int]:
    """Return the --help output of a command (its executable and subcommand words) and how many words it used."""
    if words[0] == 'python' and words[1] == '-m':
        argv, used = [sys.executable, '-m', words[2]], 3
    elif words[0] == 'python':
        argv, used = [sys.executable, str(REPO / words[1])], 2
    else:
        argv, used = [str(Path(sys.executable).parent / Path(words[0]).name)], 1
    first = run_help(tuple(argv))
    sub = words[used] if len(words) > used else ''
    if re.fullmatch(r'[a-z][\w-]*', sub) and re.search(r'\{[^}]*\b' + re.escape(sub) + r'\b[^}]*\}', first):
        return run_help((*argv, sub)), used + 1
    return first, used


@functools.lru_cache(maxsize=None)
def run_help(argv: tuple) -> str:
    """Return what ``argv --help`` prints (once per command: many documented lines share one)."""
    done = subprocess.run([*argv, '--help'], capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


COMMANDS = doc_commands()


def test_the_documents_show_commands():
    assert len(COMMANDS) >= 30, COMMANDS        # the check below would pass vacuously on a parsing slip
    assert {doc for doc, _ in COMMANDS} >= {'README.md', 'train-and-evaluate.md', 'deploy.md'}


@pytest.mark.parametrize('command', sorted({c for _, c in COMMANDS if not c.startswith('make ')}))
def test_each_documented_command_takes_the_flags_it_is_shown_with(command):
    words = command.split()
    text, used = help_text(words)
    assert 'usage' in text.lower(), f'{command}: no usage from --help:\n{text[-1500:]}'
    flags = {m.group(0) for w in words[used:] for m in [re.match(r'--[a-z0-9][a-z0-9-]*', w)] if m} - {'--help'}
    missing = sorted(flag for flag in flags if not re.search(re.escape(flag) + r'(?![a-z0-9-])', text))
    assert not missing, f'{command}: --help does not list {missing}'


def test_each_documented_make_target_exists():
    targets = set(re.findall(r'^([\w-]+):', (REPO / 'Makefile').read_text(), re.M))
    shown = {c.split()[1] for _, c in COMMANDS if c.startswith('make ')}
    assert shown and shown <= targets, shown - targets
