"""
int8 exports, checked against fp32 before the bundle records them.

int8 exports: ONNX Runtime quantization of the frame encoder (static, QDQ, per-channel weights, calibrated on
simulated clips) and the window encoder (dynamic: int8 weights, activations quantized per call), checked
against fp32 before the bundle records them.

    video-object-quantize BUNDLE --data data/textured [--calibration-clips 32] [--test-clips 48]

The check runs the fp32 and int8 graphs on the test split's windows: the max abs difference of the object
and frame means, and the change in FG-ARI (masks decoded from each one's latents by the same fp32 decoder)
and in viewpoint R^2. An export whose FG-ARI drops by more than ``MAX_FG_ARI_DROP`` is recorded as failed;
``precision: int8`` refuses a bundle without a passed int8 export, and ``auto`` never picks int8 by itself.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from ..bundle.layout import INT8_FILES
from ..files import atomic_write_text
from ..model.bundle import CONFIG_FILE, BundleError, load_bundle, read_bundle_config

MAX_FG_ARI_DROP = 0.02


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


def quantize_bundle(bundle: Path, data: Path, calibration_clips: int = 32, test_clips: int = 48) -> dict:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    from ..runtime.backends import bundle_exports

    from ..runtime.backend_choice import create_backend
    bundle = Path(bundle)
    exports = bundle_exports(bundle)
    model = load_bundle(bundle)
    c = model.cfg
    calib, _ = _windows(model, data, 'train', calibration_clips)
    fp32 = create_backend(bundle, 'onnxruntime')
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
    quantize_dynamic(str(bundle / exports['window_encoder']['file']), str(bundle / INT8_FILES['window_encoder']),
                     per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=['MatMul', 'Gemm'])
    record = check_int8(bundle, model, data, test_clips)
    record['files'] = {g: {'file': f, 'sha256': hashlib.sha256((bundle / f).read_bytes()).hexdigest()}
                       for g, f in INT8_FILES.items()}
    record['calibration'] = {'data': str(data), 'split': 'train', 'windows': int(len(calib))}
    doc = read_bundle_config(bundle)
    doc['exports']['int8'] = record
    atomic_write_text(bundle / CONFIG_FILE, json.dumps(doc, indent=2, sort_keys=True))
    return record


def check_int8(bundle: Path, model, data: Path, test_clips: int) -> dict:
    import torch

    from ..learn.metrics import fg_ari
    from ..learn.viewpoint import r2_scores, viewpoint_targets
    from ..runtime.backends import OnnxRuntimeBackend
    inputs, windows = _windows(model, data, 'test', test_clips)
    fp32, int8 = OnnxRuntimeBackend(bundle), OnnxRuntimeBackend(bundle, int8=True, require_passed=False)
    outs = {}
    for name, backend in (('fp32', fp32), ('int8', int8)):
        rows = []
        for video in inputs:
            feats = backend.encode_frames(video)[None]
            rows.append(backend.encode_window(feats))
        outs[name] = rows
    diff = max(float(np.abs(a.object_mean - b.object_mean).max()) for a, b in zip(outs['fp32'], outs['int8']))
    diff = max(diff, max(float(np.abs(a.frame_mean - b.frame_mean).max()) for a, b in zip(outs['fp32'], outs['int8'])))
    scores = {}
    for name, rows in outs.items():
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
        scores[name] = {'fg_ari': float(np.nanmean(aris)) if aris else None,
                        'viewpoint_r2': float(np.nanmean(r2_scores(np.concatenate(truths), np.concatenate(preds))))
                        if preds else None}
    drop = (scores['fp32']['fg_ari'] - scores['int8']['fg_ari']) if scores['fp32']['fg_ari'] is not None else None
    return {'parity_max_abs_diff': diff, 'fp32': scores['fp32'], 'int8': scores['int8'], 'fg_ari_drop': drop,
            'max_fg_ari_drop': MAX_FG_ARI_DROP, 'test_windows': len(windows),
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
    args = parser.parse_args(argv)
    from ..data.dataset import DatasetError
    from ..sensing.sensors import SensorError
    try:
        if args.calibration_clips < 1 or args.test_clips < 1:
            raise DatasetError('--calibration-clips and --test-clips must be >= 1')
        record = quantize_bundle(args.bundle, args.data, args.calibration_clips, args.test_clips)
    except (BundleError, DatasetError, SensorError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps({k: record[k] for k in ('parity_max_abs_diff', 'fp32', 'int8', 'fg_ari_drop', 'passed')}))
    return 0 if record['passed'] else 1


if __name__ == '__main__':
    sys.exit(main())
