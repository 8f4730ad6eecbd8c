"""Model bundles: exact round trip, no pickles, clear errors."""
import json

import pytest
import torch

from video_object_node.model import BundleError, Simone, SimoneConfig, load_bundle, save_bundle


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
