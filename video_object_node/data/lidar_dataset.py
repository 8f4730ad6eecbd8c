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
Real LIDAR sweeps into a clip data set of range images (``video-object-dataset from-lidar``).

    video-object-dataset from-lidar SRC [SRC ...] OUT --frames N [--split NAME] [--sensor hdl64|os-64|os-128|vlp16]
                                                      [--points-topic TOPIC]

SRC is a KITTI-style folder (``velodyne/NNNNNN.bin``: float32 x, y, z, remission per point; maybe
``labels/NNNNNN.label``: uint32 per point, ``label & 0xFFFF`` the class, ``label >> 16`` the instance, as
SemanticKITTI) or a rosbag with a PointCloud2 topic (``--points-topic``; a ``ring`` field gives each return its row).
Each sweep becomes a range image of the sensor model (``LidarConfig.sensor``); N consecutive sweeps make a clip.
Labels: an object is a (class, instance) pair of the object classes (car, bicycle, bus, motorcycle, on-rails, truck,
other vehicle, person, bicyclist, motorcyclist; their moving variants count as the class), numbered from 1 per
source and the same over its sweeps; ``lidar_ids`` is that number per pixel, 0 for any other return (road,
buildings, vegetation) and -1 where there is none; ``lidar_class`` keeps each pixel's class. A sweep or label file
that is damaged stops the command with one line naming it (exit 2); sweeps left after the last whole clip are
counted in the index (``counts.sweeps_left``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import SimConfig
from ..sensing.config import LidarConfig
from ..sensing.lidar import project
from .dataset import FORMAT_VERSION, SPLITS, new_dataset, write_split

SHARD_SIZE = 4
# SemanticKITTI object classes, and the moving variants that count as them.
OBJECT_CLASSES = {10: 'car', 11: 'bicycle', 13: 'bus', 15: 'motorcycle', 16: 'on-rails', 18: 'truck',
                  20: 'other-vehicle', 30: 'person', 31: 'bicyclist', 32: 'motorcyclist'}
MOVING = {252: 10, 253: 31, 254: 30, 255: 32, 256: 16, 257: 13, 258: 18, 259: 20}
POINT_BYTES = 16                     # KITTI: float32 x, y, z, remission


class LidarDatasetError(ValueError):
    """A source that cannot be read as LIDAR sweeps: one line naming the file and the problem."""


@dataclass(frozen=True)
class FromLidarOptions:
    frames: int = 10
    split: str = 'train'
    sensor: str = 'hdl64'
    azimuth_bins: int = 1024
    points_topic: str | None = None


def base_class(semantic: np.ndarray) -> np.ndarray:
    """Return the class of each label with the moving variants mapped to their class (uint32 [N])."""
    out = np.asarray(semantic, np.uint32).copy()
    for moving, cls in MOVING.items():
        out[out == moving] = cls
    return out


def read_sweep(path: Path) -> np.ndarray:
    """Return a KITTI sweep's points float32 [N, 4] (x, y, z, remission); LidarDatasetError if damaged."""
    size = path.stat().st_size
    if size == 0 or size % POINT_BYTES:
        raise LidarDatasetError(f'{path}: {size} bytes is not a whole number of points ({POINT_BYTES} bytes each: '
                                'float32 x, y, z, remission)')
    points = np.fromfile(path, np.float32).reshape(-1, 4)
    if not np.isfinite(points[:, :3]).any():
        raise LidarDatasetError(f'{path}: no finite point in {len(points)}')
    return points


def read_labels(path: Path, count: int) -> np.ndarray:
    """Return a sweep's labels uint32 [count]; LidarDatasetError when the file does not match its sweep."""
    size = path.stat().st_size
    if size != 4 * count:
        raise LidarDatasetError(f'{path}: {size} bytes, but its sweep has {count} points (4 bytes each expected)')
    return np.fromfile(path, np.uint32)


def kitti_sweeps(folder: Path):
    """Yield (stamp ns, points [N, 3], ring None, labels uint32 [N] or None) of a KITTI-style folder, in order."""
    bins = sorted((folder / 'velodyne').glob('*.bin'))
    if not bins:
        raise LidarDatasetError(f'{folder}: no velodyne/*.bin sweeps (a KITTI-style folder is expected)')
    labelled = (folder / 'labels').is_dir()
    times = folder / 'times.txt'
    stamps = None
    if times.is_file():
        stamps = np.loadtxt(times, ndmin=1)
        if len(stamps) < len(bins):
            raise LidarDatasetError(f'{times}: {len(stamps)} times for {len(bins)} sweeps')
    for i, path in enumerate(bins):
        points = read_sweep(path)
        labels = None
        if labelled:
            label_path = folder / 'labels' / (path.stem + '.label')
            if not label_path.is_file():
                raise LidarDatasetError(f'{label_path}: missing (labels/ has files for other sweeps)')
            labels = read_labels(label_path, len(points))
        stamp = int(round((stamps[i] if stamps is not None else i * 0.1) * 1e9))
        yield stamp, points[:, :3], None, labels


def bag_sweeps(bag: Path, topic: str):
    """Yield (stamp ns, points [N, 3], ring int [N] or None, None) of a bag's PointCloud2 topic."""
    from ..sensing.conversions import cloud_points
    from ..sensing.sensors import ConversionError
    from .bag_reading import BagError, open_bag
    try:
        reader = open_bag(bag)
    except BagError as exc:
        raise LidarDatasetError(str(exc)) from None
    with reader:
        if topic not in reader.topics:
            raise LidarDatasetError(f'{bag}: no topic {topic!r}; it has {sorted(reader.topics)}')
        for _topic, msgtype, stamp, raw in reader.messages([topic]):
            if not msgtype.endswith('PointCloud2'):
                raise LidarDatasetError(f'{bag}: {topic} carries {msgtype}, not sensor_msgs/msg/PointCloud2')
            try:
                points = cloud_points(reader.deserialize(raw, msgtype))
            except ConversionError as exc:
                raise LidarDatasetError(f'{bag}: {topic} at {stamp} ns: {exc}') from None
            ring = points[:, 3].astype(np.int64) if points.shape[1] == 4 else None
            yield stamp, points[:, :3], ring, None


def sweep_image(points: np.ndarray, ring, labels, lc: LidarConfig, objects: dict) -> dict:
    """
    Return one sweep's range image and its labels.

    ``objects`` maps (class, instance) to the object's number (added to as new objects appear).
    """
    proj = project(points, lc, ring)
    hit = proj.index >= 0
    out = {'range': proj.range, 'ids': np.where(hit, 0, -1).astype(np.int32)}
    if labels is not None:
        semantic = base_class(labels[proj.index[hit]] & 0xFFFF)
        instance = labels[proj.index[hit]] >> 16
        ids = np.zeros(len(semantic), np.int32)
        for cls in OBJECT_CLASSES:
            for inst in np.unique(instance[(semantic == cls) & (instance > 0)]):
                key = (int(cls), int(inst))
                number = objects.setdefault(key, len(objects) + 1)
                ids[(semantic == cls) & (instance == inst)] = number
        out['ids'][hit] = ids
        klass = np.zeros(proj.range.shape, np.uint16)
        klass[hit] = semantic
        out['class'] = klass
    return out


def from_lidar(sources: list[Path], out: Path, opts: FromLidarOptions) -> dict:
    """Make the data set; return its index."""
    if opts.frames < 1:
        raise LidarDatasetError(f'--frames must be >= 1, got {opts.frames}')
    if opts.split not in SPLITS:
        raise LidarDatasetError(f'--split must be one of {SPLITS}, got {opts.split!r}')
    lc = LidarConfig.sensor(opts.sensor, opts.azimuth_bins)
    clips, counts, names = [], {'sweeps': 0, 'sweeps_left': 0, 'objects': 0, 'labelled_sweeps': 0}, []
    for number, src in enumerate(sources):
        src = Path(src)
        if src.is_dir() and (src / 'velodyne').is_dir():
            sweeps = kitti_sweeps(src)
        elif src.exists() and opts.points_topic:
            sweeps = bag_sweeps(src, opts.points_topic)
        elif src.exists():
            raise LidarDatasetError(f'{src}: not a KITTI-style folder (velodyne/); for a bag give --points-topic')
        else:
            raise LidarDatasetError(f'{src}: no such file or folder')
        names.append(src.name if src.name not in ('', '.') else str(src))
        objects: dict = {}
        pending = []
        for stamp, points, ring, labels in sweeps:
            pending.append((stamp, sweep_image(points, ring, labels, lc, objects), labels is not None))
            counts['sweeps'] += 1
            counts['labelled_sweeps'] += int(labels is not None)
            if len(pending) == opts.frames:
                clips.append(_clip(pending, number, objects))
                pending = []
        counts['sweeps_left'] += len(pending)
        counts['objects'] += len(objects)
    if not clips:
        raise LidarDatasetError(f'no whole clip of {opts.frames} sweeps in {", ".join(map(str, sources))} '
                                f'({counts["sweeps"]} sweeps)')
    labelled = {c['labelled'] for c in clips}
    if len(labelled) > 1:
        raise LidarDatasetError('some sources have labels/ and some do not: put them in separate data sets')
    for c in clips:
        del c['labelled']
    sim = dataclasses.replace(SimConfig(frames=opts.frames), lidar=lc)
    index = {'format': FORMAT_VERSION, 'preset': 'lidar-real', 'seed': 0, 'sim': sim.to_dict(),
             'source': {'sources': [str(s) for s in sources], 'sensor': opts.sensor,
                        'points_topic': opts.points_topic},
             'sequences': names, 'counts': counts, 'object_classes': OBJECT_CLASSES,
             'labels': {opts.split: ['lidar_range'] + (['lidar_ids', 'lidar_class'] if labelled == {True} else [])},
             'splits': {}}
    with new_dataset(out, index) as partial:
        index['splits'][opts.split] = {**write_split(partial, opts.split, clips, SHARD_SIZE), 'sequences': names}
    return index


def _clip(pending: list, number: int, objects: dict) -> dict:
    """Return one clip of consecutive sweeps (arrays in the simulator's LIDAR layout)."""
    images = [p[1] for p in pending]
    clip = {'lidar_range': np.stack([i['range'] for i in images]),
            'lidar_ids': np.stack([i['ids'] for i in images]),
            'stamps_ns': np.array([p[0] for p in pending], np.int64),
            'sequence': np.array([number], np.int32), 'labelled': all(p[2] for p in pending)}
    if 'class' in images[0]:
        clip['lidar_class'] = np.stack([i['class'] for i in images])
        present = sorted({int(v) for i in images for v in np.unique(i['ids']) if v > 0})
        clip['object_ids'] = np.array(present, np.int32)
        by_number = {n: cls for (cls, _inst), n in objects.items()}
        clip['object_classes'] = np.array([by_number[n] for n in present], np.int32)
    return clip
