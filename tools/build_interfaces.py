#!/usr/bin/env python3
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
Build a rosidl interface package (ament_cmake) into a Python prefix made from the ROS wheels, without a ROS install.

    python tools/build_interfaces.py [PACKAGE_DIR] [--prefix PREFIX] [--underlay PREFIX] [--build BUILD_DIR]

Defaults: ``video_object_msgs`` into this interpreter's prefix (the project's ``.venv``). With the wheels of
``requirements-interfaces.txt`` installed in the prefix, this configures the package with the machine's cmake and C
compiler, builds it and installs it: ``import video_object_msgs.msg`` works and ``ros2 interface show`` (the kit)
prints its messages. ``--underlay``: build against the ROS wheels of another prefix (the ``.venv``) and install into
``--prefix`` alone (a test's temporary prefix). On a ROS install use ``colcon build`` instead.

The message wheels' exported CMake targets name the include folders of the machine that built them (its Python
headers and numpy); CMake refuses a missing include folder, so those paths are first rewritten to this interpreter's
(only in the prefix's ``share/*/cmake/*.cmake``, only when they do not exist here; idempotent).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The include folders that the wheels' exported targets name (the manylinux build machine's).
FOREIGN_INCLUDE = re.compile(r'/opt/python/cp3\d+-cp3\d+/(include/python3\.\d+|lib/python3\.\d+/site-packages/'
                             r'numpy/_core/include)')


def local_include(match: re.Match) -> str:
    """Return the local folder for a foreign include folder: this interpreter's headers or numpy's."""
    if match.group(1).startswith('include/'):
        return sysconfig.get_paths()['include']
    import numpy
    return numpy.get_include()


def fix_exported_includes(prefix: Path) -> list[Path]:
    """Rewrite foreign include folders in the prefix's exported CMake files; return the files changed."""
    changed = []
    for path in sorted(prefix.glob('share/*/cmake/*.cmake')):
        text = path.read_text()
        fixed = FOREIGN_INCLUDE.sub(lambda m: m.group(0) if Path(m.group(0)).is_dir() else local_include(m), text)
        if fixed != text:
            tmp = path.with_name(path.name + '.tmp')
            tmp.write_text(fixed)
            os.replace(tmp, path)
            changed.append(path)
    return changed


def build(package: Path, prefix: Path, build_dir: Path, jobs: int = 2, underlay: Path | None = None) -> None:
    """Configure, build and install ``package`` into ``prefix`` (CalledProcessError on failure)."""
    base = underlay or prefix
    fix_exported_includes(base)
    build_dir.mkdir(parents=True, exist_ok=True)
    paths = os.pathsep.join(str(p) for p in dict.fromkeys([prefix, base]))
    env = dict(os.environ, AMENT_PREFIX_PATH=paths, CMAKE_PREFIX_PATH=paths)
    env['PATH'] = f'{base / "bin"}{os.pathsep}{env.get("PATH", "")}'
    python = base / 'bin' / 'python'
    subprocess.run(['cmake', str(package), f'-DCMAKE_INSTALL_PREFIX={prefix}',
                    f'-DPython3_EXECUTABLE={python if python.exists() else sys.executable}', '-DBUILD_TESTING=OFF',
                    '-DCMAKE_BUILD_TYPE=Release'], cwd=build_dir, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['cmake', '--build', '.', '--target', 'install', '--', f'-j{jobs}'], cwd=build_dir, env=env,
                   check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('package', nargs='?', type=Path, default=ROOT / 'video_object_msgs')
    parser.add_argument('--prefix', type=Path, default=Path(sys.prefix))
    parser.add_argument('--underlay', type=Path, help='the prefix with the ROS wheels, when not --prefix itself')
    parser.add_argument('--build', type=Path, help='build folder (default build/interfaces/<package name>)')
    args = parser.parse_args(argv)
    if not (args.package / 'package.xml').is_file():
        print(f'error: {args.package} has no package.xml', file=sys.stderr)
        return 2
    base = args.underlay or args.prefix
    if not (base / 'share' / 'rosidl_default_generators').is_dir():
        print(f'error: {base} has no rosidl_default_generators: pip install -r requirements-interfaces.txt',
              file=sys.stderr)
        return 2
    build_dir = args.build or ROOT / 'build' / 'interfaces' / args.package.name
    try:
        build(args.package.resolve(), args.prefix.resolve(), build_dir.resolve(),
              underlay=args.underlay.resolve() if args.underlay else None)
    except subprocess.CalledProcessError as exc:
        print(f'error: building {args.package.name} failed ({" ".join(exc.cmd[:2])}): see {build_dir}',
              file=sys.stderr)
        return 1
    print(f'{args.package.name} installed into {args.prefix}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
