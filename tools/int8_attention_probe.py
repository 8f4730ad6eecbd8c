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
Compare the window encoder's attention in fp32, dynamic int8 and static int8.

Side by side: the paper-like window encoder in ONNX Runtime fp32, dynamic int8 (what video-object-quantize
ships: weights int8, QK^T and A.V in fp32) and static int8 (every MatMul, activations too, so QK^T and A.V run in
int8 with scales calibrated on frame features; QDQ and QOperator formats), one thread each.

    python tools/int8_attention_probe.py joint|factorised [--folder DIR]   # one JSON line per variant
"""
import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
from video_object_node.bench.latency import timed_runs
from video_object_node.model.config import SimoneConfig
from video_object_node.export.onnx import export_bundle
from video_object_node.model import Simone, save_bundle
from video_object_node.bundle.layout import Bundle
from video_object_node.runtime.backends import bundle_exports


class Feeds:
    """The calibration reader ONNX Runtime's quantize_static takes: one feed dict at a time."""

    def __init__(self, feeds):
        self.feeds = iter(feeds)

    def get_next(self):
        return next(self.feeds, None)

    def rewind(self):
        pass


def median_ms(path: str, feed: dict) -> tuple[float, np.ndarray]:
    """Return one thread's median milliseconds per run of a graph, and its first output."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    session = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    first = session.run(None, feed)[0]
    return float(np.median(timed_runs(lambda: session.run(None, feed), 15, warmup=3)) * 1000), first


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog='int8_attention_probe.py', description=__doc__.strip().splitlines()[0])
    parser.add_argument('attention', choices=('joint', 'factorised'), help="the window encoder's attention")
    parser.add_argument('--folder', type=Path, help='where the random-weight bundle and its graphs go '
                        '(default /tmp/int8-attention/ATTENTION)')
    args = parser.parse_args(argv)
    root = args.folder or Path(f'/tmp/int8-attention/{args.attention}')
    torch.manual_seed(0)
    cfg = SimoneConfig.preset('paper', model_dim=128, num_heads=4, ff_dim=512, attention=args.attention)
    if not (root / 'window_encoder.onnx').is_file():
        save_bundle(Simone(cfg), root)
        export_bundle(root)
    exports = bundle_exports(Bundle.open(root))
    src = str(root / exports['window_encoder']['file'])
    rng = np.random.default_rng(0)
    # Calibration: frame features of random frames through the fp32 frame encoder.
    frame_encoder = ort.InferenceSession(str(root / exports['frame_encoder']['file']),
                                         providers=['CPUExecutionProvider'])

    def features(n):
        frames = rng.random((n * cfg.frames, cfg.channels, cfg.height, cfg.width), dtype=np.float32)
        return frame_encoder.run(None, {'frames': frames})[0].reshape(n, cfg.frames, cfg.num_spatial, cfg.model_dim)

    calibration = [{'features': features(1)} for _ in range(8)]
    dyn, qdq, qop = str(root / 'w_dyn.onnx'), str(root / 'w_static.onnx'), str(root / 'w_static_s8.onnx')
    quantize_dynamic(src, dyn, per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=['MatMul', 'Gemm'])
    for path, fmt in ((qdq, QuantFormat.QDQ), (qop, QuantFormat.QOperator)):
        quantize_static(src, path, Feeds(list(calibration)), quant_format=fmt, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=['MatMul', 'Gemm'], calibrate_method=CalibrationMethod.MinMax)
    feed = {'features': features(1)}
    out = {name: median_ms(path, feed) for name, path in
           (('fp32', src), ('dynamic', dyn), ('static_qdq', qdq), ('static_qop', qop))}
    base_ms, base = out['fp32']
    for name, (ms, object_mean) in out.items():
        print(json.dumps({'attention': args.attention, 'variant': name, 'window_ms_1thread': round(ms, 2),
                          'ratio_to_fp32': round(ms / base_ms, 3),
                          'object_mean_max_abs_err': round(float(np.abs(object_mean - base).max()), 4)}))


if __name__ == '__main__':
    main()
