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

from .messages import (debug_image_compressed_msg, debug_image_msg, frame_latents_msg, markers_msg, object_latents_msg,
                       query_mask_msg, query_result_msg, viewpoint_msg)


@dataclass(frozen=True)
class Output:
    name: str
    msg_type: str                                   # ROS type name, e.g. 'sensor_msgs/msg/PointCloud2'
    build: Callable                                 # (pipeline, result, frame_id) -> message | None
    enabled: Callable = lambda pipeline: True       # noqa: E731 - (pipeline) -> bool
    on_demand: bool = False

    @property
    def key(self) -> str:
        """Return the output's name as a counter key: a slash becomes an underscore."""
        return self.name.replace('/', '_')


def _object_latents(pipeline, r, frame_id):
    return object_latents_msg(r.latents, r.ids, frame_id, r.masses, r.centroids)


def _viewpoint(pipeline, r, frame_id):
    v = r.viewpoint
    return None if v is None else viewpoint_msg(v.pose, v.residual_std, r.stamp, frame_id)


def _debug_image(pipeline, r, frame_id):
    image = pipeline.debug_view(r, None if r.answer is None else r.answer.highlight)
    return None if image is None else debug_image_msg(image, r.stamp, frame_id)


def _debug_image_compressed(pipeline, r, frame_id):
    image = pipeline.debug_view(r, None if r.answer is None else r.answer.highlight)
    return None if image is None else debug_image_compressed_msg(image, r.stamp, frame_id)


def _query_result(pipeline, r, frame_id):
    if r.answer is None:
        return None
    return query_result_msg(list(r.answer.rows), pipeline.sensor.gives_3d, r.stamp, frame_id)


def _query_mask(pipeline, r, frame_id):
    if r.answer is None:
        return None
    return query_mask_msg(pipeline.query_mask(r), r.stamp, frame_id)


def _markers(pipeline, r, frame_id):
    return None if r.centroids is None else markers_msg(r.ids, r.centroids, r.stamp, frame_id)


OUTPUTS = (
    Output('object_latents', 'sensor_msgs/msg/PointCloud2', _object_latents),
    Output('frame_latents', 'sensor_msgs/msg/PointCloud2', lambda p, r, f: frame_latents_msg(r.latents, f)),
    Output('viewpoint', 'geometry_msgs/msg/PoseWithCovarianceStamped', _viewpoint,
           enabled=lambda pipeline: pipeline.has_viewpoint),
    Output('debug_image', 'sensor_msgs/msg/Image', _debug_image, on_demand=True),
    Output('debug_image/compressed', 'sensor_msgs/msg/CompressedImage', _debug_image_compressed, on_demand=True),
    Output('query_result', 'sensor_msgs/msg/PointCloud2', _query_result, enabled=lambda p: p.has_queries),
    Output('query_mask', 'sensor_msgs/msg/Image', _query_mask,
           enabled=lambda p: p.has_queries and p.cfg.decode_masses),
    Output('markers', 'visualization_msgs/msg/MarkerArray', _markers,
           enabled=lambda pipeline: pipeline.sensor.gives_3d and pipeline.cfg.decode_masses),
)


def active_outputs(pipeline, on_demand: bool = True) -> tuple:
    """Return the outputs this pipeline (its bundle and parameters) publishes; without the on-demand ones if asked."""
    return tuple(o for o in OUTPUTS if o.enabled(pipeline) and (on_demand or not o.on_demand))


def message_class(type_name: str):
    """'pkg/msg/Name' -> the rclpy message class."""
    package, _, name = type_name.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), name)
