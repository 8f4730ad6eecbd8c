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
`video-object-propagate`: label propagation through video by feature affinity, as the measure of frame features.

    video-object-propagate --features RUN_OR_BUNDLE --data data/textured --split test --out eval/propagate

The first frame's true masks (background and each object) are carried to every later frame, frame by frame,
as in SiamMAE's evaluation: each patch of frame t takes the labels of its ``top_k`` most similar patches
among a queue of earlier frames (the first frame and the last ``context`` ones), within ``radius`` patches,
weighted by their affinity (softmax of cosine similarity / ``temperature``). The labels are upsampled to the
image and each pixel takes the most likely one. Scores over frames 1.. and objects: J (IoU), F (boundary
F-measure) and their mean J&F.

Features: a pretraining run (``video-object-pretrain``'s ``encoder.safetensors``) or a SIMONe bundle's own
frame encoder; beside them, the same propagation on raw pixels (each patch's mean colour) and on the same
encoder with random weights, so that the gain is visible. Writes OUT/report.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data.dataset import DatasetError, iter_windows
from .query_eval import boundary_f


def propagate(features: torch.Tensor, first_labels: torch.Tensor, top_k: int = 5, context: int = 7,
              radius: int = 3, temperature: float = 0.07) -> torch.Tensor:
    """Carry frame 0's labels: features [T, gh, gw, D], first_labels [L, gh, gw] (soft one-hot) -> [T, L, gh, gw]."""
    t, gh, gw, d = features.shape
    feats = F.normalize(features.reshape(t, gh * gw, d).float(), dim=-1)
    ys, xs = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing='ij')
    cells = torch.stack([ys.flatten(), xs.flatten()], -1).float()
    near = (torch.cdist(cells, cells, p=float('inf')) <= radius)                           # [S, S]
    labels = [first_labels.reshape(len(first_labels), -1).float()]                         # each [L, S]
    for i in range(1, t):
        queue = [0] + list(range(max(1, i - context), i))
        ref = torch.cat([feats[j] for j in queue])                                          # [Q*S, D]
        ref_labels = torch.cat([labels[j] for j in queue], dim=1)                          # [L, Q*S]
        affinity = feats[i] @ ref.T                                                         # [S, Q*S]
        affinity = affinity.masked_fill(~near.repeat(1, len(queue)), float('-inf'))
        k = min(top_k, affinity.shape[1])
        values, index = affinity.topk(k, dim=1)
        weights = torch.softmax(values / temperature, dim=1)                               # [S, k]
        labels.append((ref_labels[:, index] * weights[None]).sum(-1))                      # [L, S]
    return torch.stack(labels).reshape(t, -1, gh, gw)


def label_maps(masks: np.ndarray, ids: list, grid: tuple) -> torch.Tensor:
    """Turn true masks [h, w] into a soft one-hot [1 + len(ids), gh, gw] (background first) by area pooling."""
    onehot = np.stack([masks == 0] + [masks == i for i in ids]).astype(np.float32)
    return F.adaptive_avg_pool2d(torch.from_numpy(onehot)[None], grid)[0]


def score_propagation(labels: torch.Tensor, masks: np.ndarray, ids: list) -> tuple[list, list]:
    """J and F of each object in frames 1.. : labels [T, L, gh, gw] upsampled to the masks' [T, h, w]."""
    t, _, h, w = masks.shape[0], None, *masks.shape[1:]
    up = F.interpolate(labels, size=(h, w), mode='bilinear', align_corners=False).argmax(1).numpy()   # [T, h, w]
    js, fs = [], []
    for k, oid in enumerate(ids, start=1):
        for i in range(1, t):
            truth, pred = masks[i] == oid, up[i] == k
            if not truth.any() and not pred.any():
                continue
            js.append(float((truth & pred).sum() / max((truth | pred).sum(), 1)))
            fs.append(boundary_f(pred, truth))
    return js, fs


def dense_features(encoder, frames: torch.Tensor) -> torch.Tensor:
    """Return an encoder's tokens as a grid: frames [T, C, H, W] -> [T, gh, gw, D] (SIMONe's CNN or the ViT)."""
    tokens = encoder(frames)
    t, s, d = tokens.shape
    gh = int(round((s * frames.shape[2] / frames.shape[3]) ** 0.5))
    return tokens.reshape(t, gh, s // gh, d)


def pixel_features(frames: torch.Tensor, grid: tuple) -> torch.Tensor:
    """
    Return the raw-pixel baseline.

    Each patch's mean colour, centred on mid-grey, with a constant channel so that a grey patch still has a direction
    for the cosine affinity -> [T, gh, gw, C + 1].
    """
    pooled = F.adaptive_avg_pool2d(frames, grid) - 0.5                                     # [T, C, gh, gw]
    constant = torch.full_like(pooled[:, :1], 0.5)
    return torch.cat([pooled, constant], 1).permute(0, 2, 3, 1)


def load_encoder(source: Path):
    """
    Return a frame encoder from a pretraining run folder (or its encoder.safetensors) or a model bundle.

    With the model config it belongs to, and a randomly initialised twin.
    """
    from ..model import load_bundle
    from .pretrain import load_pretrained
    source = Path(source)
    if (source / 'config.json').is_file():
        model = load_bundle(source)
        twin = type(model.frame_encoder)(model.cfg)
        return model.frame_encoder.eval(), twin.eval(), model.cfg
    pretrained = load_pretrained(source)
    torch.manual_seed(0)
    twin = type(pretrained)(pretrained.cfg).encoder
    return pretrained.encoder.eval(), twin.eval(), pretrained.simone_cfg


@torch.no_grad()
def evaluate_propagation(source: Path, data, split: str = 'test', clips: int | None = None,
                         progress: bool = True, **options) -> dict:
    encoder, random_encoder, cfg = load_encoder(source)
    from ..data.dataset import sensor_for_dataset
    sensor = sensor_for_dataset(data, cfg)
    scores = {'features': ([], []), 'pixels': ([], []), 'random': ([], [])}
    objects = 0
    from ..data.dataset import ClipDataset
    frames_per_clip = ClipDataset(data, split).sim.frames
    for _clip, _start, window in iter_windows(data, split, frames_per_clip, sensor.dataset_size(), clips,
                                              progress='propagate' if progress else None,
                                              motion=sensor.reads_motion):
        inputs, masks = sensor.window_inputs(window)
        if masks is None:
            raise DatasetError(f'{data} has no masks to propagate')
        frames = torch.from_numpy(inputs).float().div_(255)
        ids = [int(i) for i in np.unique(masks[0]) if i != 0]
        if not ids:
            continue
        objects += len(ids)
        feats = dense_features(encoder, frames)
        grid = feats.shape[1:3]
        first = label_maps(masks[0], ids, grid)
        for name, f in (('features', feats), ('pixels', pixel_features(frames[:, :cfg.image_channels], grid)),
                        ('random', dense_features(random_encoder, frames))):
            js, fs = score_propagation(propagate(f, first, **options), masks, ids)
            scores[name][0].extend(js)
            scores[name][1].extend(fs)
    if not objects:
        raise DatasetError(f'no object in the first frames of split {split!r} of {data}')
    report = {'num_objects': objects, 'features': str(source), 'data': str(data), 'split': split,
              'grid': list(grid), 'options': options}
    for name, (js, fs) in scores.items():
        prefix = '' if name == 'features' else f'{name}_'
        report[f'{prefix}j_mean'], report[f'{prefix}f_mean'] = float(np.mean(js)), float(np.mean(fs))
        report[f'{prefix}j_and_f'] = (report[f'{prefix}j_mean'] + report[f'{prefix}f_mean']) / 2
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-propagate', description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.strip().splitlines()[1:]))
    parser.add_argument('--features', type=Path, required=True, help='pretraining run folder or model bundle')
    parser.add_argument('--data', type=Path, required=True)
    parser.add_argument('--split', default='test')
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--clips', type=int)
    parser.add_argument('--top-k', type=int, default=5)
    parser.add_argument('--context', type=int, default=7)
    parser.add_argument('--radius', type=int, default=3)
    parser.add_argument('--temperature', type=float, default=0.07)
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    from ..bundle.layout import BundleError
    from ..sensing.sensors import SensorError
    torch.set_num_threads(2)
    try:
        for name in ('top_k', 'context', 'radius'):
            if getattr(args, name) < 1:
                raise DatasetError(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
        if args.temperature <= 0:
            raise DatasetError(f'--temperature must be > 0, got {args.temperature}')
        report = evaluate_propagation(args.features, args.data, args.split, args.clips, not args.no_progress,
                                      top_k=args.top_k, context=args.context, radius=args.radius,
                                      temperature=args.temperature)
    except (BundleError, DatasetError, SensorError, FileNotFoundError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'report.json').write_text(json.dumps(report, indent=2, sort_keys=True))
    print(json.dumps({k: report[k] for k in ('j_and_f', 'j_mean', 'f_mean', 'pixels_j_and_f', 'random_j_and_f',
                                             'num_objects')}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
