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
`video-object-replay`: run every frame of a rosbag through the node's pipeline into a new bag.

    video-object-replay INPUT OUTPUT --topic /camera/image_raw [--model BUNDLE] [--stride N]
                        [--storage mcap|sqlite3] [--params video_object.yaml] [--copy-input] [--overwrite]
    video-object-replay INPUT --list

``ros2 bag play`` cannot promise that a subscriber sees every message, so replay reads the bag itself
(rosbags: rosbag2 folders with sqlite3 or mcap storage), in the bag's order, and feeds every frame to
the same ``LatentPipeline`` the node uses (conversion, frame-feature cache, windows, stable ids,
viewpoint). Every due window is written; nothing is dropped. Output topics ``object_latents``,
``frame_latents`` and ``viewpoint`` (with a probe) carry the node's message types and header stamps,
logged at the stamp of the window's last frame. ``OUTPUT/summary.json`` holds the counts.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from ..bundle.layout import BundleError
from ..config import ConfigError, load_yaml
from ..runtime.config import NodeConfig, node_parameters_from_file
from ..data.bag_reading import BagError, open_bag, typestore
from ..runtime.query import QueryError
from ..sensing.sensors import ConversionError
from .inputs import INPUTS

INPUT_TYPES = tuple(dict.fromkeys(i.msg_type for i in INPUTS.values()))


class ReplayError(RuntimeError):
    """The bag, topic or output cannot be used."""


def open_reader(path: Path):
    try:
        return open_bag(path)
    except BagError as exc:
        raise ReplayError(str(exc)) from None


def list_topics(reader) -> list[tuple[str, str, int | None]]:
    return sorted((t.name, t.msgtype, t.count) for t in reader.topics.values())


def pick_connections(reader, topic: str | None):
    topics = list_topics(reader)
    listing = ', '.join(f'{t} ({m})' for t, m, _ in topics) or 'none'
    if topic is None:
        candidates = [t for t, m, _ in topics if m in INPUT_TYPES]
        if len(candidates) != 1:
            raise ReplayError(f'give --topic: the bag has {len(candidates)} image or point cloud topics; '
                              f'topics: {listing}')
        topic = candidates[0]
    if topic not in reader.topics:
        raise ReplayError(f'topic {topic!r} is not in the bag; it has: {listing}')
    msgtype = reader.topics[topic].msgtype
    if msgtype not in INPUT_TYPES:
        raise ReplayError(f'topic {topic!r} is {msgtype}; replay takes {", ".join(INPUT_TYPES)}')
    return topic, msgtype


def replay(input_bag: Path, output_bag: Path, cfg: NodeConfig, topic: str | None = None, storage: str = 'mcap',
           copy_input: bool = False, overwrite: bool = False, progress: bool = True, backend=None,
           debug_image: bool = False, query: str = '') -> dict:
    """
    Replay ``topic`` of ``input_bag`` into ``output_bag``; returns the summary.

    ``backend``: use this one instead of the one ``cfg`` selects (a timing wrapper, say); ``debug_image``: also write
    the debug view.
    """
    from rclpy.serialization import deserialize_message, serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer
    from tqdm import tqdm

    from ..runtime.pipeline import LatentPipeline
    from .inputs import input_for_type
    from .outputs import message_class
    from .window_path import WindowPath

    if storage not in ('mcap', 'sqlite3'):
        raise ReplayError(f"--storage must be 'mcap' or 'sqlite3', got {storage!r}")
    reader = open_reader(input_bag)
    try:
        topic, msgtype = pick_connections(reader, topic)
        if output_bag.exists():
            if not overwrite:
                raise ReplayError(f'output {output_bag} exists; use --overwrite to replace it')
            shutil.rmtree(output_bag) if output_bag.is_dir() else output_bag.unlink()
        pipeline = LatentPipeline(cfg, backend)
        if query:
            pipeline.set_query(query)
        source = input_for_type(pipeline, msgtype)
        if source is None:
            takes = ' or '.join(i.msg_type for (kind, _t), i in INPUTS.items() if kind == pipeline.sensor.input_kind)
            raise ReplayError(f'topic {topic!r} is {msgtype} but the {pipeline.modality} bundle takes {takes}')
        msg_class = message_class(source.msg_type)
        path = WindowPath(pipeline, source, on_demand=debug_image)
        outputs = path.outputs
        store = typestore()
        writer = Writer(output_bag, version=9,
                        storage_plugin=StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3)
        writer.open()
        out_conns = {o.name: writer.add_connection(o.name, o.msg_type, typestore=store) for o in outputs}
        copy_conn = writer.add_connection(topic, msgtype, typestore=store) if copy_input else None
        counts: Counter = Counter()
        start = time.monotonic()
        try:
            for _topic, _type, timestamp, raw in tqdm(reader.messages([topic]), total=reader.topics[topic].count,
                                                      unit='frame', desc='replay', disable=not progress):
                counts['frames_read'] += 1
                if copy_conn is not None:
                    writer.write(copy_conn, timestamp, raw)
                try:
                    msg = deserialize_message(bytes(raw), msg_class)
                except Exception:  # noqa: BLE001 - any CDR failure is an undecodable message
                    pipeline.reject(ConversionError('undecodable', 'message does not deserialize'))
                    continue
                encoded, messages = path.push(msg)
                if encoded is None or encoded.result is None:
                    continue
                for name, out in messages.items():
                    writer.write(out_conns[name], encoded.result.stamp, serialize_message(out))
                counts['windows_written'] += 1
        finally:
            writer.close()
        seconds = time.monotonic() - start
        if reader.damage:
            print(f'warning: {input_bag}: {reader.damage}', file=sys.stderr)
    finally:
        reader.close()
    summary = {'input': str(input_bag), 'output': str(output_bag), 'topic': topic, 'storage': storage,
               'backend': pipeline.backend.describe(), 'stride': cfg.stride,
               'frames_read': counts['frames_read'], 'windows_written': counts['windows_written'],
               'damage': reader.damage,
               'frames_rejected': sum(pipeline.rejected.values()),
               'frames_rejected_by_reason': dict(sorted(pipeline.rejected.items())),
               'buffer_resets': dict(sorted(pipeline.stream.resets.items())),
               'seconds': round(seconds, 3), 'frames_per_s': round(counts['frames_read'] / max(seconds, 1e-9), 1)}
    (output_bag / 'summary.json').write_text(json.dumps(summary, indent=2))
    return summary


def write_image_bag(path: Path, frames, stamps_ns, storage: str = 'mcap', topic: str = '/camera/image',
                    frame_id: str = 'camera', log_times_ns=None) -> None:
    """Write RGB frames [H, W, 3] uint8 as sensor_msgs/Image into a new rosbag2 folder (demo and test bags)."""
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer

    from ..sensing.conversions import array_to_image, ns_to_stamp
    writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3)
    writer.open()
    conn = writer.add_connection(topic, 'sensor_msgs/msg/Image', typestore=typestore())
    log_times_ns = stamps_ns if log_times_ns is None else log_times_ns
    for frame, stamp, log_time in zip(frames, stamps_ns, log_times_ns):
        msg = array_to_image(frame, 'rgb8', frame_id, ns_to_stamp(stamp))
        writer.write(conn, int(log_time), serialize_message(msg))
    writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-replay', description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.strip().splitlines()[1:]))
    parser.add_argument('input', type=Path, help='input rosbag2 folder (sqlite3 or mcap)')
    parser.add_argument('output', type=Path, nargs='?', help='output bag folder')
    parser.add_argument('--topic', help='input Image topic (default: the only one)')
    parser.add_argument('--list', action='store_true', help="print the bag's topics and types, then exit")
    parser.add_argument('--model', help='model bundle folder, or default-lidar (default: the embedded camera model)')
    parser.add_argument('--params', type=Path, help="the node's parameters YAML (video_object_node: ros__parameters:)")
    parser.add_argument('--stride', type=int)
    parser.add_argument('--backend')
    parser.add_argument('--storage', default='mcap', choices=['mcap', 'sqlite3'])
    parser.add_argument('--copy-input', action='store_true', help='copy the input topic into the output bag')
    parser.add_argument('--debug-image', action='store_true', help='also write debug_image (the segments drawn)')
    parser.add_argument('--query', default='',
                        help="an object query to answer every window ('red cube'); writes query_result")
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    try:
        if args.list:
            reader = open_reader(args.input)
            for topic, msgtype, count in list_topics(reader):
                print(f'{topic}\t{msgtype}\t{count}')
            reader.close()
            return 0
        if args.output is None:
            raise ReplayError('give an OUTPUT bag folder (or --list)')
        values = {}
        if args.params:
            doc = load_yaml(args.params)
            values = node_parameters_from_file(doc)
        for key, value in (('model_path', args.model), ('stride', args.stride), ('backend', args.backend)):
            if value is not None:
                values[key] = value
        values.pop('autostart', None)
        cfg = NodeConfig.from_dict(values)
        summary = replay(args.input, args.output, cfg, args.topic, args.storage, args.copy_input, args.overwrite,
                         progress=not args.no_progress, debug_image=args.debug_image, query=args.query)
    except (ReplayError, ConfigError, BundleError, ConversionError, QueryError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
