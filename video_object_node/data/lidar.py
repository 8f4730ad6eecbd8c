"""LIDAR sweeps <-> range images, with the sensor model of a bundle (``LidarConfig``).

Sensor frame (REP 103): x forward, y left, z up. Row 0 is the top beam (``vertical_fov[1]``), row
``channels - 1`` the bottom one; column j is azimuth ``2*pi*j / azimuth_bins`` counter-clockwise from +x,
the same layout the simulator's LIDAR casts, so a simulated organised sweep is already a range image.

``project`` bins each return to its nearest beam and azimuth; points outside the vertical field of
view, beyond ``max_range``, at the origin, or with NaN/Inf coordinates are dropped (and counted); when
several land in one pixel the nearest wins. ``unproject`` maps pixels back to 3-D points, so a segment
of the range image gives its points. ``range_image_input`` makes the model's input channels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import LidarConfig

# Model input channels: range / max_range and (z + HEIGHT_OFFSET) / HEIGHT_SCALE, 0 where no return.
HEIGHT_OFFSET, HEIGHT_SCALE = 3.0, 6.0


@dataclass
class Projection:
    """range [ch, az] metres (inf = no return), point index [ch, az] (-1 = none), and what was dropped."""

    range: np.ndarray
    index: np.ndarray
    dropped: dict


def beam_angles(lc: LidarConfig) -> tuple[np.ndarray, np.ndarray]:
    """Elevation of each row and azimuth of each column, radians."""
    elevation = np.radians(np.linspace(lc.vertical_fov[1], lc.vertical_fov[0], lc.channels))
    azimuth = 2 * np.pi * np.arange(lc.azimuth_bins) / lc.azimuth_bins
    return elevation, azimuth


def project(points: np.ndarray, lc: LidarConfig) -> Projection:
    """Points [N, 3] (sensor frame) -> the range image of ``lc``; nearest return wins per pixel."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    finite = np.isfinite(points).all(axis=1)
    points = np.where(finite[:, None], points, 0.0)
    r = np.linalg.norm(points, axis=1)
    ok = finite & (r > 1e-6) & (r <= lc.max_range)
    elev = np.arcsin(np.clip(points[:, 2] / np.maximum(r, 1e-12), -1, 1))
    az = np.mod(np.arctan2(points[:, 1], points[:, 0]), 2 * np.pi)
    top, bottom = np.radians(lc.vertical_fov[1]), np.radians(lc.vertical_fov[0])
    step = (top - bottom) / max(lc.channels - 1, 1)
    half = step / 2 if lc.channels > 1 else np.radians(0.5)
    in_fov = (elev <= top + half) & (elev >= bottom - half)
    row = np.rint((top - elev) / step).astype(np.int64) if lc.channels > 1 else np.zeros(len(points), np.int64)
    col = np.rint(az / (2 * np.pi) * lc.azimuth_bins).astype(np.int64) % lc.azimuth_bins
    keep = ok & in_fov
    dropped = {'non_finite': int((~finite).sum()), 'out_of_range': int((finite & ~ok).sum()),
               'outside_fov': int((ok & ~in_fov).sum())}
    rng = np.full((lc.channels, lc.azimuth_bins), np.inf)
    index = np.full((lc.channels, lc.azimuth_bins), -1, np.int64)
    idx = np.nonzero(keep)[0]
    order = idx[np.argsort(-r[idx], kind='stable')]      # far first, so the nearest is written last
    rng[row[order], col[order]] = r[order]
    index[row[order], col[order]] = order
    return Projection(rng.astype(np.float32), index, dropped)


def unproject(range_image: np.ndarray, lc: LidarConfig, mask: np.ndarray | None = None) -> np.ndarray:
    """Pixels with a return (and inside ``mask``) -> their 3-D points [M, 3] in the sensor frame."""
    elevation, azimuth = beam_angles(lc)
    el, az = np.meshgrid(elevation, azimuth, indexing='ij')
    valid = np.isfinite(range_image)
    if mask is not None:
        valid &= mask
    r = range_image[valid].astype(np.float64)
    el, az = el[valid], az[valid]
    return np.stack([r * np.cos(el) * np.cos(az), r * np.cos(el) * np.sin(az), r * np.sin(el)], axis=1)


def range_image_input(range_image: np.ndarray, lc: LidarConfig) -> np.ndarray:
    """range [ch, az] -> model input float32 [2, ch, az]: normalised range and height; 0 = no return."""
    valid = np.isfinite(range_image)
    points_z = np.zeros_like(range_image, dtype=np.float64)
    elevation, _ = beam_angles(lc)
    points_z[valid] = (range_image * np.sin(elevation)[:, None])[valid]
    out = np.zeros((2,) + range_image.shape, np.float32)
    out[0][valid] = np.clip(range_image[valid] / lc.max_range, 0, 1)
    out[1][valid] = np.clip((points_z[valid] + HEIGHT_OFFSET) / HEIGHT_SCALE, 0, 1)
    return out
