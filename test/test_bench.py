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

"""`make bench` entry points run (figures are printed, not asserted: speed lives in benchmarks)."""
import json
import subprocess
import sys

import pytest
from ros_env import ros_env


def run_bench(tmp_path, *args):
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.bench.suite', *args], capture_output=True,
                          text=True, timeout=300, env=ros_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]


def test_sim_and_replay_benchmarks_run(tmp_path):
    rows = run_bench(tmp_path, '--only', 'sim', '--clips', '1')
    from video_object_node.data.config import SimConfig
    every = ['movi-a-like', 'tiny', 'lidar', 'textured', 'road', 'city']
    assert [r['preset'] for r in rows] == list(SimConfig.PRESETS) == every
    assert all(r['clips_per_s_1proc'] > 0 for r in rows)
    rows = run_bench(tmp_path, '--only', 'replay')
    assert rows[0]['bench'] == 'replay' and rows[0]['windows'] == 240 - 8 + 1
    assert 0 < rows[0]['share_outside_backend'] < 1


def test_runtime_benchmark_writes_the_rows_and_the_roofline(tmp_path):
    rows = run_bench(tmp_path, '--only', 'runtime', '--runs', '2', '--models', 'default', '--out',
                     str(tmp_path / 'latest.json'))
    assert any(r.get('bench') == 'roofline' for r in rows)
    latest = json.loads((tmp_path / 'latest.json').read_text())
    roof = [r for r in latest if r.get('bench') == 'roofline']
    assert len(roof) == 1 and {'fp32', 'int8'} <= set(roof[0]['gflops']) and roof[0]['features'] is not None
    measured = [r for r in latest if r.get('bench') != 'roofline']
    assert {(r['backend'], r['precision']) for r in measured} >= {('torch', 'fp32'), ('onnxruntime', 'fp32'),
                                                                  ('onnxruntime', 'int8')}
    for r in measured:
        assert {'model', 'backend', 'precision', 'window_ms_p50', 'frame_ms_p50_stride1', 'parity_max_abs'} <= set(r)
        assert r['window_ms_p50'] > 0 and r['parity_max_abs'] >= 0
    fp32 = next(r for r in measured if (r['backend'], r['precision']) == ('torch', 'fp32'))
    assert fp32['parity_max_abs'] < 1e-5                 # fp32 torch against itself
    from video_object_node.bundle.layout import default_bundle_path
    shipped = json.loads((default_bundle_path('default') / 'config.json').read_text())['exports']['int8']
    int8 = next(r for r in measured if r['precision'] == 'int8')
    assert int8['int8_fp32_tail'] == shipped['fp32_tail'] > 0       # quantized as the node runs it: heads in fp32


def test_node_benchmark_runs_the_node_in_a_child_process(tmp_path):
    out = tmp_path / 'latest.json'
    rows = run_bench(tmp_path, '--only', 'node', '--node-seconds', '3', '--soak-seconds', '3', '--node-strides', '1',
                     '--out', str(out))
    node = [r for r in rows if r['bench'] == 'node' and r['model'] == 'default-real']     # the embedded camera model
    assert [(r['input'], r['stride']) for r in node] == [('64x64', 4), ('640x480', 4), ('640x480', 4), ('64x64', 4),
                                                         ('640x480', 1)]
    small = [r for r in rows if r['bench'] == 'node' and r['model'] == 'default']         # the 32x32 model beside it
    assert [(r['input'], r['stride']) for r in small] == [('640x480', 4)]
    for r in node + small:
        assert 0 < r['frames_received'] <= r['frames_sent']
        assert r['frames_encoded'] + r['frames_dropped'] == r['frames_received']      # every frame accounted for
        assert r['publish_late_ms_max'] >= 0 and r['windows'] > 0
        assert 0 < r['latency_ms_p50'] <= r['latency_ms_p99'] and r['rate_hz'] == 30.0
        assert r['node_cpu_ms_per_frame'] > 0                               # the node did work for its frames
    assert node[2]['debug_image'] and node[2]['debug_images_received'] > 0
    lidar = [r for r in rows if r['bench'] == 'node' and r['model'] == 'default-lidar-360']   # a spinning LIDAR
    assert len(lidar) == 1 and lidar[0]['rate_hz'] == 10.0 and lidar[0]['input'].endswith(' points')
    assert lidar[0]['decode_masses'] is True                      # its segments decoded: objects and centroids
    assert 0 < lidar[0]['frames_encoded'] <= lidar[0]['frames_received'] <= lidar[0]['frames_sent']
    assert any(r['bench'] == 'debug_image' for r in rows)
    saved = [r for r in json.loads(out.read_text()) if r.get('bench') == 'node']       # the JSON contract
    assert len(saved) == 7 and all({'model', 'input', 'rate_hz', 'stride', 'frames_sent', 'frames_encoded',
                                    'latency_ms_p50', 'latency_ms_p99'} <= set(r) for r in saved)


def test_node_benchmark_refuses_bad_lengths(capsys):
    from video_object_node.bench.node_bench import main
    with pytest.raises(SystemExit):
        main(['--seconds', '0'])
    assert '--seconds and --soak-seconds must be > 0' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['--input-depth', '-1'])
    assert '--input-depth must be 0..1000, got -1' in capsys.readouterr().err
