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
The node's input topics: which message a sensor reads, and how a message becomes a reading.

A bundle's sensor (``sensing/sensors.py``) says what a reading is (``input_kind``: an image or points); this table
says which ROS topic and message type carry it, and decodes the message (``conversions.py``) into the
reading and its stamp. Node and replay both accept messages through ``accept_message``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..runtime.pipeline import Frame, Rejection
from ..sensing.conversions import cloud_points, compressed_to_rgb, image_to_rgb, stamp_to_ns
from ..sensing.sensors import ConversionError


@dataclass(frozen=True)
class Input:
    topic: str                    # relative topic name (remap it)
    msg_type: str                 # ROS type name
    read: Callable                # message -> reading


# (what a sensor reads, transport) -> the topic that carries it
INPUTS = {
    ('image', 'raw'): Input('image', 'sensor_msgs/msg/Image', image_to_rgb),
    ('image', 'compressed'): Input('image/compressed', 'sensor_msgs/msg/CompressedImage', compressed_to_rgb),
    ('points', 'raw'): Input('points', 'sensor_msgs/msg/PointCloud2', cloud_points),
}


def input_for(pipeline, transport: str | None = None) -> Input:
    """Return the input topic of a pipeline's sensor over ``transport`` (default: its ``input_transport`` parameter)."""
    transport = transport or pipeline.cfg.input_transport
    key = (pipeline.sensor.input_kind, transport)
    if key not in INPUTS:
        have = sorted(t for kind, t in INPUTS if kind == key[0])
        raise ValueError(f'input_transport {transport!r} does not carry a {pipeline.sensor.modality} bundle\'s '
                         f'input; it takes: {", ".join(have)}')
    return INPUTS[key]


def input_for_type(pipeline, msg_type: str) -> Input | None:
    """Return the input that reads messages of ``msg_type`` for this pipeline's sensor (replay picks by type)."""
    kind = pipeline.sensor.input_kind
    return next((i for (k, _t), i in INPUTS.items() if k == kind and i.msg_type == msg_type), None)


def accept_message(pipeline, source: Input, msg) -> Frame | Rejection:
    """Decode ``msg`` and hand the reading to the pipeline; a message that does not decode is a Rejection."""
    try:
        reading = source.read(msg)
    except ConversionError as exc:
        return pipeline.reject(exc)
    return pipeline.accept(reading, stamp_to_ns(msg.header.stamp))
