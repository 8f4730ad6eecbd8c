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
`video-object-dataset from-video`: video files and frame folders -> a clip data set.

    video-object-dataset from-video SRC [SRC ...] OUT --frames N [--every K] [--split NAME]
        [--val SEQ ...] [--test SEQ ...] [--size H W] [--fps F] [--no-masks]

Each SRC is a video file (mp4, avi, mov, mkv, webm: read with OpenCV) or a sequence folder holding
``frames/`` (jpg or png, in name order) and maybe ``masks/`` (png, one per frame with the same stem: 0 =
background, any other value = the object). Frames are centre-cropped and area-resized to ``--size`` in 8 bits,
as the node does (the model's own input size is taken at training and evaluation time, as for every data
set); masks are cropped the same way and resized by nearest neighbour. Each sequence is cut into clips of
``--frames`` frames, every ``--every``-th frame, consecutive and not overlapping.

Splits are by sequence, so no clip of a test sequence is ever a training clip: ``--split NAME`` puts every
clip into that split; otherwise sequences named by ``--val`` / ``--test`` (a file's stem or a folder's name)
go there and the rest to train. Clips carry ``video`` [T, H, W, 3], ``stamps_ns`` (frame index / ``--fps``),
``sequence`` (an index into the index's ``sequences``) and, where the sequence has masks (and ``--no-masks``
is not given), ``masks`` [T, H, W] uint8 (1 = the object). A split mixes no labelled and unlabelled sequences.
The data set is written into a temporary folder and renamed into place when complete. Bad input (an
unreadable file, no frames, a mask of another size or a missing one) is one line and exit 2.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .config import SimConfig
from ..sensing.preprocess import centre_crop
from .dataset import FORMAT_VERSION, SPLITS, new_dataset, write_split

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
FRAME_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
SHARD_SIZE = 32


class VideoDatasetError(ValueError):
    """A source cannot be read or does not fit (one line naming the file and the problem)."""


@dataclass(frozen=True)
class FromVideoOptions:
    frames: int
    every: int = 1
    split: str | None = None
    val: tuple = ()
    test: tuple = ()
    size: tuple = (128, 128)
    fps: float = 30.0
    masks: bool = True

    def check(self) -> None:
        if self.frames < 1 or self.every < 1:
            raise VideoDatasetError(f'--frames and --every must be >= 1, got {self.frames} and {self.every}')
        if len(self.size) != 2 or min(self.size) < 8 or max(self.size) > 1024:
            raise VideoDatasetError(f'--size must be two integers in 8..1024, got {list(self.size)}')
        if self.split is not None and self.split not in SPLITS:
            raise VideoDatasetError(f'--split must be one of {", ".join(SPLITS)}, got {self.split!r}')
        if self.split is not None and (self.val or self.test):
            raise VideoDatasetError('give either --split or --val/--test, not both')
        if not self.fps > 0:
            raise VideoDatasetError(f'--fps must be > 0, got {self.fps}')


@dataclass
class Sequence:
    """One source, read: its name, frames uint8 [N, H, W, 3] and masks uint8 [N, H, W] (or None)."""

    name: str
    frames: np.ndarray
    masks: np.ndarray | None


def fit_crop(image: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    """Centre-crop ``image`` to the aspect ratio of height x width and resize it (as the node fits frames)."""
    y0, x0, ch, cw = centre_crop(image.shape[0], image.shape[1], height, width)
    return cv2.resize(np.ascontiguousarray(image[y0:y0 + ch, x0:x0 + cw]), (width, height), interpolation=interpolation)


def _read_image(path: Path, flags: int) -> np.ndarray:
    image = cv2.imread(str(path), flags)
    if image is None:
        raise VideoDatasetError(f'{path}: not a readable image')
    return image


def read_video_file(path: Path, size: tuple | None) -> np.ndarray:
    """Every frame of a video file, fitted to ``size`` (None: at its own size) -> uint8 RGB [N, H, W, 3]."""
    os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')   # FFmpeg's own lines would add to our one-line error
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoDatasetError(f'{path}: not a readable video (OpenCV cannot open it)')
    frames = []
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            frames.append(rgb if size is None else fit_crop(rgb, *size, cv2.INTER_AREA))
    finally:
        capture.release()
    if not frames:
        raise VideoDatasetError(f'{path}: no frame could be decoded')
    return np.stack(frames)


def read_frame_folder(path: Path, size: tuple, with_masks: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Return a sequence folder (``frames/``, maybe ``masks/``) -> frames [N, H, W, 3] and masks [N, H, W] or None."""
    use_masks = with_masks and (path / 'masks').is_dir()
    frames, masks = read_annotated_folder(path, masks=use_masks)
    frames = np.stack([fit_crop(f, *size, cv2.INTER_AREA) for f in frames])
    if masks is not None:
        masks = np.stack([fit_crop(m.astype(np.uint8), *size, cv2.INTER_NEAREST) for m in masks])
    return frames, masks


def read_annotated_folder(path: Path, masks: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """
    Read a sequence folder at its own size.

    Frames uint8 RGB [N, H, W, 3] and, with ``masks``, the object's masks bool [N, H, W] (every frame needs one:
    VideoDatasetError naming the missing or mismatched file).
    """
    frame_dir = path / 'frames'
    files = sorted(p for p in frame_dir.iterdir() if p.suffix.lower() in FRAME_SUFFIXES) if frame_dir.is_dir() else []
    if not files:
        raise VideoDatasetError(f'{frame_dir}: no frames (jpg or png)')
    frames, out_masks = [], []
    for f in files:
        bgr = _read_image(f, cv2.IMREAD_COLOR)
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if masks:
            mask_path = path / 'masks' / (f.stem + '.png')
            if not mask_path.is_file():
                raise VideoDatasetError(f'{mask_path}: missing (every frame of {path.name} needs a mask)')
            mask = _read_image(mask_path, cv2.IMREAD_UNCHANGED)
            if mask.shape[:2] != bgr.shape[:2]:
                raise VideoDatasetError(f'{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]}, its frame '
                                        f'{bgr.shape[1]}x{bgr.shape[0]}')
            out_masks.append((mask.max(axis=2) if mask.ndim == 3 else mask) > 0)
    return np.stack(frames), (np.stack(out_masks) if masks else None)


def read_source(src: Path, opts: FromVideoOptions) -> Sequence:
    if src.is_dir():
        if not (src / 'frames').is_dir():
            raise VideoDatasetError(f'{src}: a sequence folder must hold frames/ (and maybe masks/)')
        frames, masks = read_frame_folder(src, opts.size, opts.masks)
        return Sequence(src.name, frames, masks)
    if not src.is_file():
        raise VideoDatasetError(f'{src}: no such file or folder')
    if src.suffix.lower() not in VIDEO_SUFFIXES:
        raise VideoDatasetError(f'{src}: not a video file ({", ".join(VIDEO_SUFFIXES)}) or a sequence folder')
    return Sequence(src.stem, read_video_file(src, opts.size), None)


def cut_sequence(count: int, frames: int, every: int) -> tuple[list[list[int]], int]:
    """Frame indices of each clip (consecutive, every ``every``-th frame) and the frames left over."""
    picked = list(range(0, count, every))
    n = len(picked) // frames
    return [picked[k * frames:(k + 1) * frames] for k in range(n)], len(picked) - n * frames


def split_of(name: str, opts: FromVideoOptions) -> str:
    if opts.split is not None:
        return opts.split
    if name in opts.test:
        return 'test'
    if name in opts.val:
        return 'val'
    return 'train'


def from_video(sources: list[Path], out: Path, opts: FromVideoOptions, progress: bool = True) -> dict:
    """Make the data set; returns its index."""
    from tqdm import tqdm
    opts.check()
    if out.exists():
        raise VideoDatasetError(f'output {out} exists; choose a new folder')
    names = [s.stem if s.is_file() else s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise VideoDatasetError(f'sequence names must be unique, repeated: {", ".join(dupes)}')
    unknown = sorted((set(opts.val) | set(opts.test)) - set(names))
    if unknown:
        raise VideoDatasetError(f'--val/--test name(s) {", ".join(unknown)} are not among the sources')
    splits = {s: [] for s in SPLITS}
    counts = {'sequences': 0, 'frames_read': 0, 'frames_left_over': 0}
    labelled = {s: set() for s in SPLITS}
    for number, src in enumerate(tqdm(sources, desc='read', unit='sequence', disable=not progress)):
        seq = read_source(src, opts)
        counts['sequences'] += 1
        counts['frames_read'] += len(seq.frames)
        clips, left = cut_sequence(len(seq.frames), opts.frames, opts.every)
        counts['frames_left_over'] += left
        if not clips:
            raise VideoDatasetError(f'{src}: {len(seq.frames)} frames make no clip of {opts.frames} '
                                    f'(every {opts.every}); lower --frames')
        split = split_of(seq.name, opts)
        labelled[split].add(seq.masks is not None)
        for ids in clips:
            clip = {'video': seq.frames[ids], 'sequence': np.array([number], np.int32),
                    'stamps_ns': np.round(np.array(ids, np.float64) / opts.fps * 1e9).astype(np.int64)}
            if seq.masks is not None:
                clip['masks'] = seq.masks[ids]
            splits[split].append(clip)
    for split, kinds in labelled.items():
        if len(kinds) > 1:
            raise VideoDatasetError(f'split {split!r} mixes sequences with masks and without; give --no-masks or '
                                    'put them in separate splits')
    height, width = opts.size
    index = {'format': FORMAT_VERSION, 'preset': 'video', 'seed': 0,
             'sim': SimConfig(height=height, width=width, frames=opts.frames).to_dict(),
             'source': {'sources': [str(s) for s in sources], 'every': opts.every, 'fps': opts.fps},
             'sequences': names, 'counts': counts, 'labels': {}, 'splits': {}}
    with new_dataset(out, index) as partial:
        for split, clips in splits.items():
            index['splits'][split] = {**write_split(partial, split, clips, SHARD_SIZE),
                                      'sequences': sorted({names[int(c['sequence'][0])] for c in clips})}
            index['labels'][split] = sorted({'video'} | ({'masks'} if clips and 'masks' in clips[0] else set()))
    return index
