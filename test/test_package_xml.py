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

"""package.xml as rosdep reads it: every key resolves, every import of the runtime is declared, a licence file."""
import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROSDEP = REPO.parent / 'shared' / 'rosdep'
# The node and bag replay: these floors and the configs they read (the developer tools live in devtools/).
RUNTIME = ('sensing', 'runtime', 'ros', 'bundle', 'config.py', 'files.py', 'palette.py', 'resources.py',
           'model/config.py', 'data/config.py')
MODULE_KEYS = {'cv2': 'python3-opencv', 'numpy': 'python3-numpy', 'yaml': 'python3-yaml', 'tqdm': 'python3-tqdm',
               'scipy': 'python3-scipy', 'onnxruntime': 'python3-onnxruntime-pip', 'rosbags': 'python3-rosbags-pip'}
PIP_ONLY = {'safetensors'}                          # no rosdep key: requirements-runtime.txt installs it
OPTIONAL = {'torch', 'tensorrt', 'cuda', 'cv_bridge'}   # imported only when that backend or library is there


# Packages of this repository (colcon builds them beside the node; rosdep skips them with --ignore-src).
WORKSPACE = {'video_object_msgs'}


def _keys(path: Path = REPO / 'package.xml') -> dict:
    root = ET.parse(path).getroot()
    kinds = ('depend', 'build_depend', 'buildtool_depend', 'exec_depend', 'test_depend')
    return {kind: [e.text.strip() for e in root.iter(kind)] for kind in kinds}


def _runtime_imports() -> dict:
    package = REPO / 'video_object_node'
    files = [p for name in RUNTIME for p in ((package / name).rglob('*.py') if (package / name).is_dir()
                                             else [package / name])]
    found: dict = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name.split('.')[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.split('.')[0]]
            else:
                continue
            for name in names:
                if name not in sys.stdlib_module_names and name != 'video_object_node':
                    found.setdefault(name, path.name)
    return found


@pytest.mark.skipif(not ROSDEP.is_dir(), reason='the rosdep key lists (../shared/rosdep) are not beside this checkout')
def test_every_package_xml_key_resolves_through_rosdep():
    known = set()
    for name in ('system-keys.txt', 'kilted-packages.txt'):
        known |= {line.strip() for line in (ROSDEP / name).read_text().splitlines() if line.strip()}
    for path in (REPO / 'package.xml', REPO / 'video_object_msgs' / 'package.xml'):
        keys = [k for values in _keys(path).values() for k in values]
        assert keys and not sorted(set(keys) - known - WORKSPACE), (path, sorted(set(keys) - known - WORKSPACE))
    assert {p.parent.name for p in REPO.glob('*/package.xml')} == WORKSPACE


def test_every_runtime_import_is_declared():
    declared = set(_keys()['exec_depend']) | set(_keys()['depend'])
    imports = _runtime_imports()
    assert {'rclpy', 'cv2', 'onnxruntime', 'safetensors'} <= set(imports)      # the walk sees the runtime
    missing = {m: where for m, where in imports.items() if m not in PIP_ONLY | OPTIONAL
               and MODULE_KEYS.get(m, m) not in declared}
    assert not missing, f'imported by the runtime but not an exec_depend of package.xml: {missing}'
    assert not {'python3-torch', 'python3-pytorch', 'python3-pytorch-pip'} & declared     # torch is not a runtime need
    pinned = (REPO / 'requirements-runtime.txt').read_text().lower()
    assert all(f'{m}==' in pinned for m in PIP_ONLY)


def test_the_licence_is_the_one_package_xml_names():
    root = ET.parse(REPO / 'package.xml').getroot()
    assert root.find('license').text == 'Apache-2.0'
    text = (REPO / 'LICENSE').read_text()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
