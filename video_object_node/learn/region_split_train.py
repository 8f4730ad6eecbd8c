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
Train a camera bundle's region split: whether two slots' parts of one foreground region are one object or two.

    annotated footage through the node's pipeline (stride 1, segments as the slots decode them)
        -> each region the objectness head finds, the top slot and every other slot holding keep_share of it
        -> ``runtime/region_split.pair_features`` and the truth (the parts' majority labels: one object, or two)
        -> scikit-learn LogisticRegression (standardised) -> numbers in the bundle's config.json (objectness.split)

Sources are data sets with instance masks (the simulator: two touching objects) or folders of annotated sequences
(real footage, one object a sequence: a slot's part inside it beside another inside it is one object; one inside and
one outside, two). Two parts that both lie mostly on the background count as one (there is no object to keep apart:
the head's false region goes whole to one slot; chosen over leaving such pairs out on the validation sequences, one-id
J 0.619 vs 0.553 at the same simulator scores). Each source weighs
its WEIGHT (``ROOT:SPLIT:WEIGHT``) and, within it, the two answers weigh the same, so real footage (mostly one object
cut in pieces) and the simulator (mostly touching objects) both count. The exported numbers are checked against
scikit-learn's own probabilities before they are written.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..bundle.layout import Bundle, write_bundle_config
from ..runtime.region_split import PAIR_FEATURES, RegionSplit, frame_stats, pair_features

PARITY_TOLERANCE = 1e-9
BALANCES = ('answers', 'none')
FRAME_PERIOD_NS = 33_333_333


class SplitError(ValueError):
    """A region split that cannot be trained from what was given (one line)."""


def annotated_streams(root: Path, split: str, sequences: tuple = (), clips: int | None = None):
    """Yield (name, frames [N, H, W, 3], labels int [N, H, W]; 0 = background) of a data set or sequence folders."""
    root = Path(root)
    if (root / 'index.json').is_file():
        from ..data.dataset import ClipDataset, DatasetError
        try:
            ds = ClipDataset(root, split)
        except DatasetError as exc:
            raise SplitError(str(exc)) from None
        for i in range(len(ds) if clips is None else min(clips, len(ds))):
            clip = ds[i]
            if 'masks' not in clip:
                raise SplitError(f'{root}:{split} has no masks: nothing to learn objects from')
            yield f'{root.name}/{i}', clip['video'], np.asarray(clip['masks']).astype(np.int64)
        return
    from .stream_eval import StreamDataError, read_sequences
    try:
        found = read_sequences(root, split, tuple(sequences))
    except StreamDataError as exc:
        raise SplitError(str(exc)) from None
    for seq in found[:clips]:
        yield seq.name, seq.frames, seq.masks.astype(np.int64)


def majority(labels: np.ndarray) -> int:
    """Return the most common label of a part (labels int [n])."""
    return int(np.bincount(labels).argmax())


def stream_pairs(pipeline, frames: np.ndarray, labels: np.ndarray, keep_share: float,
                 names: tuple = PAIR_FEATURES):
    """Yield (features ``names``, one object) of every region pair of every window's last frame of one stream."""
    import cv2
    from ..data.video_dataset import fit_crop
    from ..runtime.objectness import MIN_REGION_SHARE
    pipeline.stream.reset()
    pipeline.tracker.reset()
    size = (pipeline.model_cfg.height, pipeline.model_cfg.width)
    head = pipeline.objectness
    for n, (frame, label) in enumerate(zip(frames, labels)):
        encoded = pipeline.encode([pipeline.accept(frame, n * FRAME_PERIOD_NS)])
        if encoded.result is None or encoded.result.latents.last_input is None:
            continue
        truth = label if label.shape == size else fit_crop(label.astype(np.uint16), *size, cv2.INTER_NEAREST)
        truth = truth.astype(np.int64)
        model_input = encoded.result.latents.last_input
        masks = encoded.result.last_masks()
        probabilities = head.probabilities(model_input)                      # the head runs once a frame
        regions, foreground = head.regions_of(probabilities), probabilities[0]
        stats = frame_stats(model_input)                                    # once for all its pairs
        for r in range(1, int(regions.max()) + 1):
            region = regions == r
            if region.sum() < MIN_REGION_SHARE * region.size:
                continue
            mass = masks[:, region].sum(axis=1)
            top, *others = [int(k) for k in np.argsort(-mass, kind='stable')]
            for slot in others:
                if mass[slot] < keep_share * mass.sum():
                    continue
                features = pair_features(masks, region, top, slot, model_input, foreground, names, stats)
                if features is None:
                    continue
                part = region & (masks[slot] > masks[top])
                yield features, majority(truth[part]) == majority(truth[region & ~part])


def fit_split(sources_rows: list, threshold: float = 0.5, c: float = 0.1, names: tuple = PAIR_FEATURES,
              balance: str = 'answers') -> dict:
    """
    Fit the logistic regression on [(source's record, [(features ``names``, one object), ...]), ...]; the entry.

    Each source weighs its record's ``weight``; within it (``balance``) the two answers weigh the same (``answers``),
    or every pair does (``none``: the answers as often as the source has them, so that a feature telling the sources
    apart carries each one's prior).
    """
    if balance not in BALANCES:
        raise SplitError(f'balance must be one of {", ".join(BALANCES)}, got {balance!r}')
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    xs, ys, ws, counts = [], [], [], []
    for record, rows in sources_rows:
        y = np.array([one for _, one in rows], bool)
        xs.append(np.stack([f for f, _ in rows]))
        ys.append(y)
        ws.append(record['weight'] * (np.where(y, 0.5 / max(1, y.sum()), 0.5 / max(1, (~y).sum()))
                                      if balance == 'answers' else np.full(len(y), 1.0 / len(y))))
        counts.append({**record, 'pairs': int(len(y)), 'one_object': int(y.sum())})
    x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    if y.all() or not y.any():
        raise SplitError('every pair of parts is one object, or none is: nothing to tell apart')
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=5000).fit(scaler.transform(x), y, sample_weight=w * len(y) / w.sum())
    entry = {'features': list(names), 'mean': scaler.mean_.tolist(), 'scale': scaler.scale_.tolist(),
             'coef': model.coef_[0].tolist(), 'intercept': float(model.intercept_[0]), 'threshold': threshold,
             'c': c, 'balance': balance, 'trained_on': counts}
    split = RegionSplit(entry)
    ours = np.array([split.one_object(row) for row in x])
    parity = float(np.abs(ours - model.predict_proba(scaler.transform(x))[:, 1]).max())
    if parity > PARITY_TOLERANCE:
        raise SplitError(f'the exported numbers differ from scikit-learn\'s by {parity:.2e} (> {PARITY_TOLERANCE})')
    entry['parity_max_abs_diff'] = parity
    entry['train_accuracy'] = round(float(((ours < threshold) != y).mean()), 4)
    return entry


def train_split(bundle: Path, sources: list[tuple[Path, str, float]], sequences: tuple = (),
                clips: int | None = None, threshold: float = 0.5, c: float = 0.1,
                keep_share: float | None = None, backend: str = 'auto', names: tuple = PAIR_FEATURES,
                balance: str = 'answers') -> dict:
    """
    Fit the region split on ``sources`` and write it into the camera ``bundle``'s objectness entry; return the entry.

    ``sequences``: the sequence folders to read where a source is a folder of them; ``clips``: at most this many
    streams a source; ``threshold``: a second slot keeps its part when P(one object) is below it; ``c``: the
    logistic regression's inverse regularisation; ``keep_share``: the least share of a region a second slot must
    hold to be asked (default: the bundle's); ``backend``: the node's backend that decodes the slots; ``names``: the
    features it reads (of ``PAIR_FEATURES``); ``balance``: how the answers weigh within a source (``fit_split``).
    """
    from ..runtime.config import NodeConfig
    from ..runtime.objectness import ObjectnessHead
    from ..runtime.pipeline import LatentPipeline
    doc = dict(Bundle.open(bundle).doc)
    entry = dict(doc.get('objectness') or {})
    if not entry or entry.get('kind') == 'lidar-clusters':
        raise SplitError(f'{bundle}: a region split needs a camera bundle with an objectness head (attach --run)')
    keep_share = float(entry.get('keep_share', 1.0) if keep_share is None else keep_share)
    pipeline = LatentPipeline(NodeConfig(model_path=str(bundle), stride=1, backend=backend, num_threads=1,
                                         objectness_segments=False))
    if not isinstance(pipeline.objectness, ObjectnessHead):
        raise SplitError(f'{bundle}: its objectness is not a camera head')
    sources_rows = []
    for root, split, weight in sources:
        rows = [row for _, frames, labels in annotated_streams(root, split, sequences, clips)
                for row in stream_pairs(pipeline, frames, labels, keep_share, names)]
        folders = not (Path(root) / 'index.json').is_file()
        name = {'data': str(root) if folders else f'{root}:{split}', 'weight': weight,
                **({'sequences': list(sequences)} if folders and sequences else {})}
        if not rows:
            raise SplitError(f'{name["data"]}: no region was shared by two slots: nothing to learn from')
        sources_rows.append((name, rows))
    split_entry = fit_split(sources_rows, threshold, c, tuple(names), balance)
    entry.update(keep_share=keep_share, split=split_entry)
    doc['objectness'] = entry
    write_bundle_config(bundle, doc)
    return entry
