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
Training data held in memory.

One ``ClipBank`` per data set split, and a ``SourceMix`` that draws batches from several of them (heterogeneous
training: each clip brings the labels it has).
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from ..data.dataset import sensor_for_dataset
from ..data.dataset import ClipDataset, DatasetError
from .supervision import Labels, stack_numpy
from ..bundle.viewpoint_probe import viewpoint_targets

LABEL_KINDS = ('masks', 'pose', 'attributes')
MOTION_TEACHERS = ('motion', 'motion-edges')


class ClipBank:
    """
    A split at the model's size: inputs uint8 [N, T0, C, H, W] and the labels it carries.

    The data set's ``sensor`` (``sensors.sensor_for_dataset``) turns clips into model inputs: camera clips are
    resized to the model, LIDAR clips become range images of a sensor model that must match the model's input.
    ``labels`` restricts which of the clips' labels are used (masks, pose, attributes, or foreground: the masks
    read as one object's alone); a label the data set lacks is simply absent. ``teacher`` ('motion' or a bundle
    folder, ``learn/teacher.py``) makes a foreground label for every clip without one.
    """

    def __init__(self, root: str, split: str, cfg, limit: int | None = None, labels=LABEL_KINDS, teacher: str = ''):
        self.sensor = sensor_for_dataset(root, cfg)
        self.root = str(root)
        ds = ClipDataset(root, split, size=self.sensor.dataset_size(), motion=self.sensor.reads_motion)
        if ds.sim.frames < cfg.frames:
            raise DatasetError(f'{root} has {ds.sim.frames}-frame clips; the model needs windows of {cfg.frames}')
        n = len(ds) if limit is None else min(limit, len(ds))
        if n == 0:
            raise DatasetError(f'split {split!r} of {root} is empty')
        clips = [ds[i] for i in range(n)]
        pairs = [self.sensor.window_inputs(c) for c in clips]
        self.video = torch.from_numpy(np.stack([p[0] for p in pairs])).contiguous()
        self.frames = cfg.frames
        has = set(labels)
        first = clips[0]
        self.masks = np.stack([p[1] for p in pairs]).astype(np.uint8) if pairs[0][1] is not None else None
        self.masks_used = 'masks' in has and self.masks is not None
        self.foreground = None
        if 'foreground' in has and self.masks is not None:
            self.foreground = (self.masks > 0).astype(np.uint8)
        elif teacher:
            self.foreground = clip_teachers([ds.raw(i)['video'] for i in range(n)], self.video, cfg, teacher)
        # Poses per clip: a robot bag's clip may lack them (no odometry near its frames): NaN, flagged.
        pose_key = self.sensor.pose_key
        self.pose_clips = np.array([pose_key in c for c in clips]) if 'pose' in has else np.zeros(n, bool)
        self.extrinsics = None
        if self.pose_clips.any():
            t0 = clips[0]['video'].shape[0]
            self.extrinsics = np.stack([c[pose_key] if pose_key in c else np.full((t0, 4, 4), np.nan)
                                        for c in clips]).astype(np.float64)
        self.attributes = None
        if 'attributes' in has and 'object_ids' in first and 'object_shapes' in first:
            self.attributes = [{'object_ids': c['object_ids'], 'object_shapes': c['object_shapes'] - 1,
                                'object_sizes': c['object_sizes'],
                                'object_colours': c.get('object_colours') if self.sensor.sees_colour else None}
                               for c in clips]

    def __len__(self) -> int:
        return len(self.video)

    @property
    def label_kinds(self) -> tuple:
        return tuple(k for k, v in (('masks', self.masks_used), ('pose', self.extrinsics is not None),
                                    ('attributes', self.attributes is not None),
                                    ('foreground', self.foreground is not None)) if v)

    def batch(self, idx: np.ndarray, offsets: np.ndarray) -> torch.Tensor:
        """Windows of ``frames`` frames starting at ``offsets`` -> float [B, T, C, H, W] in [0, 1]."""
        windows = [self.video[i, o:o + self.frames] for i, o in zip(idx, offsets)]
        return torch.stack(windows).float().div_(255.0)

    def label_rows(self, idx: np.ndarray, offsets: np.ndarray) -> list[dict]:
        """Per window, the labels this bank uses (``supervision.stack_numpy`` rows)."""
        rows = []
        for i, o in zip(idx, offsets):
            window = slice(o, o + self.frames)
            row = {}
            if self.masks_used:
                row['masks'] = self.masks[i, window]
            if self.foreground is not None:
                row['foreground'] = self.foreground[i, window]
            if self.extrinsics is not None and self.pose_clips[i]:
                row['pose'] = viewpoint_targets(self.extrinsics[i, window])
            if self.attributes is not None:
                row.update(self.attributes[i])
            rows.append(row)
        return rows


class SourceMix:
    """
    Batches drawn from several banks.

    Each window's source is chosen by the sources' weights, then a clip and a start frame uniformly. With one source the
    draws are those of a single bank.
    """

    def __init__(self, banks: list[ClipBank], weights: list[float]):
        if not banks:
            raise DatasetError('no training data: give train.data or train.sources')
        self.banks = banks
        total = float(sum(weights))
        self.p = np.array(weights, np.float64) / total
        self.frames = banks[0].frames

    def draw(self, rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, clip, start frame) of each window of a batch."""
        if len(self.banks) == 1:
            source = np.zeros(batch, int)
            idx = rng.integers(0, len(self.banks[0]), batch)
            offsets = rng.integers(0, self.banks[0].video.shape[1] - self.frames + 1, batch)
            return source, idx, offsets
        source = rng.choice(len(self.banks), size=batch, p=self.p)
        idx = np.array([rng.integers(0, len(self.banks[s])) for s in source])
        offsets = np.array([rng.integers(0, self.banks[s].video.shape[1] - self.frames + 1) for s in source])
        return source, idx, offsets

    def batch(self, source: np.ndarray, idx: np.ndarray, offsets: np.ndarray) -> tuple[torch.Tensor, Labels]:
        """Return the windows and their labels, in the order drawn."""
        videos, rows = [], []
        for s, i, o in zip(source, idx, offsets):
            bank = self.banks[s]
            videos.append(bank.batch([i], [o]))
            rows.extend(bank.label_rows([i], [o]))
        video = torch.cat(videos)
        _, t, _, h, w = video.shape
        return video, stack_numpy(rows, t, h, w)


def clip_teachers(raw_videos: list, inputs: torch.Tensor, cfg, teacher: str) -> np.ndarray:
    """
    Return a teacher's foreground for every clip of a bank: uint8 [N, T0, H, W] (``learn/teacher.py``).

    ``raw_videos``: each clip's stored frames uint8 [T0, h, w, 3] (the flow runs on them at full resolution);
    ``inputs``: the bank's model inputs uint8 [N, T0, C, H, W]. ``teacher`` is 'motion', 'motion-edges' (refined
    along the frames' edges) or a bundle folder whose model's segments replace the motion teacher where they agree
    with it (a self-training round).
    """
    from tqdm import tqdm

    from ..data.dataset import resize_clip
    from ..sensing.motion import motion_source_size
    from .teacher import motion_teacher, teacher_mask
    size = (cfg.height, cfg.width)
    out = []
    for video in tqdm(raw_videos, desc='motion teacher', unit='clip', leave=False, disable=not sys.stderr.isatty()):
        source = motion_source_size(size, available=video.shape[1:3])
        if video.shape[1:3] != source:
            video = resize_clip(video, None, None, None, source)['video']
        out.append(teacher_mask(*motion_teacher(video, size, edges=teacher == 'motion-edges')))
    masks = np.stack(out)
    if teacher not in MOTION_TEACHERS:
        masks = self_taught(masks, inputs, cfg, teacher)
    return masks


@torch.no_grad()
def self_taught(masks: np.ndarray, inputs: torch.Tensor, cfg, bundle: str) -> np.ndarray:
    """Return the motion teacher's masks [N, T0, H, W], a trained student's segments where the two agree."""
    from pathlib import Path

    from ..model.bundle import load_bundle
    from .teacher import agree_with_motion, student_segment
    try:
        model = load_bundle(Path(bundle))
    except (OSError, ValueError) as exc:
        raise DatasetError(f'train.sources teacher: {bundle} is not motion, motion-edges nor a readable bundle '
                           f'({exc})') from None
    if (model.cfg.height, model.cfg.width, model.cfg.channels) != (cfg.height, cfg.width, cfg.channels):
        raise DatasetError(f'train.sources teacher: the bundle {bundle} takes another input than this model')
    model.eval()
    t = model.cfg.frames
    out = masks.copy()
    for i in range(len(inputs)):
        for start in range(0, inputs.shape[1] - t + 1, t):
            video = inputs[i:i + 1, start:start + t].float().div_(255.0)
            decoded = model.decode_means(model.encode(video)).masks[0].numpy()         # [T, K, H, W]
            window = masks[i, start:start + t]
            out[i, start:start + t] = agree_with_motion(student_segment(decoded, window), window)
    return out
