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
ament_python package setup for video_object_node.

``colcon build`` installs the console scripts into ``lib/video_object_node/`` (``setup.cfg``), where ROS looks for
a package's executables. A wheel (``pip install .``) puts them in ``bin/``: for a wheel, ``lib/video_object_node/``
gets a small launcher per console script that runs its ``bin/`` twin, so ``ros2 run`` and ``ros2 launch`` find
them in a pip-installed prefix too. (``pip install -e``: ``python -m video_object_node.devtools.ament_prefix PREFIX``.)
"""
import os
import sys
from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'video_object_node'


def tree(folder):
    """
    (install dir, files) pairs for the files under ``folder``, keeping its layout.

    A bundle's training logs (``*.jsonl``: its runs' metrics, the monitor, curves) and TensorRT engine caches stay in
    the checkout: what a bundle needs to run, its REPORT and its evaluation are installed.
    """
    pairs = []
    for root, _dirs, files in os.walk(folder):
        files = [os.path.join(root, f) for f in files if '/engines' not in root and not f.endswith('.jsonl')]
        if files:
            pairs.append((os.path.join('share', PACKAGE, root), files))
    return pairs


CONSOLE_SCRIPTS = [
    'video-object-demo = video_object_node.devtools.demo:main',
    'video-object-sim = video_object_node.data.simulate:main',
    'video-object-generate = video_object_node.generation.generate:main',
    'video-object-train = video_object_node.learn.train:main',
    'video-object-eval = video_object_node.learn.evaluate:main',
    'video-object-query = video_object_node.learn.query_eval:main',
    'video-object-pretrain = video_object_node.learn.pretrain:main',
    'video-object-propagate = video_object_node.learn.propagate:main',
    'video-object-objectness = video_object_node.export.objectness:main',
    'video-object-probe = video_object_node.learn.viewpoint:main',
    'video-object-bench = video_object_node.bench.suite:main',
    'video-object-export = video_object_node.export.onnx:main',
    'video-object-quantize = video_object_node.export.quantize:main',
    'video_object_node = video_object_node.ros.node:main',
    'video-object-sim-camera = video_object_node.devtools.sim_camera:main',
    'video-object-replay = video_object_node.ros.replay:main',
    'video-object-dataset = video_object_node.data.bag_dataset:main',
]
LAUNCHER = """#!/bin/sh
# ROS runs a package's executables from <prefix>/lib/{package}/; pip installs console scripts in <prefix>/bin/.
exec "$(dirname "$(readlink -f "$0")")/../../bin/{name}" "$@"
"""


def requirements(path):
    """Return the pinned requirements of a requirements file (comments and includes left out)."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), path)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith(('#', '-'))]


def wheel_launchers():
    """(lib/<pkg>, launcher files) when building a wheel; nothing for colcon, which installs the scripts there."""
    if 'bdist_wheel' not in sys.argv:
        return []
    folder = os.path.join('build', 'ament_launchers')
    os.makedirs(folder, exist_ok=True)
    paths = []
    for entry in CONSOLE_SCRIPTS:
        name = entry.split('=')[0].strip()
        path = os.path.join(folder, name)
        with open(path, 'w') as f:
            f.write(LAUNCHER.format(package=PACKAGE, name=name))
        os.chmod(path, 0o755)
        paths.append(path)
    return [(os.path.join('lib', PACKAGE), paths)]


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', glob('launch/*')),
        ('share/' + PACKAGE + '/config', glob('config/*')),
        *tree('models'),
        *wheel_launchers(),
    ],
    install_requires=['setuptools'],
    # pip install .[runtime]: the node and replay with ONNX Runtime, no torch; .[tensorrt]: the same plus
    # cuda-python for the TensorRT backend (TensorRT from the platform); .[train]: everything (training, export,
    # simulation, tests), as the Makefile installs it.
    extras_require={'runtime': requirements('requirements-runtime.txt'),
                    'tensorrt': requirements('requirements-runtime.txt') + requirements('requirements-tensorrt.txt'),
                    'train': requirements('requirements-runtime.txt') + requirements('requirements-tensorrt.txt')
                    + requirements('requirements.txt')},
    zip_safe=True,
    maintainer='video_object_node maintainers',
    maintainer_email='maintainers@video-object-node.invalid',
    description='Unsupervised object-centric video latents (SIMONe) for ROS 2 robots.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={'console_scripts': CONSOLE_SCRIPTS},
)
