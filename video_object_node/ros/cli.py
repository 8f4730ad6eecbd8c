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
The command line of the package's ROS executables.

Usage on ``--help``, ROS arguments passed through, and a clean end on Ctrl-C or SIGTERM (no traceback; the caller's exit
code).

A ROS executable takes ``--ros-args ... [--]`` for ROS itself; ``-h``/``--help`` before them asks for the
executable's own usage, which is printed without starting ROS.
"""
from __future__ import annotations

import signal
import sys


def help_requested(argv: list[str]) -> bool:
    """Whether ``-h`` or ``--help`` comes before any ``--ros-args`` (argv without the program name)."""
    for arg in argv:
        if arg == '--ros-args':
            return False
        if arg in ('-h', '--help'):
            return True
    return False


def program_arguments(args: list[str] | None) -> list[str]:
    """Return the arguments after the program name (``args`` as rclpy takes them: None = sys.argv)."""
    return list(sys.argv[1:] if args is None else args[1:])


def quiet_interrupts() -> None:
    """
    From here on, Ctrl-C and SIGTERM end the process quietly.

    Before rclpy installs its own handlers (while torch and the model load) a signal raises KeyboardInterrupt, which
    ``main`` catches; SIGTERM is made to do the same, so a launch file's stop and a ``kill`` look alike.
    """
    signal.signal(signal.SIGTERM, signal.default_int_handler)
