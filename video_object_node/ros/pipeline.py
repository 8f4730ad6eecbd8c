"""The one pipeline the node and bag replay share: message -> frame -> streaming encoder -> messages.

``LatentPipeline`` owns the backend, the streaming encoder (frame-feature cache + windows), the slot
tracker (stable ids), the optional viewpoint probe and mass decoder, and the rejection counters. It does
no threading and no I/O: the node feeds it from subscriptions, replay from a bag.
"""
from __future__ import annotations

from collections import Counter, deque

import numpy as np
import torch

from ..config import LidarConfig, NodeConfig, resolve_model_path
from ..data.lidar import project, range_image_input, segment_centroids
from ..model.bundle import BundleError, read_bundle_config
from ..runtime.backends import InputError, create_backend
from ..runtime.preprocess import fit_frame
from ..runtime.streaming import Latents, StreamingEncoder
from ..runtime.tracking import SlotTracker
from ..viewpoint import PROBE_FILE, RidgeProbe, pose_from_targets, probe_features
from .conversions import ConversionError, cloud_to_array, image_to_rgb, stamp_to_ns
from .messages import frame_latents_msg, object_latents_msg, viewpoint_msg


class LatentPipeline:
    """Args: cfg: the node/replay parameters (``NodeConfig``)."""

    def __init__(self, cfg: NodeConfig):
        self.cfg = cfg
        self.bundle = resolve_model_path(cfg.model_path)
        doc = read_bundle_config(self.bundle)       # BundleError with a clear line when missing or broken
        self.modality = doc['model'].get('modality', 'camera')
        self.lidar = None
        if self.modality == 'lidar':
            if 'lidar' not in doc:
                raise BundleError(f'LIDAR bundle {self.bundle} has no sensor model ("lidar" in config.json)')
            self.lidar = LidarConfig.from_dict(doc['lidar'])
            m = doc['model']
            if (m['height'], m['width'], m['channels']) != (self.lidar.channels, self.lidar.azimuth_bins, 2):
                raise BundleError(f'LIDAR bundle {self.bundle}: the model takes {m["channels"]}x{m["height"]}x'
                                  f'{m["width"]} but the sensor model gives 2x{self.lidar.channels}x'
                                  f'{self.lidar.azimuth_bins} range images')
        self.backend = create_backend(self.bundle, cfg.backend, precision=cfg.precision, num_threads=cfg.num_threads)
        self.model_cfg = self.backend.cfg
        self.stream = StreamingEncoder(self.backend, stride=cfg.stride,
                                       max_frame_gap_ns=int(cfg.max_frame_gap * 1e9))
        self.tracker = SlotTracker()
        probe_path = self.bundle / PROBE_FILE
        try:
            self.probe = (RidgeProbe.load(probe_path, self.model_cfg.frame_dim) if probe_path.is_file()
                          else None)
        except ValueError as exc:
            raise BundleError(str(exc)) from exc
        self.pose_residual_std = np.full(11, np.nan)
        if self.model_cfg.pose_head:
            from safetensors import safe_open
            with safe_open(str(self.bundle / 'weights.safetensors'), 'numpy') as f:
                self.pose_residual_std = f.get_tensor('pose_head.residual_std').astype(np.float64)
        self.decoder = None
        if cfg.decode_masses:
            from ..model.bundle import load_bundle
            self.decoder = load_bundle(self.bundle)
        self.rejected: Counter = Counter()
        self.last_error = ''
        # LIDAR: the range images (metres) of the frames in the buffer, to map decoded segments back to 3-D.
        self._ranges: deque = deque(maxlen=self.model_cfg.frames + 1)

    def set_stride(self, stride: int) -> None:
        self.stream.stride = stride

    # Input -------------------------------------------------------------------------------------------
    def convert_image(self, msg) -> tuple[np.ndarray, int]:
        """sensor_msgs/Image -> (frame float32 [C, H, W], stamp ns); ConversionError on bad input."""
        rgb = image_to_rgb(msg)
        c = self.model_cfg
        try:
            frame = fit_frame(rgb, c.height, c.width, c.channels, self.cfg.resize_mode)
        except ValueError as exc:
            raise ConversionError('bad_image', str(exc)) from None
        return frame, stamp_to_ns(msg.header.stamp)

    def convert_cloud(self, msg) -> tuple[np.ndarray, int]:
        """sensor_msgs/PointCloud2 -> (range-image frame float32 [2, channels, azimuth_bins], stamp ns)."""
        points = cloud_to_array(msg)
        names = points.dtype.names or ()
        missing = [n for n in ('x', 'y', 'z') if n not in names]
        if missing:
            raise ConversionError('missing_xyz', f'point cloud has no {"/".join(missing)} field(s); fields: '
                                  f'{", ".join(names) or "none"}')
        xyz = np.stack([points[n].astype(np.float64) for n in ('x', 'y', 'z')], axis=1)
        projection = project(xyz, self.lidar)
        if not np.isfinite(projection.range).any():
            raise ConversionError('no_valid_points', f'point cloud has no usable return among {len(xyz)} points '
                                  f'({", ".join(f"{k} {v}" for k, v in projection.dropped.items() if v)})')
        return range_image_input(projection.range, self.lidar), stamp_to_ns(msg.header.stamp)

    def accept(self, msg) -> tuple[np.ndarray, int] | None:
        """Convert, counting a rejection by reason instead of raising; None when rejected."""
        try:
            return self.convert_cloud(msg) if self.modality == 'lidar' else self.convert_image(msg)
        except ConversionError as exc:
            self.rejected[exc.reason] += 1
            self.last_error = str(exc)
            return None

    def add(self, frame: np.ndarray, stamp_ns: int) -> bool:
        """Encode a frame into the window buffer; True when a window is due."""
        try:
            due = self.stream.add(frame, stamp_ns)
        except InputError as exc:
            self.rejected['bad_values'] += 1
            self.last_error = str(exc)
            return False
        if self.lidar is not None and self.decoder is not None:
            self._ranges.append((stamp_ns, np.where(frame[0] > 0, frame[0] * self.lidar.max_range, np.inf)))
        return due

    def window(self) -> Latents:
        return self.stream.window()

    # Output ------------------------------------------------------------------------------------------
    def masses(self, latents: Latents) -> tuple[np.ndarray, np.ndarray]:
        """Decode the window's last frame: each slot's share of its pixels [K], and the masks [K, H*W]."""
        c = self.model_cfg
        with torch.inference_mode():
            z_obj = torch.from_numpy(latents.object_mean)[None]
            z_frm = torch.from_numpy(latents.frame_mean)[None]
            placement = None if latents.placement is None else torch.from_numpy(latents.placement)[None]
            out = self.decoder.decode(z_obj, z_frm, frame_idx=torch.tensor([c.frames - 1]), placement=placement)
        masks = out.masks[0, 0].reshape(c.num_slots, -1).numpy()       # [K, H*W]
        return masks.mean(axis=1), masks

    def centroids(self, latents: Latents, masks: np.ndarray) -> np.ndarray:
        """LIDAR: the centroid [K, 3] (sensor frame, metres) of each slot's returns in the window's last sweep
        (segments = argmax of the decoded masks); NaN for a slot without returns."""
        ranges = next((r for stamp, r in reversed(self._ranges) if stamp == latents.stamp), None)
        if ranges is None:       # cannot happen while at most T-1 frames follow a due one; keep the schema
            return np.full((len(masks), 3), np.nan)
        return segment_centroids(ranges, self.lidar, masks.argmax(axis=0).reshape(ranges.shape), len(masks))

    def messages(self, latents: Latents, frame_id: str) -> dict:
        """The output messages of one window: object_latents, frame_latents and (with a probe) viewpoint."""
        masses = masks = centroids = None
        if self.decoder is not None:
            masses, masks = self.masses(latents)
            if self.lidar is not None:
                centroids = self.centroids(latents, masks)
        ids = self.tracker.update(latents.object_mean, masks)
        out = {'object_latents': object_latents_msg(latents, ids, frame_id, masses, centroids),
               'frame_latents': frame_latents_msg(latents, frame_id)}
        if latents.viewpoint is not None:
            out['viewpoint'] = viewpoint_msg(pose_from_targets(latents.viewpoint[-1]), self.pose_residual_std,
                                             latents.stamp, frame_id)
        elif self.probe is not None:
            target = self.probe.predict(probe_features(latents.frame_mean)[-1:])[0]
            out['viewpoint'] = viewpoint_msg(pose_from_targets(target), self.probe.residual_std, latents.stamp,
                                             frame_id)
        return out

    @property
    def has_viewpoint(self) -> bool:
        """Whether windows carry a viewpoint: the bundle's pose head, or (older bundles) its ridge probe."""
        return self.model_cfg.pose_head or self.probe is not None
