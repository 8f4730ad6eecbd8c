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

"""`make demo`'s program end to end: node + simulated camera + monitor, on a small bundle."""
import subprocess
import sys

import torch

from ros_env import ros_env
from video_object_node.model import Simone, SimoneConfig, save_bundle


def test_demo_runs_writes_the_last_window_and_records_the_run(tmp_path):
    torch.manual_seed(0)
    tiny = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1, decoder_hidden=16)
    # The embedded default's kind: a model that reads and draws motion (5 channels in, the strip shows 3).
    bundle = save_bundle(Simone(SimoneConfig.preset('real-motion', **tiny)), tmp_path / 'bundle')
    env = ros_env(tmp_path)
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.devtools.demo', '--model', str(bundle),
                           '--seconds', '8', '--out', str(tmp_path / 'last.png'), '--record', str(tmp_path / 'run')],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'windows received' in proc.stdout and 'input' in proc.stdout
    assert (tmp_path / 'last.png').read_bytes()[:4] == b'\x89PNG'     # decoded from the latents (with placement)
    from rosbags.rosbag2 import Reader
    with Reader(tmp_path / 'run') as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    assert counts['/image'] > 0 and counts['/video_object_node/object_latents'] > 0
    assert counts['/video_object_node/debug_image'] > 0 and counts['/video_object_node/viewpoint'] > 0
