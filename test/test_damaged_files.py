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

"""Damaged files on disk (a bundle's weights, a data set shard) become one line naming the file, not a traceback."""
import shutil
import subprocess
import sys

import pytest

from ros_env import REPO, ros_env
from video_object_node.data.config import SimConfig
from video_object_node.data.dataset import ClipDataset, DatasetError
from video_object_node.data.simulate import generate


def truncate(path, keep: float = 0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


@pytest.fixture(scope='module')
def broken_bundle(tmp_path_factory):
    bundle = tmp_path_factory.mktemp('bundle') / 'default'
    shutil.copytree(REPO / 'models' / 'default', bundle)
    truncate(bundle / 'weights.safetensors')
    return bundle


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data') / 'tiny'
    generate(SimConfig.preset('tiny'), root, seed=0, counts={'train': 0, 'val': 0, 'test': 2}, progress=False)
    return root


def one_line(result, *words):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert all(w in lines[0] for w in words), lines[0]
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('command', [['video_object_node.learn.evaluate', '--data', 'DATA', '--out', 'OUT', '--model'],
                                     ['video_object_node.export.onnx']])
def test_cli_names_a_damaged_weights_file_and_exits_2(broken_bundle, data, tmp_path, command):
    args = [str(data) if a == 'DATA' else str(tmp_path / 'out') if a == 'OUT' else a for a in command[1:]]
    result = subprocess.run([sys.executable, '-m', command[0], *args, str(broken_bundle)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2
    one_line(result, 'weights.safetensors', 'damaged', 'copy the bundle again')


@pytest.mark.parametrize('backend', ['torch', 'onnxruntime'])
def test_the_node_logs_why_a_damaged_bundle_cannot_configure(broken_bundle, tmp_path, backend):
    result = subprocess.run([sys.executable, '-m', 'video_object_node.ros.node', '--ros-args', '-p',
                             f'model_path:={broken_bundle}', '-p', f'backend:={backend}'], env=ros_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    out = result.stdout + result.stderr
    reasons = [line for line in out.splitlines() if 'configure failed:' in line]
    assert len(reasons) == 1 and 'weights.safetensors: damaged' in reasons[0], out[-2000:]
    assert 'Traceback' not in out


def test_a_damaged_shard_is_named_with_what_to_do(data, tmp_path):
    copy = tmp_path / 'tiny'
    shutil.copytree(data, copy)
    shard = next((copy / 'test').glob('*.npz'))
    truncate(shard, 0.7)
    with pytest.raises(DatasetError, match='sha256 does not match'):
        ClipDataset(copy, 'test')[0]
    result = subprocess.run([sys.executable, '-m', 'video_object_node.learn.evaluate', '--model', str(REPO / 'models' /
                             'default'), '--data', str(copy), '--out', str(tmp_path / 'out'), '--no-progress'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    one_line(result, shard.name, 'damaged', 'make the data set again')
