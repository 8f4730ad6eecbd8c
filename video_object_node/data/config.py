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

"""The data config: ``SimConfig``, the simulated clips (scenes, objects, camera, LIDAR) and its presets."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

from ..config import ConfigError, coerce
from ..palette import SHAPES
from ..sensing.config import LidarConfig


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class SimConfig:
    """
    A family of simulated clips (PyBullet): objects on a ground plane, a moving camera, a LIDAR.

    Lengths in metres, angles in degrees, speeds per second. Ranges are (low, high) sampled uniformly
    per clip.
    """

    height: int = 64
    width: int = 64
    frames: int = 16
    min_objects: int = 3
    max_objects: int = 5
    shapes: tuple = ('cube', 'sphere', 'cylinder', 'capsule')
    object_size: tuple = (0.6, 1.0)          # edge length / diameter
    object_mass: tuple = (0.5, 3.0)          # kg
    spawn_radius: float = 1.2                # objects start within this disc around the origin
    object_speed: tuple = (0.0, 1.5)         # initial horizontal speed
    frame_rate: float = 8.0                  # camera frames per simulated second
    physics_rate: float = 240.0
    camera_fov: float = 40.0                 # vertical field of view
    camera_distance: tuple = (3.2, 4.2)      # horizontal distance from the scene centre; close enough
    camera_height: tuple = (2.2, 3.2)        # that objects cover ~25% of the frame
    camera_speed: tuple = (0.15, 0.4)        # orbit rad/s, pan rad/s, random-walk step scale
    trajectories: tuple = ('static', 'orbit', 'pan', 'random_walk')
    shadows: bool = True
    colours: str = 'hue'                     # 'hue': a random hue, saturation and value per object;
                                             # 'palette': MOVi-A's 8 CLEVR colours (objects share colours)
    ground: str = 'plain'                    # 'plain': one flat grey; 'textured': a procedural texture per scene
    walls: bool = False                      # four textured walls around the scene (a structured background)
    room_size: float = 14.0                  # side of the square ground (and of the walls' square), metres
    agents: tuple = ()                       # road agents placed instead of ``shapes`` (``AGENTS``): boxes of
                                             # their size (x ``object_size``), moving along their heading
    lane_width: float = 0.0                  # a lane along the world x axis kept free (the 'drive' trajectory's)
    clutter: int = 0                         # static background per scene: poles and buildings (labelled 0)
    lidar: LidarConfig | None = None

    PRESETS = ('movi-a-like', 'tiny', 'lidar', 'textured', 'road', 'city')
    # length, width, height (m) and the share of ``object_speed`` each reaches
    AGENTS = {'car': (4.4, 1.8, 1.5, 1.0), 'cyclist': (1.8, 0.6, 1.7, 0.6), 'person': (0.6, 0.6, 1.75, 0.25)}
    GROUNDS = ('plain', 'textured')
    COLOURS = ('palette', 'hue')
    SHAPES = SHAPES
    TRAJECTORIES = ('static', 'orbit', 'pan', 'random_walk', 'drive')

    def __post_init__(self):
        for name in ('height', 'width', 'frames', 'min_objects'):
            value = getattr(self, name)
            _check(isinstance(value, int) and value > 0, f'{name} must be a positive integer, got {value!r}')
        _check(isinstance(self.max_objects, int) and self.max_objects >= self.min_objects,
               f'max_objects must be an integer >= min_objects ({self.min_objects}), got {self.max_objects!r}')
        _check(self.max_objects <= 20, f'max_objects must be <= 20, got {self.max_objects}')
        _check(len(self.shapes) > 0 and set(self.shapes) <= set(self.SHAPES),
               f'shapes must be a non-empty subset of {self.SHAPES}, got {self.shapes}')
        _check(len(self.trajectories) > 0 and set(self.trajectories) <= set(self.TRAJECTORIES),
               f'trajectories must be a non-empty subset of {self.TRAJECTORIES}, got {self.trajectories}')
        for name in ('object_size', 'object_mass', 'object_speed', 'camera_distance', 'camera_height',
                     'camera_speed'):
            lo, hi = getattr(self, name)
            _check(0 <= lo <= hi, f'{name} must be (low, high) with 0 <= low <= high, got {getattr(self, name)}')
        _check(self.object_size[0] > 0 and self.object_mass[0] > 0, 'object sizes and masses must be > 0')
        _check(0 < self.camera_fov < 170, f'camera_fov must be in (0, 170) degrees, got {self.camera_fov}')
        _check(self.frame_rate > 0 and self.physics_rate >= self.frame_rate,
               f'need 0 < frame_rate <= physics_rate, got {self.frame_rate}, {self.physics_rate}')
        _check(self.spawn_radius > 0, f'spawn_radius must be > 0, got {self.spawn_radius}')
        _check(set(self.agents) <= set(self.AGENTS),
               f'agents must be a subset of {tuple(self.AGENTS)}, got {self.agents}')
        _check(self.lane_width >= 0 and isinstance(self.clutter, int) and 0 <= self.clutter <= 60,
               f'lane_width must be >= 0 and clutter an integer in [0, 60], got {self.lane_width}, {self.clutter}')
        _check('drive' not in self.trajectories or len(self.trajectories) == 1,
               "the 'drive' trajectory (a road scene's sensor) cannot be mixed with the others")
        _check(self.colours in self.COLOURS, f'colours must be one of {self.COLOURS}, got {self.colours!r}')
        _check(self.ground in self.GROUNDS, f'ground must be one of {self.GROUNDS}, got {self.ground!r}')
        _check(isinstance(self.walls, bool), f'walls must be true or false, got {self.walls!r}')
        _check(not self.walls or self.room_size > 2 * (self.spawn_radius + max(self.camera_distance)),
               f'room_size {self.room_size} m must exceed twice spawn_radius + camera distance '
               f'({2 * (self.spawn_radius + max(self.camera_distance)):.1f} m): the camera would leave the room')

    @classmethod
    def preset(cls, name: str, **overrides) -> 'SimConfig':
        """
        Return a named family of clips with ``overrides`` applied.

        ``movi-a-like``: 64x64, T=16, 3-5 objects. ``tiny``: 32x32, T=8, 3-5 objects. ``lidar``: 64x64 camera and a
        32-channel LIDAR over the 90 degrees ahead (32x64 range images, 8 m range), T=8, sensor low and close so objects
        fill the sweep. ``textured``: movi-a-like with a procedural ground texture and textured walls per scene
        (ego-motion becomes visible; colour alone no longer separates objects from the background) and MOVi-A's palette
        colours. ``road``: a real spinning LIDAR's world: 4-12 cars, cyclists and people within 25 m, moving along
        their heading, poles and buildings as clutter, seen by a 360-degree HDL-64-class sensor (64 x 256 range
        images, 80 m) 1.73 m above the road, driving along a free lane at 0-8 m/s; 10 Hz, T=8. ``city``: the road's
        world as dense and as far as a city sweep (SemanticKITTI 00/05/08: 13-14 labelled objects a sweep, median 25-28
        m away, the farthest tenth beyond 36-43 m; ``road`` has 8, median 17 m, none beyond 25 m): 8-18 agents within
        45 m, 28 pieces of clutter.
        """
        if name == 'movi-a-like':
            base = cls()
        elif name == 'tiny':
            base = cls(height=32, width=32, frames=8)
        elif name == 'lidar':
            base = cls(frames=8, camera_distance=(3.0, 4.0), camera_height=(1.2, 2.0),
                       lidar=LidarConfig(channels=32, azimuth_bins=64, vertical_fov=(-40.0, 5.0), max_range=8.0,
                                         horizontal_fov=90.0))
        elif name == 'textured':
            base = cls(ground='textured', walls=True, colours='palette', room_size=12.0, camera_height=(1.4, 2.2))
        elif name == 'road':
            base = cls(frames=8, frame_rate=10.0, min_objects=4, max_objects=12, agents=tuple(cls.AGENTS),
                       object_size=(0.85, 1.15), object_mass=(50.0, 1500.0), spawn_radius=25.0,
                       object_speed=(0.0, 8.0), camera_distance=(0.0, 0.0), camera_height=(1.73, 1.73),
                       camera_speed=(0.0, 8.0), trajectories=('drive',), lane_width=4.0, clutter=16,
                       shadows=False, lidar=LidarConfig.sensor('hdl64', azimuth_bins=256))
        elif name == 'city':
            base = dataclasses.replace(cls.preset('road'), min_objects=8, max_objects=18, spawn_radius=45.0, clutter=28)
        else:
            raise ConfigError(f'unknown preset {name!r}; known presets: {", ".join(cls.PRESETS)}')
        return dataclasses.replace(base, **overrides) if overrides else base

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'SimConfig':
        data = dict(data)
        lidar = data.pop('lidar', None)
        cfg = coerce(cls, data)
        return dataclasses.replace(cfg, lidar=LidarConfig.from_dict(lidar)) if lidar is not None else cfg

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))
