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

"""
`video-object-quantize`: the int8 exports, their check, and the fp32 tail that keeps the output heads in fp32.

The check itself (FG-ARI of masks decoded from fp32 and int8 latents) runs on a tiny untrained bundle here; which
tail a real bundle needs is measured in its REPORT.
"""
import json

import pytest
import torch

from video_object_node.bundle.layout import INT8_FILES, Bundle
from video_object_node.data.config import SimConfig
from video_object_node.data.simulate import generate
from video_object_node.export import quantize
from video_object_node.export.onnx import export_bundle
from video_object_node.model import Simone, SimoneConfig, load_bundle, save_bundle

TINY = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1, decoder_hidden=16)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('quant') / 'tiny'
    generate(SimConfig.preset('tiny'), root, seed=3, counts={'train': 2, 'val': 0, 'test': 2}, progress=False)
    return root


@pytest.fixture
def bundle(tmp_path):
    torch.manual_seed(0)
    path = save_bundle(Simone(SimoneConfig.preset('small-objects', **TINY)), tmp_path / 'bundle')
    export_bundle(path)
    return path


def fp32_matmuls(bundle):
    """Names of the int8 window graph's MatMuls that kept their fp32 weight (the quantizer reorders the nodes)."""
    return set(quantize.weight_matmuls(bundle / INT8_FILES['window_encoder']))


def test_a_fixed_tail_keeps_the_last_matmuls_fp32_and_is_recorded(bundle, data, tmp_path):
    opened = Bundle.open(bundle)
    source, _ = quantize.window_source(opened, load_bundle(opened), tmp_path)    # an opset-23 export of it
    every = quantize.weight_matmuls(source)
    record = quantize.quantize_bundle(bundle, data, calibration_clips=2, test_clips=2, fp32_tail=0.5)
    kept = round(0.5 * len(every))
    assert len(every) >= 4 and record['window_matmuls'] == len(every) and record['window_matmuls_fp32'] == kept
    assert fp32_matmuls(bundle) == set(every[-kept:])                  # the ones nearest the outputs, and only those
    assert [t['fp32_tail'] for t in record['tries']] == [0.5]
    saved = json.loads((bundle / 'config.json').read_text())['exports']['int8']
    assert saved['fp32_tail'] == 0.5 and saved['passed'] == record['passed']
    quantize.quantize_bundle(bundle, data, calibration_clips=2, test_clips=2, fp32_tail=0.0)
    assert fp32_matmuls(bundle) == set()                             # all in int8


def test_auto_takes_the_first_tail_that_passes_else_the_best(bundle, data, monkeypatch):
    drops = iter([0.05, 0.03, 0.01, 0.0, 0.0])

    def fake_check(*_args):
        drop = next(drops)
        return {'fg_ari_drop': drop, 'passed': drop <= quantize.MAX_FG_ARI_DROP}

    monkeypatch.setattr(quantize, 'check_int8', fake_check)
    record = quantize.quantize_bundle(bundle, data, calibration_clips=2, test_clips=2)
    assert [t['fp32_tail'] for t in record['tries']] == list(quantize.FP32_TAILS[:3])
    assert record['passed'] and record['fp32_tail'] == quantize.FP32_TAILS[2]
    assert len(fp32_matmuls(bundle)) == record['window_matmuls_fp32'] > 0

    drops = iter([0.09, 0.04, 0.06, 0.07, 0.08])                   # none passes: the smallest drop is kept
    record = quantize.quantize_bundle(bundle, data, calibration_clips=2, test_clips=2)
    assert len(record['tries']) == len(quantize.FP32_TAILS) and not record['passed']
    assert record['fp32_tail'] == quantize.FP32_TAILS[1] and record['fg_ari_drop'] == 0.04
    assert len(fp32_matmuls(bundle)) == record['window_matmuls_fp32']    # the file on disk is that try's graph
    saved = json.loads((bundle / 'config.json').read_text())['exports']['int8']
    assert saved['fp32_tail'] == quantize.FP32_TAILS[1]


def test_cli_refuses_a_bad_tail(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        quantize.main([str(tmp_path), '--data', str(tmp_path), '--fp32-tail', '1.5'])
    assert exc.value.code == 2
    assert "--fp32-tail must be auto or a number in 0..1, got '1.5'" in capsys.readouterr().err


def test_the_int8_window_graph_is_quantized_from_the_3d_attention_export(bundle, data):
    """The bundle's own export stays opset 20 (TensorRT reads it); its int8 window graph has fused 3-D attention."""
    import onnx
    record = quantize.quantize_bundle(bundle, data, calibration_clips=2, test_clips=2, fp32_tail=0.0)
    assert record['window_source']['opset'] == 23 and record['window_source']['attention_3d'] >= 2
    assert json.loads((bundle / 'config.json').read_text())['exports']['window_encoder']['opset'] == 20
    graph = onnx.load(str(bundle / INT8_FILES['window_encoder'])).graph
    attention = [n for n in graph.node if n.op_type == 'Attention']
    assert len(attention) == record['window_source']['attention_3d']
    assert all({a.name for a in n.attribute} >= {'q_num_heads', 'kv_num_heads'} for n in attention)
    producer = {o: n for n in graph.node for o in n.output}
    around = {producer[i].op_type for n in attention for i in n.input} | \
        {n.op_type for n in graph.node for i in n.input if i in {a.output[0] for a in attention}}
    assert 'Transpose' not in around                                   # no head transposes in or out


def test_data_without_a_test_split_fails_before_the_bundle_changes(bundle, data, tmp_path):
    from video_object_node.data.dataset import DatasetError
    record = quantize.quantize_bundle(bundle, data, calibration_clips=2, test_clips=2, fp32_tail=0.0)
    before = {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()}
    train_only = tmp_path / 'train-only'
    generate(SimConfig.preset('tiny'), train_only, seed=4, counts={'train': 2, 'val': 0, 'test': 0}, progress=False)
    with pytest.raises(DatasetError, match="split 'test'"):
        quantize.quantize_bundle(bundle, train_only, calibration_clips=2, test_clips=2, fp32_tail=0.0)
    assert {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()} == before   # the passed export intact
    assert record['files']['window_encoder']['file'] in before
