"""Every committed training config resolves, and its starting bundle (if any) fits its model."""
from pathlib import Path

import pytest

from video_object_node.config import load_yaml
from video_object_node.model import Simone
from video_object_node.train import init_from_bundle, resolve_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / 'config').glob('train_*.yaml'))


def test_there_are_training_configs():
    assert {p.name for p in CONFIGS} >= {'train_small.yaml', 'train_lidar.yaml'}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_training_config_resolves(path):
    model_cfg, train_cfg = resolve_config(load_yaml(path))
    assert train_cfg.data.startswith('data/')
    if train_cfg.init_from.startswith('models/'):        # a committed bundle: it must fit the model
        assert init_from_bundle(Simone(model_cfg), REPO / train_cfg.init_from) > 0
    else:                                               # '' or the run folder of an earlier stage
        assert train_cfg.init_from in ('',) or train_cfg.init_from.startswith('runs/')
