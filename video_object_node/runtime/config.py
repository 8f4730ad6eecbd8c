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
The node's parameters: ``NodeConfig``, read by the streaming pipeline that the ROS node and bag replay share.

The node declares one ROS parameter per field with its metadata (``node_parameters``); the params file
(``params_file_text``), the README table and the launch files' arguments are made from it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from ..config import ConfigError, check_params, coerce, param, parameters, parameters_from_file, params_yaml
from ..sensing.config import RESIZE_MODES

BACKENDS = ('auto', 'tensorrt', 'torch', 'onnxruntime')
PRECISIONS = ('fp32', 'fp16', 'bf16', 'int8')
RELIABILITIES = ('best_effort', 'reliable')
TRANSPORTS = ('raw', 'compressed')
NODE_NAME = 'video_object_node'


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class NodeConfig:
    """
    Parameters of the streaming pipeline, shared by the ROS node and bag replay.

    The node declares one ROS parameter per field, with the field's metadata (``node_parameters``);
    ``config/video_object.yaml`` holds the same defaults and descriptions in ``node_name: ros__parameters:`` form.
    """

    model_path: str = param('', 'model bundle folder; empty = the embedded camera model (default-real: 64x64, reads '
                            'motion); default = the embedded 32x32 camera model; default-lidar = the embedded '
                            'LIDAR model (90 degrees, 8 m); default-lidar-360 = the model for a real 360-degree '
                            '64-beam LIDAR (research weights: models/default-lidar-360/REPORT.md)', read_only=True)
    backend: str = param('auto', 'inference backend: auto (tensorrt, torch on CUDA, onnxruntime, torch on CPU, '
                         'logging every skip) or one of them', read_only=True, choices=BACKENDS)
    precision: str = param('fp32', 'fp32, fp16 on CUDA backends, bf16 (torch backend; CUDA or a CPU with '
                           'AVX512-BF16/AMX), or int8 (the bundle\'s int8 exports in ONNX Runtime, only when '
                           'video-object-quantize recorded that they passed their check; auto never chooses int8)',
                           read_only=True, choices=PRECISIONS)
    stride: int = param(4, 'frames between windows (1 = a window for every frame once T are buffered)',
                        range=(1, 1024))
    max_frame_gap: float = param(1.0, 'seconds; a longer gap between input stamps resets the window buffer (so does '
                                 'a stamp that does not increase)',
                                 range=(0.001, 3600.0))
    torch_compile: bool = param(False, 'torch backend: compile the encoder with torch.compile (inductor): about 1.5x '
                                'faster in bf16 on the CPU, a minute of compiling at the first windows',
                                read_only=True)
    num_threads: int = param(2, 'CPU threads for torch / ONNX Runtime (0 = library default)', read_only=True,
                             range=(0, 64))
    input_reliability: str = param('best_effort', 'input QoS reliability: best_effort (as camera drivers publish) '
                                   'or reliable', read_only=True, choices=RELIABILITIES)
    input_depth: int = param(30, 'input QoS history depth: frames kept while the node is busy (30 = 1 s at 30 Hz; '
                             'at depth 10 a quiet 2-core machine lost 1.3% of frames at 30 Hz, at 30 none)',
                             read_only=True, range=(1, 1000))
    input_transport: str = param('raw', 'camera input: raw (sensor_msgs/Image on image) or compressed '
                                 '(sensor_msgs/CompressedImage, JPEG/PNG, on image/compressed)', read_only=True,
                                 choices=TRANSPORTS)
    decode_masses: bool = param(False, "decode each window's last frame at the model's size to publish each "
                                "slot's pixel share")
    debug_image_scale: float = param(1.0, "size of ~/debug_image relative to the input image (LIDAR: to 4x the "
                                     "range image)", range=(0.05, 1.0))
    edge_aware_segments: bool = param(False, "~/debug_image and ~/query_mask: segments follow the image's edges "
                                      '(a guided filter of the upsampled masks; about 15 ms at 240x240, 40 ms at '
                                      '480x480 with 6 slots) instead of nearest-neighbour blocks')
    objectness_segments: bool = param(True, "segments: each region the bundle's objectness finds goes to the "
                                      "slot that holds most of it (and to every slot holding at least the bundle's "
                                      'keep_share of it whose part the bundle\'s region split calls another object, '
                                      'or without one keeping at least its keep_purity of its own mass there, each '
                                      'its own part), with the region\'s boundary. Camera bundles with an '
                                      'objectness head: its foreground regions (about 4 ms a window at 64x64 on one '
                                      'core); LIDAR bundles with lidar-clusters: the range image\'s clusters by '
                                      'geometry (ground removed, connected components), the clusters the slots '
                                      'point at first, or with a cluster scorer the likeliest objects first (about '
                                      '50 ms a 64x256 sweep with 32 slots). Only when segments are decoded: debug '
                                      'image, query mask, '
                                      'masses, centroids, detections')
    segment_ids: bool = param(True, "camera bundles with an objectness head and objectness_segments: ids follow "
                              "the segments (each window's last frame is decoded and matched to the previous "
                              "window's by overlap first, latents second, each id remembering its mask; with the "
                              'objectness head and the region split, about 10 ms a window at 64x64 with 6 slots on '
                              'one core); off: by latents and placement boxes', read_only=True)
    resize_mode: str = param('crop', 'fit input to the model: crop (centre crop, then resize) or letterbox '
                             '(resize, pad)', choices=RESIZE_MODES)
    query_max_results: int = param(5, 'rows of ~/query_result at most (best match first)', range=(1, 100))
    query_min_score: float = param(0.3, 'objects scoring below this do not answer a query', range=(0.0, 1.0))
    query_forget_windows: int = param(10, 'an object unseen for this many windows is forgotten by the query memory',
                                      range=(1, 10000))
    expected_rate_hz: float = param(0.0, 'the input rate the sensor should deliver; /diagnostics warns when the rate '
                                    'over the last 5 s falls 20% below it (0 = no rate check)', range=(0.0, 10000.0))
    stale_input_s: float = param(1.0, 'seconds without an input frame after which /diagnostics reports ERROR (stale '
                                 'input)', range=(0.05, 3600.0))
    odom_frame: str = param('vo_odom', '~/odometry and tf: the odometry frame (the first camera of the first window)')
    child_frame: str = param('vo_camera', "~/odometry and tf: the camera's frame in it (OpenCV axes; its own name, "
                             'not the input frame, so the robot\'s tf tree keeps one parent per frame)')
    publish_tf: bool = param(False, 'also broadcast odom_frame -> child_frame on /tf (needs tf2_msgs, as on a ROS '
                             'install)')
    queue_size: int = param(32, 'frames waiting for the encoder before the oldest are dropped (and counted)',
                            range=(1, 10000))
    autostart: bool = param(True, 'configure and activate at start, without a lifecycle manager', read_only=True)

    def __post_init__(self):
        check_params(self)
        for name in ('odom_frame', 'child_frame'):
            frame = getattr(self, name)
            _check(bool(frame) and not frame.startswith('/') and not any(c.isspace() for c in frame),
                   f'{name} must be a tf frame name (not empty, no leading "/", no spaces), got {frame!r}')
        _check(self.odom_frame != self.child_frame, f'odom_frame and child_frame must differ, both {self.odom_frame!r}')

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'NodeConfig':
        return coerce(cls, data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def node_parameters() -> dict:
    """Every node parameter: name -> (default, metadata: description, read_only, choices, range)."""
    return parameters(NodeConfig)


def node_parameters_from_file(doc: Mapping[str, Any], node_name: str = NODE_NAME) -> dict:
    """Return the node's parameters in a ROS parameters file's mapping (``config.parameters_from_file``)."""
    return parameters_from_file(doc, node_name)


PARAMS_FILE_HEADER = [
    'Defaults of the video_object_node parameters: the same defaults and descriptions as',
    'video_object_node.runtime.config.NodeConfig (a test keeps them in step; regenerate with',
    'python -c "from video_object_node.runtime.config import params_file_text as t; print(t(), end=\'\')").',
    'ros2 run video_object_node video_object_node --ros-args --params-file config/video_object.yaml',
    'Keyed /** so that it applies to the node under any namespace and name (ROS matches a node-specific key',
    'such as /robot1/video_object_node: only in that namespace): to set one node of several, key it by its',
    'full name.']


def params_file_text() -> str:
    """config/video_object.yaml as it must read: every node parameter's description and default."""
    return params_yaml(NodeConfig, PARAMS_FILE_HEADER)


def parameters_table() -> str:
    """Return the README's table of the node's parameters (markdown): name, default, description (read-only marked)."""
    rows = ['| parameter | default | meaning |', '|---|---|---|']
    for name, (default, meta) in node_parameters().items():
        shown = "''" if default == '' else str(default).lower() if isinstance(default, bool) else default
        rows.append(f'| `{name}` | `{shown}` | {meta["description"]}{" (read-only)" if meta["read_only"] else ""} |')
    return '\n'.join(rows) + '\n'
