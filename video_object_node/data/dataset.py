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
Clip data sets on disk, and the ``ClipDataset`` that reads them.

Format (version 1), one folder per data set::

    DIR/index.json                 format, preset, seed, the full SimConfig, and per split:
                                   {"clips": N, "shard_size": M, "shards": [{"file", "clips", "sha256"}]}
    DIR/<split>/shard-00000.npz    up to M clips; key "<i>/<name>" holds array <name> of clip i of the shard

Shards are plain npz (numpy arrays only; read with ``allow_pickle=False``) written with fixed zip
timestamps, so the same seed and preset give identical bytes. Clip ``i`` of split ``s`` is simulated
from the seed ``clip_seed(seed, s, i)`` alone, so shards can be made in any order, in parallel, and an
interrupted run resumes by making only the shards that are missing.
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..config import ConfigError
from .config import SimConfig
from ..model.config import SimoneConfig
from ..files import atomic_write_bytes, atomic_write_text
from ..sensing.preprocess import centre_crop, scaled_intrinsics
from ..sensing.sensors import SENSORS, Sensor

FORMAT_VERSION = 1
INDEX_FILE = 'index.json'
SPLITS = ('train', 'val', 'test')
_SPLIT_IDS = {name: i for i, name in enumerate(SPLITS)}


class DatasetError(ValueError):
    """A data set folder is missing, incomplete or of another format."""


def clip_seed(seed: int, split: str, index: int) -> int:
    """Return the simulation seed of clip ``index`` of ``split``: independent streams per (seed, split, index)."""
    return int(np.random.SeedSequence([seed, _SPLIT_IDS[split], index]).generate_state(1, np.uint32)[0])


def shard_name(split: str, shard: int) -> str:
    return f'{split}/shard-{shard:05d}.npz'


def write_shard(path: Path, clips: list[dict]) -> str:
    """Write clips to an npz with fixed timestamps, atomically; returns the file's sha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for i, clip in enumerate(clips):
            for key in sorted(clip):
                info = zipfile.ZipInfo(f'{i}/{key}.npy', date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                array = io.BytesIO()
                np.lib.format.write_array(array, np.ascontiguousarray(clip[key]), allow_pickle=False)
                zf.writestr(info, array.getvalue())
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


@contextmanager
def new_dataset(out: Path, index: dict):
    """
    Make a data set in ``OUT.partial``: yields that folder to write splits into.

    Then writes ``index`` (as the body left it) and renames the folder to ``out``. Whatever fails on the way, nothing
    half-made is left.
    """
    partial = out.with_name(out.name + '.partial')
    shutil.rmtree(partial, ignore_errors=True)
    try:
        yield partial
        atomic_write_text(partial / INDEX_FILE, json.dumps(index, indent=2, sort_keys=True))
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def write_split(folder: Path, split: str, clips: list[dict], shard_size: int) -> dict:
    """Write a split's clips as shards under ``folder`` (a data set being made); returns its index entry."""
    shards = []
    for start in range(0, len(clips), shard_size):
        name = shard_name(split, start // shard_size)
        part = clips[start:start + shard_size]
        shards.append({'file': name, 'clips': len(part), 'sha256': write_shard(folder / name, part)})
    return {'clips': len(clips), 'shard_size': shard_size, 'shards': shards}


def read_shard(path: Path, sha256: str | None = None) -> list[dict]:
    """
    All clips of a shard, as dicts of numpy arrays.

    With ``sha256`` (the index's record) the file is checked first; a damaged or changed shard is a DatasetError naming
    it and what to do.
    """
    path = Path(path)
    remedy = ('make the data set again (video-object-sim generate resumes: delete the shard and rerun the same '
              'command)')
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f'shard {path} cannot be read ({exc.strerror}); {remedy}') from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise DatasetError(f'shard {path} is damaged: its sha256 does not match the data set index '
                           f'({len(data)} bytes); {remedy}')
    clips: dict[int, dict] = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            for name in npz.files:
                i, key = name.split('/', 1)
                clips.setdefault(int(i), {})[key] = npz[name]
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
        raise DatasetError(f'shard {path} is damaged ({str(exc).splitlines()[0]}); {remedy}') from None
    return [clips[i] for i in sorted(clips)]


def read_index(root: str | Path) -> dict:
    root = Path(root)
    path = root / INDEX_FILE
    if not path.is_file():
        raise DatasetError(f'no data set at {root}: {INDEX_FILE} not found (make one with video-object-sim generate)')
    index = json.loads(path.read_text())
    if index.get('format') != FORMAT_VERSION:
        raise DatasetError(f'{path}: data set format {index.get("format")!r} is not supported '
                           f'(expected {FORMAT_VERSION})')
    return index


@lru_cache(maxsize=4)
def _cached_shard(path: str, sha256: str | None) -> tuple:
    return tuple(read_shard(Path(path), sha256))


class ClipDataset(Dataset):
    """
    Clips of one split of a data set folder.

    ``ds[i]`` is a dict of numpy arrays: ``video`` uint8 [T, H, W, 3], ``masks`` [T, H, W] (0 = background),
    ``depth`` float32 [T, H, W], ``intrinsics`` [3, 3], ``extrinsics`` [T, 4, 4] (world<-camera, OpenCV axes),
    ``object_positions`` [N, T, 3], ``object_ids`` [N], and the rest of the simulator's ground truth.

    Parameters
    ----------
        root: the data set folder.
        split: 'train', 'val' or 'test'.
        size: optional (H, W): video, masks and depth are centre-cropped to the aspect ratio and resized
            (area for video, nearest for masks and depth); intrinsics are adjusted to match.
        frames: optional T' <= T: take a window of T' frames (at ``frame_offset``, or a random offset
            when ``frame_offset`` is None, drawn from ``rng``).
        preload: read every shard of the split into memory once (fast random access for training).
        motion: add ``motion`` uint8 [T, 2, H, W], each frame's motion against the previous frame of the whole
            stored clip (``sensing/motion.py``; estimated at up to twice the model's size, from the stored frames),
            before a window is cut, so a window's first frame has the motion it would have in a stream.

    """

    def __init__(self, root: str | Path, split: str = 'train', *, size: tuple | None = None,
                 frames: int | None = None, frame_offset: int | None = 0, preload: bool = False,
                 rng: np.random.Generator | None = None, motion: bool = False):
        self.root = Path(root)
        self.index = read_index(self.root)
        if split not in self.index['splits']:
            raise DatasetError(f'{self.root} has no split {split!r}; it has {sorted(self.index["splits"])}')
        self.split = split
        self.sim = SimConfig.from_dict(self.index['sim'])
        entry = self.index['splits'][split]
        self.shards = entry['shards']
        self.shard_size = entry['shard_size']
        self.num_clips = entry['clips']
        if frames is not None and not 0 < frames <= self.sim.frames:
            raise DatasetError(f'frames={frames} must be in 1..{self.sim.frames} (the clips have {self.sim.frames})')
        self.size, self.frames, self.frame_offset, self.motion = size, frames, frame_offset, motion
        self.rng = rng or np.random.default_rng()
        self._all = ([c for s in self.shards for c in read_shard(self.root / s['file'], s.get('sha256'))]
                     if preload else None)

    def __len__(self) -> int:
        return self.num_clips

    def raw(self, i: int) -> dict:
        if not 0 <= i < self.num_clips:
            raise IndexError(f'clip {i} out of range for {self.num_clips} clips')
        if self._all is not None:
            return self._all[i]
        shard = self.shards[i // self.shard_size]
        return _cached_shard(str(self.root / shard['file']), shard.get('sha256'))[i % self.shard_size]

    def __getitem__(self, i: int) -> dict:
        clip = dict(self.raw(i))
        if 'video' not in clip:                            # a real LIDAR's clips (from-lidar): range images only
            return self._window(clip)
        size = tuple(self.size) if self.size is not None else clip['video'].shape[1:3]
        if self.motion:
            # From the stored frames at up to twice the model's size (as the node estimates it from the camera's).
            from ..sensing.motion import clip_motion, motion_source_size
            source = motion_source_size(size, available=clip['video'].shape[1:3])
            video = clip['video'] if source == clip['video'].shape[1:3] else resize_clip(
                clip['video'], None, None, None, source)['video']
            clip['motion'] = clip_motion(video, size)
        if size != clip['video'].shape[1:3]:
            clip.update(resize_clip(clip['video'], clip.get('masks'), clip.get('depth'), clip.get('intrinsics'),
                                    size))
        return self._window(clip)

    def _window(self, clip: dict) -> dict:
        """Cut ``self.frames`` frames out of a clip (at ``frame_offset``, or at random when it is None)."""
        if self.frames is not None and self.frames < self.sim.frames:
            offset = self.frame_offset
            if offset is None:
                offset = int(self.rng.integers(0, self.sim.frames - self.frames + 1))
            window = slice(offset, offset + self.frames)
            for key, value in clip.items():
                if key in TIME_AXIS:
                    clip[key] = value[(slice(None),) * TIME_AXIS[key] + (window,)]
        return clip


# Which axis of each per-frame array is time (cut when a shorter window is taken).
TIME_AXIS = {'video': 0, 'masks': 0, 'depth': 0, 'extrinsics': 0, 'object_positions': 1,
             'object_orientations': 1, 'object_velocities': 1, 'lidar_range': 0, 'lidar_points': 0,
             'lidar_ids': 0, 'lidar_class': 0, 'lidar_pose': 0, 'stamps_ns': 0, 'motion': 0}


def resize_clip(video: np.ndarray, masks: np.ndarray | None, depth: np.ndarray | None,
                intrinsics: np.ndarray | None, size: tuple) -> dict:
    """
    Centre-crop to the aspect ratio of ``size`` (H, W), then resize (area for video, nearest for masks and depth).

    Intrinsics follow. Arrays a clip lacks (None: a robot bag has no masks) stay absent.
    """
    t, h, w = video.shape[:3]
    out_h, out_w = size
    if out_h <= 0 or out_w <= 0:
        raise ConfigError(f'size must be positive (H, W), got {size}')
    y0, x0, crop_h, crop_w = centre_crop(h, w, out_h, out_w)
    crop = (slice(None), slice(y0, y0 + crop_h), slice(x0, x0 + crop_w))
    vid = torch.from_numpy(np.ascontiguousarray(video[crop])).permute(0, 3, 1, 2).float()
    vid = F.interpolate(vid, size=size, mode='area').round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    rows = (np.arange(out_h) * crop_h // out_h + crop_h // (2 * out_h)).clip(0, crop_h - 1)
    cols = (np.arange(out_w) * crop_w // out_w + crop_w // (2 * out_w)).clip(0, crop_w - 1)
    out = {'video': vid}
    for key, value in (('masks', masks), ('depth', depth)):
        if value is not None:
            out[key] = value[crop][:, rows][:, :, cols]
    if intrinsics is not None:
        out['intrinsics'] = scaled_intrinsics(intrinsics, (y0, x0, crop_h, crop_w), out_h, out_w)
    return out


def iter_windows(root: str | Path, split: str, frames: int, size: tuple | None, clips: int | None = None,
                 progress: str | None = None, motion: bool = False):
    """
    Yield the non-overlapping windows of a split.

    Non-overlapping windows of ``frames`` frames of the first ``clips`` clips of a split, resized to
    ``size`` (None: as stored), with each frame's motion when ``motion`` (see ``ClipDataset``): yields (clip
    index, start frame, clip dict cut to the window).
    """
    from tqdm import tqdm
    ds = ClipDataset(root, split, size=size, motion=motion)
    n = len(ds) if clips is None else min(clips, len(ds))
    if n == 0:
        raise DatasetError(f'split {split!r} of {root} has no clips')
    if ds.sim.frames < frames:
        raise DatasetError(f'{root} has {ds.sim.frames}-frame clips; windows of {frames} frames do not fit')
    for i in tqdm(range(n), desc=progress, unit='clip', disable=progress is None):
        clip = ds[i]
        for start in range(0, ds.sim.frames - frames + 1, frames):
            window = dict(clip)
            for key, axis in TIME_AXIS.items():
                if key in window:
                    window[key] = window[key][(slice(None),) * axis + (slice(start, start + frames),)]
            yield i, start, window


def video_tensor(clips: list[dict] | dict) -> torch.Tensor:
    """uint8 [T, H, W, C] clip(s) -> float32 [B, T, C, H, W] in [0, 1]."""
    if isinstance(clips, dict):
        clips = [clips]
    video = np.stack([c['video'] for c in clips])
    return torch.from_numpy(video).permute(0, 1, 4, 2, 3).float().div_(255.0)


def sensor_for_dataset(root: str | Path, model_cfg: SimoneConfig) -> Sensor:
    """How the data set at ``root`` is shown to a model (checked against the model's input)."""
    return SENSORS[model_cfg.modality].for_dataset(root, read_index(root), model_cfg)
