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

"""`video-object-generate`: every command writes its outputs; edits change what they should; bad arguments."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from ros_env import ros_env
from video_object_node.data.config import SimConfig
from video_object_node.model import Simone, SimoneConfig, save_bundle

TINY = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1, decoder_hidden=16)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from video_object_node.data.simulate import generate
    root = tmp_path_factory.mktemp('gen')
    generate(SimConfig.preset('textured', frames=8), root / 'data', seed=2, counts={'train': 6, 'val': 0, 'test': 4},
             progress=False)
    torch.manual_seed(0)
    bundle = save_bundle(Simone(SimoneConfig.preset('small-objects', **TINY)), root / 'bundle')
    return root, bundle


def run(setup, tmp_path, *args):
    root, bundle = setup
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.generation.generate', *args, '--model', str(bundle),
                           '--out', str(tmp_path / 'out'), '--no-progress'], capture_output=True, text=True,
                          timeout=300, env=ros_env(tmp_path))
    return proc


@pytest.mark.parametrize('args', [
    ['sample', '--num', '3'], ['sample', '--num', '3', '--prior', 'data:DATA'],
    ['swap', '--clip', '0', '--from-clip', '1', '--slot', '2'], ['review', '--clip', '0', '--camera-from', '1'],
    ['interpolate', '--clip', '0', '--to-clip', '1', '--steps', '3'],
    ['baseline', '--minutes', '0.05', '--num', '3'],
    ['baseline', '--kind', 'svg', '--minutes', '0.05', '--num', '3'],
    ['baseline', '--kind', 'vid2vid', '--minutes', '0.05', '--num', '3'],
    ['baseline', '--kind', 'vid2vid', '--layout', 'simone-swap', '--minutes', '0.05', '--num', '3'],
], ids=lambda a: a[0] + ('-data' if 'data:DATA' in a else '')
   + ''.join(f'-{a[i + 1]}' for i, x in enumerate(a) if x in ('--kind', '--layout')))
def test_each_command_writes_its_outputs(setup, tmp_path, args):
    import imageio.v3 as iio
    root, _ = setup
    data = str(root / 'data')
    args = [a.replace('DATA', data) for a in args] + ['--data', data]
    proc = run(setup, tmp_path, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / 'out'
    doc = json.loads((out / 'result.json').read_text())
    assert doc['command'] == args[0] and 'consistency' in doc
    assert iio.imread(out / 'result.gif').shape[-1] in (3, 4) and iio.imread(out / 'result.mp4').shape[0] > 0
    assert (out / 'strip.png').read_bytes()[:4] == b'\x89PNG'
    if args[0] != 'baseline':
        assert np.isfinite(doc['consistency']) and doc['consistency'] >= 0
    if args[0] == 'review':
        assert 'viewpoint_r2_to_source' in doc
    if args[0] in ('sample', 'baseline'):
        assert doc['frechet_distance'] >= 0 and 0 <= doc['colour_histogram_distance'] <= 1
    if args[0] == 'baseline':
        assert doc['kind'] == (args[2] if '--kind' in args else 'mocogan') and doc['train_steps'] >= 1
        assert (out / 'generator.json').is_file() and list((out / 'checkpoints').glob('step-*.safetensors'))
    if 'svg' in args:
        pred = doc['prediction']
        assert pred['context_frames'] == 2 and len(pred['model']['psnr_per_step']) == 6
        assert pred['copy_last_frame']['psnr'] > 0 and 0 < pred['model']['ssim'] <= 1
    if 'vid2vid' in args:
        for key in ('mask_following_iou', 'mask_following_iou_real_clips', 'mask_following_iou_first_frame_held'):
            assert 0 < doc[key] <= 1
        assert iio.imread(out / 'strip.png').shape[0] == 3 * 32 * 4, 'real clip, rendering and its layout'
    if 'simone-swap' in args:
        assert 'swap edits' in doc['layout'] and doc['simone_decoded_edit']['frechet_distance'] >= 0


def test_swap_replaces_exactly_the_named_slot(setup, tmp_path):
    """
    Check that a swap replaces the named slot and nothing else.

    The swapped video is made from clip A's latents with slot 2 (latent and placement track) taken from
    clip C: the other slots and the frames are A's.
    """
    from video_object_node.data.dataset import ClipDataset
    from video_object_node.generation.scores import encode_clips
    from video_object_node.model import load_bundle
    root, bundle = setup
    proc = run(setup, tmp_path, 'swap', '--clip', '0', '--from-clip', '1', '--slot', '2', '--data', str(root / 'data'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    used = np.array(json.loads((tmp_path / 'out' / 'result.json').read_text())['latents']['objects'])
    model = load_bundle(bundle)
    ds = ClipDataset(root / 'data', 'test', size=(32, 32), frames=8)
    video = torch.from_numpy(np.stack([ds[i]['video'] for i in (0, 1)])).permute(0, 1, 4, 2, 3).float() / 255
    objects, _frames, _placement, _ = encode_clips(model, video)
    assert np.allclose(used[2], objects[1, 2], atol=1e-4)
    assert np.allclose(np.delete(used, 2, axis=0), np.delete(objects[0], 2, axis=0), atol=1e-4)


def test_baseline_resumes_its_run_folder(setup, tmp_path):
    root, _ = setup
    data = ['--data', str(root / 'data'), '--kind', 'tgan', '--num', '2']
    first = run(setup, tmp_path, 'baseline', *data, '--max-steps', '3')
    assert first.returncode == 0, first.stderr[-2000:]
    doc = json.loads((tmp_path / 'out' / 'result.json').read_text())
    assert doc['train_steps'] == 3
    again = run(setup, tmp_path, 'baseline', *data, '--max-steps', '3')
    assert again.returncode == 2 and 'already holds checkpoints; add --resume' in again.stderr
    resumed = run(setup, tmp_path, 'baseline', *data, '--max-steps', '5', '--resume')
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    doc = json.loads((tmp_path / 'out' / 'result.json').read_text())
    assert doc['train_steps'] == 5 and [h['step'] for h in doc['history']][-1] == 5


@pytest.mark.parametrize('args, match', [
    (['swap', '--clip', '0', '--from-clip', '1'], 'give --slot K or --query'),
    (['swap', '--clip', '0', '--from-clip', '9', '--slot', '1'], "clip 9 is not in split 'test'"),
    (['swap', '--clip', '0', '--from-clip', '1', '--slot', '6'], '--slot 6 is out of range: the model has 6 slots'),
    (['review', '--clip', '0'], 'review needs --camera-from'),
    (['sample', '--prior', 'uniform'], "--prior must be 'normal' or 'data:DATASET'"),
    (['baseline', '--kind', 'biggan'], "unknown --kind 'biggan'; one of mocogan, vgan"),
    (['baseline', '--kind', 'vid2vid', '--layout', 'boxes'], '--layout must be one of truth, simone'),
    (['baseline', '--batch', '1'], '--batch must be >= 2'),
    (['baseline', '--minutes', '0'], '--minutes must be > 0'),
])
def test_bad_arguments_give_one_line(setup, tmp_path, args, match):
    root, _ = setup
    proc = run(setup, tmp_path, *args, '--data', str(root / 'data'))
    assert proc.returncode == 2 and match in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
