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
Inference without the training stack: with ONNX Runtime, the pipeline, replay and the node never import torch.

Each check runs in a child process where ``import torch`` fails (``sys.modules['torch'] = None``), as on an
edge image that installs the runtime alone (``pip install .[runtime]``).
"""
import json
import subprocess
import sys
import textwrap

import pytest

from ros_env import RosClient, ros_env

BLOCK_TORCH = "import sys; sys.modules['torch'] = None\n"


def run_without_torch(code: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', BLOCK_TORCH + textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, env=env)


def test_pipeline_and_replay_run_every_output_without_torch(tmp_path):
    result = run_without_torch(f'''
        import json
        from pathlib import Path
        import numpy as np
        from video_object_node.runtime.config import NodeConfig
        from video_object_node.runtime.pipeline import LatentPipeline
        from video_object_node.ros.replay import replay, write_image_bag
        from video_object_node.ros.inputs import input_for
        from video_object_node.ros.window_path import WindowPath
        rng = np.random.default_rng(0)
        out = {{}}
        cam = LatentPipeline(NodeConfig(backend='onnxruntime', stride=4, decode_masses=True))
        cam.set_query('red cube')
        path = WindowPath(cam, input_for(cam))
        for i in range(12):
            frame = cam.accept(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (i + 1) * 33_000_000)
            encoded = path.encode([frame])
            if encoded.result is not None:
                result = encoded.result
                messages = path.messages(result, 'camera')
        out['camera'] = sorted(messages)
        out['masses'] = float(result.masses.sum())
        lidar = LatentPipeline(NodeConfig(model_path='default-lidar', backend='onnxruntime', stride=4,
                                          decode_masses=True))
        for i in range(8):
            points = rng.uniform(-6, 6, (4000, 3)) * [1, 1, 0.2]
            points[:, 0] = np.abs(points[:, 0]) + 1
            due = lidar.add(lidar.accept(points, (i + 1) * 100_000_000)).due
        out['lidar'] = sorted(WindowPath(lidar, input_for(lidar)).messages(lidar.window(), 'lidar'))
        frames = rng.integers(0, 255, (16, 48, 64, 3), dtype=np.uint8)
        write_image_bag(Path({str(tmp_path)!r}) / 'in', frames, [(i + 1) * 33_000_000 for i in range(16)])
        summary = replay(Path({str(tmp_path)!r}) / 'in', Path({str(tmp_path)!r}) / 'out',
                         NodeConfig(backend='onnxruntime', stride=4), progress=False)
        out['replay'] = summary['windows_written']
        out['torch'] = [m for m in sys.modules if m.startswith('torch') and sys.modules[m] is not None]
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert {'object_latents', 'frame_latents', 'viewpoint', 'debug_image', 'query_result', 'query_mask'} <= set(
        out['camera'])
    assert abs(out['masses'] - 1.0) < 1e-3 and 'markers' in out['lidar'] and out['replay'] == 3
    assert out['torch'] == []


def test_torch_backend_without_torch_is_one_clear_line():
    result = run_without_torch('''
        from video_object_node.runtime.config import NodeConfig
        from video_object_node.runtime.pipeline import LatentPipeline
        try:
            LatentPipeline(NodeConfig(backend='torch'))
        except ImportError as exc:
            print('refused:', exc)
    ''')
    assert 'refused:' in result.stdout and 'torch' in result.stdout, result.stderr[-2000:]


def test_tensorrt_and_auto_find_the_device_through_cuda_python_without_torch():
    """
    Check that TensorRT's device check goes through cuda-python, never torch.

    On a machine without a CUDA device (or driver) the runtime call fails with CUDA's own error name; the TensorRT
    backend is refused with the node's one reason line, and ``auto`` skips it for ONNX Runtime; torch stays unloaded.
    """
    result = run_without_torch('''
        import json, logging
        from video_object_node.runtime import cuda_memory
        from video_object_node.runtime.backend_choice import create_backend
        from video_object_node.bundle.layout import default_bundle_path
        records = []
        handler = logging.Handler()
        handler.emit = lambda record: records.append(record.getMessage())
        logging.getLogger('video_object_node.runtime').addHandler(handler)
        logging.getLogger('video_object_node.runtime').setLevel(logging.INFO)
        out = {'count': cuda_memory.cuda_device_count()}
        try:
            cuda_memory.check(cuda_memory.cudart().cudaGetDeviceCount(), 'cudaGetDeviceCount')
            out['check'] = 'ok'
        except cuda_memory.CudaError as exc:
            out['check'] = str(exc)
        try:
            create_backend(default_bundle_path('default'), 'tensorrt')
        except RuntimeError as exc:
            out['tensorrt'] = str(exc)
        out['auto'] = create_backend(default_bundle_path('default'), 'auto').name
        out['log'] = records
        out['torch'] = [m for m in sys.modules if m.startswith('torch') and sys.modules[m] is not None]
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if out['count']:
        pytest.skip('this machine has a CUDA device')
    assert out['check'].startswith('cudaGetDeviceCount failed: cudaError'), out['check']
    assert out['tensorrt'] == 'TensorRT needs a CUDA device; none is available'
    assert out['auto'] == 'onnxruntime'
    assert any('skipped tensorrt: no CUDA device' in line for line in out['log']), out['log']
    assert out['torch'] == []


def test_the_node_publishes_without_torch(tmp_path):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from video_object_node.ros.outputs import output_class
    from video_object_node.sensing.conversions import array_to_image, ns_to_stamp
    env = ros_env(tmp_path)
    node = subprocess.Popen([sys.executable, '-c', BLOCK_TORCH + 'from video_object_node.ros.node import main; '
                             'sys.exit(main())', '--ros-args', '-p', 'backend:=onnxruntime'], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = RosClient(env)
    try:
        received = []
        qos = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)
        client.node.create_subscription(output_class('object_latents'), '/video_object_node/object_latents',
                                        received.append, qos)
        pub = client.node.create_publisher(Image, '/image', qos)
        assert client.spin_until(lambda: pub.get_subscription_count() > 0, 60)
        import numpy as np
        for i in range(16):          # 3 windows at stride 4: 2 arrive even when DDS drops the first frame
            pub.publish(array_to_image(np.full((48, 64, 3), i * 15, np.uint8), 'rgb8', 'cam',
                                       ns_to_stamp(10**9 + i * 33_000_000)))
            client.spin_for(0.03)
        assert client.spin_until(lambda: len(received) >= 2, 30)
    finally:
        client.close()
        node.send_signal(subprocess.signal.SIGINT)
        output = node.communicate(timeout=30)[0]
    assert node.returncode == 0, output[-2000:]
