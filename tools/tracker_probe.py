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
Compare slot trackers on annotated sequences: stable_id_j of each tracker setting on the same windows.

    python tools/tracker_probe.py --model models/default-real --data ../shared/realvideo/davis2016-train \
        --sequences bear dog-agility kite-walk paragliding swing [--stride 1]

Every sequence goes once through the node's pipeline (stride as given); each window's latents, placement and decoded
last frame are kept, and then every tracker setting replays the same windows (``learn/stream_eval.py`` scores).
Use sequences that no held-out score reads (the val sequences of the training data).
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    import cv2

    from video_object_node.runtime.config import NodeConfig
    from video_object_node.data.video_dataset import fit_crop
    from video_object_node.learn.stream_eval import read_sequences, stable_id_score
    from video_object_node.runtime.pipeline import LatentPipeline
    from video_object_node.runtime.tracking import SlotTracker
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--model', required=True)
    parser.add_argument('--data', required=True)
    parser.add_argument('--sequences', nargs='+', default=())
    parser.add_argument('--stride', type=int, default=1)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    pipeline = LatentPipeline(NodeConfig(model_path=args.model, stride=args.stride, num_threads=args.threads))
    size = (pipeline.model_cfg.height, pipeline.model_cfg.width)
    recorded = []
    for seq in read_sequences(args.data, names=tuple(args.sequences)):
        pipeline.stream.reset()
        windows = []
        for n, (reading, mask) in enumerate(zip(seq.frames, seq.masks)):
            encoded = pipeline.encode([pipeline.accept(reading, n * 33_333_333)])
            if encoded.result is None:
                continue
            fg = fit_crop(mask.astype(np.uint8), *size, cv2.INTER_NEAREST) > 0
            lat = encoded.result.latents
            masks = encoded.result.last_masks()
            windows.append((lat.object_mean, lat.placement, lat.stamps, masks, fg))
        recorded.append((seq.name, windows))
    settings = {'latents only': dict(overlap_weight=0.0),
                **{f'latents + boxes x{w}': dict(overlap_weight=w) for w in (0.5, 1.0, 2.0, 4.0)},
                **{f'latents + masks x{w}': dict(overlap_weight=w, masks=True) for w in (1.0, 2.0, 4.0)}}
    out = {}
    for name, opts in settings.items():
        total = frames = 0.0
        for _seq, windows in recorded:
            tracker = SlotTracker(overlap_weight=opts.get('overlap_weight', 1.0))
            ids_seen, segs, fgs = [], [], []
            for mean, placement, stamps, masks, fg in windows:
                flat = masks.reshape(len(masks), -1) if opts.get('masks') else None
                ids = tracker.update(mean, flat, placement, stamps)
                if fg.any():
                    ids_seen.append(ids)
                    segs.append(masks.argmax(0))
                    fgs.append(fg)
            score, _ = stable_id_score(ids_seen, segs, fgs)
            total += score * len(ids_seen)
            frames += len(ids_seen)
        out[name] = round(total / frames, 4)
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
