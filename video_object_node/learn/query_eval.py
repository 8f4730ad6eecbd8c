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
`video-object-query`: referring-expression scores of a bundle on a data set split, beside a k-means baseline.

    video-object-query --model models/default --data data/textured --split test --out eval/query

For each window of each clip (in order, one ``ObjectMemory`` per clip), queries are generated from the
ground truth of the window's last frame, keeping only those with a unique referent: ``COLOUR SHAPE``,
``SHAPE``, ``COLOUR``, ``SIZE SHAPE`` when exactly one visible object fits, and ``leftmost`` / ``rightmost`` /
``largest`` / ``smallest object`` when the extreme is clear. The model answers from its attribute heads and
memory; the answer's segment (its slot's argmax region in the last frame) is scored against the named object's
mask: referring accuracy (the answer's segment overlaps the named object more than any other), J (IoU) and F
(boundary F-measure, tolerance 1 px at the model's size). The baseline answers the same queries with k-means
segments (k = K, colour + position) described by their mean colour (no shape or size knowledge).

Writes OUT/report.json (referring_accuracy, j_mean, f_mean, num_queries, baseline_referring_accuracy,
baseline_j_mean, baseline_f_mean, by query kind, and the answer's cost per window).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..data.dataset import DatasetError, iter_windows
from ..data.dataset import sensor_for_dataset
from ..model.heads import SHAPES
from ..runtime.query import COLOUR_NAMES, COLOUR_RGB, SIZE_SPLIT_M, ObjectMemory, parse_query
from ..runtime.tracking import SlotTracker
from ..sensing.sensors import SensorError
from ..scores.segments import kmeans_segments

MIN_PIXELS = 8            # an object smaller than this in the last frame is not asked about
CLEAR_MARGIN = 0.15       # an extreme is clear when it beats the runner-up by this share of the image width/area


def colour_name(rgb: np.ndarray) -> str:
    return COLOUR_NAMES[int(((COLOUR_RGB - np.asarray(rgb)[None]) ** 2).sum(1).argmin())]


def window_queries(masks: np.ndarray, object_ids, colours, shapes, sizes) -> list[tuple[str, str, int]]:
    """(kind, query text, object id) with a unique referent, from the last frame's masks [h, w]."""
    objs = []
    for oid, rgb, shape, size in zip(object_ids, colours, shapes, sizes):
        ys, xs = np.nonzero(masks == oid)
        if len(ys) >= MIN_PIXELS:
            objs.append(dict(id=int(oid), colour=colour_name(rgb), shape=SHAPES[int(shape)],
                             size='large' if size >= SIZE_SPLIT_M else 'small', u=xs.mean(), area=len(ys)))
    out = []
    for kind, keys in (('colour shape', ('colour', 'shape')), ('shape', ('shape',)), ('colour', ('colour',)),
                       ('size shape', ('size', 'shape'))):
        for o in objs:
            same = [p for p in objs if all(p[k] == o[k] for k in keys)]
            if len(same) == 1:
                out.append((kind, ' '.join(o[k] for k in keys), o['id']))
    if len(objs) >= 2:
        width = masks.shape[1]
        for relation, key, scale in (('leftmost', 'u', width), ('rightmost', 'u', width),
                                     ('largest', 'area', masks.size), ('smallest', 'area', masks.size)):
            ranked = sorted(objs, key=lambda o: o[key], reverse=relation in ('rightmost', 'largest'))
            if abs(ranked[0][key] - ranked[1][key]) >= CLEAR_MARGIN * scale * (0.2 if key == 'area' else 1):
                out.append((relation, f'{relation} object', ranked[0]['id']))
    return out


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: int = 1) -> float:
    """DAVIS-style boundary F-measure of two binary masks, boundaries matched within ``tolerance`` pixels."""
    import cv2
    kernel = np.ones((3, 3), np.uint8)

    def boundary(m):
        m = m.astype(np.uint8)
        return (m - cv2.erode(m, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)).astype(bool)

    pb, tb = boundary(pred), boundary(truth)
    if not pb.any() and not tb.any():
        return 1.0
    if not pb.any() or not tb.any():
        return 0.0
    grow = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    precision = (pb & cv2.dilate(tb.astype(np.uint8), grow).astype(bool)).sum() / pb.sum()
    recall = (tb & cv2.dilate(pb.astype(np.uint8), grow).astype(bool)).sum() / tb.sum()
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def score_answer(segment: np.ndarray | None, truth_masks: np.ndarray, target: int, object_ids) -> tuple:
    """Return (referred correctly, J, F) of an answer's segment [h, w] bool against the named object."""
    if segment is None:
        return False, 0.0, 0.0
    target_mask = truth_masks == target
    ious = {int(o): (segment & (truth_masks == o)).sum() / max((segment | (truth_masks == o)).sum(), 1)
            for o in object_ids}
    correct = max(ious, key=ious.get) == target and ious[target] > 0
    return bool(correct), float(ious[target]), boundary_f(segment, target_mask)


def _baseline_attributes(video: np.ndarray, segments: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """
    Describe the last frame's k-means segments like slots.

    Attributes [k, 9] (mean colour, flat shape logits, size at the split, presence certain) and positions (u, v, area).
    """
    last, seg = video[-1].astype(np.float32) / 255.0, segments[-1]
    attrs = np.zeros((k, 3 + len(SHAPES) + 2), np.float32)
    attrs[:, 3 + len(SHAPES)] = SIZE_SPLIT_M
    attrs[:, -1] = 10.0
    positions = np.zeros((k, 3))
    for s in range(k):
        ys, xs = np.nonzero(seg == s)
        if len(ys):
            attrs[s, :3] = last[ys, xs].mean(0)
            positions[s] = (xs.mean(), ys.mean(), len(ys) / seg.size)
    return attrs, positions


@torch.no_grad()
def evaluate_queries(model, data, split: str = 'test', clips: int | None = None, progress: bool = True) -> dict:
    cfg = model.cfg
    if model.attribute_heads is None:
        raise SensorError('this bundle has no attribute heads: object queries need a model trained with them')
    sensor = sensor_for_dataset(data, cfg)
    rows, base_rows, answer_ms = [], [], []
    memories: dict = {}
    for clip, _start, window in iter_windows(data, split, cfg.frames, sensor.dataset_size(), clips,
                                             progress='queries' if progress else None, motion=sensor.reads_motion):
        inputs, truth = sensor.window_inputs(window)
        video = torch.from_numpy(inputs[None]).float().div_(255)
        post = model.encode(video)
        masks = model.decode_means(post, frame_idx=torch.tensor([cfg.frames - 1])).masks[0, 0].numpy()   # [K,h,w]
        attributes = model.attribute_heads(post.object_mean)
        attrs = torch.cat([attributes.colour, attributes.shape_logits, attributes.size[..., None],
                           attributes.presence_logit[..., None]], -1)[0].numpy()
        seg = masks.argmax(0)
        memory, tracker = memories.setdefault(clip, (ObjectMemory(), SlotTracker()))
        ids = tracker.update(post.object_mean[0].numpy(), masks.reshape(len(masks), -1))     # stable ids, as the node
        slot_of = {int(i): s for s, i in enumerate(ids)}
        positions = np.array([[*(np.argwhere(seg == s)[:, ::-1].mean(0) if (seg == s).any() else (0, 0)),
                               (seg == s).mean()] for s in range(cfg.num_slots)])
        start = time.perf_counter()
        memory.update(ids, attrs, positions)
        queries = window_queries(truth[-1], window['object_ids'], window['object_colours'],
                                 window['object_shapes'] - 1, window['object_sizes'])
        answers = [memory.answer(parse_query(text), max_results=1, min_score=0.0) for _k, text, _o in queries]
        answer_ms.append((time.perf_counter() - start) * 1000)
        km = kmeans_segments(window['video'] if 'video' in window else inputs.transpose(0, 2, 3, 1), cfg.num_slots)
        base_attrs, base_pos = _baseline_attributes(inputs[:, :cfg.image_channels].transpose(0, 2, 3, 1), km,
                                                    cfg.num_slots)
        baseline = ObjectMemory()
        baseline.update(np.arange(cfg.num_slots), base_attrs, base_pos)
        for (kind, text, target), answer in zip(queries, answers):
            segment = seg == slot_of[answer[0]['id']] if answer else None
            rows.append((kind, *score_answer(segment, truth[-1], target, window['object_ids'])))
            best = baseline.answer(parse_query(text), max_results=1, min_score=0.0)
            segment = km[-1] == best[0]['id'] if best else None
            base_rows.append((kind, *score_answer(segment, truth[-1], target, window['object_ids'])))
    if not rows:
        raise DatasetError(f'no query with a unique referent in split {split!r} of {data}')

    def summary(table):
        return (float(np.mean([r[1] for r in table])), float(np.mean([r[2] for r in table])),
                float(np.mean([r[3] for r in table])))

    acc, j, f = summary(rows)
    bacc, bj, bf = summary(base_rows)
    kinds = sorted({r[0] for r in rows})
    return {'referring_accuracy': acc, 'j_mean': j, 'f_mean': f, 'num_queries': len(rows),
            'baseline_referring_accuracy': bacc, 'baseline_j_mean': bj, 'baseline_f_mean': bf,
            'by_kind': {k: dict(zip(('referring_accuracy', 'j_mean', 'f_mean'),
                                    summary([r for r in rows if r[0] == k])),
                                num_queries=sum(r[0] == k for r in rows),
                                baseline_referring_accuracy=summary([r for r in base_rows if r[0] == k])[0])
                        for k in kinds},
            'answer_ms_per_window_p50': float(np.median(answer_ms)), 'split': split, 'data': str(data)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-query', description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.strip().splitlines()[1:]))
    parser.add_argument('--model', type=Path, required=True)
    parser.add_argument('--data', type=Path, required=True)
    parser.add_argument('--split', default='test')
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--clips', type=int, help='only the first N clips')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    from ..bundle.layout import BundleError
    from ..model import load_bundle
    torch.set_num_threads(2)
    try:
        if args.clips is not None and args.clips < 1:
            raise DatasetError(f'--clips must be >= 1, got {args.clips}')
        report = evaluate_queries(load_bundle(args.model), args.data, args.split, args.clips, not args.no_progress)
    except (BundleError, DatasetError, SensorError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    report['model'] = str(args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'report.json').write_text(json.dumps(report, indent=2, sort_keys=True))
    print(json.dumps({k: report[k] for k in ('referring_accuracy', 'j_mean', 'f_mean', 'num_queries',
                                             'baseline_referring_accuracy', 'baseline_j_mean')}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
