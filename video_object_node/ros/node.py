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

Callbacks run on one thread (``SingleThreadedExecutor``): every callback is short, since inference has its own
thread. The ``MultiThreadedExecutor`` of the rclpy we pin (9.1) re-submits a callback that still waits in its
thread pool and skips its wait meanwhile (ros2/rclpy#1452, fixed upstream by #1547): measured here, its spin
thread fell into that loop (~3,000 wake-ups a second), took 60% of a core and the GIL from the encoder, and
held p99 latency at 130-520 ms on 2 cores; on one thread p99 is within 2x p50 (docs/benchmarks.md).
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from collections import Counter, deque

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from ..bundle.layout import BundleError
from ..config import ConfigError, NodeConfig, node_parameters
from ..runtime.pipeline import LatentPipeline, Rejection
from .cli import help_requested, program_arguments, quiet_interrupts
from .health import EncoderHealth
from .inputs import input_for
from .interfaces import installed, typed
from .messages import vision_info_msg
from .outputs import message_class
from .window_path import WindowPath

NODE_NAME = 'video_object_node'
OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
DIAGNOSTICS_PERIOD_S = 0.5     # /diagnostics twice a second: stale input shows within stale_input_s + 0.5 s


class VideoObjectNode(LifecycleNode):
    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        self._declare_parameters()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self._publish_lock = threading.Lock()      # the worker publishes; a parameter change may swap publishers
        self.pipeline: LatentPipeline | None = None
        self._input = None
        self._path: WindowPath | None = None
        self._outputs: tuple = ()
        self._pubs: dict = {}
        self._subscription = None
        self._query_subscription = None
        self._diag_timer = None
        self._vision_info = None
        self._queue: deque = deque()
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None
        self._running = False
        self._stats: Counter = Counter()
        self._last_logged: dict = {}
        self._latencies: deque = deque(maxlen=300)
        self._window_times: deque = deque(maxlen=300)
        self._last_diag = (time.monotonic(), Counter())
        self._health: EncoderHealth | None = None
        self._last_frame: float | None = None       # monotonic time of the last frame received
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', OUTPUT_QOS)

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
        if self._health is not None:
            self._health.expected_rate_hz = pipeline.cfg.expected_rate_hz
            self._health.stale_input_s = pipeline.cfg.stale_input_s
        if self._running:
            self._refresh_outputs()

    def _refresh_outputs(self) -> None:
        outputs = self._path.refresh_outputs()
        with self._publish_lock:
            for name in set(self._pubs) - {o.name for o in outputs}:
                self.destroy_publisher(self._pubs.pop(name))
            for o in outputs:
                if o.name not in self._pubs:
                    self._pubs[o.name] = self.create_publisher(message_class(o.msg_type), o.topic, OUTPUT_QOS)
            self._outputs = outputs

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
        self._pubs = {}
        self._refresh_outputs()
        if 'detections' in self._pubs:         # latched, as vision_msgs' detectors publish it
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
        self._running = True
        self._worker = threading.Thread(target=self._work, name='video_object_inference', daemon=True)
        self._worker.start()
        self._health = EncoderHealth(cfg.expected_rate_hz, cfg.stale_input_s, started=time.monotonic())
        self._last_frame = None
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
            line = (f'stopped: {self._stats["windows_published"]} windows published from '
                    f'{self._stats["frames_received"]} frames received')
            if self.context.ok():
                self.get_logger().info(line)
            else:                            # the signal took the context (and /rosout) already: the console only
                print(f'[INFO] [{self.get_name()}]: {line}', flush=True)
            self.destroy_node()
        except Exception:  # noqa: BLE001 - the context may already be shut down by the signal: nothing left to free
            pass

    def _stop_io(self) -> None:
        self._running = False
        with self._wake:
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None
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
        with self._publish_lock:
            for pub in self._pubs.values():
                self.destroy_publisher(pub)
            self._pubs = {}
        self._queue.clear()

    # Data path --------------------------------------------------------------------------------------------
    def _on_input(self, msg) -> None:
        received = time.monotonic()
        self._last_frame = received
        self._stats['frames_received'] += 1
        path = self._path
        if path is None:
            return
        frame = path.accept(msg)
        if isinstance(frame, Rejection):
            self._log_rejection(frame, received)
            return
        with self._wake:
            if len(self._queue) >= path.pipeline.cfg.queue_size:
                self._queue.popleft()
                self._stats['frames_dropped'] += 1
            self._queue.append((frame, msg.header.frame_id, received))
            self._wake.notify()

    def _on_query(self, msg) -> None:
        """Take a new active query ('' clears it); a malformed one is one log line and answers nothing."""
        from ..runtime.query import QueryError
        pipeline = self.pipeline
        if pipeline is None:
            return
        try:
            query = pipeline.set_query(msg.data)
        except QueryError as exc:
            self._stats['queries_refused'] += 1
            self.get_logger().warning(f'refused query: {exc}')
            return
        self.get_logger().info(f'query: {query.text!r}' if not query.empty else 'query cleared')

    def _log_rejection(self, rejection: Rejection, now: float) -> None:
        # One line per reason at most every second: a flood of bad frames cannot flood the log.
        if now - self._last_logged.get(rejection.reason, -1e9) >= 1.0:
            self._last_logged[rejection.reason] = now
            self.get_logger().warning(f'rejected frame ({rejection.reason}): {rejection.message}')

    def _work(self) -> None:
        while self._running:
            with self._wake:
                while self._running and not self._queue:
                    self._wake.wait(timeout=0.2)
                items = list(self._queue)
                self._queue.clear()
            path = self._path
            if not items or path is None:
                continue
            try:
                self._encode(path, items)
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one bad window
                self._stats['worker_errors'] += 1
                self.get_logger().error(f'inference failed: {type(exc).__name__}: {exc}', throttle_duration_sec=1.0)

    def _encode(self, path: WindowPath, items: list) -> None:
        """
        Every queued frame through the frame encoder.

        The newest due window through the window encoder, and its messages to the outputs that have listeners (on-demand
        ones) or are always built.
        """
        encoded = path.encode([frame for frame, _frame_id, _received in items])
        for rejection in encoded.rejections:
            self._log_rejection(rejection, time.monotonic())
        for stamp_ns, reason in encoded.resets:
            self.get_logger().warning(f'window buffer reset: {reason.replace("_", " ")} at stamp {stamp_ns} ns')
        self._stats['frames_encoded'] += encoded.frames_encoded
        if encoded.result is None:
            return
        self._stats['windows_dropped'] += encoded.windows_due - 1
        due_stamp = encoded.result.stamp
        frame_id, received = next(((fid, rec) for frame, fid, rec in reversed(items) if frame.stamp_ns == due_stamp),
                                  items[-1][1:])
        start = time.monotonic()
        with self._publish_lock:
            def wanted(output) -> bool:
                publisher = self._pubs.get(output.name)
                return publisher is not None and not (output.on_demand and publisher.get_subscription_count() == 0)

            messages = path.messages(encoded.result, frame_id, wanted)
            for output in self._outputs:
                if output.on_demand and wanted(output):
                    self._stats[f'{output.key}s_built'] += 1
            for name, msg in messages.items():
                self._pubs[name].publish(msg)
        done = time.monotonic()
        self._stats['windows_published'] += 1
        self._window_times.append(encoded.window_s + done - start)
        self._latencies.append(done - received)

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        then, previous = self._last_diag
        dt = max(now - then, 1e-6)
        current = Counter(self._stats)
        self._last_diag = (now, current)
        pipeline = self.pipeline
        rejected = Counter(pipeline.rejected) if pipeline is not None else Counter()
        backend = pipeline.backend.describe() if pipeline is not None else 'unconfigured'
        status = DiagnosticStatus(name=f'{self.get_name()}: encoder', hardware_id=backend)
        health = None
        if self._health is not None:
            health = self._health.update(now, {**current, 'frames_rejected': sum(rejected.values())}, self._last_frame)
        status.level = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR)[health.level] \
            if health is not None else DiagnosticStatus.OK
        status.message = health.message if health is not None else 'inactive'
        values = {
            **(health.values if health is not None else {}),
            'windows_per_s': (current['windows_published'] - previous['windows_published']) / dt,
            'latency_ms_median': 1000 * float(np.median(self._latencies)) if self._latencies else float('nan'),
            'window_ms_median': 1000 * float(np.median(self._window_times)) if self._window_times else float('nan'),
            'frames_received': current['frames_received'], 'frames_encoded': current['frames_encoded'],
            'frames_rejected': sum(rejected.values()), 'frames_dropped': current['frames_dropped'],
            'windows_published': current['windows_published'], 'windows_dropped': current['windows_dropped'],
            'queries_refused': current['queries_refused'],
            **{f'{o.key}s_built': current[f'{o.key}s_built'] for o in self._outputs if o.on_demand},
            'backend': backend}
        values.update({f'rejected_{k}': v for k, v in sorted(rejected.items())})
        if pipeline is not None:
            values.update({f'buffer_resets_{k}': v for k, v in sorted(pipeline.stream.resets.items())})
        status.values = [KeyValue(key=k, value=f'{v:.2f}' if isinstance(v, float) else str(v))
                         for k, v in values.items()]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(array)


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
