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

"""The package's folders are the data flow: every import runs down the floors, and no module imports itself back."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'video_object_node'
# Lowest first. The root modules (config, files, palette, resources) are the ground floor every folder may use.
FLOORS = ['', 'sensing', 'bundle', 'data', 'scores', 'model', 'runtime', 'learn', 'export', 'generation', 'ros',
          'devtools', 'bench']


def is_config(module: str) -> bool:
    """Whether a module is a config beside its owner (``FOLDER/config.py``): data that every floor may read."""
    parts = module.split('.')
    return len(parts) == 3 and parts[2] == 'config'


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def submodule(target: str, name: str) -> str:
    """``from target import name``: the module ``target.name`` when there is one, else ``target`` itself."""
    folder = PACKAGE.parent.joinpath(*target.split('.'))
    return f'{target}.{name}' if (folder / f'{name}.py').is_file() or (folder / name).is_dir() else target


def imports() -> set:
    """Return the (importer, imported) module pairs inside the package, function-level imports included."""
    edges = set()
    for path in PACKAGE.rglob('*.py'):
        name = module_name(path)
        package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
                edges.update((name, submodule(target, a.name)) for a in node.names)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or '']
                edges.update((name, n) for n in names if n.startswith('video_object_node'))
    return edges


def floor(module: str) -> int:
    """
    Return a module's floor: its folder's place in FLOORS.

    A config (``FOLDER/config.py``) stands on the ground floor: it may import only the ground floor and other configs.
    """
    if is_config(module):
        return 0
    parts = module.split('.')
    folder = parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else ''
    assert folder in FLOORS, f'{module} sits in a folder with no floor: add it to FLOORS where the flow puts it'
    return FLOORS.index(folder)


def test_every_import_runs_down_the_floors():
    up = sorted(f'{a} -> {b}' for a, b in imports() if floor(b) > floor(a))
    assert not up, 'imports that run back up:\n' + '\n'.join(up)


def test_configs_stand_beside_their_owners_and_import_only_data():
    """Every config dataclass lives in its owner's folder; a config module reads only the ground floor and configs."""
    import dataclasses
    import importlib
    configs = sorted(module_name(p) for p in PACKAGE.glob('*/config.py'))
    assert configs, 'no config modules found'
    owners = {}
    for name in configs:
        module = importlib.import_module(name)
        owners.update({obj.__name__: name.split('.')[1] for obj in vars(module).values()
                       if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == name})
    assert owners == {'SimoneConfig': 'model', 'SiamMAEConfig': 'model', 'LidarConfig': 'sensing', 'SimConfig': 'data',
                      'TrainConfig': 'learn', 'NodeConfig': 'runtime'}, owners
    for path in PACKAGE.rglob('*.py'):
        if not is_config(module_name(path)):
            found = [n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)
                     and n.name.endswith('Config')
                     and any('dataclass' in ast.unparse(d) for d in n.decorator_list)]
            assert not found, f'{path.name} defines config dataclass(es) {found}: they go in its folder\'s config.py'
    shared = importlib.import_module('video_object_node.config')
    assert not [n for n, obj in vars(shared).items() if dataclasses.is_dataclass(obj)], \
        'the shared config module holds machinery only'
    for a, b in imports():
        if is_config(a):
            assert floor(b) == 0, f'{a} imports {b}: a config may import only the ground floor and other configs'


def test_no_module_imports_itself_back():
    edges = imports()
    modules = {a for a, _ in edges}
    graph = {m: {b for a, b in edges if a == m and b in modules} for m in modules}
    cycles, state = [], {}

    def visit(node, path):
        state[node] = 'open'
        for nxt in graph[node]:
            if state.get(nxt) == 'open':
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 'done'

    for m in sorted(modules):
        if m not in state:
            visit(m, [m])
    assert not cycles, 'import circles:\n' + '\n'.join(' -> '.join(c) for c in cycles)


def test_the_check_sees_a_circle_and_an_upward_import(tmp_path, monkeypatch):
    """Check that the two checks above find what they look for (a package made here with one of each)."""
    pkg = tmp_path / 'video_object_node'
    (pkg / 'sensing').mkdir(parents=True)
    (pkg / 'ros').mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'sensing' / '__init__.py').write_text('')
    (pkg / 'ros' / '__init__.py').write_text('')
    (pkg / 'sensing' / 'a.py').write_text('from ..ros import b\n')
    (pkg / 'ros' / 'b.py').write_text('def f():\n    from ..sensing import a\n')
    monkeypatch.setattr(__import__(__name__), 'PACKAGE', pkg)
    edges = imports()
    assert ('video_object_node.sensing.a', 'video_object_node.ros.b') in edges
    assert floor('video_object_node.ros.b') > floor('video_object_node.sensing.a')
    try:
        test_no_module_imports_itself_back()
    except AssertionError as exc:
        assert 'video_object_node.sensing.a' in str(exc)
    else:
        raise AssertionError('the circle was not found')
