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
Make a Python prefix (a venv) a real ament prefix for this package, as ``colcon build`` would lay it out.

    python -m video_object_node.devtools.ament_prefix PREFIX [--source DIR]

ROS finds a package through the ament index under ``AMENT_PREFIX_PATH``: the marker
``share/ament_index/resource_index/packages/<pkg>``, launch and config files by walking ``share/<pkg>/`` (a
link to a folder is not followed), executables in ``lib/<pkg>/``. pip puts console scripts in ``bin/`` and an
editable install skips data files, so after ``pip install -e`` (the Makefile's ``.venv``) this writes:

- ``lib/video_object_node/<exe>``: a link to ``bin/<exe>`` for each of the package's console scripts;
- ``share/video_object_node/``: real folders holding a link to each file of ``package.xml``, ``launch/``,
  ``config/`` and ``models/`` in the source tree (edits in the checkout show through; a walk finds them);
- the package marker.

A wheel install needs none of this: its data files are the share folder and its ``lib/video_object_node``
launchers (``setup.py``). Run again after adding files; stale links are removed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

from ..resources import SOURCE_ROOT

PACKAGE = 'video_object_node'
SHARED = ('package.xml', 'launch', 'config', 'models')
SKIP_PARTS = ('engines', '__pycache__')


def console_scripts() -> list[str]:
    """Return the names of this distribution's console scripts."""
    try:
        entry_points = metadata.distribution(PACKAGE).entry_points
    except metadata.PackageNotFoundError:
        return []
    return sorted(e.name for e in entry_points if e.group == 'console_scripts')


def share_files(source: Path) -> list[Path]:
    """Files of the source tree that belong under share/<pkg>/, relative to ``source``."""
    out = []
    for name in SHARED:
        path = source / name
        if path.is_file():
            out.append(Path(name))
        elif path.is_dir():
            out += [p.relative_to(source) for p in sorted(path.rglob('*'))
                    if p.is_file() and not any(part in SKIP_PARTS for part in p.parts)]
    return out


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(target)


def make_prefix(prefix: Path, source: Path) -> dict:
    """Lay out ``prefix`` (see the module doc); returns what was made."""
    prefix, source = prefix.resolve(), source.resolve()
    if not (source / 'package.xml').is_file():
        raise FileNotFoundError(f'{source} is not the package source (no package.xml)')
    marker = prefix / 'share' / 'ament_index' / 'resource_index' / 'packages' / PACKAGE
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    share = prefix / 'share' / PACKAGE
    for name in SHARED:                       # an older layout linked whole folders: replace them
        if (share / name).is_symlink():
            (share / name).unlink()
    files = share_files(source)
    wanted = {share / f for f in files}
    if share.is_dir():
        for path in sorted(share.rglob('*'), reverse=True):
            if path.is_symlink() and path not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for f in files:
        _link(source / f, share / f)
    lib = prefix / 'lib' / PACKAGE
    lib.mkdir(parents=True, exist_ok=True)
    executables = []
    for name in console_scripts():
        script = prefix / 'bin' / name
        if script.is_file():
            _link(Path(os.path.relpath(script, lib)), lib / name)
            executables.append(name)
    return {'share_files': len(files), 'executables': executables}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m video_object_node.devtools.ament_prefix',
                                     description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.strip().splitlines()[1:]))
    parser.add_argument('prefix', type=Path, help='the prefix (a venv) that AMENT_PREFIX_PATH names')
    parser.add_argument('--source', type=Path, default=SOURCE_ROOT,
                        help='the package source tree (default: the checkout this module lives in)')
    args = parser.parse_args(argv)
    if not args.prefix.is_dir():
        print(f'error: prefix {args.prefix} is not a folder', file=sys.stderr)
        return 2
    try:
        made = make_prefix(args.prefix, args.source)
    except (FileNotFoundError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if not made['executables']:
        print(f'error: no console script of {PACKAGE} in {args.prefix}/bin (install the package into it first)',
              file=sys.stderr)
        return 2
    print(f'ament prefix {args.prefix}: {made["share_files"]} files in share/{PACKAGE}, '
          f'{len(made["executables"])} executables in lib/{PACKAGE}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
