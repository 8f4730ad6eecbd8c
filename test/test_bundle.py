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

"""Model bundles: exact round trip, no pickles, clear errors."""
import json

import pytest
import torch

from video_object_node.bundle.layout import BundleError
from video_object_node.model import Simone, SimoneConfig, load_bundle, save_bundle


def test_round_trip_gives_identical_outputs(tmp_path):
    cfg = SimoneConfig.preset('small', pos_encoding='sinusoidal')
    torch.manual_seed(1)
    model = Simone(cfg).eval()
    path = save_bundle(model, tmp_path / 'bundle', meta={'note': 'test'})
    assert sorted(p.name for p in path.iterdir()) == ['config.json', 'weights.safetensors']
    loaded = load_bundle(path)
    assert loaded.cfg == cfg and not loaded.training
    video = torch.rand(2, cfg.frames, 3, cfg.height, cfg.width)
    with torch.no_grad():
        a, b = model.encode(video), loaded.encode(video)
        assert torch.equal(a.object_mean, b.object_mean) and torch.equal(a.frame_std, b.frame_std)
        da = model.decode(a.object_mean, a.frame_mean)
        db = loaded.decode(b.object_mean, b.frame_mean)
    assert torch.equal(da.rgb, db.rgb) and torch.equal(da.masks, db.masks)
    assert json.loads((path / 'config.json').read_text())['meta'] == {'note': 'test'}


def test_missing_and_bad_bundles(tmp_path):
    with pytest.raises(BundleError, match='not found'):
        load_bundle(tmp_path / 'nope')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(BundleError, match='has no config.json'):
        load_bundle(tmp_path / 'empty')
    path = save_bundle(Simone(SimoneConfig.preset('small')), tmp_path / 'b')
    doc = json.loads((path / 'config.json').read_text())
    doc['model']['num_slots'] = 5
    (path / 'config.json').write_text(json.dumps(doc))
    with pytest.raises(BundleError, match='does not match the pooled grid'):
        load_bundle(path)
    doc['model']['num_slots'] = 6
    doc['model']['object_dim'] = 8
    (path / 'config.json').write_text(json.dumps(doc))
    with pytest.raises(BundleError, match='weights do not match'):
        load_bundle(path)
    (path / 'config.json').write_text('{not json')
    with pytest.raises(BundleError, match='not valid JSON'):
        load_bundle(path)


def test_atomic_writes_leave_ordinary_permissions(tmp_path):
    import os
    import stat

    from video_object_node.files import atomic_write_text
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / 'x.json', '{}')
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / 'x.json').stat().st_mode) == 0o644


def test_averaged_bundles_hold_the_mean_of_their_weights(tmp_path):
    from video_object_node.model.bundle import average_bundles
    cfg = SimoneConfig.preset('small')
    paths = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        paths.append(save_bundle(Simone(cfg), tmp_path / f'b{seed}'))
    states = [load_bundle(p).state_dict() for p in paths]
    mean = average_bundles(paths).state_dict()
    for key, value in mean.items():
        want = torch.stack([s[key].float() for s in states]).mean(0)
        assert torch.allclose(value.float(), want, atol=1e-6), key
    key = 'frame_encoder.cnn.0.weight'
    assert all(not torch.equal(mean[key], s[key]) for s in states)    # the three differ, so the mean is new
    torch.manual_seed(3)
    other = save_bundle(Simone(SimoneConfig.preset('small', num_slots=4, slot_grid=(2, 2))), tmp_path / 'other')
    with pytest.raises(BundleError, match='another model config'):
        average_bundles([paths[0], other])
    with pytest.raises(BundleError, match='at least two'):
        average_bundles(paths[:1])


def test_average_bundles_tool_writes_a_bundle_and_refuses_an_existing_folder(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    tool = Path(__file__).resolve().parents[1] / 'tools' / 'average_bundles.py'
    cfg = SimoneConfig.preset('small')
    paths = [str(save_bundle(Simone(cfg), tmp_path / f'b{i}', meta={'step': i})) for i in range(2)]
    out = tmp_path / 'mean'
    done = subprocess.run([sys.executable, str(tool), str(out), *paths], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    meta = json.loads((out / 'config.json').read_text())['meta']
    assert meta['averaged_from'] == paths and meta['step'] == 0
    assert load_bundle(out).cfg == cfg
    again = subprocess.run([sys.executable, str(tool), str(out), *paths], capture_output=True, text=True)
    assert again.returncode == 2 and again.stderr.strip() == f'error: {out} exists; give a new folder'
