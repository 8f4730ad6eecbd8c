"""Environment for tests that start ROS 2 processes: an isolated domain, loopback-only discovery."""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_counter = [0]


def ros_env(tmp_path) -> dict:
    """A copy of os.environ with a unique ROS_DOMAIN_ID, the local Fast DDS profile and logs in tmp_path."""
    _counter[0] += 1
    env = dict(os.environ)
    # Domains 1..100, spread by pid so parallel test runs on one machine do not meet.
    env['ROS_DOMAIN_ID'] = str(1 + (os.getpid() * 7 + _counter[0]) % 100)
    env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(REPO / 'config' / 'fastdds_local.xml')
    env.pop('ROS_AUTOMATIC_DISCOVERY_RANGE', None)  # the profile itself keeps traffic on loopback
    env['ROS_LOG_DIR'] = str(tmp_path / 'ros_log')
    env['AMENT_PREFIX_PATH'] = sys.prefix
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
    return env
