"""The node's output topics, in one table read by the node and by bag replay.

Each ``Output`` names its topic (``~/NAME`` on the node, ``NAME`` in a replayed bag), its message type,
whether a pipeline publishes it at all (``enabled``), whether it is built only while someone listens
(``on_demand``: the node skips it without subscribers; replay always writes it) and how a window's
``WindowResult`` becomes the message (``build``; None = nothing this window). A new topic is one row here
and one builder in ``messages.py``; the node and replay cannot disagree on a name or a type.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .messages import frame_latents_msg, object_latents_msg, viewpoint_msg


@dataclass(frozen=True)
class Output:
    name: str
    msg_type: str                                   # ROS type name, e.g. 'sensor_msgs/msg/PointCloud2'
    build: Callable                                 # (result, frame_id) -> message | None
    enabled: Callable = lambda pipeline: True       # noqa: E731 - (pipeline) -> bool
    on_demand: bool = False


def _viewpoint(result, frame_id):
    v = result.viewpoint
    return None if v is None else viewpoint_msg(v.pose, v.residual_std, result.stamp, frame_id)


OUTPUTS = (
    Output('object_latents', 'sensor_msgs/msg/PointCloud2',
           lambda r, f: object_latents_msg(r.latents, r.ids, f, r.masses, r.centroids)),
    Output('frame_latents', 'sensor_msgs/msg/PointCloud2', lambda r, f: frame_latents_msg(r.latents, f)),
    Output('viewpoint', 'geometry_msgs/msg/PoseWithCovarianceStamped', _viewpoint,
           enabled=lambda pipeline: pipeline.has_viewpoint),
)


def active_outputs(pipeline) -> tuple:
    """The outputs this pipeline (its bundle and parameters) publishes."""
    return tuple(o for o in OUTPUTS if o.enabled(pipeline))


def message_class(type_name: str):
    """'pkg/msg/Name' -> the rclpy message class."""
    package, _, name = type_name.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), name)


def window_messages(pipeline, result, frame_id: str) -> dict:
    """Every active output's message for one window ({name: message}; outputs with nothing to say left out)."""
    built = {o.name: o.build(result, frame_id) for o in active_outputs(pipeline)}
    return {name: msg for name, msg in built.items() if msg is not None}


def push_message(pipeline, msg) -> tuple:
    """Feed one input message through the pipeline (replay's path, one message at a time): returns
    (WindowResult, {name: message}) when it completes a window, else (None, {})."""
    from ..runtime.pipeline import Frame
    from .inputs import accept_message, input_for
    frame = accept_message(pipeline, input_for(pipeline), msg)
    if not isinstance(frame, Frame) or not pipeline.add(frame).due:
        return None, {}
    result = pipeline.window()
    return result, window_messages(pipeline, result, msg.header.frame_id)
