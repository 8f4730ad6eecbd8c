#!/usr/bin/env python3
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
The simulator through the node's pipeline, with and without a bundle's objectness head: FG-ARI and mBO per frame.

Beside them, on the same frames: k-means on colour + position (k = K, one clustering per clip, as
``video-object-eval``) and the fixed grid of K tiles (the model config's ``slot_grid``).

    python tools/objectness_probe.py --model BUNDLE --data data/movi-fresh --split test [--clips N]

Every clip's frames go through ``LatentPipeline`` at stride 1 (as ``video-object-eval --stream`` feeds real footage);
each window's last frame is scored against the simulator's masks at the model's size, once with the node parameter
``objectness_segments`` on and once off (clips larger than the model, as the composites, are scored on the crop the
node takes, their masks fitted like the frames). ``video-object-eval`` scores the model's own decoder on whole windows;
this is what a subscriber of the segments gets, so a head trained on real footage cannot quietly cost the simulator.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from video_object_node.runtime.config import NodeConfig
from video_object_node.data.dataset import ClipDataset
from video_object_node.data.video_dataset import fit_crop
from video_object_node.scores.segments import fg_ari, fixed_grid_segments, kmeans_segments, mean_best_overlap
from video_object_node.runtime.pipeline import LatentPipeline


def fitted(video: np.ndarray, masks: np.ndarray, size: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Return a clip's frames and masks as the model sees them: the node's fitted crop when their size differs."""
    if video.shape[1:3] == tuple(size):
        return video, masks
    return (np.stack([fit_crop(f, *size, cv2.INTER_AREA) for f in video]),
            np.stack([fit_crop(m.astype(np.uint16), *size, cv2.INTER_NEAREST) for m in masks]).astype(masks.dtype))


def scores(model: Path, data: Path, split: str, clips: int, objectness: bool, baselines: bool = False) -> dict:
    """Mean per-frame FG-ARI and mBO of the last frame of every window, stride 1 (and the baselines' if asked)."""
    pipeline = LatentPipeline(NodeConfig(model_path=str(model), stride=1, backend='onnxruntime', num_threads=1,
                                         objectness_segments=objectness))
    ds = ClipDataset(data, split)
    ari, mbo = [], []
    base: dict = {'kmeans': ([], []), 'grid': ([], [])}
    cfg = pipeline.model_cfg
    for i in range(min(clips, len(ds))):
        clip = ds[i]
        pipeline.stream.reset()
        pipeline.tracker.reset()
        video, masks = fitted(clip['video'], clip['masks'], (cfg.height, cfg.width))
        if baselines:
            segs = {'kmeans': kmeans_segments(video, cfg.num_slots),
                    'grid': fixed_grid_segments(masks.shape, *cfg.slot_grid)}
        for n, frame in enumerate(clip['video']):
            encoded = pipeline.encode([pipeline.accept(frame, 10**9 + n * 10**8)])
            if encoded.result is None:
                continue
            seg = encoded.result.last_masks().argmax(axis=0)
            true = masks[n]
            if not (true > 0).any():
                continue
            ari.append(fg_ari(true[None], seg[None]))
            mbo.append(mean_best_overlap(true[None], seg[None]))
            if baselines:
                for name, (b_ari, b_mbo) in base.items():
                    b_ari.append(fg_ari(true[None], segs[name][n][None]))
                    b_mbo.append(mean_best_overlap(true[None], segs[name][n][None]))
    out = {'frame_fg_ari': float(np.nanmean(ari)), 'frame_mbo': float(np.nanmean(mbo)), 'frames': len(ari)}
    if baselines:
        for name, (b_ari, b_mbo) in base.items():
            out[f'{name}_frame_fg_ari'], out[f'{name}_frame_mbo'] = float(np.nanmean(b_ari)), float(np.nanmean(b_mbo))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', type=Path, required=True)
    parser.add_argument('--data', type=Path, required=True)
    parser.add_argument('--split', default='test')
    parser.add_argument('--clips', type=int, default=32)
    parser.add_argument('--head-only', action='store_true', help='only with the head (the other is the same each time)')
    args = parser.parse_args(argv)
    out = {'model': str(args.model), 'data': str(args.data), 'split': args.split,
           'with_head': scores(args.model, args.data, args.split, args.clips, True)}
    if not args.head_only:
        out['without_head'] = scores(args.model, args.data, args.split, args.clips, False, baselines=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
