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
The sensing config: a LIDAR's sensor model and the ways a camera image is fitted to the model.

``LidarConfig``: a LIDAR's beams, field of view and range, with the common spinning sensors; ``RESIZE_MODES``: crop
or letterbox.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..config import ConfigError, coerce

RESIZE_MODES = ('crop', 'letterbox')


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class LidarConfig:
    """
    A LIDAR's beams, field of view and range.

    A LIDAR: ``channels`` beams spread over ``vertical_fov`` (degrees, low..high), each sampled at
    ``azimuth_bins`` angles over ``horizontal_fov`` degrees (360: a spinning sensor; less: a forward-looking
    one, or a spinning sweep cropped to the sector ahead, centred on +x), returns beyond ``max_range``
    metres dropped. Sensor frame (REP 103): x forward, y left, z up; azimuth 0 is +x, increasing
    counter-clockwise, and so does the column index.
    """

    channels: int = 16
    azimuth_bins: int = 256
    vertical_fov: tuple = (-30.0, 10.0)
    max_range: float = 20.0
    horizontal_fov: float = 360.0
    min_range: float = 0.0                   # returns nearer than this (the vehicle itself) are dropped
    beam_elevations: tuple = ()              # degrees, one per row, top first; () = spread evenly over vertical_fov
    ring_zero: str = 'bottom'                # a cloud's ``ring`` 0 is the bottom beam (Velodyne) or the top (Ouster)

    def __post_init__(self):
        _check(isinstance(self.channels, int) and self.channels > 0, f'lidar channels must be > 0, got {self.channels}')
        _check(isinstance(self.azimuth_bins, int) and self.azimuth_bins > 0,
               f'lidar azimuth_bins must be > 0, got {self.azimuth_bins}')
        _check(len(self.vertical_fov) == 2 and -90 <= self.vertical_fov[0] < self.vertical_fov[1] <= 90,
               f'lidar vertical_fov must be (low, high) degrees within [-90, 90], got {self.vertical_fov}')
        _check(self.max_range > 0, f'lidar max_range must be > 0, got {self.max_range}')
        _check(0 < self.horizontal_fov <= 360,
               f'lidar horizontal_fov must be in (0, 360] degrees, got {self.horizontal_fov}')
        _check(0 <= self.min_range < self.max_range,
               f'lidar min_range must be in [0, max_range), got {self.min_range}')
        _check(self.ring_zero in ('bottom', 'top'), f'lidar ring_zero must be bottom or top, got {self.ring_zero!r}')
        beams = tuple(float(b) for b in self.beam_elevations)
        _check(not beams or (len(beams) == self.channels and all(a > b for a, b in zip(beams, beams[1:]))
                             and self.vertical_fov[0] <= beams[-1] and beams[0] <= self.vertical_fov[1]),
               f'lidar beam_elevations must be {self.channels} angles, top first, strictly falling, within '
               f'vertical_fov {self.vertical_fov}; got {len(beams)}')

    # The common spinning sensors, 360 degrees each (``LidarConfig.sensor``): beams as their data sheets give them.
    SENSORS = ('hdl64', 'os-64', 'os-128', 'vlp16')

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'LidarConfig':
        return coerce(cls, data)

    @classmethod
    def sensor(cls, name: str, azimuth_bins: int = 1024) -> 'LidarConfig':
        """
        Return the sensor model of a common spinning LIDAR.

        hdl64: Velodyne HDL-64E class (64 beams, +2 to -8.33 degrees at 1/3, -8.83 to -24.8 at about 1/2; 80 m as
        the KITTI sweeps reach); os-64 / os-128: Ouster OS1 class (+-16.6 / +-22.5 degrees, evenly; 120 m; ring 0 the
        top beam); vlp16: Velodyne VLP-16 (+-15 degrees, 2 apart; 100 m).
        """
        if name == 'hdl64':
            beams = tuple(round(a + (b - a) * i / 31, 3) for a, b in ((2.0, -8.33), (-8.83, -24.8)) for i in range(32))
            return cls(channels=64, azimuth_bins=azimuth_bins, vertical_fov=(-24.8, 2.0), max_range=80.0,
                       min_range=1.3, beam_elevations=beams, ring_zero='bottom')
        if name in ('os-64', 'os-128'):
            half = 16.6 if name == 'os-64' else 22.5
            return cls(channels=int(name[3:]), azimuth_bins=azimuth_bins, vertical_fov=(-half, half),
                       max_range=120.0, min_range=0.8, ring_zero='top')
        if name == 'vlp16':
            return cls(channels=16, azimuth_bins=azimuth_bins, vertical_fov=(-15.0, 15.0), max_range=100.0,
                       min_range=0.5, ring_zero='bottom')
        raise ConfigError(f'unknown LIDAR sensor {name!r}; known: {", ".join(cls.SENSORS)}')
