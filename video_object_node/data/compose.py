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
`video-object-dataset compose`: real objects cut out by their masks, moving over real backgrounds, with every label.

    video-object-dataset compose --objects SEQ [SEQ ...] --backgrounds SRC [SRC ...] OUT --clips N --frames T
        [--min-objects 1] [--max-objects 3] [--size H W] [--split NAME] [--seed S]

The scene is a pinhole camera in front of a wall (a real frame of a background source: a video file or a sequence
folder) and 1-3 real objects (each a run of T consecutive frames of an annotated sequence, cut out by its masks, so
it keeps its own articulation) on planes between the camera and the wall, each moving on its own straight
trajectory in the world. The camera translates (pan, rise, dolly towards the wall) at a constant speed drawn per
clip; everything is projected exactly, so the clip carries, beside ``video`` [T, H, W, 3]:

- ``masks`` [T, H, W] uint8 (0 = background, 1..M the objects, what is in front hiding what is behind),
- ``depth`` [T, H, W] float32 (metres from the camera along its axis), ``depth_order`` [M] (labels, farthest first),
- ``extrinsics`` [T, 4, 4] (world<-camera, OpenCV axes, world z up: the viewpoint head's pose label) and
  ``intrinsics`` [3, 3],
- ``object_sources`` [M] and ``sequence`` (index of the background into the index's ``sequences``), ``stamps_ns``.

Clip ``i`` is drawn from ``SeedSequence([seed, i])`` alone: the same sources and seed give the same data set. What
moves in a background frame is part of the wall: only the pasted objects are labelled. Objects and backgrounds
keep their sources' licences (the index names the sources). Bad input is one line and exit 2.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .config import SimConfig
from .dataset import FORMAT_VERSION, SPLITS, new_dataset, write_split
from .video_dataset import VIDEO_SUFFIXES, VideoDatasetError, read_annotated_folder, read_video_file

SHARD_SIZE = 32
WALL_DISTANCE = 6.0                  # metres from the first camera position to the background wall
OBJECT_DISTANCE = (2.0, 5.0)         # metres from the first camera position to each object's plane
OBJECT_HEIGHT = (0.25, 0.6)          # an object's height in the first frame, as a share of the image height
OBJECT_SPEED = 0.08                  # metres a frame at most, each axis of the object's plane
CAMERA_SPEED = (0.05, 0.04, 0.10)    # metres a frame at most: pan (x), rise (z), dolly towards the wall
FRAME_RATE_HZ = 10.0
WALL_FRAME_EVERY = 8                 # a clip's wall is one frame: every 8th frame of a background is kept in memory


@dataclass(frozen=True)
class ComposeOptions:
    clips: int
    frames: int
    min_objects: int = 1
    max_objects: int = 3
    size: tuple = (128, 128)
    split: str = 'train'
    seed: int = 0

    def check(self) -> None:
        if self.clips < 1 or self.frames < 2:
            raise VideoDatasetError(f'--clips must be >= 1 and --frames >= 2, got {self.clips} and {self.frames}')
        if not 1 <= self.min_objects <= self.max_objects <= 8:
            raise VideoDatasetError(f'--min-objects/--max-objects must satisfy 1 <= min <= max <= 8, got '
                                    f'{self.min_objects} and {self.max_objects}')
        if len(self.size) != 2 or min(self.size) < 8 or max(self.size) > 1024:
            raise VideoDatasetError(f'--size must be two integers in 8..1024, got {list(self.size)}')
        if self.split not in SPLITS:
            raise VideoDatasetError(f'--split must be one of {", ".join(SPLITS)}, got {self.split!r}')


@dataclass
class Cutout:
    """One object's run of frames: RGB uint8 [T, h, w, 3] and masks bool [T, h, w] on the union box of its masks."""

    rgb: np.ndarray
    mask: np.ndarray
    source: int


def read_backgrounds(sources: list[Path]) -> list[np.ndarray]:
    """Every WALL_FRAME_EVERY-th frame of each background source, uint8 RGB [N, H, W, 3] at its own size."""
    out = []
    for src in sources:
        if src.is_dir():
            frames = read_annotated_folder(src, masks=False)[0]
        elif src.is_file() and src.suffix.lower() in VIDEO_SUFFIXES:
            frames = read_video_file(src, None)
        else:
            raise VideoDatasetError(f'{src}: not a video file ({", ".join(VIDEO_SUFFIXES)}) or a sequence folder')
        out.append(np.ascontiguousarray(frames[::WALL_FRAME_EVERY]))
    return out


def cut_out(frames: np.ndarray, masks: np.ndarray, start: int, count: int, source: int) -> Cutout | None:
    """Cut out the object of ``frames[start:start + count]`` on the box around its masks (None: it is absent)."""
    m = masks[start:start + count]
    if not m.any(axis=(1, 2)).all():
        return None
    ys, xs = np.nonzero(m.any(axis=0))
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Cutout(frames[start:start + count, y0:y1, x0:x1], m[:, y0:y1, x0:x1], source)


def camera_pose(position: np.ndarray) -> np.ndarray:
    """world<-camera [4, 4] of a camera at ``position`` looking along world +y, image down = world -z."""
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = (1, 0, 0), (0, 0, -1), (0, 1, 0)
    pose[:3, 3] = position
    return pose


def _plane_warp(focal: float, centre: tuple, camera: np.ndarray, plane_y: float, texture_scale: float,
                texture_origin: tuple) -> np.ndarray:
    """
    Image pixel -> texture pixel on a plane y = plane_y facing the camera, as a 2x3 affine (exact for this camera).

    A texture pixel (a, b) sits at world x = (a - a0) / texture_scale, z = -(b - b0) / texture_scale on the plane.
    """
    distance = plane_y - camera[1]
    per_pixel = distance / focal                                    # metres of the plane per image pixel
    a0, b0 = texture_origin
    return np.array([[texture_scale * per_pixel, 0, texture_scale * (camera[0] - centre[0] * per_pixel) + a0],
                     [0, texture_scale * per_pixel, -texture_scale * (camera[2] + centre[1] * per_pixel) + b0]],
                    np.float64)


def compose_clip(rng: np.random.Generator, backgrounds: list, objects: list, opts: ComposeOptions) -> dict:
    """One clip (see the module doc)."""
    h, w = opts.size
    t_count = opts.frames
    focal, centre = float(w), (w / 2.0, h / 2.0)
    intrinsics = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]])
    camera_velocity = rng.uniform(-1, 1, 3) * np.array([CAMERA_SPEED[0], 0, CAMERA_SPEED[1]])
    camera_velocity[1] = rng.uniform(0, CAMERA_SPEED[2])
    cameras = np.array([camera_velocity * t for t in range(t_count)])            # [T, 3], starts at the origin
    # The wall: a background frame whose middle fills the first view with room around it for the camera's move.
    b = int(rng.integers(len(backgrounds)))
    wall = backgrounds[b][int(rng.integers(len(backgrounds[b])))]
    view_w = WALL_DISTANCE * w / focal                                          # metres the first view spans
    wall_scale = min(wall.shape[0] / (view_w * h / w), wall.shape[1] / view_w) * 0.7   # texture pixels a metre
    wall_origin = (wall.shape[1] / 2.0, wall.shape[0] / 2.0)
    video = np.empty((t_count, h, w, 3), np.uint8)
    masks = np.zeros((t_count, h, w), np.uint8)
    depth = np.empty((t_count, h, w), np.float32)
    for t in range(t_count):
        warp = _plane_warp(focal, centre, cameras[t], WALL_DISTANCE, wall_scale, wall_origin)
        video[t] = cv2.warpAffine(wall, warp, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REFLECT)
        depth[t] = WALL_DISTANCE - cameras[t, 1]
    # The objects, farthest first so that nearer ones hide them.
    count = int(rng.integers(opts.min_objects, opts.max_objects + 1))
    chosen = []
    for _ in range(count):
        for _try in range(20):
            s = int(rng.integers(len(objects)))
            frames, object_masks = objects[s]
            if len(frames) < t_count:
                continue
            cut = cut_out(frames, object_masks, int(rng.integers(0, len(frames) - t_count + 1)), t_count, s)
            if cut is not None:
                chosen.append((float(rng.uniform(*OBJECT_DISTANCE)), cut))
                break
    chosen.sort(key=lambda pair: -pair[0])
    for label, (distance, cut) in enumerate(chosen, start=1):
        box_h, box_w = cut.mask.shape[1:]
        metres_high = rng.uniform(*OBJECT_HEIGHT) * h * distance / focal
        scale = box_h / metres_high                                             # cut-out pixels a metre
        start = np.array([rng.uniform(-0.3, 0.3) * w, 0, rng.uniform(-0.25, 0.25) * h]) * distance / focal
        velocity = rng.uniform(-OBJECT_SPEED, OBJECT_SPEED, 3) * np.array([1, 0, 1])
        for t in range(t_count):
            # The cut-out's centre sits at the object's world position on its plane.
            position = start + velocity * t
            origin = (box_w / 2.0 - position[0] * scale, box_h / 2.0 + position[2] * scale)
            warp = _plane_warp(focal, centre, cameras[t], distance, scale, origin)
            rgb = cv2.warpAffine(np.ascontiguousarray(cut.rgb[t]), warp, (w, h),
                                 flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0)
            inside = cv2.warpAffine(cut.mask[t].astype(np.uint8), warp, (w, h),
                                    flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderValue=0) > 0
            video[t][inside] = rgb[inside]
            masks[t][inside] = label
            depth[t][inside] = distance - cameras[t, 1]
    return {'video': video, 'masks': masks, 'depth': depth, 'extrinsics': np.stack([camera_pose(c) for c in cameras]),
            'intrinsics': intrinsics, 'depth_order': np.arange(1, len(chosen) + 1, dtype=np.int32),
            'object_sources': np.array([cut.source for _d, cut in chosen], np.int32),
            'sequence': np.array([b], np.int32),
            'stamps_ns': np.round(np.arange(t_count) / FRAME_RATE_HZ * 1e9).astype(np.int64)}


def compose(object_sources: list[Path], background_sources: list[Path], out: Path, opts: ComposeOptions,
            progress: bool = True) -> dict:
    """Make the data set; returns its index."""
    from tqdm import tqdm
    opts.check()
    if out.exists():
        raise VideoDatasetError(f'output {out} exists; choose a new folder')
    objects = []
    for src in object_sources:
        if not (src / 'masks').is_dir():
            raise VideoDatasetError(f'{src}: an object source must be a sequence folder with frames/ and masks/')
        frames, masks = read_annotated_folder(src, masks=True)
        objects.append((frames, masks > 0))
    if not any(len(f) >= opts.frames for f, _m in objects):
        raise VideoDatasetError(f'no object sequence has {opts.frames} frames; lower --frames')
    backgrounds = read_backgrounds(background_sources)
    clips = []
    for i in tqdm(range(opts.clips), desc='compose', unit='clip', disable=not progress):
        rng = np.random.default_rng(np.random.SeedSequence([opts.seed, i]))
        clips.append(compose_clip(rng, backgrounds, objects, opts))
    h, w = opts.size
    index = {'format': FORMAT_VERSION, 'preset': 'composite', 'seed': opts.seed,
             'sim': SimConfig(height=h, width=w, frames=opts.frames, min_objects=opts.min_objects,
                              max_objects=opts.max_objects).to_dict(),
             'source': {'objects': [str(s) for s in object_sources],
                        'backgrounds': [str(s) for s in background_sources]},
             'sequences': [s.stem if s.is_file() else s.name for s in background_sources],
             'objects': [s.name for s in object_sources], 'labels': {}, 'splits': {}}
    with new_dataset(out, index) as partial:
        for split in SPLITS:
            mine = clips if split == opts.split else []
            index['splits'][split] = write_split(partial, split, mine, SHARD_SIZE)
            index['labels'][split] = sorted({'video', 'masks', 'depth', 'extrinsics', 'intrinsics'} if mine
                                            else {'video'})
    return index
