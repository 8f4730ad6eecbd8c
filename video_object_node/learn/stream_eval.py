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
`video-object-eval --stream`: score what a robot gets, frame by frame through the node's own pipeline.

Each sequence's frames go through ``runtime.pipeline.LatentPipeline`` exactly as the node feeds them (full-size
frames in, stride 1, the node's resize mode, motion from the previous frame of the stream, the slot tracker's ids),
and every window's last frame is decoded and scored at the model's size against the annotated object (one
foreground object per sequence, DAVIS-style masks fitted like the frame):

- ``frame_best_slot_j``: per frame, the IoU of the slot segment (argmax of the mixture weights) that overlaps the
  object best;
- ``stable_id_j``: per sequence, the one tracked id whose segments match the object best over the whole sequence
  (a frame where that id is absent or elsewhere scores 0): what a subscriber that follows an id gets;
- ``fragments``: per frame, how many slots hold >= ``FRAGMENT_SHARE`` of the object's pixels (1 = whole);
- on the same frames, the baselines: ``kmeans_frame_j`` (k-means on colour + position of the model's input frame,
  k = K, best cluster) and ``motion_frame_j`` (no learning: the residual motion the model itself reads, Otsu).

Frame-weighted means over every scored frame, and the same per sequence (``per_sequence``). Frames before the
first window (T - 1 per sequence) and frames without the object are not scored.

``--data`` is a sequence folder (``frames/`` and ``masks/``), a folder of such folders (``--sequences`` picks
some by name), or a data set made by ``video-object-dataset from-video`` (its ``--split``; each sequence's clips
in order).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

FRAGMENT_SHARE = 0.2     # a slot holding this share of the object's pixels counts as a fragment of it
STREAM_KEYS = ('frame_best_slot_j', 'stable_id_j', 'fragments', 'kmeans_frame_j', 'motion_frame_j')
FRAME_RATE_HZ = 30.0


class StreamDataError(ValueError):
    """The data cannot be streamed (one line naming the folder and the problem)."""


@dataclass
class StreamSequence:
    """One sequence: its name, frames uint8 RGB [N, H, W, 3] at their own size, the object's masks bool [N, H, W]."""

    name: str
    frames: np.ndarray
    masks: np.ndarray


def _sequence_folder(path: Path) -> StreamSequence:
    from ..data.video_dataset import VideoDatasetError, read_annotated_folder
    try:
        frames, masks = read_annotated_folder(path, masks=True)
    except VideoDatasetError as exc:
        raise StreamDataError(str(exc)) from None
    return StreamSequence(path.name, frames, masks)


def _dataset_sequences(root: Path, split: str) -> list[StreamSequence]:
    from ..data.dataset import ClipDataset, DatasetError, read_index
    try:
        index = read_index(root)
        ds = ClipDataset(root, split)
    except DatasetError as exc:
        raise StreamDataError(str(exc)) from None
    names = index.get('sequences') or []
    grouped: dict = {}
    for i in range(len(ds)):
        clip = ds.raw(i)
        if 'masks' not in clip:
            raise StreamDataError(f'{root} split {split!r} has no masks: --stream scores an annotated object')
        number = int(clip['sequence'].reshape(-1)[0]) if 'sequence' in clip else i
        grouped.setdefault(number, []).append(clip)
    return [StreamSequence(names[n] if n < len(names) else str(n), np.concatenate([c['video'] for c in clips]),
                           np.concatenate([c['masks'] for c in clips]) > 0)
            for n, clips in sorted(grouped.items())]


def read_sequences(data: Path, split: str = 'test', names: tuple = ()) -> list[StreamSequence]:
    """Read the annotated sequences of ``data`` (see the module doc), those named by ``names`` when given."""
    data = Path(data)
    if (data / 'index.json').is_file():
        sequences = _dataset_sequences(data, split)
    elif (data / 'frames').is_dir():
        sequences = [_sequence_folder(data)]
    elif data.is_dir():
        folders = sorted(p for p in data.iterdir() if (p / 'frames').is_dir())
        if names:
            folders = [p for p in folders if p.name in names]
        sequences = [_sequence_folder(p) for p in folders]
    else:
        raise StreamDataError(f'{data}: no such folder')
    if names:
        missing = sorted(set(names) - {s.name for s in sequences})
        if missing:
            raise StreamDataError(f'{data}: no sequence named {", ".join(missing)}')
        sequences = [s for s in sequences if s.name in names]
    if not sequences:
        raise StreamDataError(f'{data}: no sequence with frames/ and masks/ (nor a data set with index.json)')
    return sequences


def slot_ious(seg: np.ndarray, fg: np.ndarray, k: int) -> np.ndarray:
    """Return the IoU with the object ``fg`` [H, W] of each slot's segment in ``seg`` [H, W] (labels 0..k-1) -> [k]."""
    out = np.zeros(k)
    for slot in range(k):
        s = seg == slot
        union = np.logical_or(s, fg).sum()
        out[slot] = np.logical_and(s, fg).sum() / union if union else 0.0
    return out


def fragment_count(seg: np.ndarray, fg: np.ndarray, k: int) -> int:
    """How many slots hold at least FRAGMENT_SHARE of the object's pixels."""
    counts = np.bincount(seg[fg].ravel(), minlength=k)
    return int((counts >= FRAGMENT_SHARE * max(1, fg.sum())).sum())


def stable_id_score(frame_ids: list, frame_segs: list, frame_fgs: list) -> tuple[float, int | None]:
    """
    Find the best single tracked id of a sequence.

    Per frame: ids [K], segments [H, W] (slot labels), the object [H, W] -> (the mean over the frames of the IoU of
    the id's segment with the object, 0 where the id is absent; that id). (0.0, None) without frames.
    """
    totals: dict = {}
    for ids, seg, fg in zip(frame_ids, frame_segs, frame_fgs):
        for slot, ident in enumerate(ids):
            s = seg == slot
            union = np.logical_or(s, fg).sum()
            j = np.logical_and(s, fg).sum() / union if union else 0.0
            totals[int(ident)] = totals.get(int(ident), 0.0) + j
    if not totals:
        return 0.0, None
    best = max(totals, key=totals.get)
    return totals[best] / len(frame_ids), best


def kmeans_frame(frame: np.ndarray, k: int) -> np.ndarray:
    """k-means on colour + position of one frame float/uint8 [H, W, 3] -> labels [H, W]."""
    from ..scores.segments import kmeans_segments
    return kmeans_segments(frame[None], k)[0]


def stream_sequence(pipeline, seq: StreamSequence, kmeans: bool = True) -> dict:
    """Feed a sequence through a fresh stream of ``pipeline``; the per-frame scores and the ids of each frame."""
    from ..data.video_dataset import fit_crop
    from ..sensing.motion import frame_motion, motion_magnitude, otsu_foreground
    pipeline.stream.reset()
    pipeline.tracker.reset()
    cfg = pipeline.model_cfg
    size = (cfg.height, cfg.width)
    k = cfg.num_slots
    rows = {key: [] for key in ('best', 'fragments', 'kmeans', 'motion')}
    ids_seen, segs, fgs = [], [], []
    previous_motion_image = None
    period_ns = int(1e9 / FRAME_RATE_HZ)
    for n, (reading, mask) in enumerate(zip(seq.frames, seq.masks)):
        frame = pipeline.accept(reading, n * period_ns)
        if not hasattr(frame, 'data'):
            raise StreamDataError(f'{seq.name} frame {n}: {frame.message}')
        motion_image = frame.motion_image
        if motion_image is None:
            motion_image = fit_crop(reading, 2 * size[0], 2 * size[1], cv2.INTER_AREA)
        motion = frame_motion(previous_motion_image, motion_image, size)
        previous_motion_image = motion_image
        encoded = pipeline.encode([frame])
        if encoded.result is None:
            continue
        fg = fit_crop(mask.astype(np.uint8), *size, cv2.INTER_NEAREST) > 0
        if not fg.any():
            continue
        seg = encoded.result.last_masks().argmax(axis=0)
        rows['best'].append(float(slot_ious(seg, fg, k).max()))
        rows['fragments'].append(fragment_count(seg, fg, k))
        ids_seen.append(np.asarray(encoded.result.ids))
        segs.append(seg)
        fgs.append(fg)
        pred = otsu_foreground(motion_magnitude(motion)[None])[0]
        union = np.logical_or(pred, fg).sum()
        rows['motion'].append(float(np.logical_and(pred, fg).sum() / union) if union else 0.0)
        if kmeans:
            rgb = frame.data[:cfg.image_channels].transpose(1, 2, 0)
            rows['kmeans'].append(float(slot_ious(kmeans_frame(rgb, k), fg, k).max()))
    stable, ident = stable_id_score(ids_seen, segs, fgs)
    return {'frames': len(rows['best']), 'best': rows['best'], 'fragments': rows['fragments'],
            'kmeans': rows['kmeans'], 'motion': rows['motion'], 'stable_id_j': stable, 'stable_id': ident,
            'ids_used': len({int(i) for ids in ids_seen for i in ids})}


def stream_scores(pipeline, sequences: list[StreamSequence], kmeans: bool = True, progress: bool = True) -> dict:
    """Scores of ``STREAM_KEYS`` over every scored frame of every sequence, and per sequence."""
    start = time.monotonic()
    per = {key: {} for key in STREAM_KEYS}
    pooled = {'best': [], 'fragments': [], 'kmeans': [], 'motion': []}
    stable_total = frames = 0.0
    for seq in tqdm(sequences, desc='stream', unit='sequence', disable=not progress):
        r = stream_sequence(pipeline, seq, kmeans)
        if not r['frames']:
            continue
        for key in pooled:
            pooled[key].extend(r[key])
        frames += r['frames']
        stable_total += r['stable_id_j'] * r['frames']
        per['frame_best_slot_j'][seq.name] = float(np.mean(r['best']))
        per['stable_id_j'][seq.name] = r['stable_id_j']
        per['fragments'][seq.name] = float(np.mean(r['fragments']))
        per['motion_frame_j'][seq.name] = float(np.mean(r['motion']))
        if kmeans:
            per['kmeans_frame_j'][seq.name] = float(np.mean(r['kmeans']))
    if not frames:
        raise StreamDataError('no frame was scored: every sequence is shorter than one window or has no object')

    def mean(values):
        return float(np.mean(values)) if values else None

    return {'frame_best_slot_j': mean(pooled['best']), 'stable_id_j': stable_total / frames,
            'fragments': mean(pooled['fragments']), 'kmeans_frame_j': mean(pooled['kmeans']),
            'motion_frame_j': mean(pooled['motion']), 'num_frames': int(frames),
            'num_sequences': len(per['frame_best_slot_j']), 'sequences': list(per['frame_best_slot_j']),
            'per_sequence': {k: v for k, v in per.items() if v}, 'seconds': round(time.monotonic() - start, 1)}


def stream_report_md(report: dict) -> str:
    """Write a stream report as a short markdown table."""
    def f(x):
        return 'n/a' if x is None else f'{x:.3f}'
    lines = ['# Evaluation through the node\'s pipeline (stride 1, every window\'s last frame)', '',
             f'Model `{report["model"]}` on `{report["data"]}`: {report["num_sequences"]} sequences, '
             f'{report["num_frames"]} frames scored at the model\'s size.', '',
             '| per frame | J of the annotated object |', '|---|---|',
             f'| model: the best slot in each frame (`frame_best_slot_j`) | {f(report["frame_best_slot_j"])} |',
             f'| model: one tracked id per sequence (`stable_id_j`) | {f(report["stable_id_j"])} |',
             '| k-means on colour + position (k = K), best cluster (`kmeans_frame_j`) | '
             f'{f(report["kmeans_frame_j"])} |',
             f'| no learning: the residual motion the model reads, Otsu (`motion_frame_j`) | '
             f'{f(report["motion_frame_j"])} |', '',
             f'Slots holding >= {FRAGMENT_SHARE:.0%} of the object (`fragments`, 1 = whole): {f(report["fragments"])}.',
             '', '| sequence | best slot | stable id | fragments | k-means | motion |', '|---|---|---|---|---|---|']
    per = report['per_sequence']
    for name in report['sequences']:
        lines.append(f'| {name} | {f(per["frame_best_slot_j"].get(name))} | {f(per["stable_id_j"].get(name))} | '
                     f'{f(per["fragments"].get(name))} | {f(per.get("kmeans_frame_j", {}).get(name))} | '
                     f'{f(per["motion_frame_j"].get(name))} |')
    return '\n'.join(lines) + '\n'


def evaluate_stream(model: Path, data: Path, split: str = 'test', names: tuple = (), kmeans: bool = True,
                    threads: int = 2, backend: str = 'auto', progress: bool = True) -> dict:
    """Build the node's pipeline for ``model`` (stride 1) and score ``data`` through it."""
    from ..runtime.config import NodeConfig
    from ..runtime.pipeline import LatentPipeline
    sequences = read_sequences(data, split, tuple(names))
    pipeline = LatentPipeline(NodeConfig(model_path=str(model), stride=1, num_threads=threads, backend=backend))
    report = stream_scores(pipeline, sequences, kmeans, progress)
    report.update(model=str(model), data=str(data), split=split, stride=1, backend=type(pipeline.backend).__name__,
                  model_config={'height': pipeline.model_cfg.height, 'width': pipeline.model_cfg.width,
                                'frames': pipeline.model_cfg.frames, 'num_slots': pipeline.model_cfg.num_slots})
    return report
