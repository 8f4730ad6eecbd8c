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
Start video_object_node with its parameters file; the launch ends, non-zero, when the node fails.

    ros2 launch video_object_node video_object.launch.py image_topic:=/camera/image_raw backend:=tensorrt
    ros2 launch video_object_node video_object.launch.py image_topic:=/camera/image_raw input_transport:=compressed
    ros2 launch video_object_node video_object.launch.py namespace:=robot1 params_file:=/path/to/mine.yaml

(``video_object.launch.xml`` and ``video_object_lidar.launch.xml`` include this file.) When the node exits, the
whole launch ends: with exit code 0 after Ctrl-C or SIGTERM, and non-zero, with the node's reason in the log,
when the node could not start (a missing or broken model, ``backend:=tensorrt`` without CUDA), so a deployment
script sees that perception is not running.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, RegisterEventHandler, Shutdown
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from video_object_node.runtime.config import node_parameters

# The arguments that set a node parameter take its default and description from NodeConfig, their one source.
PARAMETERS = {name: (str(default).lower() if isinstance(default, bool) else str(default), meta['description'])
              for name, (default, meta) in node_parameters().items()
              if name in ('model_path', 'input_transport', 'backend', 'decode_masses')}
# name -> (default, description); every one reaches the node.
ARGUMENTS = {
    'model_path': PARAMETERS['model_path'],
    'image_topic': ('image', 'camera input (sensor_msgs/Image); with input_transport:=compressed, '
                             'IMAGE_TOPIC/compressed (sensor_msgs/CompressedImage) is read'),
    'points_topic': ('points', 'LIDAR input (sensor_msgs/PointCloud2), read by LIDAR bundles'),
    'input_transport': PARAMETERS['input_transport'],
    'backend': PARAMETERS['backend'],
    'decode_masses': PARAMETERS['decode_masses'],
    'use_sim_time': ('false', 'use /clock (bag playback with --clock)'),
    'log_level': ('info', 'debug | info | warn | error | fatal'),
    'namespace': ('', 'namespace of the node and its output topics'),
    'params_file': (None, "parameters file (keyed /** or by the node's name); default: the package's "
                          'config/video_object.yaml'),
}


class NodeFailed(RuntimeError):
    """The node exited with an error: ``ros2 launch`` reports it and exits non-zero."""


def end_launch(event, context):
    """Return the node is gone: end the launch; when it failed, raise so that ``ros2 launch`` exits non-zero."""
    if event.returncode not in (0, None):
        raise NodeFailed(f'video_object_node exited with code {event.returncode} (its reason is logged above); '
                         'ending the launch')
    return [Shutdown(reason='video_object_node exited')]


def generate_launch_description():
    share = FindPackageShare('video_object_node')
    declared = []
    for name, (default, description) in ARGUMENTS.items():
        if default is None:
            default = PathJoinSubstitution([share, 'config', 'video_object.yaml'])
        declared.append(DeclareLaunchArgument(name, default_value=default, description=description))
    arg = LaunchConfiguration
    node = Node(
        package='video_object_node', executable='video_object_node', name='video_object_node',
        namespace=arg('namespace'), output='screen', ros_arguments=['--log-level', arg('log_level')],
        parameters=[arg('params_file'), {
            **{name: ParameterValue(arg(name), value_type=str)
               for name in ('model_path', 'backend', 'input_transport')},
            'decode_masses': arg('decode_masses'), 'use_sim_time': arg('use_sim_time')}],
        remappings=[('image', arg('image_topic')),
                    ('image/compressed', [arg('image_topic'), '/compressed']),
                    ('points', arg('points_topic'))])
    return LaunchDescription([*declared, node,
                              RegisterEventHandler(OnProcessExit(target_action=node, on_exit=end_launch))])
