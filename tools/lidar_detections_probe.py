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
How right a LIDAR bundle's detections are at each score: the clusters its slots take, scored by its cluster scorer.

    python tools/lidar_detections_probe.py --model BUNDLE --data data/lidar-real256-08 --split test

Per sweep, the K clusters the slots take (``LidarClusters.range_regions``, likeliest first) are the node's
``~/detections``, each with its probability (``ranked_regions``); one is right when its cluster has IoU >= 0.5 with
one labelled object (``cluster_truth``). Prints, per score threshold, detections a sweep, the share right and the
labelled objects found a sweep, and the average precision of the score.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from video_object_node.bundle.layout import Bundle
from video_object_node.data.dataset import ClipDataset
from video_object_node.runtime.objectness import LidarClusters, objectness_for
from video_object_node.sensing.cluster_features import cluster_truth
from video_object_node.sensing.sensors import sensor_for_bundle

THRESHOLDS = (0.0, 0.3, 0.5, 0.7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', type=Path, required=True)
    parser.add_argument('--data', type=Path, required=True)
    parser.add_argument('--split', default='test')
    args = parser.parse_args(argv)
    bundle = Bundle.open(args.model)
    clusters = objectness_for(bundle, sensor_for_bundle(bundle.doc))
    if not isinstance(clusters, LidarClusters) or clusters.scorer is None:
        print(f'error: {args.model} has no cluster scorer (video-object-objectness scorer)', file=sys.stderr)
        return 2
    slots = int(bundle.doc['model']['num_slots'])
    ds = ClipDataset(args.data, args.split)
    rows, objects, sweeps = [], 0, 0
    for i in range(len(ds)):
        clip = ds.raw(i)
        for range_image, ids in zip(clip['lidar_range'], clip['lidar_ids']):
            ranked, probability = clusters.ranked_regions(range_image)
            truth = cluster_truth(ranked, ids)
            taken = min(slots, int(ranked.max()))
            rows += [(probability[j + 1], truth[j]) for j in range(taken)]
            objects += int((np.unique(ids) > 0).sum())
            sweeps += 1
    r = np.array(rows, float).reshape(-1, 2)
    out = {'model': str(args.model), 'data': f'{args.data}:{args.split}', 'sweeps': sweeps,
           'labelled_objects_a_sweep': objects / max(sweeps, 1), 'by_threshold': []}
    for t in THRESHOLDS:
        kept = r[:, 0] > t if t else np.ones(len(r), bool)
        out['by_threshold'].append({'score_above': t, 'detections_a_sweep': kept.sum() / max(sweeps, 1),
                                    'share_right': float(r[kept, 1].mean()) if kept.any() else None,
                                    'objects_found_a_sweep': r[kept, 1].sum() / max(sweeps, 1)})
    out['average_precision'] = float(average_precision_score(r[:, 1], r[:, 0])) if r[:, 1].any() else None
    print(json.dumps(out, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
