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

"""Training: the loss falls, resume is bit-exact, SIGTERM checkpoints, DDP replicas stay identical."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from safetensors.torch import load_file

from video_object_node.data.config import SimConfig
from video_object_node.data.simulate import generate
from video_object_node.model import Simone, SimoneConfig
from video_object_node.learn.loop import checkpoint_paths
from video_object_node.learn.train import main

MODEL = {'preset': 'small', 'conv_channels': [16, 16, 16], 'model_dim': 32, 'ff_dim': 64, 'spatial_layers': 1,
         'slot_layers': 1, 'decoder_hidden': 16}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data') / 'tiny'
    generate(SimConfig.preset('tiny', frames=10), root, seed=0, counts={'train': 8, 'val': 4, 'test': 0},
             shard_size=4, progress=False)
    return root


def write_config(tmp_path, data, **train):
    cfg = {'model': MODEL, 'train': {'data': str(data), 'steps': 6, 'batch_size': 4, 'warmup_steps': 2,
                                     'log_every': 2, 'eval_every': 3, 'eval_clips': 4, 'checkpoint_every': 3,
                                     'num_threads': 1, 'amp': 'off', **train}}
    path = tmp_path / 'train.yaml'
    path.write_text(yaml.safe_dump(cfg))
    return path


def final_tensors(run):
    return load_file(str(checkpoint_paths(run)[-1]))


def test_short_run_lowers_the_loss(tmp_path, data):
    config = write_config(tmp_path, data, steps=60, lr=2e-3, eval_every=60, log_every=1)
    assert main(['--config', str(config), '--run-dir', str(tmp_path / 'run'), '--no-progress']) == 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / 'run' / 'tb'))
    events.Reload()
    loss = [e.value for e in events.Scalars('train/loss')]
    mse = [e.value for e in events.Scalars('train/mse')]
    assert len(mse) == 60
    assert sum(loss[-5:]) < sum(loss[:5]) - 5 * 0.5, loss        # nats per pixel
    assert sum(mse[-5:]) < 0.85 * sum(mse[:5]), mse
    assert 'val/decomposition' in events.Tags()['images']
    metrics = [json.loads(line) for line in (tmp_path / 'run' / 'metrics.jsonl').read_text().splitlines()]
    # FG-ARI is an adjusted index: chance is 0, and a 60-step model may score below it; it must be computed.
    assert metrics[-1]['step'] == 60 and -1 <= metrics[-1]['val_fg_ari'] <= 1
    assert (tmp_path / 'run' / 'bundle' / 'weights.safetensors').is_file()


def test_resume_is_bit_exact(tmp_path, data):
    config = write_config(tmp_path, data)
    assert main(['--config', str(config), '--run-dir', str(tmp_path / 'straight'), '--no-progress']) == 0
    assert main(['--config', str(config), '--run-dir', str(tmp_path / 'chunked'), '--max-steps', '3',
                 '--no-progress']) == 0
    assert [p.name for p in checkpoint_paths(tmp_path / 'chunked')] == ['step-00000003.safetensors']
    assert main(['--resume', str(tmp_path / 'chunked'), '--no-progress']) == 0
    a, b = final_tensors(tmp_path / 'straight'), final_tensors(tmp_path / 'chunked')
    assert a.keys() == b.keys()
    assert all((a[k] == b[k]).all() for k in a), [k for k in a if not (a[k] == b[k]).all()][:5]
    # A finished run refuses a fresh start in the same folder.
    assert main(['--config', str(config), '--run-dir', str(tmp_path / 'straight'), '--no-progress']) == 2


def test_sigterm_checkpoints_and_resume_continues(tmp_path, data):
    config = write_config(tmp_path, data, steps=100000, checkpoint_every=100000, eval_every=100000,
                          log_every=100000)
    run = tmp_path / 'run'
    proc = subprocess.Popen([sys.executable, '-m', 'video_object_node.learn.train', '--config', str(config), '--run',
                             str(run), '--no-progress'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / 'tb').exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # let it take some steps
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    stopped_at = json.loads(out.strip().splitlines()[-1])['step']
    assert stopped_at > 0 and 'stopped by signal' in err
    assert checkpoint_paths(run)[-1].name == f'step-{stopped_at:08d}.safetensors'
    assert main(['--resume', str(run), '--max-steps', '2', '--no-progress']) == 0
    assert checkpoint_paths(run)[-1].name == f'step-{stopped_at + 2:08d}.safetensors'


def test_ddp_two_cpu_processes_keep_identical_replicas(tmp_path, data):
    config = write_config(tmp_path, data, steps=3, eval_every=3, checkpoint_every=3)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                           '--master_port', str(29500 + os.getpid() % 1000), '-m', 'video_object_node.learn.train',
                           '--config', str(config), '--run-dir', str(tmp_path / 'ddp'), '--no-progress'],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['step'] == 3
    digests = result['replica_digests']
    assert len(digests) == 2 and digests[0] == digests[1]
    # The replicas trained: the saved weights moved away from the seeded initial weights.
    torch.manual_seed(0)
    initial = Simone(SimoneConfig.from_dict(MODEL)).state_dict()
    saved = final_tensors(tmp_path / 'ddp')
    assert any(not torch.equal(saved[f'model.{k}'], v) for k, v in initial.items())


def test_bad_config_and_missing_run(tmp_path, data):
    config = write_config(tmp_path, data, batch_size=0)
    assert main(['--config', str(config), '--run-dir', str(tmp_path / 'r')]) == 2
    assert main(['--resume', str(tmp_path / 'nothing')]) == 2
    config = write_config(tmp_path, tmp_path / 'no-data')
    assert main(['--config', str(config), '--run-dir', str(tmp_path / 'r2')]) == 2


def test_init_from_bundle_copies_matching_weights(tmp_path, data):
    from video_object_node.model import save_bundle
    from video_object_node.learn.train import TrainError, init_from_bundle
    torch.manual_seed(0)
    base = {k: tuple(v) if isinstance(v, list) else v for k, v in MODEL.items() if k != 'preset'}
    source = Simone(SimoneConfig.preset('small', **base))
    bundle = save_bundle(source, tmp_path / 'src')
    wider = Simone(SimoneConfig.preset('small', **base, slot_grid=(2, 2), num_slots=4, decoder_time=False))
    loaded = init_from_bundle(wider, bundle)
    assert loaded == len(source.state_dict())      # K and the decoder's t input change no weight shape
    for name, value in source.state_dict().items():
        assert torch.equal(wider.state_dict()[name], value)
    with pytest.raises(TrainError, match=r'tensor\(s\) of this model do not fit .*another architecture'):
        init_from_bundle(Simone(SimoneConfig.preset('small', model_dim=48, conv_channels=(8, 8, 8),
                                                    decoder_hidden=8, object_dim=4, frame_dim=4, ff_dim=8)),
                         bundle)
    config = write_config(tmp_path, data, steps=2, init_from=str(bundle))
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.learn.train', '--config', str(config), '--run-dir',
                           str(tmp_path / 'run'), '--no-progress'], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f'initialised {loaded} tensors from {bundle}' in proc.stderr
