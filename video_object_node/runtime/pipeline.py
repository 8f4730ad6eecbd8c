"""The one streaming pipeline the node and bag replay share, free of ROS: reading -> frame -> windows -> result.

``LatentPipeline`` owns the bundle's sensor, the backend, the streaming encoder (frame-feature cache +
windows), the slot tracker (stable ids) and the viewpoint (the bundle's pose head, or an older bundle's
ridge probe). It does no threading and no I/O. Every step returns what happened instead of mutating
counters a caller has to diff:

- ``accept(reading, stamp_ns)`` -> ``Frame`` or ``Rejection`` (reason + one line);
- ``add(frame)`` -> ``Added`` (a window is due; the buffer was reset, and why; or a Rejection);
- ``window()`` -> ``WindowResult`` (latents, stable ids, masses, masks, centroids, viewpoint).

``ros/`` turns messages into readings and results into messages (``ros/outputs.py``).
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from ..config import NodeConfig
from ..model.bundle import BundleError, read_bundle_config, resolve_model_path
from ..sensors import ConversionError, SensorError, sensor_for_bundle
from ..viewpoint import PROBE_FILE, RidgeProbe, pose_from_targets, probe_features
from .backends import InputError, create_backend
from .streaming import Latents, StreamingEncoder
from .tracking import SlotTracker


@dataclass
class Rejection:
    """Why a reading or frame was not used: ``reason`` (a counter key) and one line for the log."""

    reason: str
    message: str


@dataclass
class Frame:
    """An accepted reading: the model's input [C, H, W] float32, its stamp, and the sensor's geometry of it
    (LIDAR: the range image in metres, to map segments back to 3-D)."""

    data: np.ndarray
    stamp_ns: int
    geometry: np.ndarray | None = None


@dataclass
class Added:
    """What adding a frame did: ``due`` (a window can be taken), ``reset`` (the buffer was cleared first, and
    why: 'stamp_not_increasing' or 'frame_gap'), or ``rejection`` (the frame was not used)."""

    due: bool = False
    reset: str | None = None
    rejection: Rejection | None = None


@dataclass
class Viewpoint:
    """The pose of the window's last frame in its first frame's coordinates (4x4, OpenCV axes) and the
    residual std of each viewpoint target (the covariance's source)."""

    pose: np.ndarray
    residual_std: np.ndarray


@dataclass
class WindowResult:
    """Everything one window gives: latents, stable ids [K]; with mass decoding, each slot's share of the last
    frame [K] and its masks [K, H, W] (and LIDAR centroids [K, 3], metres, NaN for empty slots); the
    viewpoint when the bundle has a pose head or probe."""

    latents: Latents
    ids: np.ndarray
    masses: np.ndarray | None = None
    masks: np.ndarray | None = None
    centroids: np.ndarray | None = None
    viewpoint: Viewpoint | None = None

    @property
    def stamp(self) -> int:
        return self.latents.stamp


class LatentPipeline:
    """Frames in, window results out (see the module doc).

    Args:
        cfg: the node/replay parameters (``NodeConfig``).
        backend: a backend to use instead of the one ``cfg`` selects (e.g. a timing wrapper around it).
    """

    def __init__(self, cfg: NodeConfig, backend=None):
        self.cfg = cfg
        self.bundle = resolve_model_path(cfg.model_path)
        doc = read_bundle_config(self.bundle)       # BundleError with a clear line when missing or broken
        self.backend = backend or create_backend(self.bundle, cfg.backend, precision=cfg.precision,
                                                 num_threads=cfg.num_threads)
        self.model_cfg = self.backend.cfg
        try:
            self.sensor = sensor_for_bundle(doc, self.model_cfg)
        except SensorError as exc:
            raise BundleError(f'bundle {self.bundle}: {exc}') from None
        self.stream = StreamingEncoder(self.backend, stride=cfg.stride, max_frame_gap_ns=int(cfg.max_frame_gap * 1e9))
        self.tracker = SlotTracker()
        self.probe = None
        self.pose_residual_std = None
        if self.model_cfg.pose_head:
            self.pose_residual_std = _pose_residual_std(self.bundle)
        elif (self.bundle / PROBE_FILE).is_file():
            try:
                self.probe = RidgeProbe.load(self.bundle / PROBE_FILE, self.model_cfg.frame_dim)
            except ValueError as exc:
                raise BundleError(str(exc)) from exc
        self.rejected: Counter = Counter()
        # The sensor geometry of the frames in the buffer (LIDAR ranges), to map decoded segments back to space.
        self._geometry: deque = deque(maxlen=self.model_cfg.frames + 1)

    @property
    def modality(self) -> str:
        return self.sensor.modality

    @property
    def has_viewpoint(self) -> bool:
        """Whether windows carry a viewpoint: the bundle's pose head, or (older bundles) its ridge probe."""
        return self.model_cfg.pose_head or self.probe is not None

    def set_stride(self, stride: int) -> None:
        self.stream.stride = stride

    def set_max_frame_gap(self, seconds: float) -> None:
        self.stream.max_frame_gap_ns = int(seconds * 1e9)

    def _reject(self, reason: str, message: str) -> Rejection:
        self.rejected[reason] += 1
        return Rejection(reason, message)

    # Input -------------------------------------------------------------------------------------------
    def accept(self, reading: np.ndarray, stamp_ns: int) -> Frame | Rejection:
        """A reading (camera: an RGB / mono image array; LIDAR: points [N, 3]) -> the model's input frame."""
        try:
            data = self.sensor.frame(reading, self.cfg.resize_mode)
        except ConversionError as exc:
            return self._reject(exc.reason, str(exc))
        return Frame(data, int(stamp_ns), self.sensor.geometry(data) if self.cfg.decode_masses else None)

    def reject(self, error: ConversionError) -> Rejection:
        """Count a reading that could not even be read (e.g. a message that does not decode)."""
        return self._reject(error.reason, str(error))

    def add(self, frame: Frame) -> Added:
        """Encode a frame into the window buffer."""
        before = sum(self.stream.resets.values())
        try:
            due = self.stream.add(frame.data, frame.stamp_ns)
        except InputError as exc:
            return Added(rejection=self._reject('bad_values', str(exc)))
        reset = self.stream.last_reset if sum(self.stream.resets.values()) > before else None
        if frame.geometry is not None:
            self._geometry.append((frame.stamp_ns, frame.geometry))
        return Added(due=due, reset=reset)

    # Output ------------------------------------------------------------------------------------------
    def window(self) -> WindowResult:
        """The newest due window, decoded as far as the parameters ask."""
        latents = self.stream.window()
        result = WindowResult(latents=latents, ids=np.zeros(0, np.uint32))
        flat = None
        if self.cfg.decode_masses:
            masks = self.backend.decode_masks(latents.object_mean[None], latents.frame_mean[None],
                                              None if latents.placement is None else latents.placement[None])[0]
            result.masks = masks                                           # [K, H, W]
            flat = masks.reshape(len(masks), -1)
            result.masses = flat.mean(axis=1)
            geometry = next((g for stamp, g in reversed(self._geometry) if stamp == latents.stamp), None)
            if geometry is not None:
                result.centroids = self.sensor.centroids(geometry, masks.argmax(axis=0), len(masks))
        result.ids = self.tracker.update(latents.object_mean, flat)
        result.viewpoint = self.viewpoint(latents)
        return result

    def viewpoint(self, latents: Latents) -> Viewpoint | None:
        if latents.viewpoint is not None:
            return Viewpoint(pose_from_targets(latents.viewpoint[-1]), self.pose_residual_std)
        if self.probe is not None:
            target = self.probe.predict(probe_features(latents.frame_mean)[-1:])[0]
            return Viewpoint(pose_from_targets(target), self.probe.residual_std)
        return None


def _pose_residual_std(bundle) -> np.ndarray:
    """The pose head's validation residuals, read from the bundle's weights without building the model."""
    from safetensors import safe_open

    from ..model.bundle import WEIGHTS_FILE
    with safe_open(str(bundle / WEIGHTS_FILE), 'numpy') as f:
        return f.get_tensor('pose_head.residual_std').astype(np.float64)
