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
The one streaming pipeline the node and bag replay share, free of ROS: reading -> frame -> windows -> result.

``LatentPipeline`` owns the bundle's sensor, the backend, the streaming encoder (frame-feature cache +
windows), the slot tracker (stable ids) and the viewpoint (the bundle's pose head, or an older bundle's
ridge probe). It does no threading and no I/O. Every step returns what happened instead of mutating
counters a caller has to diff:

- ``accept(reading, stamp_ns)`` -> ``Frame`` or ``Rejection`` (reason + one line);
- ``add(frame)`` -> ``Added`` (a window is due; the buffer was reset, and why; or a Rejection);
- ``window()`` -> ``WindowResult`` (latents, stable ids, masses, masks, centroids, viewpoint, query answer),
  built once and immutable;
- ``encode(frames)`` -> ``Encoded``: ``add`` for each frame, then ``window`` for the newest due one (the
  node and replay both go this way).

``ros/`` turns messages into readings and results into messages (``ros/outputs.py``).
"""
from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..bundle.layout import Bundle, BundleError
from ..bundle.viewpoint_probe import RidgeProbe, pose_from_targets, probe_features
from .config import NodeConfig
from ..sensing.sensors import ConversionError, SensorError, sensor_for_bundle
from .backend_choice import create_backend
from .backends import InputError
from .query import Query
from .odometry import OdometryChain, OdometryPose
from .streaming import Latents, StreamingEncoder
from .tracking import MASK_MEMORY, SEGMENT_OVERLAP_WEIGHT, SlotTracker


@dataclass
class Rejection:
    """Why a reading or frame was not used: ``reason`` (a counter key) and one line for the log."""

    reason: str
    message: str


@dataclass
class Frame:
    """
    An accepted reading and what the model makes of it.

    An accepted reading: the model's input [C, H, W] float32, its stamp, the sensor's geometry of it (LIDAR:
    the range image in metres, to map segments back to 3-D) and the reading itself (kept by reference for the
    debug view).
    """

    data: np.ndarray
    stamp_ns: int
    geometry: np.ndarray | None = None
    reading: np.ndarray | None = None
    motion_image: np.ndarray | None = None     # what a motion-reading model's flow is estimated on


@dataclass
class Added:
    """
    What adding a frame did.

    ``due`` (a window can be taken), ``reset`` (the buffer was cleared first, and why: 'stamp_not_increasing' or
    'frame_gap'), or ``rejection`` (the frame was not used).
    """

    due: bool = False
    reset: str | None = None
    rejection: Rejection | None = None


@dataclass
class Viewpoint:
    """
    The pose of the window's last frame, with its residual std.

    The pose of the window's last frame in its first frame's coordinates (4x4, OpenCV axes) and the
    residual std of each viewpoint target (the covariance's source); ``frame_poses`` [T, 4, 4] every frame's pose in
    the first frame's coordinates; ``odometry`` the last frame's pose chained over windows (``runtime/odometry.py``).
    """

    pose: np.ndarray
    residual_std: np.ndarray
    frame_poses: np.ndarray | None = None
    odometry: OdometryPose | None = None


class MaskCache:
    """
    The mixture weights [K, H, W] of a window's last frame, decoded on first use and then kept.

    The node decodes them only when mass decoding is on or an output needs them (the debug view's subscribers).
    """

    def __init__(self, decode: Callable[[], np.ndarray], masks: np.ndarray | None = None):
        self._decode = decode
        self._masks = masks

    def __call__(self) -> np.ndarray:
        if self._masks is None:
            self._masks = _read_only(self._decode())
        return self._masks


@dataclass(frozen=True)
class QueryAnswer:
    """
    The active query's answer in one window.

    ``rows`` [{'id', 'score', 'u', 'v', 'area', 'x', 'y', 'z'}], best first, and ``highlight``, the slot of the best
    match when it is in this window.
    """

    query: Query
    rows: tuple
    highlight: int | None


@dataclass(frozen=True, eq=False)
class WindowResult:
    """
    Everything one window gives, built once by ``LatentPipeline.window`` and never changed: latents, stable ids [K].

    With mass decoding, each slot's share of the last frame [K] (and LIDAR centroids [K, 3], metres, NaN for empty
    slots); the viewpoint when the bundle has a pose head or probe; the last frame's reading and model input (for the
    debug view); the active query's answer. ``last_masks()`` gives the last frame's masks [K, H, W], decoded once on
    first use. Arrays are read-only.
    """

    latents: Latents
    ids: np.ndarray
    masses: np.ndarray | None
    centroids: np.ndarray | None
    viewpoint: Viewpoint | None
    reading: np.ndarray | None
    frame: np.ndarray | None
    answer: QueryAnswer | None
    masks: MaskCache = field(repr=False)
    extents: np.ndarray | None = None       # LIDAR with mass decoding: each slot's box size [K, 3], metres

    @property
    def stamp(self) -> int:
        return self.latents.stamp

    def last_masks(self) -> np.ndarray:
        return self.masks()


@dataclass(frozen=True)
class Encoded:
    """
    What encoding a batch of frames did (``LatentPipeline.encode``).

    The newest due window's result (None when no window came due), how many frames went in, how many windows came due
    (all but the newest are dropped), the frames refused and the buffer resets ((stamp_ns, reason)), and the seconds the
    window itself took.
    """

    result: WindowResult | None
    frames_encoded: int
    windows_due: int
    rejections: tuple
    resets: tuple
    window_s: float = 0.0


def _read_only(array: np.ndarray | None) -> np.ndarray | None:
    if array is not None:
        array.flags.writeable = False
    return array


class LatentPipeline:
    """
    Frames in, window results out (see the module doc).

    Parameters
    ----------
        cfg: the node/replay parameters (``NodeConfig``).
        backend: a backend to use instead of the one ``cfg`` selects (e.g. a timing wrapper around it).

    """

    def __init__(self, cfg: NodeConfig, backend=None):
        self.cfg = cfg
        # config.json is read here, once (BundleError with a clear line when missing or broken); the backend, the
        # sensor, the objectness and the viewpoint are handed what was read.
        self.bundle = Bundle.for_model_path(cfg.model_path)
        self.backend = backend or create_backend(self.bundle, cfg.backend, precision=cfg.precision,
                                                 num_threads=cfg.num_threads, compile=cfg.torch_compile)
        self.model_cfg = self.backend.cfg
        try:
            self.sensor = sensor_for_bundle(self.bundle.doc, self.model_cfg)
        except SensorError as exc:
            raise BundleError(f'bundle {self.bundle.path}: {exc}') from None
        self.stream = StreamingEncoder(self.backend, stride=cfg.stride, max_frame_gap_ns=int(cfg.max_frame_gap * 1e9))
        self.odometry = OdometryChain()
        self.probe = None
        self.pose_residual_std = None
        if self.model_cfg.pose_head:
            self.pose_residual_std = self.bundle.pose_residual_std
        elif self.bundle.probe_file:
            try:
                self.probe = RidgeProbe.load(self.bundle.probe_file, self.model_cfg.frame_dim)
            except ValueError as exc:
                raise BundleError(str(exc)) from exc
        self.objectness = None
        # (window index, the objectness' regions of its last frame, each region label's probability or None)
        self._foreground: tuple = (None, None, None)
        if self.bundle.objectness:
            from .objectness import objectness_for
            self.objectness = objectness_for(self.bundle, self.sensor, num_threads=max(1, cfg.num_threads))
        # With a camera head's whole objects as segments, ids follow them: the last frame is decoded every window.
        self.segment_ids = bool(cfg.segment_ids and cfg.objectness_segments and self.objectness is not None
                                and self.sensor.modality == 'camera')
        self.tracker = (SlotTracker(mask_overlap_weight=SEGMENT_OVERLAP_WEIGHT, mask_memory=MASK_MEMORY)
                        if self.segment_ids else SlotTracker())
        self.memory = None
        self.query = None
        if self.model_cfg.attribute_heads:
            from .query import ObjectMemory
            self.memory = ObjectMemory(forget_after=cfg.query_forget_windows)
        self.rejected: Counter = Counter()
        # The frames in the buffer (their geometry maps decoded segments back to space; their readings make the
        # debug view), kept by reference.
        self._recent: deque = deque(maxlen=self.model_cfg.frames + 1)
        self._last_view: tuple = (None, None, None)     # (result, highlight, picture): the newest debug view

    @property
    def modality(self) -> str:
        return self.sensor.modality

    @property
    def has_queries(self) -> bool:
        """Whether the bundle can answer object queries (it has attribute heads)."""
        return self.memory is not None

    def set_query(self, text: str):
        """
        Make ``text`` the active query ('' clears it).

        QueryError with one line for a malformed one, which then answers nothing until replaced.
        """
        from .query import Query, QueryError, parse_query
        if not self.has_queries:
            raise QueryError('this bundle has no attribute heads, so it cannot answer object queries')
        try:
            self.query = parse_query(text)
        except QueryError:
            self.query = Query(text=str(text), refused=True)              # answers nothing until replaced
            raise
        return self.query

    @property
    def has_viewpoint(self) -> bool:
        """Whether windows carry a viewpoint: the bundle's pose head, or (older bundles) its ridge probe."""
        return self.model_cfg.pose_head or self.probe is not None

    def reconfigure(self, cfg: NodeConfig) -> None:
        """
        Take new values of the run-time parameters (those NodeConfig does not mark read-only).

        The stride and frame gap of the stream, the query memory's horizon; the rest (mass decoding, resize mode, debug
        image scale, query limits, queue size) is read from ``cfg`` where it is used. Read-only fields must not change.
        """
        from .config import node_parameters
        fixed = [n for n, (_d, meta) in node_parameters().items()
                 if meta['read_only'] and getattr(cfg, n) != getattr(self.cfg, n)]
        if fixed:
            raise ValueError(f'read-only parameter(s) {", ".join(fixed)} need a reconfigure of the node')
        self.cfg = cfg
        self.stream.stride = cfg.stride
        self.stream.max_frame_gap_ns = int(cfg.max_frame_gap * 1e9)
        if self.memory is not None:
            self.memory.forget_after = cfg.query_forget_windows

    def _reject(self, reason: str, message: str) -> Rejection:
        self.rejected[reason] += 1
        return Rejection(reason, message)

    # Input -------------------------------------------------------------------------------------------
    def accept(self, reading: np.ndarray, stamp_ns: int) -> Frame | Rejection:
        """Return a reading (camera: an RGB / mono image array; LIDAR: points [N, 3]) -> the model's input frame."""
        try:
            data = self.sensor.frame(reading, self.cfg.resize_mode)
            motion_image = self.sensor.motion_image(reading, self.cfg.resize_mode)
        except ConversionError as exc:
            return self._reject(exc.reason, str(exc))
        return Frame(data, int(stamp_ns), self.sensor.geometry(data) if self.cfg.decode_masses else None, reading,
                     motion_image)

    def reject(self, error: ConversionError) -> Rejection:
        """Count a reading that could not even be read (e.g. a message that does not decode)."""
        return self._reject(error.reason, str(error))

    def add(self, frame: Frame) -> Added:
        """Encode a frame into the window buffer."""
        before = sum(self.stream.resets.values())
        try:
            due = self.stream.add(frame.data, frame.stamp_ns, frame.motion_image)
        except InputError as exc:
            return Added(rejection=self._reject('bad_values', str(exc)))
        reset = self.stream.last_reset if sum(self.stream.resets.values()) > before else None
        self._recent.append((frame.stamp_ns, frame))
        return Added(due=due, reset=reset)

    # Output ------------------------------------------------------------------------------------------
    def encode(self, frames) -> Encoded:
        """
        Add each frame to the window buffer, then take the newest due window.

        The node passes every frame its queue holds, replay one at a time.
        """
        frames_encoded = due = 0
        rejections, resets = [], []
        for frame in frames:
            added = self.add(frame)
            if added.rejection is not None:
                rejections.append(added.rejection)
                continue
            if added.reset:
                resets.append((frame.stamp_ns, added.reset))
            frames_encoded += 1
            due += int(added.due)
        if not due:
            return Encoded(None, frames_encoded, 0, tuple(rejections), tuple(resets))
        start = time.monotonic()
        result = self.window()
        return Encoded(result, frames_encoded, due, tuple(rejections), tuple(resets), time.monotonic() - start)

    # Output ------------------------------------------------------------------------------------------
    def window(self) -> WindowResult:
        """Return the newest due window, decoded as far as the parameters ask."""
        latents = self.stream.window()
        last = next((f for stamp, f in reversed(self._recent) if stamp == latents.stamp), None)
        reading = None if last is None else last.reading
        masks = MaskCache(lambda: self.decode_masks(latents))
        masses = centroids = extents = flat = None
        if self.cfg.decode_masses or self.segment_ids:
            decoded = masks()                                                # [K, H, W]
            flat = decoded.reshape(len(decoded), -1)
        if self.cfg.decode_masses:
            masses = flat.mean(axis=1)
            if last is not None and last.geometry is not None:
                segments = decoded.argmax(axis=0)
                centroids = self.sensor.centroids(last.geometry, segments, len(decoded))
                extents = self.sensor.extents(last.geometry, segments, len(decoded))
        ids = self.tracker.update(latents.object_mean, flat, latents.placement, latents.stamps)
        answer = None
        if self.memory is not None and latents.attributes is not None:
            answer = self.answer_query(latents, ids, masks() if self.cfg.decode_masses else None, centroids, reading)
        return WindowResult(latents=latents, ids=_read_only(ids), masses=_read_only(masses),
                            centroids=_read_only(centroids), viewpoint=self.viewpoint(latents), reading=reading,
                            frame=None if last is None else last.data, answer=answer, masks=masks,
                            extents=_read_only(extents))

    def answer_query(self, latents: Latents, ids: np.ndarray, masks: np.ndarray | None,
                     centroids: np.ndarray | None, reading: np.ndarray | None) -> QueryAnswer | None:
        """Update the object memory with this window; the active query's answer (None without a query)."""
        from .query import slot_positions
        c = self.model_cfg
        mode = self.sensor.fit_mode(self.cfg.resize_mode)
        positions = slot_positions(latents.placement, masks, self.sensor.view_size(reading), (c.height, c.width), mode)
        self.memory.update(ids, latents.attributes, positions, centroids)
        query = self.query
        if query is None or query.empty:
            return None
        rows = self.memory.answer(query, self.cfg.query_max_results, self.cfg.query_min_score)
        best = [k for k, i in enumerate(ids) if rows and i == rows[0]['id']]
        return QueryAnswer(query, tuple(rows), best[0] if best else None)

    def query_mask(self, result: WindowResult) -> np.ndarray:
        """uint8 [H, W] (input resolution): 255 on the best match's segment in the window's last frame."""
        from .overlay import segment_mask
        h, w = self.sensor.view_size(result.reading)
        highlight = None if result.answer is None else result.answer.highlight
        if highlight is None:
            return np.zeros((h, w), np.uint8)
        mode = self.sensor.fit_mode(self.cfg.resize_mode)
        image = self.sensor.view_image(result.reading, result.frame)
        guide = image if (self.cfg.edge_aware_segments and image is not None and image.shape[:2] == (h, w)
                          and image.dtype == np.uint8) else None
        return segment_mask(result.last_masks(), highlight, h, w, mode, guide)

    def decode_masks(self, latents: Latents) -> np.ndarray:
        """
        Return the mixture weights [K, H, W] of the window's last frame, through the backend.

        With the bundle's objectness head and ``objectness_segments``: each foreground region whole in one slot
        (``runtime/objectness.py``); a LIDAR bundle whose clusters go to the slots by placement skips the decoder.
        """
        segments = self.objectness is not None and self.cfg.objectness_segments and latents.last_input is not None
        if segments and self.objectness.slots_by == 'placement' and latents.placement is not None:
            masks = self.objectness.placed(latents.placement[:, -1], latents.last_input.shape[-2:])    # no decoder
        else:
            masks = self.backend.decode_masks(latents.object_mean[None], latents.frame_mean[None],
                                              None if latents.placement is None else latents.placement[None])[0]
        if segments:
            masks, regions, probability = self.objectness.take(masks, latents.last_input)
            self._foreground = (latents.index, regions, probability)
        return masks

    def slot_scores(self, result: WindowResult) -> np.ndarray:
        """
        Return how much each slot is an object [K] in the window's last frame (0 = not one).

        With the objectness head: the share of the slot's segment the head calls foreground, 0 below a half; with a
        LIDAR bundle's cluster scorer: the probability that the cluster filling at least half of the slot's segment is
        one object (0 without one); without either: the mean mixture weight over the slot's segment (every visible
        slot is a candidate).
        """
        masks = result.last_masks()
        labels = masks.argmax(axis=0)
        k = len(masks)
        pixels = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
        index, regions, region_probability = self._foreground
        if self.objectness is not None and self.cfg.objectness_segments and index == result.latents.index:
            if region_probability is not None:
                pairs = np.zeros((k, len(region_probability)))
                np.add.at(pairs, (labels.ravel(), regions.ravel()), 1.0)
                pairs[:, 0] = 0.0                                           # pixels in no cluster
                cluster = pairs.argmax(axis=1)
                whole = pairs[np.arange(k), cluster] >= 0.5 * np.maximum(pixels, 1)
                return np.where(whole, region_probability[cluster], 0.0)
            share = np.bincount(labels.ravel(), weights=(regions > 0).ravel(), minlength=k) / np.maximum(pixels, 1)
            return np.where(share >= 0.5, share, 0.0)
        weight = np.array([masks[s][labels == s].mean() if pixels[s] else 0.0 for s in range(k)])
        return weight

    def debug_view(self, result: WindowResult, highlight: int | None = None) -> np.ndarray | None:
        """
        Return the window's last frame with its segments (``runtime/overlay.py``); None without the frame.

        Drawn once per window and highlight (the raw and the compressed debug image share it).
        """
        from .overlay import debug_view
        if self._last_view[:2] == (result, highlight):
            return self._last_view[2]
        image = self.sensor.view_image(result.reading, result.frame)
        if image is not None:
            mode = self.sensor.fit_mode(self.cfg.resize_mode)
            image = debug_view(image, result.last_masks(), result.ids, mode, self.cfg.debug_image_scale, highlight,
                               self.cfg.edge_aware_segments)
        self._last_view = (result, highlight, image)
        return image

    def viewpoint(self, latents: Latents) -> Viewpoint | None:
        """Return the window's pose of every frame in its first frame's coordinates, chained into odometry."""
        if latents.viewpoint is not None:
            targets, residual_std = latents.viewpoint, self.pose_residual_std
        elif self.probe is not None:
            targets, residual_std = self.probe.predict(probe_features(latents.frame_mean)), self.probe.residual_std
        else:
            return None
        poses = np.stack([pose_from_targets(t) for t in targets])                   # [T, 4, 4] cam_first <- cam_t
        return Viewpoint(poses[-1], residual_std, poses, self.odometry.update(latents.stamps, poses))
