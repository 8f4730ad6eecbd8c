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

"""Every committed training config resolves, and its starting bundle (if any) fits its model."""
from pathlib import Path

import pytest

from video_object_node.config import load_yaml
from video_object_node.model import Simone
from video_object_node.learn.train import init_from_bundle, resolve_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / 'config').glob('train_*.yaml'))


def test_there_are_training_configs():
    assert {p.name for p in CONFIGS} >= {'train_small.yaml', 'train_lidar.yaml'}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_training_config_resolves(path):
    model_cfg, train_cfg = resolve_config(load_yaml(path))
    assert train_cfg.data.startswith('data/')
    if train_cfg.init_from.startswith('models/'):        # a committed bundle: it must fit the model
        assert init_from_bundle(Simone(model_cfg), REPO / train_cfg.init_from) > 0
    else:                                               # '' or the run folder of an earlier stage
        assert train_cfg.init_from in ('',) or train_cfg.init_from.startswith('runs/')


@pytest.mark.parametrize('path', sorted((REPO / 'config').glob('pretrain_*.yaml')), ids=lambda p: p.name)
def test_pretraining_config_resolves(path):
    from video_object_node.learn.pretrain import resolve
    cfg, train_cfg = resolve(load_yaml(path))
    assert cfg.simone_config().height > 0 and train_cfg.source_list()[0]['data'].startswith('data/')


def test_params_file_comments_and_defaults_are_the_node_config_metadata():
    """config/video_object.yaml: each parameter's comment is its NodeConfig description, its value the default."""
    from pathlib import Path

    import yaml

    from video_object_node.runtime.config import node_parameters
    text = (Path(__file__).resolve().parents[1] / 'config' / 'video_object.yaml').read_text().splitlines()
    params = yaml.safe_load('\n'.join(text))['/**']['ros__parameters']
    metadata = node_parameters()
    assert list(params) == list(metadata)
    from video_object_node.runtime.config import params_file_text
    assert '\n'.join(text) + '\n' == params_file_text()
    for name, (default, meta) in metadata.items():
        line = next(i for i, t in enumerate(text) if t.strip().startswith(f'{name}:'))
        assert text[line - 1].strip() == f'# {meta["description"]}', name
        assert params[name] == default, name


def test_node_config_refuses_values_outside_its_metadata():
    import pytest

    from video_object_node.config import ConfigError
    from video_object_node.runtime.config import NodeConfig
    for bad, match in ((dict(backend='cuda'), 'backend must be one of'),
                       (dict(stride=0), r'stride must be an integer in \[1, 1024\]'),
                       (dict(max_frame_gap=0.0), 'max_frame_gap must be in'),
                       (dict(decode_masses='yes'), 'true or false'),
                       (dict(model_path=3), 'model_path must be a string')):
        with pytest.raises(ConfigError, match=match):
            NodeConfig(**bad)


def test_every_parameter_text_is_made_from_the_node_config():
    """The params file, the README table and the LIDAR launch file are generated; the launch file reads NodeConfig."""
    import ast
    import subprocess
    import sys

    from video_object_node.runtime.config import node_parameters
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(repo / 'tools' / 'parameter_texts.py'), '--check'],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    readme = (repo / 'README.md').read_text()
    for name, (_default, meta) in node_parameters().items():
        assert f'| `{name}` |' in readme and meta['description'] in readme, name
    launch = ast.parse((repo / 'launch' / 'video_object.launch.py').read_text())
    imported = {a.name for n in ast.walk(launch) if isinstance(n, ast.ImportFrom)
                and n.module == 'video_object_node.runtime.config' for a in n.names}
    assert 'node_parameters' in imported
    xml = (repo / 'launch' / 'video_object_lidar.launch.xml').read_text()
    assert node_parameters()['decode_masses'][1]['description'].replace("'", '&apos;') in xml or \
        node_parameters()['decode_masses'][1]['description'] in xml
