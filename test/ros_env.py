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

"""Environment for tests that start ROS 2 processes: an isolated domain, loopback-only discovery."""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_counter = [0]


def ros_env(tmp_path) -> dict:
    """
    Return a local ROS environment private to this test.

    The package's local ROS environment (``local_ros_env``) with a domain unique to this test (1..100,
    spread by pid so parallel test runs on one machine do not meet), logs in tmp_path, this checkout first on
    the path of the processes it starts.
    """
    from video_object_node.devtools.local_env import local_ros_env
    _counter[0] += 1
    env = local_ros_env(tmp_path / 'ros_log', domain_id=1 + (os.getpid() * 7 + _counter[0]) % 100)
    env['AMENT_PREFIX_PATH'] = sys.prefix
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
    return env


class RosClient:
    """An rclpy context in this process on the same isolated domain as ``env`` (from ``ros_env``)."""

    def __init__(self, env: dict, name: str = 'test_client'):
        import rclpy
        os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = env['FASTDDS_DEFAULT_PROFILES_FILE']
        os.environ['ROS_LOG_DIR'] = env['ROS_LOG_DIR']
        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=int(env['ROS_DOMAIN_ID']))
        self.node = rclpy.create_node(name, context=self.context)
        from rclpy.executors import SingleThreadedExecutor
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, condition, timeout: float) -> bool:
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return condition()

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, seconds)

    def call(self, client, request, timeout: float = 10.0):
        """
        Call a service, sending the request again when no answer comes.

        Call a service; the request is sent again (up to three times in all) when no answer comes within a third
        of ``timeout``: DDS can report a service available before its reply reaches a new client, and that first
        request is then lost (seen here once in a full run on a loaded machine).
        """
        assert client.wait_for_service(timeout_sec=timeout), f'service {client.srv_name} not available'
        for _ in range(3):
            future = client.call_async(request)
            if self.spin_until(future.done, timeout / 3):
                return future.result()
        raise AssertionError(f'service {client.srv_name} did not answer')

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.rclpy.shutdown(context=self.context)
