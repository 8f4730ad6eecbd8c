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
LIDAR sweeps <-> range images, with the sensor model of a bundle (``LidarConfig``).

Sensor frame (REP 103): x forward, y left, z up. Row 0 is the top beam (``vertical_fov[1]``), row
``channels - 1`` the bottom one; column j is azimuth ``start + j * step`` counter-clockwise from +x, where
``step = horizontal_fov / azimuth_bins`` and ``start`` is 0 for a full 360-degree sweep, else the centre
of the rightmost bin (``-horizontal_fov/2 + step/2``); the simulator's LIDAR casts the same layout, so a
simulated organised sweep is already a range image.

``project`` bins each return to its nearest beam and azimuth; points outside the vertical field of
view, beyond ``max_range``, at the origin, or with NaN/Inf coordinates are dropped (and counted); when
several land in one pixel the nearest wins. ``unproject`` maps pixels back to 3-D points, so a segment
of the range image gives its points. ``range_image_input`` makes the model's input channels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import LidarConfig

# Model input channels: range / max_range and (z + HEIGHT_OFFSET) / HEIGHT_SCALE, 0 where no return. The
# height window, z in [-2.5, 1.0] m of the sensor frame, fits sensors mounted up to 2.5 m above the ground
# and gives a 1 m object ~0.3 of contrast over the ground (a 6 m window gave half that, and slots ignored
# the objects).
HEIGHT_OFFSET, HEIGHT_SCALE = 2.5, 3.5


@dataclass
class Projection:
    """range [ch, az] metres (inf = no return), point index [ch, az] (-1 = none), and what was dropped."""

    range: np.ndarray
    index: np.ndarray
    dropped: dict


def beam_angles(lc: LidarConfig) -> tuple[np.ndarray, np.ndarray]:
    """Elevation of each row (its beam's, top first) and azimuth of each column, radians."""
    if lc.beam_elevations:
        elevation = np.radians(np.asarray(lc.beam_elevations, np.float64))
    else:
        elevation = np.radians(np.linspace(lc.vertical_fov[1], lc.vertical_fov[0], lc.channels))
    start, step = azimuth_grid(lc)
    return elevation, start + step * np.arange(lc.azimuth_bins)


def beam_rows(elev: np.ndarray, lc: LidarConfig) -> tuple[np.ndarray, np.ndarray]:
    """
    Return each return's row (its nearest beam) and whether it is within the beams' reach.

    elev [N] radians -> (row int [N], inside bool [N]); a return is inside when it lies no further from the top or
    bottom beam than half the gap to that beam's neighbour (half a degree for a one-beam sensor).
    """
    beams, _ = beam_angles(lc)                                           # [ch], falling
    if len(beams) == 1:
        return np.zeros(len(elev), np.int64), np.abs(elev - beams[0]) <= np.radians(0.5)
    rising = beams[::-1]
    upper = np.clip(np.searchsorted(rising, elev), 1, len(rising) - 1)
    nearer_lower = (elev - rising[upper - 1]) < (rising[upper] - elev)
    row = len(beams) - 1 - np.where(nearer_lower, upper - 1, upper)
    inside = (elev <= beams[0] + (beams[0] - beams[1]) / 2) & (elev >= beams[-1] - (beams[-2] - beams[-1]) / 2)
    return row.astype(np.int64), inside


def azimuth_grid(lc: LidarConfig) -> tuple[float, float]:
    """(azimuth of column 0, step between columns), radians."""
    fov = np.radians(lc.horizontal_fov)
    step = fov / lc.azimuth_bins
    return (0.0 if lc.horizontal_fov >= 360 else -fov / 2 + step / 2), step


def project(points: np.ndarray, lc: LidarConfig, ring: np.ndarray | None = None) -> Projection:
    """
    Points [N, 3] (sensor frame) -> the range image of ``lc``; nearest return wins per pixel.

    ``ring`` (int [N], a driver's beam number, ``lc.ring_zero`` says which end is 0) gives each return its row;
    without it the row is the beam nearest the return's elevation.
    """
    points = np.asarray(points, np.float64).reshape(-1, 3)
    finite = np.isfinite(points).all(axis=1)
    points = np.where(finite[:, None], points, 0.0)
    r = np.linalg.norm(points, axis=1)
    ok = finite & (r > max(1e-6, lc.min_range)) & (r <= lc.max_range)
    elev = np.arcsin(np.clip(points[:, 2] / np.maximum(r, 1e-12), -1, 1))
    az = np.arctan2(points[:, 1], points[:, 0])                      # (-pi, pi]
    if ring is not None:
        ring = np.asarray(ring).reshape(-1).astype(np.int64)
        if len(ring) != len(points):
            raise ValueError(f'{len(ring)} ring values for {len(points)} points')
        row = ring if lc.ring_zero == 'top' else lc.channels - 1 - ring
        in_fov = (row >= 0) & (row < lc.channels)
        row = np.clip(row, 0, lc.channels - 1)
    else:
        row, in_fov = beam_rows(elev, lc)
    az_start, az_step = azimuth_grid(lc)
    col = np.rint((az - az_start) / az_step).astype(np.int64)
    if lc.horizontal_fov >= 360:
        col %= lc.azimuth_bins
    else:
        in_fov &= np.abs(az) <= np.radians(lc.horizontal_fov) / 2
        col = np.clip(col, 0, lc.azimuth_bins - 1)
    keep = ok & in_fov
    dropped = {'non_finite': int((~finite).sum()), 'out_of_range': int((finite & ~ok).sum()),
               'outside_fov': int((ok & ~in_fov).sum())}
    range_image = np.full((lc.channels, lc.azimuth_bins), np.inf)
    index = np.full((lc.channels, lc.azimuth_bins), -1, np.int64)
    idx = np.nonzero(keep)[0]
    order = idx[np.argsort(-r[idx], kind='stable')]      # far first, so the nearest is written last
    range_image[row[order], col[order]] = r[order]
    index[row[order], col[order]] = order
    return Projection(range_image.astype(np.float32), index, dropped)


def range_points(range_image: np.ndarray, lc: LidarConfig) -> np.ndarray:
    """Return each pixel's 3-D point float64 [ch, az, 3] (NaN where there is no return)."""
    elevation, azimuth = beam_angles(lc)
    el, az = np.meshgrid(elevation, azimuth, indexing='ij')
    r = np.where(np.isfinite(range_image), range_image, np.nan).astype(np.float64)
    return np.stack([r * np.cos(el) * np.cos(az), r * np.cos(el) * np.sin(az), r * np.sin(el)], axis=-1)


def unproject(range_image: np.ndarray, lc: LidarConfig, mask: np.ndarray | None = None) -> np.ndarray:
    """Pixels with a return (and inside ``mask``) -> their 3-D points [M, 3] in the sensor frame."""
    valid = np.isfinite(range_image)
    if mask is not None:
        valid &= mask
    return range_points(range_image, lc)[valid]


def segment_centroids(range_image: np.ndarray, lc: LidarConfig, segments: np.ndarray, count: int) -> np.ndarray:
    """Return the 3-D centroid [count, 3] of each segment's returns (segments: int [ch, az]); NaN where none."""
    return _per_segment(range_image, lc, segments, count, lambda p: p.mean(axis=0))


def segment_extents(range_image: np.ndarray, lc: LidarConfig, segments: np.ndarray, count: int) -> np.ndarray:
    """Return the axis-aligned size [count, 3] (metres) of each segment's returns; NaN where none."""
    return _per_segment(range_image, lc, segments, count, lambda p: p.max(axis=0) - p.min(axis=0))


def _per_segment(range_image, lc, segments, count, reduce) -> np.ndarray:
    """Apply ``reduce`` to each segment's points [M, 3] (the range image unprojected once); NaN rows where none."""
    points, valid = range_points(range_image, lc), np.isfinite(range_image)
    out = np.full((count, 3), np.nan)
    for k in range(count):
        mine = points[valid & (segments == k)]
        if len(mine):
            out[k] = reduce(mine)
    return out


def range_image_input(range_image: np.ndarray, lc: LidarConfig) -> np.ndarray:
    """
    Return the model input of a range image.

    The model input float32 [2, ch, az] of a range image [ch, az]: normalised range and height; 0 = no return.
    """
    valid = np.isfinite(range_image)
    points_z = np.zeros_like(range_image, dtype=np.float64)
    elevation, _ = beam_angles(lc)
    points_z[valid] = range_image[valid] * np.broadcast_to(np.sin(elevation)[:, None], range_image.shape)[valid]
    out = np.zeros((2,) + range_image.shape, np.float32)
    out[0][valid] = np.clip(range_image[valid] / lc.max_range, 0, 1)
    out[1][valid] = np.clip((points_z[valid] + HEIGHT_OFFSET) / HEIGHT_SCALE, 0, 1)
    return out


def range_view(frame: np.ndarray, pixel_scale: int = 4) -> np.ndarray:
    """
    Return a LIDAR input frame as a grey image to look at.

    A LIDAR input frame [2, ch, az] -> its range channel as a grey uint8 image, each pixel ``pixel_scale``
    times larger (a 32 x 64 range image is too small to look at).
    """
    grey = (np.clip(1.0 - frame[0], 0, 1) * 255 * (frame[0] > 0)).astype(np.uint8)    # near = bright
    return np.repeat(np.repeat(grey, pixel_scale, axis=0), pixel_scale, axis=1)
