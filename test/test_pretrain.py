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

"""Self-supervised pretraining (SiamMAE) and label propagation."""
import json

import numpy as np
import pytest
import torch
import yaml

from video_object_node.config import ConfigError
from video_object_node.data.config import SimConfig
from video_object_node.model.config import SiamMAEConfig
from video_object_node.model.siammae import SiamMAE, patchify
from video_object_node.learn.pretrain import load_pretrained, main, resolve
from video_object_node.learn.propagate import label_maps, pixel_features, propagate, score_propagation

TINY = {'preset': 'small-objects', 'conv_channels': [16, 16, 16], 'model_dim': 32, 'ff_dim': 64,
        'spatial_layers': 1, 'slot_layers': 1, 'decoder_hidden': 16}


def test_masking_keeps_the_ratio_and_the_loss_reads_only_masked_patches():
    model = SiamMAE(SiamMAEConfig(simone=dict(TINY, conv_strides=[2, 2, 1]), mask_ratio=0.9))
    assert model.grid == (8, 8) and model.num_patches == 64
    keep = model.random_keep(5, torch.Generator().manual_seed(0))
    assert keep.shape == (5, 6) and all(len(set(row.tolist())) == 6 for row in keep)     # round(64 * 0.1) visible
    frames = torch.rand(2, 3, 32, 32)
    patches = patchify(frames, 4)
    assert patches.shape == (2, 64, 48) and torch.equal(patches[0, 9].reshape(3, 4, 4), frames[0, :, 4:8, 4:8])
    # The CNN sees the future frame blanked outside its visible patches: pixels of masked patches cannot leak.
    keep = model.random_keep(1, torch.Generator().manual_seed(1))
    future = torch.rand(1, 3, 32, 32)
    leaked = future.clone()
    leaked[:, :, :, :] = torch.rand(1, 3, 32, 32)
    for cell in keep[0].tolist():                 # same visible patches, different masked ones
        y, x = divmod(cell, 8)
        leaked[:, :, 4 * y:4 * y + 4, 4 * x:4 * x + 4] = future[:, :, 4 * y:4 * y + 4, 4 * x:4 * x + 4]
    with torch.no_grad():
        assert torch.allclose(model.encode_visible(future, keep), model.encode_visible(leaked, keep))


def test_pretraining_lowers_the_loss_resumes_and_refuses_bad_configs(tmp_path):
    from video_object_node.data.simulate import generate
    generate(SimConfig.preset('tiny', frames=8), tmp_path / 'data', seed=0, counts={'train': 6, 'val': 2, 'test': 0},
             progress=False)
    config = {'pretrain': {'encoder': 'cnn', 'simone': TINY, 'mask_ratio': 0.75, 'gap': [1, 3]},
              'train': {'data': str(tmp_path / 'data'), 'steps': 60, 'batch_size': 16, 'lr': 0.003,
                        'warmup_steps': 5, 'log_every': 1, 'eval_every': 30, 'checkpoint_every': 30,
                        'eval_clips': 2, 'num_threads': 1, 'amp': 'off'}}
    path = tmp_path / 'pretrain.yaml'
    path.write_text(yaml.safe_dump(config))
    assert main(['--config', str(path), '--run-dir', str(tmp_path / 'run'), '--max-steps', '30', '--no-progress']) == 0
    assert main(['--resume', str(tmp_path / 'run'), '--no-progress']) == 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    # One event file per call. Read each on its own: a directory read orders the files by name, and two files of one
    # process written within a second differ only in a writer counter that sorts as text (…9 after …10).
    scalars = []
    for path in (tmp_path / 'run' / 'tb').glob('events.out.tfevents.*'):
        events = EventAccumulator(str(path))
        events.Reload()
        scalars += events.Scalars('train/loss')
    loss = [e.value for e in sorted(scalars, key=lambda e: e.step)]
    assert len(loss) == 60 and np.mean(loss[-10:]) < np.mean(loss[:10]) - 0.05, loss
    metrics = [json.loads(line) for line in (tmp_path / 'run' / 'metrics.jsonl').read_text().splitlines()]
    assert [m['step'] for m in metrics] == [30, 60]
    encoder = load_pretrained(tmp_path / 'run')
    assert encoder.cfg.encoder == 'cnn' and encoder.simone_cfg.model_dim == 32
    # The pretrained CNN starts SIMONe's frame encoder; a model of another size is refused with one line.
    from video_object_node.model import Simone, SimoneConfig
    from video_object_node.learn.train import TrainError, init_frame_encoder
    model = Simone(SimoneConfig.from_dict(TINY))
    assert init_frame_encoder(model, tmp_path / 'run') > 0
    assert torch.equal(model.frame_encoder.cnn[0].weight, encoder.encoder.cnn[0].weight)
    with pytest.raises(TrainError, match='does not fit this model'):
        init_frame_encoder(Simone(SimoneConfig.preset('small-objects')), tmp_path / 'run')
    for bad, match in (({'encoder': 'rnn'}, 'encoder must be one of'), ({'mask_ratio': 1.0}, 'mask_ratio'),
                       ({'gap': [3, 1]}, 'gap must be'), ({'depth': 3}, 'unknown key')):
        with pytest.raises(ConfigError, match=match):
            resolve({'pretrain': bad})


def test_propagation_tracks_a_moving_square():
    """
    Check that a red square moving right over grey.

    Raw-pixel features at full resolution carry its first-frame mask through ten frames with J > 0.8.
    """
    t, h, w = 10, 24, 32
    frames = torch.full((t, 3, h, w), 0.5)
    masks = np.zeros((t, h, w), int)
    for i in range(t):
        frames[i, :, 8:16, 2 + 2 * i:10 + 2 * i] = torch.tensor([1.0, 0.1, 0.1])[:, None, None]
        masks[i, 8:16, 2 + 2 * i:10 + 2 * i] = 1
    feats = pixel_features(frames, (h, w))
    labels = propagate(feats, label_maps(masks[0], [1], (h, w)), top_k=5, context=3, radius=3)
    js, fs = score_propagation(labels, masks, [1])
    assert len(js) == t - 1 and min(js) > 0.8 and np.mean(fs) > 0.8, (js, fs)
