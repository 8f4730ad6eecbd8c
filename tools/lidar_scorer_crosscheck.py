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
Cross-check a LIDAR bundle's cluster scorer on labelled real sequences: each scored by a scorer that never saw it.

    python tools/lidar_scorer_crosscheck.py --model models/default-lidar-360 --sim data/city:train:1 \
        --real data/lidar-real256-00 data/lidar-real256-05 --slots 16 32 64 --max-range 0 40

For each real sequence, a scorer is trained (``learn/cluster_scorer_train.train_scorer``, into a copy of the bundle) on
the simulator data and the *other* real sequences (weight ``--real-weight``); the sequence's sweeps are then cut into
the clusters the node would give its slots (``runtime/objectness.LidarClusters``: the K likeliest, object-sized,
within ``max_range``; 0 = any range) and scored as the evaluation does (``scores/lidar.sweep_scores``: returns within
40 m; mBO, median centroid error, FG-ARI), beside every cluster as a segment (the classical clustering). The slot
model's masks play no part: with a scorer they only say which slot takes which cluster.
"""
import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', required=True, help='a LIDAR bundle with lidar-clusters objectness')
    parser.add_argument('--sim', nargs='*', default=[], help='ROOT[:SPLIT[:WEIGHT]] simulator data for every scorer')
    parser.add_argument('--real', nargs='+', required=True, help='labelled real data sets (split train), two or more')
    parser.add_argument('--real-weight', type=float, default=10.0)
    parser.add_argument('--slots', type=int, nargs='+', default=[32])
    parser.add_argument('--max-range', type=float, nargs='+', default=[0.0])
    args = parser.parse_args()
    from video_object_node.bundle.layout import Bundle
    from video_object_node.data.dataset import ClipDataset
    from video_object_node.learn.cluster_scorer_train import train_scorer
    from video_object_node.learn.data_sources import parse_weighted
    from video_object_node.runtime.objectness import LidarClusters
    from video_object_node.scores.lidar import lidar_report
    from video_object_node.sensing.sensors import sensor_for_bundle
    if len(args.real) < 2 or min(args.slots) < 1 or min(args.max_range) < 0 or not args.real_weight > 0:
        parser.error('--real needs two or more data sets; --slots >= 1, --max-range >= 0, --real-weight > 0')
    sim = [parse_weighted(s) for s in args.sim]
    out = {}

    def summary(report, prefix=''):
        return {'mbo': round(report[f'{prefix}mbo'], 3), 'fg_ari': round(report[f'{prefix}fg_ari'], 3),
                'centroid_error_m': round(report[f'{prefix}centroid_error_m'], 2), 'objects': report['num_objects']}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / 'bundle'
        shutil.copytree(args.model, bundle)
        for held in args.real:
            others = [(Path(r), 'train', args.real_weight) for r in args.real if r != held]
            train_scorer(bundle, sim + others)
            opened = Bundle.open(bundle)
            sensor = sensor_for_bundle(opened.doc)
            ds = ClipDataset(Path(held), 'train')
            clips = [ds.raw(i) for i in range(len(ds))]
            sweeps = [(rng, ids) for clip in clips for rng, ids in zip(clip['lidar_range'], clip['lidar_ids'])]
            name = Path(held).name
            for reach in args.max_range:
                entry = dict(opened.objectness)
                entry.pop('max_range', None)
                if reach > 0:
                    entry['max_range'] = reach
                ranked = [LidarClusters(entry, sensor, bundle).range_regions(rng) for rng, _ in sweeps]
                for k in args.slots:
                    # scores/lidar.lidar_report: the chosen clusters as the segments, every cluster as cluster_.
                    report = lidar_report(((rng, ids, np.where(r <= k, r, 0)) for (rng, ids), r in zip(sweeps, ranked)),
                                          sensor.lidar, kmeans=False)
                    out.setdefault('clusters (all)', {})[name] = summary(report, 'cluster_')
                    out.setdefault(f'K={k}, max_range={reach or "any"}', {})[name] = summary(report)
    print(json.dumps({'model': args.model, 'sim': args.sim, 'real_weight': args.real_weight, 'scores': out},
                     indent=2))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
