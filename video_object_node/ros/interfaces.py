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
Whether the project's interface package ``video_object_msgs`` (and other message packages) imports here.

``make`` builds it into ``.venv`` (``tools/build_interfaces.py``), ``colcon build`` on a ROS install. Without it the
node publishes the PointCloud2 tables of the first release (and says so once); bag tools read both
(``ros/messages.table_from_msg``; rosbags' type store with its definitions: ``data/bag_reading.typestore``).
"""
from __future__ import annotations

import functools
import importlib

PACKAGE = 'video_object_msgs'


@functools.lru_cache(maxsize=None)
def installed(module: str) -> bool:
    """Return whether a message package imports here (e.g. ``tf2_msgs.msg``; asked once per process)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def typed() -> bool:
    """Whether the generated Python package of ``video_object_msgs`` imports here."""
    return installed(f'{PACKAGE}.msg')
