"""`make demo`'s program end to end: node + simulated camera + monitor, on a small bundle."""
import subprocess
import sys

import torch

from ros_env import ros_env
from video_object_node.model import Simone, SimoneConfig, save_bundle


def test_demo_runs_and_writes_the_last_window(tmp_path):
    torch.manual_seed(0)
    bundle = save_bundle(Simone(SimoneConfig.preset('small')), tmp_path / 'bundle')
    env = ros_env(tmp_path)
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.demo', '--model', str(bundle), '--seconds', '8',
                           '--out', str(tmp_path / 'last.png')], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'windows received' in proc.stdout and 'input' in proc.stdout
    assert (tmp_path / 'last.png').read_bytes()[:4] == b'\x89PNG'
