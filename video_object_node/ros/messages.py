"""Latents -> the node's output messages (the topic contract), and back to numpy for subscribers.

``~/object_latents`` (PointCloud2 table): one row per slot, fields ``id`` uint32, ``mean`` float32[D],
``stddev`` float32[D], and ``mass`` float32 when masses were decoded; LIDAR bundles that decode also give
``x``, ``y``, ``z`` float32: the centroid (metres, sensor frame) of the returns in the slot's segment of
the window's last sweep, NaN when the slot holds no return, so RViz can draw the objects.
``~/frame_latents`` (PointCloud2 table): one row per frame, ``stamp_sec`` int32, ``stamp_nanosec`` uint32,
``mean`` float32[Df], ``stddev`` float32[Df].
``~/viewpoint`` (PoseWithCovarianceStamped): the pose of the window's last camera in the coordinates of
its first camera (OpenCV axes), from the bundle's viewpoint probe; covariance from the probe's residuals.
"""
from __future__ import annotations

import numpy as np

from ..runtime.streaming import Latents
from .conversions import array_to_cloud, cloud_to_array, ns_to_stamp


def object_table_dtype(dim: int, with_mass: bool, with_centroid: bool = False) -> np.dtype:
    fields = [('id', '<u4'), ('mean', '<f4', (dim,)), ('stddev', '<f4', (dim,))]
    fields += [('mass', '<f4')] if with_mass else []
    fields += [('x', '<f4'), ('y', '<f4'), ('z', '<f4')] if with_centroid else []
    return np.dtype(fields)


def object_latents_msg(latents: Latents, ids: np.ndarray, frame_id: str, masses: np.ndarray | None = None,
                       centroids: np.ndarray | None = None):
    """``centroids``: [K, 3] metres in the sensor frame (NaN rows for slots without returns), or None."""
    k, d = latents.object_mean.shape
    table = np.zeros(k, object_table_dtype(d, masses is not None, centroids is not None))
    table['id'], table['mean'], table['stddev'] = ids, latents.object_mean, latents.object_std
    if masses is not None:
        table['mass'] = masses
    if centroids is not None:
        table['x'], table['y'], table['z'] = centroids[:, 0], centroids[:, 1], centroids[:, 2]
    return array_to_cloud(table, frame_id=frame_id, stamp=ns_to_stamp(latents.stamp))


def frame_latents_msg(latents: Latents, frame_id: str):
    t, d = latents.frame_mean.shape
    table = np.zeros(t, np.dtype([('stamp_sec', '<i4'), ('stamp_nanosec', '<u4'), ('mean', '<f4', (d,)),
                                  ('stddev', '<f4', (d,))]))
    stamps = np.array(latents.stamps, np.int64)
    table['stamp_sec'], table['stamp_nanosec'] = stamps // 1_000_000_000, stamps % 1_000_000_000
    table['mean'], table['stddev'] = latents.frame_mean, latents.frame_std
    return array_to_cloud(table, frame_id=frame_id, stamp=ns_to_stamp(latents.stamp))


def rotation_to_quaternion(r: np.ndarray) -> tuple[float, float, float, float]:
    """3x3 rotation -> (x, y, z, w)."""
    w = np.sqrt(max(0.0, 1.0 + r[0, 0] + r[1, 1] + r[2, 2])) / 2.0
    x = np.copysign(np.sqrt(max(0.0, 1.0 + r[0, 0] - r[1, 1] - r[2, 2])) / 2.0, r[2, 1] - r[1, 2])
    y = np.copysign(np.sqrt(max(0.0, 1.0 - r[0, 0] + r[1, 1] - r[2, 2])) / 2.0, r[0, 2] - r[2, 0])
    z = np.copysign(np.sqrt(max(0.0, 1.0 - r[0, 0] - r[1, 1] + r[2, 2])) / 2.0, r[1, 0] - r[0, 1])
    return float(x), float(y), float(z), float(w)


def viewpoint_msg(pose: np.ndarray, residual_std: np.ndarray, stamp_ns: int, frame_id: str):
    """4x4 pose + the probe's residual std per target -> PoseWithCovarianceStamped."""
    from geometry_msgs.msg import PoseWithCovarianceStamped
    msg = PoseWithCovarianceStamped()
    msg.header.frame_id = frame_id
    msg.header.stamp = ns_to_stamp(stamp_ns)
    p = msg.pose.pose
    p.position.x, p.position.y, p.position.z = (float(v) for v in pose[:3, 3])
    p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = rotation_to_quaternion(pose[:3, :3])
    cov = np.zeros((6, 6))
    cov[[0, 1, 2], [0, 1, 2]] = residual_std[:3] ** 2
    # Rotation variance (rad^2) ~ the variance of the unit axis vectors' components.
    cov[[3, 4, 5], [3, 4, 5]] = float(np.mean(residual_std[3:9] ** 2))
    msg.pose.covariance = [float(v) for v in cov.ravel()]
    return msg


def table_from_msg(msg) -> np.ndarray:
    """Decode an ``object_latents`` or ``frame_latents`` table into a numpy structured array."""
    return cloud_to_array(msg)
