"""`make bench` entry points run (figures are printed, not asserted: speed lives in benchmarks)."""
import json
import subprocess
import sys

from ros_env import ros_env


def run_bench(tmp_path, *args):
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.bench', *args], capture_output=True, text=True,
                          timeout=300, env=ros_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]


def test_sim_and_replay_benchmarks_run(tmp_path):
    rows = run_bench(tmp_path, '--only', 'sim', '--clips', '1')
    assert [r['preset'] for r in rows] == ['movi-a-like', 'tiny', 'lidar', 'textured']
    assert all(r['clips_per_s_1proc'] > 0 for r in rows)
    rows = run_bench(tmp_path, '--only', 'replay')
    assert rows[0]['bench'] == 'replay' and rows[0]['windows'] == 240 - 8 + 1
    assert 0 < rows[0]['share_outside_backend'] < 1
