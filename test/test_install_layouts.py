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
The package installed the three ways a user installs it is a real ament prefix for the ``ros2`` command line.

``colcon build`` (a ROS 2 workspace), a wheel (``pip install .``) and the Makefile's editable venv
(``test_ros2_cli.py``). In each, ``ros2 pkg executables`` lists the executables (``lib/video_object_node/``), the launch
and config files are found by walking ``share/video_object_node/``, and ``ros2 run`` starts the node.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ros_env import REPO
from test_ros2_cli import ROS2, cli_env

pytestmark = pytest.mark.skipif(ROS2 is None, reason='no ros2 command line: neither a sourced ROS 2 nor the kit')
SITE = f'lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages'


def check_prefix(prefix: Path, tmp_path):
    """Check what ROS sees in an install prefix: executables, walked share files, and a node that runs."""
    env = cli_env(tmp_path)
    env['AMENT_PREFIX_PATH'] = str(prefix)
    env['PYTHONPATH'] = os.pathsep.join([str(prefix / SITE), env['PYTHONPATH']])
    listed = subprocess.run([ROS2, 'pkg', 'executables', 'video_object_node'], env=env, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert {'video_object_node video_object_node', 'video_object_node video-object-sim-camera'} <= set(
        listed.stdout.splitlines())
    share = prefix / 'share' / 'video_object_node'
    walked = {os.path.relpath(os.path.join(root, f), share) for root, _d, files in os.walk(share) for f in files}
    assert {'launch/video_object.launch.xml', 'launch/video_object.launch.py', 'launch/video_object_lidar.launch.xml',
            'config/video_object.yaml', 'models/default/weights.safetensors', 'models/default-real/REPORT.md',
            'package.xml'} <= walked
    assert not [f for f in walked if f.endswith('.jsonl')], 'a bundle\'s training logs are not installed'
    usage = subprocess.run([ROS2, 'run', 'video_object_node', 'video_object_node', '--help'], env=env,
                           capture_output=True, text=True, timeout=120)
    assert usage.returncode == 0 and usage.stdout.startswith('usage: video_object_node'), usage.stderr
    shown = subprocess.run([ROS2, 'launch', 'video_object_node', 'video_object.launch.xml', '--show-args'], env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr


def test_colcon_build_makes_an_ament_prefix(tmp_path):
    colcon = Path(sys.executable).parent / 'colcon'
    if not colcon.exists():
        pytest.skip('colcon is not installed in this environment')
    built = subprocess.run([str(colcon), '--log-base', str(tmp_path / 'log'), 'build', '--base-paths', str(REPO),
                            '--build-base', str(tmp_path / 'build'), '--install-base', str(tmp_path / 'install')],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    prefix = tmp_path / 'install' / 'video_object_node'
    check_prefix(prefix, tmp_path)
    # colcon installs the console scripts themselves there (setup.cfg), not the wheel's launchers.
    assert '../../bin/' not in (prefix / 'lib/video_object_node/video_object_node').read_text()


def test_a_wheel_install_is_an_ament_prefix(tmp_path):
    wheels = tmp_path / 'wheels'
    made = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w',
                           str(wheels), str(REPO)], capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    wheel = next(wheels.glob('video_object_node-*.whl'))
    prefix = tmp_path / 'prefix'
    # --ignore-installed: into the new prefix only (pip would otherwise uninstall this checkout's editable install)
    installed = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--ignore-installed', '-q',
                                '--prefix', str(prefix), str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    launcher = prefix / 'lib' / 'video_object_node' / 'video_object_node'
    assert launcher.is_file() and os.access(launcher, os.X_OK)
    assert (prefix / 'bin' / 'video_object_node').is_file()        # the console script the launcher runs
    check_prefix(prefix, tmp_path)
