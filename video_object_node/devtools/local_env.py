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
The environment for ROS 2 processes this package starts on one machine (demo, node benchmark, tests).

An isolated domain, discovery on loopback through the shipped Fast DDS profile, logs in a chosen folder.
"""
from __future__ import annotations

import os
import sys

from ..resources import resource_path

FASTDDS_PROFILE = 'config/fastdds_local.xml'


def local_ros_env(log_dir: str, domain_id: int | None = None, base: dict | None = None) -> dict:
    """
    Return a copy of ``base`` (default os.environ) for a local ROS 2 process.

    ``domain_id`` (default: kept from the environment, else one spread by pid over 100..199), the shipped Fast DDS
    profile (large shared-memory segment, short announcements, loopback only), ROS logs under ``log_dir`` and the venv's
    ament index.
    """
    env = dict(os.environ if base is None else base)
    if domain_id is not None:
        env['ROS_DOMAIN_ID'] = str(domain_id)
    else:
        env.setdefault('ROS_DOMAIN_ID', str(100 + os.getpid() % 100))
    env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(resource_path(FASTDDS_PROFILE))
    env.pop('ROS_AUTOMATIC_DISCOVERY_RANGE', None)   # the profile itself keeps traffic on loopback
    env['ROS_LOG_DIR'] = str(log_dir)
    env.setdefault('AMENT_PREFIX_PATH', sys.prefix)
    return env
