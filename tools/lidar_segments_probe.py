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
Compare ways of giving a LIDAR bundle's slots the range image's clusters, on one data set split.

    python tools/lidar_segments_probe.py --model runs/lidar-road/bundle --data data/lidar-real256-00 --split train

Prints FG-ARI, mBO and the median centroid error (``scores/lidar.sweep_scores``) of the slots' own argmax and of
``runtime/objectness.LidarClusters`` under each choice (order, object-sized clusters, one or all a slot), and under the
bundle's own objectness (``bundle``: with a cluster scorer, the likeliest objects first).
"""
import argparse
import json

import numpy as np

CHOICES = {'overlap': {}, 'overlap8': {'max_extent': 8.0}, 'iou': {'order': 'iou'},
           'iou8': {'order': 'iou', 'max_extent': 8.0}, 'size8': {'order': 'size', 'max_extent': 8.0},
           'all8': {'assign': 'all', 'max_extent': 8.0}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', required=True)
    parser.add_argument('--data', required=True)
    parser.add_argument('--split', default='val')
    parser.add_argument('--clips', type=int)
    args = parser.parse_args()
    from video_object_node.learn.evaluate import decompose_windows
    from video_object_node.scores.lidar import sweep_scores
    from pathlib import Path

    from video_object_node.bundle.layout import Bundle
    from video_object_node.model import load_bundle
    from video_object_node.runtime.objectness import LidarClusters
    records = list(decompose_windows(load_bundle(args.model), args.data, args.split, args.clips, progress=False,
                                     keep_soft=True))
    lc = records[0]['sensor'].lidar
    out = {}
    own = Bundle.open(args.model).objectness or {}
    choices = [('argmax', None), *CHOICES.items()] + ([('bundle', own)] if own.get('kind') == 'lidar-clusters' else [])
    for name, entry in choices:
        clusters = None if entry is None else LidarClusters({'kind': 'lidar-clusters', **entry}, records[0]['sensor'],
                                                            Path(args.model))
        ious, errors, aris = [], [], []
        for r in records:
            for soft, rng, truth in zip(r['soft_masks'], r['lidar_range'], r['masks']):
                seg = soft.argmax(0) if clusters is None else clusters.segments(soft, rng).argmax(0)
                s = sweep_scores(truth, seg, rng, lc)
                ious += s['best_iou']
                errors += s['centroid_error_m']
                if s['fg_ari'] is not None:
                    aris.append(s['fg_ari'])
        out[name] = {'fg_ari': round(float(np.mean(aris)), 3), 'mbo': round(float(np.mean(ious)), 3),
                     'centroid_error_m': round(float(np.median(errors)), 2)}
    print(json.dumps({'model': args.model, 'data': args.data, 'split': args.split, 'segments': out}, indent=2))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
