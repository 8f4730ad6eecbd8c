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
`video-object-dataset from-bag`: a robot's rosbag -> a clip data set the trainer and evaluator read unchanged.

    video-object-dataset from-bag BAG OUT --image-topic /camera/image_raw[/compressed]
        [--odom-topic /odom | --tf --camera-frame camera_optical --world-frame odom]
        [--camera-in-base X Y Z QX QY QZ QW] [--camera-info-topic /camera/camera_info]
        [--frames 16] [--every 1] [--size 64 64] [--max-frame-gap 1.0] [--max-pose-gap 0.2]
        [--val 0.1] [--test 0.1]

Images (sensor_msgs/Image or CompressedImage, read with ``rosbags``, no ROS install needed) are
centre-cropped and area-resized to ``--size`` in 8 bits, as the node does, and cut into clips of
``--frames`` frames (every ``--every``-th image); a gap longer than ``--max-frame-gap`` or a stamp that does
not increase starts a new clip, as in the node. Camera poses, when odometry or tf is given, are
interpolated to each image stamp (linear for position, slerp for rotation; a frame with no pose sample
within ``--max-pose-gap`` seconds on both sides gets none and is counted), composed with the camera's
mounting (from tf, or ``--camera-in-base``: the camera's optical frame in the odometry's child frame), and
stored as world<-camera ``extrinsics`` in OpenCV axes (x right, y down, z forward), like the simulator's.
The camera frame must be the optical frame, as REP 103 asks of an image's ``frame_id``.

Clips carry what they have: ``video`` always, ``extrinsics`` when every frame has a pose, ``intrinsics`` when
a CameraInfo was given; never masks. The index records which labels each split holds (``labels``). Clips
go to train, val and test in time order (the last ``--test`` share to test), so no test clip overlaps a
training one. The data set is written into a temporary folder and renamed into place when complete.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import SimConfig
from ..sensing.config import LidarConfig
from ..sensing.preprocess import centre_crop, scaled_intrinsics
from ..sensing.sensors import ConversionError
from . import compose, lidar_dataset, video_dataset, zoom
from .bag_reading import BagError, open_bag
from .dataset import FORMAT_VERSION, SPLITS, DatasetError, new_dataset, write_split

IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
SHARD_SIZE = 32


class BagDatasetError(RuntimeError):
    """The bag, its topics or the arguments cannot make a data set."""


# Poses -------------------------------------------------------------------------------------------------
def pose_matrix(translation, quaternion_xyzw) -> np.ndarray:
    from scipy.spatial.transform import Rotation
    m = np.eye(4)
    m[:3, :3] = Rotation.from_quat(np.asarray(quaternion_xyzw, np.float64)).as_matrix()
    m[:3, 3] = translation
    return m


@dataclass
class PoseTrack:
    """Timed poses of one frame in another: stamps (ns, increasing) and 4x4 matrices."""

    stamps: list = field(default_factory=list)
    poses: list = field(default_factory=list)

    def add(self, stamp_ns: int, pose: np.ndarray) -> None:
        self.stamps.append(int(stamp_ns))
        self.poses.append(pose)

    def sorted(self) -> 'PoseTrack':
        order = np.argsort(self.stamps, kind='stable')
        return PoseTrack([self.stamps[i] for i in order], [self.poses[i] for i in order])

    def at(self, stamp_ns: int, max_gap_ns: int) -> np.ndarray | None:
        """
        Return the pose at ``stamp_ns``: linear in position, slerp in rotation between the samples around it.

        None when a side has no sample within ``max_gap_ns``.
        """
        from scipy.spatial.transform import Rotation, Slerp
        stamps = np.asarray(self.stamps, np.int64)
        if len(stamps) == 0:
            return None
        i = int(np.searchsorted(stamps, stamp_ns))
        if i < len(stamps) and stamps[i] == stamp_ns:
            return self.poses[i]
        if i == 0 or i == len(stamps):
            return None
        t0, t1 = stamps[i - 1], stamps[i]
        if stamp_ns - t0 > max_gap_ns or t1 - stamp_ns > max_gap_ns:
            return None
        a, b = self.poses[i - 1], self.poses[i]
        w = (stamp_ns - t0) / (t1 - t0)
        out = np.eye(4)
        out[:3, 3] = (1 - w) * a[:3, 3] + w * b[:3, 3]
        slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([a[:3, :3], b[:3, :3]])))
        out[:3, :3] = slerp([w]).as_matrix()[0]
        return out


class TfTree:
    """
    Transforms from /tf and /tf_static.

    Static edges and timed edges, looked up by composing along the tree between two frames (each timed edge interpolated
    at the stamp).
    """

    def __init__(self):
        self.static: dict = {}      # (parent, child) -> 4x4
        self.dynamic: dict = {}     # (parent, child) -> PoseTrack

    def add(self, parent: str, child: str, stamp_ns: int, pose: np.ndarray, static: bool) -> None:
        if static:
            self.static[(parent, child)] = pose
        else:
            self.dynamic.setdefault((parent, child), PoseTrack()).add(stamp_ns, pose)

    def finish(self) -> None:
        self.dynamic = {k: v.sorted() for k, v in self.dynamic.items()}

    def frames(self) -> set:
        return {f for edge in list(self.static) + list(self.dynamic) for f in edge}

    def _path_to_root(self, frame: str) -> list:
        parents = {c: p for p, c in list(self.static) + list(self.dynamic)}
        path = [frame]
        while path[-1] in parents and len(path) < 64:
            path.append(parents[path[-1]])
        return path

    def _edge(self, parent: str, child: str, stamp_ns: int, max_gap_ns: int) -> np.ndarray | None:
        if (parent, child) in self.static:
            return self.static[(parent, child)]
        return self.dynamic[(parent, child)].at(stamp_ns, max_gap_ns)

    def lookup(self, target: str, source: str, stamp_ns: int, max_gap_ns: int) -> np.ndarray | None:
        """target<-source at ``stamp_ns`` (None when a timed edge has no sample near it)."""
        up_t, up_s = self._path_to_root(target), self._path_to_root(source)
        common = next((f for f in up_s if f in up_t), None)
        if common is None:
            raise BagDatasetError(f'tf has no chain between {target!r} and {source!r}; frames: '
                                  f'{", ".join(sorted(self.frames())) or "none"}')

        def down(path):   # common <- frame, composed along the path
            pose = np.eye(4)
            for child, parent in zip(path, path[1:]):
                if child == common:
                    break
                edge = self._edge(parent, child, stamp_ns, max_gap_ns)
                if edge is None:
                    return None
                pose = edge @ pose
            return pose

        common_from_source = down(up_s[:up_s.index(common) + 1])
        common_from_target = down(up_t[:up_t.index(common) + 1])
        if common_from_source is None or common_from_target is None:
            return None
        return np.linalg.inv(common_from_target) @ common_from_source


def _transform_matrix(t) -> np.ndarray:
    return pose_matrix([t.translation.x, t.translation.y, t.translation.z],
                       [t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w])


def _stamp_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


# Images -------------------------------------------------------------------------------------------------
def fit_image(rgb: np.ndarray, height: int, width: int) -> tuple[np.ndarray, tuple]:
    """
    Fit an image to a clip: uint8 RGB (or mono) -> uint8 RGB [height, width, 3], centre-cropped, area-resized.

    And the crop (y0, x0, crop_h, crop_w) for the intrinsics.
    """
    import cv2
    if rgb.dtype == np.uint16:
        rgb = (rgb >> 8).astype(np.uint8)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    y0, x0, ch, cw = centre_crop(rgb.shape[0], rgb.shape[1], height, width)
    out = cv2.resize(np.ascontiguousarray(rgb[y0:y0 + ch, x0:x0 + cw]), (width, height), interpolation=cv2.INTER_AREA)
    return out, (y0, x0, ch, cw)


# The conversion ------------------------------------------------------------------------------------------
@dataclass
class FromBagOptions:
    image_topic: str
    odom_topic: str | None = None
    tf: bool = False
    camera_frame: str | None = None
    world_frame: str = 'odom'
    camera_in_base: tuple | None = None
    camera_info_topic: str | None = None
    frames: int = 16
    every: int = 1
    size: tuple = (64, 64)
    max_frame_gap: float = 1.0
    max_pose_gap: float = 0.2
    val: float = 0.0
    test: float = 0.0

    def check(self) -> None:
        if self.frames < 1 or self.every < 1:
            raise BagDatasetError(f'--frames and --every must be >= 1, got {self.frames} and {self.every}')
        if len(self.size) != 2 or min(self.size) < 8 or max(self.size) > 1024:
            raise BagDatasetError(f'--size must be two integers in 8..1024, got {list(self.size)}')
        if not (0 <= self.val < 1 and 0 <= self.test < 1 and self.val + self.test < 1):
            raise BagDatasetError(f'--val and --test must be shares in [0, 1) that leave some clips for training, '
                                  f'got {self.val} and {self.test}')
        if self.max_frame_gap <= 0 or self.max_pose_gap <= 0:
            raise BagDatasetError('--max-frame-gap and --max-pose-gap must be > 0 seconds')
        if self.odom_topic and self.tf:
            raise BagDatasetError('give either --odom-topic or --tf, not both')
        if self.tf and not self.camera_frame:
            raise BagDatasetError('--tf needs --camera-frame (the optical frame of the camera)')
        if self.camera_in_base is not None and len(self.camera_in_base) != 7:
            raise BagDatasetError('--camera-in-base takes 7 numbers: x y z qx qy qz qw')


def read_bag(bag: Path, opts: FromBagOptions) -> dict:
    """Read the images (decoded and resized), pose tracks and intrinsics that ``opts`` asks for."""
    from ..sensing.conversions import compressed_to_rgb, image_to_rgb
    try:
        reader = open_bag(bag)
    except BagError as exc:
        raise BagDatasetError(str(exc)) from None
    try:
        topics = {name: t.msgtype for name, t in reader.topics.items()}
        listing = ', '.join(f'{t} ({m})' for t, m in sorted(topics.items())) or 'none'
        wanted = {opts.image_topic: IMAGE_TYPES}
        if opts.odom_topic:
            wanted[opts.odom_topic] = ('nav_msgs/msg/Odometry',)
        if opts.camera_info_topic:
            wanted[opts.camera_info_topic] = ('sensor_msgs/msg/CameraInfo',)
        if opts.tf:
            wanted.update({t: ('tf2_msgs/msg/TFMessage',) for t in ('/tf', '/tf_static') if t in topics})
            if '/tf' not in topics and '/tf_static' not in topics:
                raise BagDatasetError(f'--tf: the bag has no /tf or /tf_static topic; it has: {listing}')
        for topic, types in wanted.items():
            if topic not in topics:
                raise BagDatasetError(f'topic {topic!r} is not in the bag; it has: {listing}')
            if topics[topic] not in types:
                raise BagDatasetError(f'topic {topic!r} is {topics[topic]}; expected {" or ".join(types)}')
        height, width = opts.size
        images, odom, tree, intrinsics = [], PoseTrack(), TfTree(), None
        counts = {'images_read': 0, 'images_undecodable': 0}
        for topic, msgtype, _t, raw in reader.messages(wanted):
            msg = reader.deserialize(raw, msgtype)
            if topic == opts.image_topic:
                counts['images_read'] += 1
                try:
                    rgb = compressed_to_rgb(msg) if msgtype.endswith('CompressedImage') else image_to_rgb(msg)
                except ConversionError as exc:
                    counts['images_undecodable'] += 1
                    if counts['images_undecodable'] == 1:
                        print(f'warning: skipped an image ({exc.reason}): {exc}', file=sys.stderr)
                    continue
                frame, crop = fit_image(rgb, height, width)
                images.append((_stamp_ns(msg.header.stamp), frame, crop))
            elif topic == opts.odom_topic:
                p, q = msg.pose.pose.position, msg.pose.pose.orientation
                odom.add(_stamp_ns(msg.header.stamp), pose_matrix([p.x, p.y, p.z], [q.x, q.y, q.z, q.w]))
            elif topic == opts.camera_info_topic and intrinsics is None:
                intrinsics = np.asarray(msg.k, np.float64)
            elif msgtype == 'tf2_msgs/msg/TFMessage':
                for t in msg.transforms:
                    tree.add(t.header.frame_id, t.child_frame_id, _stamp_ns(t.header.stamp),
                             _transform_matrix(t.transform), static=topic == '/tf_static')
    finally:
        reader.close()
    tree.finish()
    if reader.damage:
        print(f'warning: {bag}: {reader.damage}', file=sys.stderr)
        counts['bag_damage'] = reader.damage
    return {'images': images, 'odom': odom.sorted(), 'tf': tree, 'intrinsics': intrinsics, 'counts': counts}


def camera_poses(read: dict, opts: FromBagOptions) -> tuple[list, int]:
    """world<-camera (OpenCV axes) per image, None where there is no pose; and the count of those."""
    gap = int(opts.max_pose_gap * 1e9)
    mount = pose_matrix(opts.camera_in_base[:3], opts.camera_in_base[3:]) if opts.camera_in_base else np.eye(4)
    poses = []
    for stamp, _frame, _crop in read['images']:
        if opts.odom_topic:
            base = read['odom'].at(stamp, gap)
            poses.append(None if base is None else base @ mount)
        elif opts.tf:
            pose = read['tf'].lookup(opts.world_frame, opts.camera_frame, stamp, gap)
            poses.append(None if pose is None else pose @ mount)
        else:
            poses.append(None)
    return poses, sum(p is None for p in poses) if (opts.odom_topic or opts.tf) else 0


def cut_clips(stamps: list, frames: int, every: int, max_gap_ns: int) -> tuple[list, dict]:
    """Return the indices of each clip (``frames`` images, every ``every``-th) and what was left out, by reason."""
    runs, current = [], []
    resets = {'frame_gap': 0, 'stamp_not_increasing': 0}
    for i, stamp in enumerate(stamps):
        if current:
            last = stamps[current[-1]]
            if stamp <= last:
                resets['stamp_not_increasing'] += 1
                runs.append(current)
                current = []
            elif stamp - last > max_gap_ns:
                resets['frame_gap'] += 1
                runs.append(current)
                current = []
        current.append(i)
    runs.append(current)
    clips, leftover = [], 0
    for run in runs:
        picked = run[::every]
        n = len(picked) // frames
        clips += [picked[k * frames:(k + 1) * frames] for k in range(n)]
        leftover += len(picked) - n * frames
    return clips, {**resets, 'images_left_over': leftover}


def from_bag(bag: Path, out: Path, opts: FromBagOptions, progress: bool = True) -> dict:
    """Make the data set; returns its index."""
    opts.check()
    if out.exists():
        raise BagDatasetError(f'output {out} exists; choose a new folder')
    read = read_bag(bag, opts)
    images = read['images']
    if not images:
        raise BagDatasetError(f'no decodable image on {opts.image_topic} in {bag} '
                              f'({read["counts"]["images_read"]} read)')
    poses, without_pose = camera_poses(read, opts)
    clip_ids, left = cut_clips([s for s, _f, _c in images], opts.frames, opts.every, int(opts.max_frame_gap * 1e9))
    if not clip_ids:
        raise BagDatasetError(f'{len(images)} images make no clip of {opts.frames} frames (every {opts.every}, gaps '
                              f'over {opts.max_frame_gap} s split them); lower --frames')
    n = len(clip_ids)
    n_test, n_val = int(round(n * opts.test)), int(round(n * opts.val))
    n_train = n - n_val - n_test
    if n_train < 1:
        raise BagDatasetError(f'{n} clips leave none for training with --val {opts.val} --test {opts.test}')
    height, width = opts.size
    k = scaled_intrinsics(read['intrinsics'], images[0][2], height, width) if read['intrinsics'] is not None else None
    splits = {'train': clip_ids[:n_train], 'val': clip_ids[n_train:n_train + n_val],
              'test': clip_ids[n_train + n_val:]}
    index = {'format': FORMAT_VERSION, 'preset': 'bag', 'seed': 0,
             'sim': SimConfig(height=height, width=width, frames=opts.frames).to_dict(),
             'source': {'bag': str(bag), 'image_topic': opts.image_topic, 'odom_topic': opts.odom_topic,
                        'tf': opts.tf, 'camera_frame': opts.camera_frame, 'world_frame': opts.world_frame},
             'counts': {**read['counts'], **left, 'images_used': sum(len(c) for c in clip_ids),
                        'frames_without_pose': without_pose, 'clips_without_pose': 0},
             'labels': {}, 'splits': {}}
    with new_dataset(out, index) as partial:
        for split, ids in splits.items():
            clips = []
            for frame_ids in ids:
                clip = {'video': np.stack([images[i][1] for i in frame_ids]),
                        'stamps_ns': np.array([images[i][0] for i in frame_ids], np.int64)}
                clip_poses = [poses[i] for i in frame_ids]
                if all(p is not None for p in clip_poses):
                    clip['extrinsics'] = np.stack(clip_poses).astype(np.float32)
                elif opts.odom_topic or opts.tf:
                    index['counts']['clips_without_pose'] += 1
                if k is not None:
                    clip['intrinsics'] = k
                clips.append(clip)
            index['splits'][split] = write_split(partial, split, clips, SHARD_SIZE)
            posed = bool(clips) and all('extrinsics' in c for c in clips)
            index['labels'][split] = sorted({'video'} | ({'extrinsics'} if posed else set())
                                            | ({'intrinsics'} if k is not None else set()))
    return index


def _documented(sub, name: str, help_text: str, module):
    """Add a subcommand whose description and epilog are its module's docstring."""
    lines = module.__doc__.strip().splitlines()
    return sub.add_parser(name, help=help_text, description=lines[0], epilog='\n'.join(lines[1:]),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-dataset', description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.strip().splitlines()[1:]))
    sub = parser.add_subparsers(dest='command', required=True)
    fb = sub.add_parser('from-bag', help='cut a rosbag into a clip data set')
    fb.add_argument('bag', type=Path)
    fb.add_argument('out', type=Path)
    fb.add_argument('--image-topic', required=True)
    fb.add_argument('--odom-topic')
    fb.add_argument('--tf', action='store_true', help='camera poses from /tf and /tf_static')
    fb.add_argument('--camera-frame', help='the camera optical frame (with --tf)')
    fb.add_argument('--world-frame', default='odom', help='the fixed frame (with --tf)')
    fb.add_argument('--camera-in-base', type=float, nargs=7, metavar=('X', 'Y', 'Z', 'QX', 'QY', 'QZ', 'QW'),
                    help="the camera optical frame's pose in the odometry's child frame (or after --camera-frame)")
    fb.add_argument('--camera-info-topic')
    fb.add_argument('--frames', type=int, default=16)
    fb.add_argument('--every', type=int, default=1)
    fb.add_argument('--size', type=int, nargs=2, default=(64, 64), metavar=('H', 'W'))
    fb.add_argument('--max-frame-gap', type=float, default=1.0)
    fb.add_argument('--max-pose-gap', type=float, default=0.2)
    fb.add_argument('--val', type=float, default=0.0)
    fb.add_argument('--test', type=float, default=0.0)
    fb.add_argument('--no-progress', action='store_true')
    fv = _documented(sub, 'from-video', 'cut video files and frame folders (with masks) into a clip data set',
                     video_dataset)
    fv.add_argument('sources', type=Path, nargs='+', metavar='SRC', help='video files or sequence folders')
    fv.add_argument('out', type=Path, metavar='OUT')
    fv.add_argument('--frames', type=int, required=True, help='frames per clip')
    fv.add_argument('--every', type=int, default=1, help='take every K-th frame')
    fv.add_argument('--split', choices=SPLITS, help='put every clip into this split')
    fv.add_argument('--val', nargs='+', default=[], metavar='SEQ', help='sequences that go to the val split')
    fv.add_argument('--test', nargs='+', default=[], metavar='SEQ', help='sequences that go to the test split')
    fv.add_argument('--size', type=int, nargs=2, default=(128, 128), metavar=('H', 'W'),
                    help='stored frame size (the model resizes at training time)')
    fv.add_argument('--fps', type=float, default=30.0, help='frame rate for the stamps')
    fv.add_argument('--no-masks', action='store_true', help='store no masks even where masks/ exists (unlabelled)')
    fv.add_argument('--no-progress', action='store_true')
    co = _documented(sub, 'compose', 'real objects cut out by their masks, moving over real backgrounds, with masks, '
                     'depth order and the camera move', compose)
    co.add_argument('out', type=Path, metavar='OUT')
    co.add_argument('--objects', type=Path, nargs='+', required=True, metavar='SEQ',
                    help='sequence folders with frames/ and masks/ (the objects)')
    co.add_argument('--backgrounds', type=Path, nargs='+', required=True, metavar='SRC',
                    help='video files or sequence folders (the walls)')
    co.add_argument('--clips', type=int, required=True)
    co.add_argument('--frames', type=int, required=True, help='frames per clip')
    co.add_argument('--min-objects', type=int, default=1)
    co.add_argument('--max-objects', type=int, default=3)
    co.add_argument('--size', type=int, nargs=2, default=(128, 128), metavar=('H', 'W'))
    co.add_argument('--split', choices=SPLITS, default='train')
    co.add_argument('--seed', type=int, default=0)
    co.add_argument('--no-progress', action='store_true')
    zo = _documented(sub, 'zoom', 'annotated sequences cropped round their object (it fills more of the frame)', zoom)
    zo.add_argument('sources', type=Path, nargs='+', metavar='SEQ', help='sequence folders with frames/ and masks/')
    zo.add_argument('out', type=Path, metavar='OUT')
    zo.add_argument('--share', type=float, default=0.6, help='the crop\'s share of the frame\'s width and height')
    fl = _documented(sub, 'from-lidar', 'real LIDAR sweeps (KITTI-style folders, bags) into range-image clips',
                     lidar_dataset)
    fl.add_argument('sources', type=Path, nargs='+', metavar='SRC', help='KITTI-style folders or bags')
    fl.add_argument('out', type=Path, metavar='OUT')
    fl.add_argument('--frames', type=int, required=True, help='sweeps per clip')
    fl.add_argument('--split', choices=SPLITS, default='train', help='the split every clip goes to')
    fl.add_argument('--sensor', choices=LidarConfig.SENSORS, default='hdl64', help='the sensor model')
    fl.add_argument('--azimuth-bins', type=int, default=1024, help='range image columns over 360 degrees')
    fl.add_argument('--points-topic', help='for bags: the sensor_msgs/PointCloud2 topic')
    args = parser.parse_args(argv)
    if args.command == 'from-lidar':
        return _from_lidar(args)
    if args.command == 'from-video':
        return _from_video(args)
    if args.command == 'compose':
        return _compose(args)
    if args.command == 'zoom':
        return _zoom(args)
    opts = FromBagOptions(image_topic=args.image_topic, odom_topic=args.odom_topic, tf=args.tf,
                          camera_frame=args.camera_frame, world_frame=args.world_frame,
                          camera_in_base=tuple(args.camera_in_base) if args.camera_in_base else None,
                          camera_info_topic=args.camera_info_topic, frames=args.frames, every=args.every,
                          size=tuple(args.size), max_frame_gap=args.max_frame_gap, max_pose_gap=args.max_pose_gap,
                          val=args.val, test=args.test)
    try:
        index = from_bag(args.bag, args.out, opts, progress=not args.no_progress)
    except BagDatasetError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps({'out': str(args.out), 'splits': {k: v['clips'] for k, v in index['splits'].items()},
                      'labels': index['labels'], 'counts': index['counts']}))
    return 0


def _from_lidar(args) -> int:
    if args.azimuth_bins < 8:
        print(f'error: --azimuth-bins must be >= 8, got {args.azimuth_bins}', file=sys.stderr)
        return 2
    opts = lidar_dataset.FromLidarOptions(frames=args.frames, split=args.split, sensor=args.sensor,
                                          azimuth_bins=args.azimuth_bins, points_topic=args.points_topic)
    try:
        index = lidar_dataset.from_lidar(args.sources, args.out, opts)
    except (lidar_dataset.LidarDatasetError, DatasetError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps({'out': str(args.out), 'splits': {k: v['clips'] for k, v in index['splits'].items()},
                      'counts': index['counts'], 'sensor': args.sensor}))
    return 0


def _from_video(args) -> int:
    opts = video_dataset.FromVideoOptions(frames=args.frames, every=args.every, split=args.split,
                                          val=tuple(args.val), test=tuple(args.test), size=tuple(args.size),
                                          fps=args.fps, masks=not args.no_masks)
    try:
        index = video_dataset.from_video(args.sources, args.out, opts, progress=not args.no_progress)
    except video_dataset.VideoDatasetError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps({'out': str(args.out), 'splits': {k: v['clips'] for k, v in index['splits'].items()},
                      'labels': index['labels'], 'counts': index['counts']}))
    return 0


def _compose(args) -> int:
    opts = compose.ComposeOptions(clips=args.clips, frames=args.frames, min_objects=args.min_objects,
                                  max_objects=args.max_objects, size=tuple(args.size), split=args.split, seed=args.seed)
    try:
        index = compose.compose(args.objects, args.backgrounds, args.out, opts, progress=not args.no_progress)
    except video_dataset.VideoDatasetError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps({'out': str(args.out), 'splits': {k: v['clips'] for k, v in index['splits'].items()},
                      'labels': index['labels']}))
    return 0


def _zoom(args) -> int:
    try:
        records = zoom.zoom(args.sources, args.out, args.share)
    except video_dataset.VideoDatasetError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps({'out': str(args.out), 'sequences': records}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
