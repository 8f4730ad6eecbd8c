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

"""Export, backends, engine cache and streaming."""
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from video_object_node.bundle.layout import Bundle, BundleError
from video_object_node.model import Simone, SimoneConfig, load_bundle, save_bundle
from video_object_node.runtime import backend_choice
from video_object_node.runtime import torch_backend as torch_backend_module
from video_object_node.runtime.backends import InputError, OnnxRuntimeBackend
from video_object_node.runtime.backend_choice import TorchBackend, cpu_has_bf16, create_backend
from video_object_node.export.onnx import export_bundle
from video_object_node.runtime.streaming import StreamingEncoder
from video_object_node.runtime.tensorrt import EngineCache, EngineCacheError, check_export_opsets, engine_key

CUDA = torch.cuda.is_available()


@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    torch.manual_seed(3)
    path = save_bundle(Simone(SimoneConfig.preset('small')), tmp_path_factory.mktemp('rt') / 'bundle')
    export_bundle(path)
    return path


def frames(n, seed=0):
    return np.random.default_rng(seed).random((n, 3, 32, 32), dtype=np.float32)


def test_export_records_graphs_with_parity(bundle):
    doc = json.loads((bundle / 'config.json').read_text())
    exports = doc['exports']
    assert set(exports) == {'frame_encoder', 'window_encoder', 'mask_decoder'}
    for rec in exports.values():
        assert (bundle / rec['file']).is_file() and rec['parity_max_abs_diff'] <= 1e-4
    assert exports['window_encoder']['inputs'] == [{'name': 'features', 'shape': ['batch', 8, 16, 64]}]
    assert [o['name'] for o in exports['window_encoder']['outputs']] == ['object_mean', 'object_std', 'frame_mean',
                                                                         'frame_std']
    assert [i['name'] for i in exports['mask_decoder']['inputs']] == ['object_mean', 'frame_mean']
    assert exports['mask_decoder']['outputs'] == [{'name': 'masks', 'shape': ['batch', 6, 32, 32]}]


def test_masks_decode_through_every_backend_alike(bundle):
    model = load_bundle(bundle)
    rng = np.random.default_rng(0)
    obj = rng.normal(size=(2, 6, 16)).astype(np.float32)
    frm = rng.normal(size=(2, 8, 8)).astype(np.float32)
    with torch.no_grad():
        want = model.decode(torch.from_numpy(obj), torch.from_numpy(frm), frame_idx=torch.tensor([7])).masks[:, 0]
    want = want.numpy()
    for backend in (OnnxRuntimeBackend(Bundle.open(bundle)), TorchBackend(load_bundle(bundle))):
        got = backend.decode_masks(obj, frm)
        assert got.shape == (2, 6, 32, 32) and np.abs(got - want).max() <= 1e-4, backend.name
        assert np.allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_competing_slots_export_with_parity(tmp_path):
    torch.manual_seed(1)
    path = save_bundle(Simone(SimoneConfig.preset('small', slot_reduction='compete')), tmp_path / 'bundle')
    export_bundle(path)
    ort_backend, torch_backend = OnnxRuntimeBackend(Bundle.open(path)), TorchBackend(load_bundle(path))
    feats = torch_backend.encode_frames(frames(8))
    a, b = ort_backend.encode_window(feats[None]), torch_backend.encode_window(feats[None])
    for name in ('object_mean', 'object_std', 'frame_mean', 'frame_std'):
        assert np.abs(getattr(a, name) - getattr(b, name)).max() <= 1e-4


@pytest.mark.parametrize('preset, overrides', [('small', {'attention': 'factorised'}),
                                               ('real-motion', {'frames': 4, 'height': 32, 'width': 32})])
def test_factorised_attention_and_motion_models_export_with_parity(tmp_path, preset, overrides):
    torch.manual_seed(2)
    path = save_bundle(Simone(SimoneConfig.preset(preset, **overrides)), tmp_path / 'bundle')
    export_bundle(path)
    cfg = load_bundle(path).cfg
    ort_backend, torch_backend = OnnxRuntimeBackend(Bundle.open(path)), TorchBackend(load_bundle(path))
    inputs = np.random.default_rng(0).random((cfg.frames, cfg.channels, cfg.height, cfg.width), dtype=np.float32)
    feats = torch_backend.encode_frames(inputs)
    assert np.abs(ort_backend.encode_frames(inputs) - feats).max() <= 1e-4
    a, b = ort_backend.encode_window(feats[None, None].repeat(2, 0)[:, 0]), torch_backend.encode_window(feats[None])
    for name in ('object_mean', 'object_std', 'frame_mean', 'frame_std'):
        assert np.abs(getattr(a, name)[:1] - getattr(b, name)).max() <= 1e-4, name


def test_3d_attention_rewrite_of_a_factorised_window_keeps_its_outputs(tmp_path):
    import onnx
    from video_object_node.export.attention_layout import to_3d_attention
    torch.manual_seed(4)
    path = save_bundle(Simone(SimoneConfig.preset('small', attention='factorised')), tmp_path / 'bundle')
    record = export_bundle(path, opset=23)['window_encoder']
    cfg = load_bundle(path).cfg
    assert record['attention_3d'] == 2 * cfg.spatial_layers + cfg.slot_layers     # space, time, then the slots
    graph = onnx.load(str(path / record['file'])).graph
    producer = {o: n for n in graph.node for o in n.output}
    for node in (n for n in graph.node if n.op_type == 'Attention'):
        assert {producer[i].op_type for i in node.input} == {'Add'}       # Q, K, V: three projections, no copies
        assert {a.name: a.i for a in node.attribute}['q_num_heads'] == cfg.num_heads
    # Time attention still moves the frames axis (two transposes a layer); nothing else does.
    assert sum(n.op_type == 'Transpose' for n in graph.node) <= 2 * cfg.spatial_layers + 1
    feats = TorchBackend(load_bundle(path)).encode_frames(frames(16)).reshape(2, 8, 16, 64)     # two windows
    a = OnnxRuntimeBackend(Bundle.open(path)).encode_window(feats)
    b = TorchBackend(load_bundle(path)).encode_window(feats)
    for name in ('object_mean', 'object_std', 'frame_mean', 'frame_std'):
        assert np.abs(getattr(a, name) - getattr(b, name)).max() <= 1e-4, name
    model = onnx.load(str(path / record['file']))
    assert to_3d_attention(model) == 0                       # already rewritten: nothing left that it matches


def test_3d_attention_rewrite_leaves_other_attention_alone():
    from onnx import TensorProto, helper
    from video_object_node.export.attention_layout import to_3d_attention
    # Cross attention from three separate 4-D inputs: not a packed self-attention, so not rewritten.
    shape = [1, 2, 5, 4]
    graph = helper.make_graph([helper.make_node('Attention', ['q', 'k', 'v'], ['y'])], 'g',
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in 'qkv'],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 23)])
    before = model.SerializeToString()
    assert to_3d_attention(model) == 0 and model.SerializeToString() == before


def test_onnxruntime_matches_torch_for_any_batch(bundle):
    ort_backend = OnnxRuntimeBackend(Bundle.open(bundle))
    torch_backend = TorchBackend(load_bundle(bundle))
    for batch in (1, 5):
        f = frames(batch * 8).reshape(batch * 8, 3, 32, 32)
        a, b = ort_backend.encode_frames(f), torch_backend.encode_frames(f)
        assert np.abs(a - b).max() <= 1e-4
        feats = b.reshape(batch, 8, 16, 64)
        wa, wb = ort_backend.encode_window(feats), torch_backend.encode_window(feats)
        for name in ('object_mean', 'object_std', 'frame_mean', 'frame_std'):
            assert np.abs(getattr(wa, name) - getattr(wb, name)).max() <= 1e-4


def test_opset_23_export_matches_torch_and_old_tensorrt_refuses_it(bundle, tmp_path):
    import shutil
    path = shutil.copytree(bundle, tmp_path / 'b23')
    record = export_bundle(path, opset=23)
    assert record['window_encoder']['opset'] == 23 and record['window_encoder']['parity_max_abs_diff'] <= 1e-4
    feats = TorchBackend(load_bundle(path)).encode_frames(frames(8))[None]
    a = OnnxRuntimeBackend(Bundle.open(path)).encode_window(feats)
    b = TorchBackend(load_bundle(path)).encode_window(feats)
    assert np.abs(a.object_mean - b.object_mean).max() <= 1e-4
    cfg = load_bundle(path).cfg                            # every attention in the 3-D layout: no head transposes
    assert record['window_encoder']['attention_3d'] == cfg.spatial_layers + cfg.slot_layers
    with pytest.raises(EngineCacheError, match=r'opset 23 .*TensorRT 10.3.0 cannot parse.*--opset 20'):
        check_export_opsets(record, '10.3.0')
    check_export_opsets(record, '10.14.1')
    check_export_opsets(json.loads((bundle / 'config.json').read_text())['exports'], '10.3.0')   # opset 20


@pytest.mark.skipif(not (cpu_has_bf16() or CUDA), reason='no native bf16 here (AVX512-BF16/AMX CPU or CUDA)')
def test_bf16_torch_backend_close_to_fp32(bundle):
    device = 'cpu' if cpu_has_bf16() else 'cuda'
    fast, ref = TorchBackend(load_bundle(bundle), device, 'bf16'), TorchBackend(load_bundle(bundle))
    f = frames(8)
    a = fast.encode_window(fast.encode_frames(f)[None])
    b = ref.encode_window(ref.encode_frames(f)[None])
    assert a.object_mean.dtype == np.float32
    assert 0 < np.abs(a.object_mean - b.object_mean).max() <= 5e-2       # bf16: ~3 significant digits
    assert create_backend(bundle, 'auto', precision='bf16').describe().startswith('torch')


def test_precision_errors(bundle, monkeypatch):
    with pytest.raises(ValueError, match='ONNX Runtime runs the fp32 exports'):
        create_backend(bundle, 'onnxruntime', precision='bf16')
    with pytest.raises(ValueError, match='fp16 needs CUDA'):
        TorchBackend(load_bundle(bundle), 'cpu', 'fp16')
    with pytest.raises(ValueError, match='the torch backend runs fp32, fp16 or bf16'):
        TorchBackend(load_bundle(bundle), 'cpu', 'int8')
    monkeypatch.setattr(torch_backend_module, 'cpu_has_bf16', lambda: False)
    with pytest.raises(RuntimeError, match='would be emulated'):
        TorchBackend(load_bundle(bundle), 'cpu', 'bf16')


@pytest.mark.parametrize('kind', ['torch', 'onnxruntime'])
@pytest.mark.parametrize('stride', [1, 4])
def test_streaming_equals_whole_window(bundle, kind, stride):
    backend = create_backend(bundle, kind)
    model = load_bundle(bundle)
    video = frames(20, seed=1)
    stream = StreamingEncoder(backend, stride=stride)
    windows = [w for i, f in enumerate(video) if (w := stream.push(f, 1000 + i)) is not None]
    assert len(windows) == 1 + (20 - 8) // stride
    for w in windows:
        end = w.stamps[-1] - 1000 + 1
        assert w.stamps == list(range(1000 + end - 8, 1000 + end))
        with torch.no_grad():
            ref = model.encode(torch.from_numpy(video[end - 8:end])[None])
        assert np.abs(w.object_mean - ref.object_mean[0].numpy()).max() <= 1e-5
        assert np.abs(w.frame_std - ref.frame_std[0].numpy()).max() <= 1e-5


def test_streaming_resets_on_backwards_stamp_and_gap(bundle):
    stream = StreamingEncoder(create_backend(bundle, 'torch'), stride=1, max_frame_gap_ns=100)
    video = frames(8)
    for i in range(5):
        stream.add(video[i], i * 10)
    assert stream.buffered == 5
    stream.add(video[5], 20)                 # backwards
    assert stream.buffered == 1 and stream.resets['stamp_not_increasing'] == 1
    stream.add(video[6], 500)                # gap > 100 ns
    assert stream.buffered == 1 and stream.resets['frame_gap'] == 1
    with pytest.raises(RuntimeError, match='no window is due'):
        stream.window()
    # A due window survives a reset that comes before it is computed (the node drains frames in batches).
    for i in range(8):
        due = stream.add(video[i % 8], 1000 + i)
    assert due
    stream.add(video[0], 10)                 # backwards: buffer cleared
    assert stream.window().stamps == list(range(1000, 1008))
    with pytest.raises(RuntimeError, match='no window is due'):
        stream.window()


def test_auto_selection_logs_each_skip(bundle, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger='video_object_node.runtime')
    backend = create_backend(bundle, 'auto')
    if CUDA:
        import importlib.util
        assert backend.name == ('tensorrt' if importlib.util.find_spec('tensorrt') else 'torch')
    else:
        assert backend.name == 'onnxruntime'
    if not CUDA:
        assert 'skipped tensorrt: no CUDA device' in caplog.text
        assert 'chose onnxruntime' in caplog.text

    def no_ort(*_args, **_kwargs):
        raise ImportError('No module named onnxruntime')
    monkeypatch.setattr(backend_choice, 'OnnxRuntimeBackend', no_ort)
    caplog.clear()
    backend = create_backend(bundle, 'auto')
    if not CUDA:
        assert backend.describe() == 'torch (cpu, fp32)'
        assert 'skipped onnxruntime: No module named onnxruntime' in caplog.text


def test_clear_errors(bundle, tmp_path):
    plain = save_bundle(Simone(SimoneConfig.preset('small')), tmp_path / 'plain')
    with pytest.raises(BundleError, match='has no ONNX exports; run: video-object-export'):
        OnnxRuntimeBackend(Bundle.open(plain))
    corrupt = tmp_path / 'corrupt'
    corrupt.mkdir()
    for f in bundle.iterdir():
        if f.is_file():
            (corrupt / f.name).write_bytes(f.read_bytes())
    (corrupt / 'window_encoder.onnx').write_bytes(b'not onnx')
    with pytest.raises(BundleError, match='does not match its recorded sha256'):
        OnnxRuntimeBackend(Bundle.open(corrupt))
    (corrupt / 'window_encoder.onnx').unlink()
    with pytest.raises(BundleError, match='window_encoder.onnx is missing'):
        OnnxRuntimeBackend(Bundle.open(corrupt))
    backend = create_backend(bundle, 'torch')
    with pytest.raises(InputError, match=r'frames must have shape \[N, 3, 32, 32\], got \[1, 3, 16, 16\]'):
        backend.encode_frames(np.zeros((1, 3, 16, 16), np.float32))
    with pytest.raises(InputError, match='frames must be float32, got float64'):
        backend.encode_frames(np.zeros((1, 3, 32, 32)))
    bad = frames(1)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match='NaN or Inf'):
        backend.encode_frames(bad)
    with pytest.raises(ValueError, match='fp16 needs CUDA'):
        TorchBackend(load_bundle(bundle), precision='fp16')
    with pytest.raises(ValueError, match='backend must be one of'):
        create_backend(bundle, 'openvino')


class FakeEngine:
    def __init__(self, plan):
        if not plan.startswith(b'PLAN:'):
            raise ValueError('bad magic')
        self.plan = plan


def make_cache(folder, builds):
    def builder(onnx_path, precision, shapes):
        builds.append((onnx_path.name, precision))
        return b'PLAN:' + precision.encode()
    return EngineCache(folder, builder, FakeEngine)


def test_engine_cache_builds_once_then_loads(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger='video_object_node.runtime.tensorrt')
    onnx = tmp_path / 'g.onnx'
    onnx.write_bytes(b'graph-v1')
    builds = []
    cache = make_cache(tmp_path / 'engines', builds)
    key = engine_key(onnx, '10.9.0', 'Orin', '8.7', 'fp16', {'x': [[1, 3], [1, 3], [8, 3]]})
    assert cache.load_or_build('g', onnx, key).plan == b'PLAN:fp16'
    assert cache.load_or_build('g', onnx, key).plan == b'PLAN:fp16'
    assert len(builds) == 1
    assert 'no cached plan' in caplog.text and 'built in' in caplog.text and 'loaded cached plan' in caplog.text
    assert sorted(p.name for p in (tmp_path / 'engines').iterdir()) == ['g.fp16.key.json', 'g.fp16.plan']


def test_engine_cache_rebuilds_on_key_change_and_names_it(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger='video_object_node.runtime.tensorrt')
    onnx = tmp_path / 'g.onnx'
    onnx.write_bytes(b'graph-v1')
    builds = []
    cache = make_cache(tmp_path / 'engines', builds)
    shapes = {'x': [[1, 3], [1, 3], [8, 3]]}
    cache.load_or_build('g', onnx, engine_key(onnx, '10.9.0', 'Orin', '8.7', 'fp16', shapes))
    cache.load_or_build('g', onnx, engine_key(onnx, '10.13.0', 'Orin', '8.7', 'fp16', shapes))
    assert "tensorrt_version '10.9.0' -> '10.13.0'" in caplog.text
    onnx.write_bytes(b'graph-v2')
    cache.load_or_build('g', onnx, engine_key(onnx, '10.13.0', 'Orin', '8.7', 'fp16', shapes))
    rebuilds = [r.getMessage() for r in caplog.records if 'building a new plan' in r.getMessage()]
    assert 'the cache key changed: onnx_sha256' in rebuilds[-1]
    assert len(builds) == 3
    cache.load_or_build('g', onnx, engine_key(onnx, '10.13.0', 'Orin', '8.7', 'fp16', shapes), force_rebuild=True)
    assert len(builds) == 4 and 'a rebuild was forced' in caplog.text


def test_engine_cache_rebuilds_a_corrupt_plan_and_writes_atomically(tmp_path, caplog, monkeypatch):
    onnx = tmp_path / 'g.onnx'
    onnx.write_bytes(b'graph')
    builds = []
    cache = make_cache(tmp_path / 'engines', builds)
    key = engine_key(onnx, '10.9.0', 'Orin', '8.7', 'fp32', {})
    cache.load_or_build('g', onnx, key)
    plan_path, _ = cache.paths('g', 'fp32')
    plan_path.write_bytes(b'\x00truncated')
    caplog.set_level(logging.INFO, logger='video_object_node.runtime.tensorrt')
    assert cache.load_or_build('g', onnx, key).plan == b'PLAN:fp32'
    assert 'failed to load (bad magic)' in caplog.text and len(builds) == 2
    # A crash while writing leaves the old plan intact and no temp file behind.
    import video_object_node.runtime.tensorrt as trt_module
    from video_object_node.files import atomic_write

    def half_then_full_disk(path, write):
        def partial(tmp):
            Path(tmp).write_bytes(b'PLAN:half')
            raise OSError('disk full')
        atomic_write(path, partial)          # the real helper: it must remove its temp file
    monkeypatch.setattr(trt_module, 'atomic_write', half_then_full_disk)
    with pytest.raises(OSError):
        cache.load_or_build('g', onnx, key, force_rebuild=True)
    assert plan_path.read_bytes() == b'PLAN:fp32'
    assert [p.name for p in plan_path.parent.iterdir() if p.name.startswith('.')] == []


@pytest.mark.skipif(not CUDA, reason='needs a CUDA device')
def test_torch_cuda_backends_match_cpu(bundle):
    cpu = TorchBackend(load_bundle(bundle))
    f = frames(8)
    want = cpu.encode_frames(f)
    for kwargs, tol in ((dict(), 1e-4), (dict(cuda_graphs=True), 1e-4), (dict(precision='fp16'), 3e-2)):
        got = TorchBackend(load_bundle(bundle), device='cuda', **kwargs).encode_frames(f)
        assert np.abs(got - want).max() <= tol


@pytest.mark.skipif(not CUDA, reason='needs a CUDA device')
def test_tensorrt_backend_matches_torch(bundle):
    pytest.importorskip('tensorrt', reason='TensorRT is not installed')
    from video_object_node.runtime.tensorrt import TensorRTBackend
    trt_backend = TensorRTBackend(Bundle.open(bundle), precision='fp32')
    f = frames(8)
    assert np.abs(trt_backend.encode_frames(f) - TorchBackend(load_bundle(bundle)).encode_frames(f)).max() <= 1e-3


def test_cuda_buffers_round_trip_on_a_device():
    """Check the TensorRT backend's device memory (cuda-python): arrays come back as they went, buffers regrow."""
    from video_object_node.runtime.cuda_memory import DeviceBuffers, cuda_device_count
    if not cuda_device_count():
        pytest.skip('needs a CUDA device')
    memory = DeviceBuffers()
    for shape in ((4, 8), (16, 32)):
        a = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        memory.upload('x', a)
        assert np.array_equal(memory.download([('x', shape)])[0], a)
    assert memory.buffers['x'][1] == 16 * 32 * 4
    memory.close()


def test_debug_view_colours_each_id_the_same_wherever_its_slot_is():
    from video_object_node.palette import id_colours
    from video_object_node.runtime.overlay import debug_view
    image = np.zeros((48, 64, 3), np.uint8)
    masks = np.zeros((3, 32, 32), np.float32)
    masks[0, :, :16], masks[1, :, 16:], masks[2, :2, :2] = 1, 1, 0.5
    a = debug_view(image, masks, np.array([7, 9, 11]), 'crop')
    b = debug_view(image, masks[[1, 0, 2]], np.array([9, 7, 11]), 'crop')   # slots swapped, ids follow them
    assert a.shape == (48, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    colours = id_colours(np.array([7, 9]))
    # The model saw the centre 48x48 crop: left half of it is id 7's colour (blended on black), outside is black.
    assert np.allclose(a[30, 10], (colours[0] * 0.45).round(), atol=2) and a[30, 2].sum() == 0
    assert np.allclose(a[30, 50], (colours[1] * 0.45).round(), atol=2)
    assert debug_view(image, masks, np.array([7, 9, 11]), scale=0.5).shape == (24, 32, 3)
    assert not np.array_equal(colours[0], colours[1])


def test_encode_takes_the_newest_due_window_and_its_result_never_changes(bundle):
    """
    ``encode`` (the node's and replay's path) counts the windows that came due and returns the newest.

    The result is built once: frozen, arrays read-only, masks decoded on first use and then kept.
    """
    import dataclasses

    from video_object_node.runtime.config import NodeConfig
    from video_object_node.runtime.backends import TimedBackend
    from video_object_node.runtime.pipeline import LatentPipeline

    class Counting(TimedBackend):
        decodes = 0

        def decode_masks(self, *args):
            self.decodes += 1
            return super().decode_masks(*args)

    backend = Counting(create_backend(bundle, 'torch'))
    pipeline = LatentPipeline(NodeConfig(model_path=str(bundle), backend='torch', stride=2), backend)
    rng = np.random.default_rng(0)
    frames = [pipeline.accept(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), (i + 1) * 33_000_000)
              for i in range(12)]
    t = pipeline.model_cfg.frames
    encoded = pipeline.encode(frames)
    assert encoded.frames_encoded == 12 and encoded.windows_due == len(range(t, 13, 2)) and not encoded.rejections
    result = encoded.result
    assert result.stamp == frames[-1].stamp_ns and result.masses is None       # mass decoding is off
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ids = np.zeros(0)
    with pytest.raises(ValueError):
        result.ids[0] = 7
    assert backend.decodes == 0
    masks = result.last_masks()
    assert masks.shape == (pipeline.model_cfg.num_slots, 32, 32) and not masks.flags.writeable
    assert result.last_masks() is masks and backend.decodes == 1                         # decoded once
    late = pipeline.encode([pipeline.accept(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), 1_000)])
    assert late.result is None and late.frames_encoded == 1 and late.resets            # a stamp from the past
