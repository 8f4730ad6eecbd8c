"""
Compare the window encoder's attention in fp32, dynamic int8 and static int8.

Side by side: the paper-like window encoder in ONNX Runtime fp32, dynamic int8 (what video-object-quantize
ships: weights int8, QK^T and A.V in fp32) and static int8 (every MatMul, activations too, so QK^T and A.V run in
int8 with scales calibrated on frame features; QDQ and QOperator formats), one thread each.

    python tools/int8_attention_probe.py joint|factorised   # prints one JSON line per variant
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
from video_object_node.config import SimoneConfig
from video_object_node.model import Simone, save_bundle
from video_object_node.export.onnx import export_bundle
from video_object_node.runtime.backends import bundle_exports
attention = sys.argv[1] if len(sys.argv) > 1 else 'joint'
root = Path(sys.argv[2] if len(sys.argv) > 2 else f'/tmp/int8-attention/{attention}')
torch.manual_seed(0)
cfg = SimoneConfig.preset('paper', model_dim=128, num_heads=4, ff_dim=512, attention=attention)
if not (root / 'window_encoder.onnx').is_file():
    save_bundle(Simone(cfg), root)
    export_bundle(root)
ex = bundle_exports(root)
src = str(root / ex['window_encoder']['file'])
rng = np.random.default_rng(0)
# calibration: real frame features of random frames through the fp32 frame encoder
fe = ort.InferenceSession(str(root / ex['frame_encoder']['file']), providers=['CPUExecutionProvider'])


def feats(n):
    frames = rng.random((n * cfg.frames, cfg.channels, cfg.height, cfg.width), dtype=np.float32)
    return fe.run(None, {'frames': frames})[0].reshape(n, cfg.frames, cfg.num_spatial, cfg.model_dim)


calib = [{'features': feats(1)} for _ in range(8)]


class R:
    def __init__(self, feeds):
        self.feeds = iter(feeds)

    def get_next(self):
        return next(self.feeds, None)

    def rewind(self):
        pass


dyn, sta, sta_att = str(root / 'w_dyn.onnx'), str(root / 'w_static.onnx'), str(root / 'w_static_s8.onnx')
quantize_dynamic(src, dyn, per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=['MatMul', 'Gemm'])
quantize_static(src, sta, R(list(calib)), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=['MatMul', 'Gemm'],
                calibrate_method=CalibrationMethod.MinMax)
quantize_static(src, sta_att, R(list(calib)), quant_format=QuantFormat.QOperator, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=['MatMul', 'Gemm'],
                calibrate_method=CalibrationMethod.MinMax)
x = feats(1)
out = {}
for name, path in (('fp32', src), ('dynamic', dyn), ('static_qdq', sta), ('static_qop', sta_att)):
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    ref = s.run(None, {'features': x})
    for _ in range(3):
        s.run(None, {'features': x})
    ts = []
    for _ in range(15):
        t = time.perf_counter()
        s.run(None, {'features': x})
        ts.append(time.perf_counter() - t)
    out[name] = {'ms': float(np.median(ts) * 1000), 'object_mean': ref[0]}
base = out['fp32']['object_mean']
for name, r in out.items():
    err = float(np.abs(r['object_mean'] - base).max())
    print(json.dumps({'attention': attention, 'variant': name, 'window_ms_1thread': round(r['ms'], 2),
                      'ratio_to_fp32': round(r['ms'] / out['fp32']['ms'], 3),
                      'object_mean_max_abs_err': round(err, 4)}))
