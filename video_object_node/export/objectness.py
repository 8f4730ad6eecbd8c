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
The objectness head's tool: train it (``learn/objectness_train.py``) and attach it to a bundle.

    video-object-objectness train --data ROOT:SPLIT [ROOT:SPLIT ...] --val ROOT:SPLIT --out RUN --minutes M
    video-object-objectness attach --run RUN --bundle BUNDLE
    video-object-objectness scorer --bundle LIDAR_BUNDLE --data ROOT[:SPLIT[:WEIGHT]] [...]
    video-object-objectness split --bundle CAMERA_BUNDLE --data ROOT[:SPLIT[:WEIGHT]] [...] [--sequences NAME ...]

``attach`` exports the run's kept weights to ``objectness.onnx`` in the bundle (parity checked against PyTorch) and
records it in its ``config.json`` (``objectness``: file, sha256, parity, threshold, the validation J, the data that
trained it). The node then gives each foreground region whole to one slot (``runtime/objectness.py``).
``scorer`` trains a LIDAR bundle's cluster scorer (``learn/cluster_scorer_train.py``): its slots then take the range
image's likeliest objects. ``split`` trains a camera bundle's region split (``learn/region_split_train.py``): when two
slots share a region the head found, whether their parts are one object (the region goes whole to one slot) or two.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch

from ..bundle.graphs import DEFAULT_OPSET
from ..bundle.layout import Bundle, BundleError, write_bundle_config
from ..data.dataset import DatasetError
from ..files import atomic_write_bytes
from ..learn.cluster_scorer_train import ScorerError, train_scorer
from ..learn.data_sources import SourceError, parse_split, parse_weighted
from ..learn.objectness_train import ObjectnessError, load_net, train
from ..learn.region_split_train import BALANCES, SplitError, train_split
from ..runtime.region_split import PAIR_FEATURES
from .onnx import ExportError, check_parity, export_graph

OBJECTNESS_FILE = 'objectness.onnx'
WEIGHTS_FILE = 'objectness.safetensors'


def attach(run: Path, bundle: Path, keep_share: float = 1.0, touch_threshold: float = 0.5,
           keep_purity: float = 0.0, keep: str = 'best') -> dict:
    """
    Export the run's weights into ``bundle`` (ONNX + its config.json entry); return the entry.

    ``keep``: 'best' (the weights with the best validation J) or 'last' (the end of the run's schedule: for a run whose
    validation footage is also in its training data, where the best J chooses nothing). A region split the bundle had
    is dropped: its numbers read the old head's probabilities (train it again: ``split``).
    """
    opened = Bundle.open(bundle)
    doc, cfg = dict(opened.doc), opened.model
    if keep not in ('best', 'last'):
        raise ObjectnessError(f"keep must be 'best' or 'last', got {keep!r}")
    state = json.loads((Path(run) / 'state.json').read_text())
    # A run with a moving average evaluated and kept the average: its last weights are the average's too.
    weights = Path(run) / ('ema.safetensors' if keep == 'last' and state.get('ema') else f'{keep}.safetensors')
    net = load_net(weights)
    if net.channels != cfg.channels:
        raise ObjectnessError(f'the head reads {net.channels} channels, the bundle\'s frames have {cfg.channels}')
    spec = {'inputs': [{'name': 'frames', 'shape': ['batch', net.channels, cfg.height, cfg.width]}],
            'outputs': [{'name': 'logit', 'shape': ['batch', net.outputs, cfg.height, cfg.width]}]}
    path = bundle / OBJECTNESS_FILE
    export_graph(net, spec, path, DEFAULT_OPSET)
    parity = check_parity(net, spec, path)
    entry = {**spec, 'file': OBJECTNESS_FILE, 'sha256': hashlib.sha256(path.read_bytes()).hexdigest(),
             'opset': DEFAULT_OPSET, 'parity_max_abs_diff': parity, 'threshold': 0.5, 'keep_share': keep_share,
             'keep_purity': keep_purity, 'touch_threshold': touch_threshold,
             'widths': list(net.widths), 'trained_on': state['sources'], 'validation': state['val'],
             'val_frame_j': round(state['best_j'], 4), 'steps': state['best_step'], 'kept': keep}
    if keep == 'last':
        entry.update(steps=state['step'], val_frame_j=None)
    for key in ('ema', 'recolour'):                     # how the head was trained, where it differs from the default
        if state.get(key):
            entry[key] = state[key]
    # The trainable weights beside the export: a later run starts from them (train --init-from).
    atomic_write_bytes(bundle / WEIGHTS_FILE, weights.read_bytes())
    doc['objectness'] = entry
    write_bundle_config(bundle, doc)
    return entry


def attach_lidar_clusters(bundle: Path, distance: float, spread: float, keep_share: float = 1.0,
                          order: str = 'overlap', assign: str = 'one', max_extent: float | None = None,
                          max_range: float | None = None, slots_by: str = 'masks') -> dict:
    """Give a LIDAR bundle the geometric objectness (``runtime/objectness.LidarClusters``); return the entry."""
    doc = dict(Bundle.open(bundle).doc)
    if doc.get('model', {}).get('modality') != 'lidar' or not doc.get('lidar'):
        raise ObjectnessError(f'{bundle}: --lidar-clusters needs a LIDAR bundle (modality lidar, a sensor model)')
    entry = {'kind': 'lidar-clusters', 'distance': distance, 'spread': spread, 'keep_share': keep_share,
             'order': order, 'assign': assign}
    if slots_by != 'masks':
        entry['slots_by'] = slots_by
    if max_extent is not None:
        entry['max_extent'] = max_extent
    if max_range is not None:
        entry['max_range'] = max_range
    doc['objectness'] = entry
    write_bundle_config(bundle, doc)
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-objectness', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    t = sub.add_parser('train', help='train (or resume) a head in a run folder')
    t.add_argument('--data', nargs='+', required=True, help='ROOT:SPLIT data sets with masks')
    t.add_argument('--val', required=True, help='ROOT:SPLIT whose per-frame J picks the kept weights')
    t.add_argument('--out', required=True, help='run folder (resumed when it has state.json)')
    t.add_argument('--minutes', type=float, required=True)
    t.add_argument('--batch', type=int, default=32)
    t.add_argument('--lr', type=float, default=1e-3)
    t.add_argument('--seed', type=int, default=0)
    t.add_argument('--threads', type=int, default=0, help='torch threads (0: as torch chooses)')
    t.add_argument('--weights', type=float, nargs='+', help='how often a batch comes from each --data (default equal)')
    t.add_argument('--zoom', type=float, default=1.0, help='random zooms down to this share of the side (1: none)')
    t.add_argument('--weight-decay', type=float, default=0.0)
    t.add_argument('--init-from', type=Path,
                   help='a run folder whose best weights start this run, or a head\'s .safetensors file')
    t.add_argument('--outputs', type=int, default=1, choices=(1, 2),
                   help='2: the head also learns where objects touch (splits a region into its objects)')
    t.add_argument('--touch-weight', type=float, default=5.0, help='how much more a touching pixel\'s error counts')
    t.add_argument('--ema', type=float, default=0.0,
                   help='evaluate and keep a moving average of the weights with this decay a step (0: none)')
    t.add_argument('--recolour', type=float, default=0.0,
                   help='the share of samples whose colour channels are shuffled or made grey (0: none)')
    a = sub.add_parser('attach', help='export a run\'s best head into a bundle (or give a LIDAR bundle clusters)')
    a.add_argument('--run', help='the head\'s run folder (not with --lidar-clusters)')
    a.add_argument('--bundle', required=True)
    a.add_argument('--keep', choices=('best', 'last'), default='best',
                   help='the run\'s weights with the best validation J, or its last (validation inside its training)')
    a.add_argument('--keep-share', type=float, default=1.0,
                   help='a slot holding this share of a region keeps its part (1: the top slot takes it whole)')
    a.add_argument('--keep-purity', type=float, default=0.0,
                   help='a slot other than the top one keeps its part only if at least this share of its own mass '
                        'lies in the region (0: no condition)')
    a.add_argument('--touch-threshold', type=float, default=0.5,
                   help='two-output heads: the probability above which a pixel separates touching objects')
    a.add_argument('--lidar-clusters', action='store_true',
                   help='a LIDAR bundle: its objectness is the range image clustered by geometry (no head)')
    a.add_argument('--distance', type=float, default=0.5, help='--lidar-clusters: neighbours this close (m) join')
    a.add_argument('--spread', type=float, default=2.0,
                   help='--lidar-clusters: or closer than this many ray gaps at their range')
    a.add_argument('--order', choices=('overlap', 'iou', 'size'), default='overlap',
                   help='--lidar-clusters: which clusters the slots take first (when they outnumber the slots)')
    a.add_argument('--assign', choices=('one', 'all'), default='one',
                   help='--lidar-clusters: one cluster a slot, or every cluster to the slot weighing it most')
    a.add_argument('--max-extent', type=float,
                   help='--lidar-clusters: clusters wider than this (m) are not objects (default: all are)')
    a.add_argument('--max-range', type=float,
                   help='--lidar-clusters: clusters farther than this (m, their returns\' mean) take no slot '
                        '(default: at any range)')
    a.add_argument('--slots-by', choices=('masks', 'placement'), default='masks',
                   help='--lidar-clusters: which slot takes a cluster: the one whose decoded mask holds most of it, or '
                        'the one placed over it (no mask decoder in the node)')
    c = sub.add_parser('scorer', help='train a LIDAR bundle\'s cluster scorer (which clusters its slots take)')
    c.add_argument('--bundle', required=True, help='a LIDAR bundle with lidar-clusters objectness')
    c.add_argument('--data', nargs='+', required=True,
                   help='ROOT[:SPLIT[:WEIGHT]] LIDAR data sets with instance ids (split train, weight 1 by default)')
    c.add_argument('--clips', type=int, help='read at most this many clips of each data set (default: all)')
    c.add_argument('--seed', type=int, default=0)
    c.add_argument('--min-score', type=float, default=0.0,
                   help='clusters less likely than this to be one object are given to no slot (0: all may be)')
    p = sub.add_parser('split', help='train a camera bundle\'s region split (one object or two where slots share a '
                       'region)')
    p.add_argument('--bundle', required=True, help='a camera bundle with an objectness head')
    p.add_argument('--data', nargs='+', required=True,
                   help='ROOT[:SPLIT[:WEIGHT]]: data sets with masks, or folders of annotated sequences')
    p.add_argument('--sequences', nargs='+', default=[],
                   help='where a source is a folder of sequences: read only these (keep your held-out ones out)')
    p.add_argument('--clips', type=int, help='read at most this many clips or sequences of each source')
    p.add_argument('--threshold', type=float, default=0.5,
                   help='a second slot keeps its part when P(one object) is below this')
    p.add_argument('--c', type=float, default=0.1, help='the logistic regression\'s inverse regularisation')
    p.add_argument('--keep-share', type=float,
                   help='the least share of a region a second slot must hold to be asked (default: the bundle\'s)')
    p.add_argument('--features', nargs='+', choices=PAIR_FEATURES, default=list(PAIR_FEATURES), metavar='NAME',
                   help=f'the numbers of a pair of parts it reads (default: all: {" ".join(PAIR_FEATURES)})')
    p.add_argument('--balance', choices=BALANCES, default='answers',
                   help='within a source, the two answers weigh the same (answers) or every pair does (none: each '
                   'source\'s answers as often as it has them)')
    args = parser.parse_args(argv)
    try:
        if args.command == 'split':
            if args.clips is not None and args.clips < 1 or not 0.0 < args.threshold < 1.0 or not args.c > 0:
                raise SplitError('--clips must be >= 1, --threshold in (0, 1), --c > 0')
            if args.keep_share is not None and not 0.0 < args.keep_share <= 1.0:
                raise SplitError(f'--keep-share must be in (0, 1], got {args.keep_share}')
            result = train_split(Path(args.bundle), [parse_weighted(s) for s in args.data], tuple(args.sequences),
                                 args.clips, args.threshold, args.c, args.keep_share,
                                 names=tuple(dict.fromkeys(args.features)), balance=args.balance)
        elif args.command == 'scorer':
            if args.clips is not None and args.clips < 1 or not 0.0 <= args.min_score < 1.0:
                raise ScorerError('--clips must be >= 1 and --min-score in [0, 1)')
            result = train_scorer(Path(args.bundle), [parse_weighted(s) for s in args.data], args.clips, args.seed,
                                  args.min_score)
        elif args.command == 'train':
            if not args.minutes > 0 or args.batch < 1 or not args.lr > 0:
                raise ObjectnessError('--minutes and --lr must be > 0, --batch >= 1')
            if args.weights is not None and (len(args.weights) != len(args.data) or min(args.weights) < 0
                                             or not sum(args.weights) > 0):
                raise ObjectnessError(f'--weights needs one value >= 0 per --data ({len(args.data)}), not all 0')
            if not 0.1 <= args.zoom <= 1.0 or args.weight_decay < 0 or not args.touch_weight > 0:
                raise ObjectnessError('--zoom must be in [0.1, 1], --weight-decay >= 0, --touch-weight > 0')
            if not (0.0 <= args.ema < 1.0 and 0.0 <= args.recolour <= 1.0):
                raise ObjectnessError(f'--ema must be in [0, 1) and --recolour in [0, 1], got {args.ema}, '
                                      f'{args.recolour}')
            if args.threads:
                torch.set_num_threads(args.threads)
            result = train(Path(args.out), [parse_split(s) for s in args.data], parse_split(args.val),
                           args.minutes, args.batch, args.lr, seed=args.seed, weights=args.weights,
                           zoom_least=args.zoom, weight_decay=args.weight_decay, init_from=args.init_from,
                           outputs=args.outputs, touch_weight=args.touch_weight, ema=args.ema,
                           recolour=args.recolour)
        else:
            if not 0.0 < args.keep_share <= 1.0:
                raise ObjectnessError(f'--keep-share must be in (0, 1], got {args.keep_share}')
            if not 0.0 < args.touch_threshold < 1.0:
                raise ObjectnessError(f'--touch-threshold must be in (0, 1), got {args.touch_threshold}')
            if not 0.0 <= args.keep_purity <= 1.0:
                raise ObjectnessError(f'--keep-purity must be in [0, 1], got {args.keep_purity}')
            if args.lidar_clusters:
                bad_extent = any(v is not None and not v > 0 for v in (args.max_extent, args.max_range))
                if args.run or not (args.distance > 0 and args.spread >= 0) or bad_extent:
                    raise ObjectnessError('--lidar-clusters takes no --run; --distance, --max-extent and --max-range '
                                          'must be > 0, --spread >= 0')
                print(json.dumps(attach_lidar_clusters(Path(args.bundle), args.distance, args.spread,
                                                       args.keep_share, args.order, args.assign, args.max_extent,
                                                       args.max_range, args.slots_by)))
                return 0
            if not args.run:
                raise ObjectnessError('attach needs --run (or --lidar-clusters for a LIDAR bundle)')
            result = attach(Path(args.run), Path(args.bundle), args.keep_share, args.touch_threshold,
                            args.keep_purity, args.keep)
    except (ObjectnessError, ScorerError, SplitError, SourceError, DatasetError, BundleError, ExportError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
