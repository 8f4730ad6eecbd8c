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
The `video_object_node` executable: a lifecycle node that turns camera (or LIDAR) frames into object latents.

configure: read and validate parameters, load the bundle, the backend and the viewpoint probe.
activate: subscribe to ``image`` (sensor_msgs/Image; ``points``, sensor_msgs/PointCloud2, for a LIDAR
bundle), publish ``~/object_latents``, ``~/frame_latents``, ``~/viewpoint``
(with a probe) and ``/diagnostics`` (1 Hz), start the inference worker.
deactivate / cleanup: release them. ``autostart`` (default true) configures and activates at start.

Reception never waits for inference: the image callback converts the frame and queues it; a worker
thread runs the frame encoder on every queued frame and the window encoder on the newest due window,
counting the windows it had to drop. Bad input is rejected with one log line and counted by reason.

The node's parts, each a unit of its own: parameters and lifecycle (this file), the inference thread
(``worker.py``), the output publishers (``publishers.py``, the rows of ``outputs.py``), ``/diagnostics``
(``diagnostics.py``, ``health.py``) and the window path (``window_path.py``, over ``runtime/pipeline.py``).

Callbacks run on one thread (``SingleThreadedExecutor``): every callback is short, since inference has its own
thread. The ``MultiThreadedExecutor`` of the rclpy we pin (9.1) re-submits a callback that still waits in its
thread pool and skips its wait meanwhile (ros2/rclpy#1452, fixed upstream by #1547): measured here, its spin
thread fell into that loop (~3,000 wake-ups a second), took 60% of a core and the GIL from the encoder, and
held p99 latency at 130-520 ms on 2 cores; on one thread p99 is within 2x p50 (docs/benchmarks.md).
"""
from __future__ import annotations

import signal
import sys
import time

import rclpy
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from ..bundle.layout import BundleError
from ..config import ConfigError
from ..runtime.config import NODE_NAME, NodeConfig, node_parameters
from ..runtime.pipeline import LatentPipeline, Rejection
from .cli import help_requested, program_arguments, quiet_interrupts
from .diagnostics import Activity, Diagnostics
from .inputs import input_for
from .interfaces import installed, typed
from .messages import vision_info_msg
from .outputs import message_class
from .publishers import Publishers
from .window_path import WindowPath
from .worker import InferenceWorker

OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
DIAGNOSTICS_PERIOD_S = 0.5     # /diagnostics twice a second: stale input shows within stale_input_s + 0.5 s


class VideoObjectNode(LifecycleNode):
    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        self._declare_parameters()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.pipeline: LatentPipeline | None = None
        self._input = None
        self._path: WindowPath | None = None
        self._subscription = None
        self._query_subscription = None
        self._diag_timer = None
        self._vision_info = None
        self._last_logged: dict = {}
        self.activity = Activity()
        self._output_pubs = Publishers(self, OUTPUT_QOS)
        self._worker = InferenceWorker(self._encode, self._worker_failed)
        self._diag = Diagnostics(self, self.activity, OUTPUT_QOS)

    # Parameters ---------------------------------------------------------------------------------------
    def _declare_parameters(self) -> None:
        for name, (default, meta) in node_parameters().items():
            desc = ParameterDescriptor(description=meta['description'], read_only=meta['read_only'])
            if meta['choices']:
                desc.additional_constraints = f'one of: {", ".join(meta["choices"])}'
            if meta['range'] and isinstance(default, int) and not isinstance(default, bool):
                desc.integer_range = [IntegerRange(from_value=meta['range'][0], to_value=meta['range'][1], step=1)]
            elif meta['range']:
                desc.floating_point_range = [FloatingPointRange(from_value=float(meta['range'][0]),
                                                                to_value=float(meta['range'][1]), step=0.0)]
            self.declare_parameter(name, default, desc)

    def read_config(self, changes: dict | None = None) -> NodeConfig:
        values = {name: self.get_parameter(name).value for name in node_parameters()}
        values.update(changes or {})
        if isinstance(values['max_frame_gap'], int):
            values['max_frame_gap'] = float(values['max_frame_gap'])
        return NodeConfig.from_dict(values)

    def _on_set_parameters(self, params) -> SetParametersResult:
        """Validate new values: one NodeConfig refuses is refused with its reason (read-only ones by rclpy itself)."""
        try:
            self.read_config({p.name: p.value for p in params})
        except ConfigError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        """
        Every writable parameter takes effect at once.

        The pipeline reads the new values, and the outputs that depend on them (``decode_masses``: query masks, LIDAR
        markers) are published or withdrawn.
        """
        pipeline = self.pipeline
        if pipeline is None:
            return                           # configure reads them
        pipeline.reconfigure(self.read_config())
        self._diag.retune(pipeline.cfg.expected_rate_hz, pipeline.cfg.stale_input_s)
        if self._worker.running:
            self._output_pubs.refresh(self._path.refresh_outputs())

    # Lifecycle ----------------------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            cfg = self.read_config()
            self.get_logger().info(f'configuring: loading model bundle {cfg.model_path or "(embedded default)"} '
                                   f'with backend {cfg.backend}')
            self.pipeline = LatentPipeline(cfg)
            self._input = input_for(self.pipeline, cfg.input_transport)
            self._path = WindowPath(self.pipeline, self._input)
        except (ConfigError, BundleError, RuntimeError, ValueError, ImportError, FileNotFoundError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            self.pipeline = self._path = None
            return TransitionCallbackReturn.FAILURE
        m = self.pipeline.model_cfg
        viewpoint = 'pose head' if m.pose_head else 'probe' if self.pipeline.probe is not None else 'absent'
        self.get_logger().info(f'configured: {self.pipeline.backend.describe()}; window T={m.frames}, '
                               f'{m.height}x{m.width}, K={m.num_slots}, stride {cfg.stride}; viewpoint {viewpoint}')
        if not installed('vision_msgs.msg'):
            self.get_logger().info('~/detections: skipped, vision_msgs is not installed here (it is on a ROS install)')
        if cfg.publish_tf and self.pipeline.has_viewpoint and not installed('tf2_msgs.msg'):
            self.get_logger().warning('publish_tf: tf2_msgs is not installed here, so nothing goes to /tf '
                                      '(~/odometry carries the same pose)')
        if not typed():
            self.get_logger().warning('video_object_msgs is not built here (make builds it; colcon on a ROS install): '
                                      'latents and query answers go out as the first release\'s PointCloud2 tables')
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        cfg = self.pipeline.cfg
        self._output_pubs.refresh(self._path.refresh_outputs())
        if 'detections' in self._output_pubs:         # latched, as vision_msgs' detectors publish it
            from vision_msgs.msg import VisionInfo
            self._vision_info = self.create_publisher(VisionInfo, '~/vision_info', LATCHED_QOS)
            self._vision_info.publish(vision_info_msg(self.pipeline.bundle.name))
        # Sensor-data QoS (best effort, volatile) or reliable, with a history deep enough that a burst of frames
        # arriving while the callback converts one is kept rather than overwritten in the reader's cache.
        qos = QoSProfile(depth=cfg.input_depth, reliability=ReliabilityPolicy.BEST_EFFORT
                         if cfg.input_reliability == 'best_effort' else ReliabilityPolicy.RELIABLE,
                         durability=qos_profile_sensor_data.durability)
        self._subscription = self.create_subscription(message_class(self._input.msg_type), self._input.topic,
                                                      self._on_input, qos)
        if self.pipeline.has_queries:
            from std_msgs.msg import String
            self._query_subscription = self.create_subscription(String, '~/query', self._on_query, OUTPUT_QOS)
        self._worker.start()
        self._diag.start(cfg.expected_rate_hz, cfg.stale_input_s)
        self._diag_timer = self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)
        self.get_logger().info(f'active: listening on {self._subscription.topic_name}')
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_io()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._stop_io()
        self.pipeline = self._path = None
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._stop_io()
        return TransitionCallbackReturn.SUCCESS

    def shut_down(self) -> None:
        """
        End the process (Ctrl-C, SIGTERM, executor stopped).

        Stop the worker, release publishers and subscriptions, destroy the node. Safe to call twice and after the ROS
        context is gone. A second Ctrl-C (a terminal's goes to ``ros2 launch`` too, which passes it on) must not cut it
        short.
        """
        if getattr(self, '_shut_down', False):
            return
        self._shut_down = True
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        try:
            self._stop_io()
            counts = self.activity.counts
            line = (f'stopped: {counts["windows_published"]} windows published from '
                    f'{counts["frames_received"]} frames received')
            if self.context.ok():
                self.get_logger().info(line)
            else:                            # the signal took the context (and /rosout) already: the console only
                print(f'[INFO] [{self.get_name()}]: {line}', flush=True)
            self.destroy_node()
        except Exception:  # noqa: BLE001 - the context may already be shut down by the signal: nothing left to free
            pass

    def _stop_io(self) -> None:
        self._worker.stop()
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
            self._subscription = None
        if self._query_subscription is not None:
            self.destroy_subscription(self._query_subscription)
            self._query_subscription = None
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        if self._vision_info is not None:
            self.destroy_publisher(self._vision_info)
            self._vision_info = None
        self._output_pubs.close()

    # Data path --------------------------------------------------------------------------------------------
    def _on_input(self, msg) -> None:
        received = time.monotonic()
        self.activity.last_frame = received
        self.activity.counts['frames_received'] += 1
        path = self._path
        if path is None:
            return
        frame = path.accept(msg)
        if isinstance(frame, Rejection):
            self._log_rejection(frame, received)
            return
        if self._worker.put((frame, msg.header.frame_id, received), path.pipeline.cfg.queue_size):
            self.activity.counts['frames_dropped'] += 1

    def _on_query(self, msg) -> None:
        """Take a new active query ('' clears it); a malformed one is one log line and answers nothing."""
        from ..runtime.query import QueryError
        pipeline = self.pipeline
        if pipeline is None:
            return
        try:
            query = pipeline.set_query(msg.data)
        except QueryError as exc:
            self.activity.counts['queries_refused'] += 1
            self.get_logger().warning(f'refused query: {exc}')
            return
        self.get_logger().info(f'query: {query.text!r}' if not query.empty else 'query cleared')

    def _log_rejection(self, rejection: Rejection, now: float) -> None:
        # One line per reason at most every second: a flood of bad frames cannot flood the log.
        if now - self._last_logged.get(rejection.reason, -1e9) >= 1.0:
            self._last_logged[rejection.reason] = now
            self.get_logger().warning(f'rejected frame ({rejection.reason}): {rejection.message}')

    def _worker_failed(self, exc: Exception) -> None:
        self.activity.counts['worker_errors'] += 1
        self.get_logger().error(f'inference failed: {type(exc).__name__}: {exc}', throttle_duration_sec=1.0)

    def _encode(self, items: list) -> None:
        """
        On the worker: every queued frame through the frame encoder, the newest due window through the window encoder.

        Its messages go to the outputs that have listeners (on-demand ones) or are always built.
        """
        path = self._path
        if path is None:
            return
        counts = self.activity.counts
        encoded = path.encode([frame for frame, _frame_id, _received in items])
        for rejection in encoded.rejections:
            self._log_rejection(rejection, time.monotonic())
        for stamp_ns, reason in encoded.resets:
            self.get_logger().warning(f'window buffer reset: {reason.replace("_", " ")} at stamp {stamp_ns} ns')
        counts['frames_encoded'] += encoded.frames_encoded
        if encoded.result is None:
            return
        counts['windows_dropped'] += encoded.windows_due - 1
        due_stamp = encoded.result.stamp
        frame_id, received = next(((fid, rec) for frame, fid, rec in reversed(items) if frame.stamp_ns == due_stamp),
                                  items[-1][1:])
        start = time.monotonic()
        self._output_pubs.publish(path, encoded.result, frame_id, counts)
        done = time.monotonic()
        counts['windows_published'] += 1
        self.activity.window_times.append(encoded.window_s + done - start)
        self.activity.latencies.append(done - received)

    def _publish_diagnostics(self) -> None:
        self._diag.publish(self.pipeline, self._output_pubs.outputs)


def usage() -> str:
    """``video_object_node --help``: how to run it, its topics and every parameter with its default."""
    lines = ['usage: video_object_node [-h] [--ros-args [-p NAME:=VALUE ...] [--params-file FILE] [-r FROM:=TO ...]]',
             '', __doc__.strip().splitlines()[0], '',
             'examples:',
             '  ros2 run video_object_node video_object_node --ros-args -r image:=/camera/image_raw',
             '  ros2 launch video_object_node video_object.launch.xml image_topic:=/camera/image_raw',
             '', 'inputs: image (sensor_msgs/Image), image/compressed (input_transport:=compressed), points '
             '(sensor_msgs/PointCloud2, LIDAR bundles), ~/query (std_msgs/String)',
             'outputs: ~/object_latents, ~/frame_latents, ~/viewpoint, ~/query_result, ~/query_mask, ~/debug_image, '
             '~/debug_image/compressed, ~/markers, /diagnostics', '', 'parameters (read-only ones need a reconfigure):']
    for name, (default, meta) in node_parameters().items():
        extra = f' [{", ".join(meta["choices"])}]' if meta['choices'] else (
            f' [{meta["range"][0]}..{meta["range"][1]}]' if meta['range'] else '')
        lines.append(f'  {name} (default {default!r}{", read-only" if meta["read_only"] else ""}){extra}: '
                     f'{meta["description"]}')
    lines += ['', 'exit status: 0 after Ctrl-C or SIGTERM, 1 when the node cannot configure (the reason is logged)']
    return '\n'.join(lines)


def main(args=None) -> int:
    if help_requested(program_arguments(args)):
        print(usage())
        return 0
    quiet_interrupts()
    code = 0
    node = None
    try:
        with rclpy.init(args=args):
            node = VideoObjectNode()
            if node.get_parameter('autostart').value:
                if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                    return 1                    # on_configure logged the one line that says why
                node.trigger_activate()
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            try:
                executor.spin()
            finally:
                node.shut_down()
    except (KeyboardInterrupt, ExternalShutdownException):
        if node is not None:
            node.shut_down()
    return code


if __name__ == '__main__':
    sys.exit(main())
