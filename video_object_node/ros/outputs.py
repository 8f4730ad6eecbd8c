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
The node's output topics, in one table read by the node and by bag replay.

Each ``Output`` names its topic (``~/NAME`` on the node, ``NAME`` in a replayed bag), its message type,
whether a pipeline publishes it at all (``enabled``), whether it is built only while someone listens
(``on_demand``: the node skips it without subscribers; replay writes it only when asked) and how a window's
``WindowResult`` becomes the message (``build(pipeline, result, frame_id)``; None = nothing this window). A new
topic is one row here and one builder in ``messages.py``; the node and replay cannot disagree on a name or a
type.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .interfaces import installed, typed
from .messages import (debug_image_compressed_msg, debug_image_msg, detections_2d_msg, detections_3d_msg,
                       frame_latents_msg, frame_latents_typed, markers_msg,
                       object_latents_msg, object_latents_typed, odometry_msg, query_mask_msg, query_result_msg,
                       query_result_typed, tf_msg, viewpoint_msg)


@dataclass(frozen=True)
class Output:
    name: str
    msg_type: str                                   # ROS type name, e.g. 'sensor_msgs/msg/PointCloud2'
    build: Callable                                 # (pipeline, result, frame_id) -> message | None
    enabled: Callable = lambda pipeline: True       # noqa: E731 - (pipeline) -> bool
    on_demand: bool = False

    @property
    def key(self) -> str:
        """Return the output's name as a counter key: a slash becomes an underscore (a leading one goes)."""
        return self.name.lstrip('/').replace('/', '_')

    @property
    def topic(self) -> str:
        """Return the node's topic: ``~/NAME``, or NAME itself when absolute (``/tf``)."""
        return self.name if self.name.startswith('/') else f'~/{self.name}'


def _object_latents(pipeline, r, frame_id):
    return object_latents_typed(r.latents, r.ids, frame_id, r.masses, r.centroids, pipeline.bundle.name)


def _object_table(pipeline, r, frame_id):
    return object_latents_msg(r.latents, r.ids, frame_id, r.masses, r.centroids)


def _viewpoint(pipeline, r, frame_id):
    v = r.viewpoint
    return None if v is None else viewpoint_msg(v.pose, v.residual_std, r.stamp, frame_id)


def _odometry(pipeline, r, frame_id):
    v = r.viewpoint
    if v is None or v.odometry is None:
        return None
    return odometry_msg(v.odometry, v.residual_std, pipeline.cfg.odom_frame, pipeline.cfg.child_frame)


def _tf(pipeline, r, frame_id):
    v = r.viewpoint
    if v is None or v.odometry is None:
        return None
    return tf_msg(v.odometry, pipeline.cfg.odom_frame, pipeline.cfg.child_frame)


def _query_scores(r) -> tuple:
    if r.answer is None:
        return '', {}
    return r.answer.query.text, {int(row['id']): float(row['score']) for row in r.answer.rows}


def _detections(pipeline, r, frame_id):
    query, scores = _query_scores(r)
    if pipeline.sensor.gives_3d:
        if r.centroids is None:
            return None
        return detections_3d_msg(r.centroids, r.extents, r.ids, pipeline.slot_scores(r), query, scores, r.stamp,
                                 frame_id)
    from ..runtime.overlay import segment_boxes
    h, w = pipeline.sensor.view_size(r.reading)
    boxes = segment_boxes(r.last_masks(), h, w, pipeline.sensor.fit_mode(pipeline.cfg.resize_mode))
    return detections_2d_msg(boxes, r.ids, pipeline.slot_scores(r), query, scores, r.stamp, frame_id)


def _detections_enabled(pipeline) -> bool:
    return installed('vision_msgs.msg') and (not pipeline.sensor.gives_3d or pipeline.cfg.decode_masses)


def _debug_image(pipeline, r, frame_id):
    image = pipeline.debug_view(r, None if r.answer is None else r.answer.highlight)
    return None if image is None else debug_image_msg(image, r.stamp, frame_id)


def _debug_image_compressed(pipeline, r, frame_id):
    image = pipeline.debug_view(r, None if r.answer is None else r.answer.highlight)
    return None if image is None else debug_image_compressed_msg(image, r.stamp, frame_id)


def _query_result(pipeline, r, frame_id):
    if r.answer is None:
        return None
    return query_result_typed(r.answer.query.text, list(r.answer.rows), r.stamp, frame_id)


def _query_table(pipeline, r, frame_id):
    if r.answer is None:
        return None
    return query_result_msg(list(r.answer.rows), pipeline.sensor.gives_3d, r.stamp, frame_id)


def _query_mask(pipeline, r, frame_id):
    if r.answer is None:
        return None
    return query_mask_msg(pipeline.query_mask(r), r.stamp, frame_id)


def _markers(pipeline, r, frame_id):
    return None if r.centroids is None else markers_msg(r.ids, r.centroids, r.stamp, frame_id)


def _tables(pipeline) -> bool:
    """Return True where video_object_msgs is not built: the first release's PointCloud2 tables instead."""
    return not typed()


OUTPUTS = (
    Output('object_latents', 'video_object_msgs/msg/ObjectLatents', _object_latents, enabled=lambda p: typed()),
    Output('object_latents', 'sensor_msgs/msg/PointCloud2', _object_table, enabled=_tables),
    Output('frame_latents', 'video_object_msgs/msg/FrameLatents',
           lambda p, r, f: frame_latents_typed(r.latents, f, p.bundle.name), enabled=lambda p: typed()),
    Output('frame_latents', 'sensor_msgs/msg/PointCloud2', lambda p, r, f: frame_latents_msg(r.latents, f),
           enabled=_tables),
    Output('viewpoint', 'geometry_msgs/msg/PoseWithCovarianceStamped', _viewpoint,
           enabled=lambda pipeline: pipeline.has_viewpoint),
    Output('odometry', 'nav_msgs/msg/Odometry', _odometry, enabled=lambda pipeline: pipeline.has_viewpoint),
    Output('/tf', 'tf2_msgs/msg/TFMessage', _tf,
           enabled=lambda p: p.has_viewpoint and p.cfg.publish_tf and installed('tf2_msgs.msg')),
    Output('detections', 'vision_msgs/msg/Detection2DArray', _detections, on_demand=True,
           enabled=lambda p: _detections_enabled(p) and not p.sensor.gives_3d),
    Output('detections', 'vision_msgs/msg/Detection3DArray', _detections, on_demand=True,
           enabled=lambda p: _detections_enabled(p) and p.sensor.gives_3d),
    Output('debug_image', 'sensor_msgs/msg/Image', _debug_image, on_demand=True),
    Output('debug_image/compressed', 'sensor_msgs/msg/CompressedImage', _debug_image_compressed, on_demand=True),
    Output('query_result', 'video_object_msgs/msg/QueryResult', _query_result,
           enabled=lambda p: p.has_queries and typed()),
    Output('query_result', 'sensor_msgs/msg/PointCloud2', _query_table, enabled=lambda p: p.has_queries and _tables(p)),
    Output('query_mask', 'sensor_msgs/msg/Image', _query_mask,
           enabled=lambda p: p.has_queries and p.cfg.decode_masses),
    Output('markers', 'visualization_msgs/msg/MarkerArray', _markers,
           enabled=lambda pipeline: pipeline.sensor.gives_3d and pipeline.cfg.decode_masses),
)


def active_outputs(pipeline, on_demand: bool = True) -> tuple:
    """Return the outputs this pipeline (its bundle and parameters) publishes; without the on-demand ones if asked."""
    return tuple(o for o in OUTPUTS if o.enabled(pipeline) and (on_demand or not o.on_demand))


def topic_type(name: str, pipeline=None) -> str:
    """
    Return the message type of the output ``name`` here (typed where video_object_msgs is built).

    With a pipeline: the type it publishes on that name (detections: 2-D for a camera, 3-D for a LIDAR).
    """
    rows = [o for o in OUTPUTS if o.name == name]
    if not rows:
        raise KeyError(f'no output {name!r}')
    if pipeline is not None:
        return next(o.msg_type for o in rows if o.enabled(pipeline))
    if len(rows) == 1:
        return rows[0].msg_type
    return next(o.msg_type for o in rows if o.msg_type.startswith('video_object_msgs/') == typed())


def output_class(name: str):
    """Return the message class of the output ``name`` here (what a subscriber in this environment subscribes with)."""
    return message_class(topic_type(name))


def message_class(type_name: str):
    """'pkg/msg/Name' -> the rclpy message class."""
    package, _, name = type_name.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), name)
