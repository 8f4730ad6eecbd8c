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
int8 exports, checked against fp32 before the bundle records them.

int8 exports: ONNX Runtime quantization of the frame encoder (static, QDQ, per-channel weights, calibrated on
simulated clips) and the window encoder (dynamic: int8 weights, activations quantized per call), checked
against fp32 before the bundle records them.

    video-object-quantize BUNDLE --data data/textured [--calibration-clips 32] [--test-clips 48]

    video-object-quantize BUNDLE --data D --fp32-tail 0.25      # keep the last quarter of its MatMuls in fp32

The check runs the fp32 and int8 graphs on the test split's windows: the max abs difference of the object
and frame means, and the change in FG-ARI (masks decoded from each one's latents by the same fp32 decoder)
and in viewpoint R^2. An export whose FG-ARI drops by more than ``MAX_FG_ARI_DROP`` is recorded as failed;
``precision: int8`` refuses a bundle without a passed int8 export, and ``auto`` never picks int8 by itself.

The window encoder's int8 graph is quantized from an export at ``ATTENTION_OPSET`` whatever the bundle's own export
(which TensorRT reads: opset 20 by default): its attention is one fused ONNX ``Attention`` op in the 3-D layout, which
dynamic quantization leaves in fp32 and ONNX Runtime runs in one kernel (the factorised paper-like window, int8, 2
cores: 26 ms from this graph, 35 ms from the opset-20 one). The record names it (``window_source``).

Where the whole window encoder in int8 fails the check, the MatMuls nearest its outputs (the frame and placement
heads, small products over slots and frames: little of the time) stay fp32: ``--fp32-tail auto`` (the default)
tries the tails in ``FP32_TAILS`` in order and keeps the first that passes (else the one with the smallest drop);
the record names the tail, how many MatMuls it kept in fp32 and every try.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..bundle.layout import INT8_FILES
from ..files import atomic_write_bytes
from ..bundle.layout import Bundle, BundleError, write_bundle_config
from ..model.bundle import load_bundle

MAX_FG_ARI_DROP = 0.02
# Shares of the window encoder's weight MatMuls, counted from its outputs back, kept fp32 by --fp32-tail auto.
FP32_TAILS = (0.0, 0.125, 0.25, 0.375, 0.5)


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over a list of input dicts."""

    def __init__(self, feeds: list[dict]):
        self.feeds = iter(feeds)

    def get_next(self):
        return next(self.feeds, None)

    def rewind(self):
        pass


def _windows(model, data, split: str, clips: int) -> tuple[np.ndarray, list]:
    from ..data.dataset import iter_windows
    from ..data.dataset import sensor_for_dataset
    sensor = sensor_for_dataset(data, model.cfg)
    windows = list(iter_windows(data, split, model.cfg.frames, sensor.dataset_size(), clips))
    inputs = np.stack([sensor.window_inputs(w)[0] for _i, _s, w in windows]).astype(np.float32) / 255.0
    return inputs, [(w, sensor) for _i, _s, w in windows]


def weight_matmuls(path: Path) -> list[str]:
    """Return the names of a graph's MatMul and Gemm nodes that have a weight (what dynamic quantization reaches)."""
    import onnx
    graph = onnx.load(str(path)).graph
    weights = {i.name for i in graph.initializer}
    return [n.name for n in graph.node if n.op_type in ('MatMul', 'Gemm') and any(i in weights for i in n.input)]


def window_source(bundle: Bundle, model, folder: Path) -> tuple[Path, dict]:
    """
    Return the fp32 window graph the int8 one is quantized from, and its record.

    The bundle's own export when it is at ``ATTENTION_OPSET`` or later, else a fresh export of it into ``folder``.
    """
    from ..bundle.graphs import ATTENTION_OPSET
    from ..export.onnx import export_window_graph
    own = bundle.exports['window_encoder']
    if own.get('opset', 0) >= ATTENTION_OPSET:
        return bundle.path / own['file'], {'opset': own['opset'], 'attention_3d': own.get('attention_3d', 0),
                                           'file': own['file']}
    path = folder / 'window_encoder_attention.onnx'
    return path, export_window_graph(model, path, ATTENTION_OPSET)


def quantize_bundle(bundle: Path, data: Path, calibration_clips: int = 32, test_clips: int = 48,
                    fp32_tail: float | None = None) -> dict:
    """
    Write and check the int8 exports of a bundle, and record them in its config.

    ``fp32_tail``: the share of the window encoder's weight MatMuls, nearest its outputs, kept fp32; None tries
    ``FP32_TAILS`` in order and keeps the first that passes the check.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from ..runtime.backend_choice import create_backend
    from ..runtime.backends import bundle_exports
    opened = Bundle.open(bundle)                  # config.json is read once; what was read goes everywhere below
    bundle = opened.path
    exports = bundle_exports(opened)
    model = load_bundle(opened)
    c = model.cfg
    calib, _ = _windows(model, data, 'train', calibration_clips)
    test = _windows(model, data, 'test', test_clips)     # no check split: fail before any file is written
    fp32 = create_backend(opened, 'onnxruntime')
    frames = calib.reshape(-1, c.channels, c.height, c.width)
    features = fp32.encode_frames(frames).reshape(len(calib), c.frames, c.num_spatial, c.model_dim)
    feeds = {'frame_encoder': [{'frames': frames[i:i + 8]} for i in range(0, len(frames), 8)],
             'window_encoder': [{'features': features[i:i + 2]} for i in range(0, len(features), 2)]}
    # The CNN: static (activations calibrated on the clips); the transformer: dynamic (activations quantized per
    # call from their own range), which keeps attention and the latent heads within the check's tolerance.
    quantize_static(str(bundle / exports['frame_encoder']['file']), str(bundle / INT8_FILES['frame_encoder']),
                    _Reader(feeds['frame_encoder']), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    with tempfile.TemporaryDirectory() as folder:
        window_src, source = window_source(opened, model, Path(folder))
        record = _quantize_window(opened, model, test, _scored(fp32, model, test), window_src, fp32_tail)
    record['window_source'] = source
    record['files'] = {g: {'file': f, 'sha256': hashlib.sha256((bundle / f).read_bytes()).hexdigest()}
                       for g, f in INT8_FILES.items()}
    record['calibration'] = {'data': str(data), 'split': 'train', 'windows': int(len(calib))}
    write_bundle_config(bundle, dict(opened.doc, exports=dict(exports, int8=record)))
    return record


def _quantize_window(opened: Bundle, model, test: tuple, reference: tuple, window_src: Path,
                     fp32_tail: float | None) -> dict:
    """
    Write the int8 window graph, trying the fp32 tails in turn; returns the check record of the one kept.

    ``reference``: the fp32 side's ``_scored`` outputs on the test windows, the same for every try.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    bundle = opened.path
    matmuls = weight_matmuls(window_src)
    tries, best = [], None
    for tail in FP32_TAILS if fp32_tail is None else (fp32_tail,):
        kept = matmuls[len(matmuls) - round(tail * len(matmuls)):] if tail > 0 else []
        quantize_dynamic(str(window_src), str(bundle / INT8_FILES['window_encoder']), per_channel=True,
                         weight_type=QuantType.QInt8, op_types_to_quantize=['MatMul', 'Gemm'], nodes_to_exclude=kept)
        record = check_int8(opened, model, test, reference)
        record.update(fp32_tail=tail, window_matmuls=len(matmuls), window_matmuls_fp32=len(kept))
        tries.append({'fp32_tail': tail, 'fg_ari_drop': record['fg_ari_drop'], 'passed': record['passed']})
        drop = record['fg_ari_drop'] if record['fg_ari_drop'] is not None else float('inf')
        if best is None or drop < best[0]:
            best = (drop, record, (bundle / INT8_FILES['window_encoder']).read_bytes())
        if record['passed']:
            break
    _drop, record, window_bytes = best
    if record['fp32_tail'] != tries[-1]['fp32_tail']:             # the file holds the last try: put the best back
        atomic_write_bytes(bundle / INT8_FILES['window_encoder'], window_bytes)
    record['tries'] = tries
    return record


def _scored(backend, model, test: tuple) -> tuple[list, dict]:
    """Run ``backend`` on the test windows (``_windows``' pair); returns its outputs and their FG-ARI and R^2."""
    import torch

    from ..scores.segments import fg_ari
    from ..bundle.viewpoint_probe import viewpoint_targets
    from ..scores.viewpoint import r2_scores
    inputs, windows = test
    rows = [backend.encode_window(backend.encode_frames(video)[None]) for video in inputs]
    aris, preds, truths = [], [], []
    for out, (window, sensor) in zip(rows, windows):
        placement = None if out.placement is None else torch.from_numpy(out.placement)
        with torch.no_grad():
            masks = model.decode(torch.from_numpy(out.object_mean), torch.from_numpy(out.frame_mean),
                                 placement=placement).masks[0].argmax(1).numpy()
        truth = sensor.window_inputs(window)[1]
        if truth is not None:
            aris.append(fg_ari(truth, masks))
        if out.viewpoint is not None and sensor.pose_key in window:
            preds.append(out.viewpoint[0])
            truths.append(viewpoint_targets(window[sensor.pose_key].astype(np.float64)))
    return rows, {'fg_ari': float(np.nanmean(aris)) if aris else None,
                  'viewpoint_r2': float(np.nanmean(r2_scores(np.concatenate(truths), np.concatenate(preds))))
                  if preds else None}


def check_int8(opened: Bundle, model, test: tuple, reference: tuple) -> dict:
    """Compare the bundle's int8 graphs on the test windows with ``reference``, the fp32 graphs' ``_scored``."""
    from ..runtime.backends import OnnxRuntimeBackend
    fp32_rows, fp32 = reference
    int8_rows, int8 = _scored(OnnxRuntimeBackend(opened, int8=True, require_passed=False), model, test)
    diff = max(max(float(np.abs(a.object_mean - b.object_mean).max()), float(np.abs(a.frame_mean - b.frame_mean).max()))
               for a, b in zip(fp32_rows, int8_rows))
    drop = (fp32['fg_ari'] - int8['fg_ari']) if fp32['fg_ari'] is not None else None
    return {'parity_max_abs_diff': diff, 'fp32': fp32, 'int8': int8, 'fg_ari_drop': drop,
            'max_fg_ari_drop': MAX_FG_ARI_DROP, 'test_windows': len(test[1]),
            'passed': drop is not None and drop <= MAX_FG_ARI_DROP}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-quantize', description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.strip().splitlines()[1:]))
    parser.add_argument('bundle', type=Path)
    parser.add_argument('--data', type=Path, required=True, help='simulated data set (calibration: train split, '
                                                                 'check: test split)')
    parser.add_argument('--calibration-clips', type=int, default=32)
    parser.add_argument('--test-clips', type=int, default=48)
    parser.add_argument('--fp32-tail', default='auto',
                        help='share (0..1) of the window encoder\'s weight MatMuls, nearest its outputs, kept fp32; '
                             f'auto: the first of {", ".join(map(str, FP32_TAILS))} that passes the check')
    args = parser.parse_args(argv)
    fp32_tail = None
    if args.fp32_tail != 'auto':
        try:
            fp32_tail = float(args.fp32_tail)
        except ValueError:
            fp32_tail = -1.0
        if not 0.0 <= fp32_tail <= 1.0:
            parser.error(f'--fp32-tail must be auto or a number in 0..1, got {args.fp32_tail!r}')
    from ..data.dataset import DatasetError
    from ..sensing.sensors import SensorError
    try:
        if args.calibration_clips < 1 or args.test_clips < 1:
            raise DatasetError('--calibration-clips and --test-clips must be >= 1')
        record = quantize_bundle(args.bundle, args.data, args.calibration_clips, args.test_clips, fp32_tail)
    except (BundleError, DatasetError, SensorError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps({k: record[k] for k in ('parity_max_abs_diff', 'fp32', 'int8', 'fg_ari_drop', 'passed',
                                             'fp32_tail', 'window_matmuls_fp32', 'tries')}))
    return 0 if record['passed'] else 1


if __name__ == '__main__':
    sys.exit(main())
