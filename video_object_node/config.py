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
Configuration dataclasses: the one source of truth for every number that matters.

Each config is a frozen dataclass with named presets, validated on construction, and loadable from a
YAML/JSON mapping (``from_dict``) so that files, bundles and command-line overrides all go through
the same checks.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

__all__ = ['ConfigError', 'SimoneConfig', 'SimConfig', 'LidarConfig', 'TrainConfig', 'load_yaml', 'apply_overrides']


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type, or out of range."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _coerce(cls, data: Mapping[str, Any]):
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and turning lists into tuples."""
    if not isinstance(data, Mapping):
        raise ConfigError(f'{cls.__name__}: expected a mapping, got {type(data).__name__}')
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    _check(not unknown, f'{cls.__name__}: unknown key(s) {unknown}; known keys: {sorted(names)}')
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**kwargs)


@dataclass(frozen=True)
class SimoneConfig:
    """
    Architecture and loss of a SIMONe model (Kabra et al. 2021), shared by training and runtime.

    Shapes: a window is ``[B, T, C, H, W]``; the frame CNN gives a ``grid`` of S = gh*gw encodings
    per frame; pooling reduces the S encodings of each frame to K = slot_grid[0]*slot_grid[1].
    """

    modality: str = 'camera'                 # 'camera' (RGB) or 'lidar' (range image)
    motion_input: bool = False               # camera: each frame also carries its motion against the previous
                                             # frame (sensing/motion.py: 2 channels after RGB, so channels = 5);
                                             # the decoder then draws each slot's motion as well as its colour
    height: int = 64
    width: int = 64
    channels: int = 3
    frames: int = 16                         # T, the window length
    conv_channels: tuple = (128, 128, 128)
    conv_strides: tuple = (2, 2, 2)          # product of strides divides height and width
    slot_grid: tuple = (4, 4)                # pooled grid; K = slot_grid[0] * slot_grid[1]
    slot_reduction: str = 'pool'             # 'pool' (fixed regions), 'compete' (pooled, then slots compete
                                             # for the encodings: softmax over slots, 2 rounds) or
                                             # 'slot_attention' (learned initial slots bind to objects across
                                             # the whole window; the slot grid then only names the grid baseline)
    slot_iterations: int = 2                 # slot_attention: rounds of attention (the last one through a
                                             # detached fixed point: implicit differentiation)
    placement: bool = False                  # per-frame placement of each slot (position, scale) predicted by the
                                             # encoder; the decoder draws a slot in its own coordinates
    frame_tokens: bool = False               # frame latents also read the frame's spatial tokens in their layout
                                             # (flattened), not only their mean over slots: motion of the ground
                                             # between frames survives into them (the viewpoint needs it)
    frame_motion: bool = False               # frame latents also read where each frame's features are found in the
                                             # window's first frame (soft-argmax of their correlation): the motion
                                             # of the image against the first frame, the viewpoint's main cue
    pose_head: bool = False                  # a head on the frame latents that predicts the viewpoint
    attribute_heads: bool = False            # heads on the object latents: colour, shape, size, presence
    num_slots: int = 16                      # K, must equal the pooled grid's size
    model_dim: int = 320                     # transformer width
    num_heads: int = 5
    ff_dim: int = 1024
    spatial_layers: int = 4                  # transformer layers over S*T encodings
    attention: str = 'joint'                 # those layers: 'joint' (every encoding attends to all S*T, as the
                                             # paper) or 'factorised' (within each frame, then across time at each
                                             # grid position: T*S^2 + S*T^2 pairs instead of (T*S)^2)
    slot_layers: int = 4                     # transformer layers over K*T encodings
    pos_encoding: str = 'learned'            # 'learned' or 'sinusoidal'
    object_dim: int = 32                     # D, object latent size
    frame_dim: int = 32                      # frame latent size
    min_log_scale: float = -7.0              # posterior log-std clamp; max <= 0 blocks the
    max_log_scale: float = 0.0               # "noise as a colour palette" optimum
    cond_dim: int = 0                        # optional conditioning vector (claim 8); 0 = none
    decoder: str = 'mlp'                     # 'mlp' (per-pixel, as the paper) or 'broadcast'
    decoder_hidden: int = 512
    decoder_layers: int = 5
    decoder_upsamples: int = 2               # broadcast decoder: grid is (H, W) / 2**upsamples
    coord_frequencies: int = 0               # Fourier features of (x, y, t) for the MLP decoder
    mask_logit_norm: bool = True             # LayerNorm over the K mixture logits
    decoder_time: bool = True                # the decoder reads t; off: frame-to-frame change only via frame latents
    likelihood: str = 'mixture'              # 'mixture' (exact) or 'blended' (Gaussian on blended mean)
    pixel_sigma: float = 0.08
    alpha: float = 0.2                       # weight of the reconstruction NLL
    beta_object: float = 1e-5
    beta_frame: float = 1e-4
    train_frames: int = 0                    # frames decoded per training step; 0 = T // 2
    train_pixel_stride: int = 2              # decode every n-th pixel in x and y when training

    PRESETS = ('paper', 'small', 'small-objects', 'real-motion')
    SLOT_REDUCTIONS = ('pool', 'compete', 'slot_attention')
    ATTENTIONS = ('joint', 'factorised')

    def __post_init__(self):
        _check(self.modality in ('camera', 'lidar'), f"modality must be 'camera' or 'lidar', got {self.modality!r}")
        for name in ('height', 'width', 'channels', 'frames', 'num_slots', 'model_dim', 'num_heads',
                     'ff_dim', 'object_dim', 'frame_dim', 'decoder_hidden', 'train_pixel_stride'):
            value = getattr(self, name)
            _check(isinstance(value, int) and value > 0, f'{name} must be a positive integer, got {value!r}')
        for name in ('spatial_layers', 'slot_layers', 'cond_dim', 'coord_frequencies', 'train_frames',
                     'decoder_upsamples'):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 0, f'{name} must be an integer >= 0, got {value!r}')
        _check(self.decoder_layers >= 2, f'decoder_layers must be >= 2, got {self.decoder_layers}')
        _check(self.slot_reduction in self.SLOT_REDUCTIONS,
               f'slot_reduction must be one of {self.SLOT_REDUCTIONS}, got {self.slot_reduction!r}')
        _check(self.attention in self.ATTENTIONS, f'attention must be one of {self.ATTENTIONS}, got {self.attention!r}')
        _check(isinstance(self.slot_iterations, int) and 1 <= self.slot_iterations <= 8,
               f'slot_iterations must be an integer in 1..8, got {self.slot_iterations!r}')
        _check(len(self.conv_channels) == len(self.conv_strides) and len(self.conv_channels) > 0,
               f'conv_channels {self.conv_channels} and conv_strides {self.conv_strides} must be non-empty '
               'and of equal length')
        _check(all(s in (1, 2) for s in self.conv_strides), f'conv_strides must be 1 or 2, got {self.conv_strides}')
        down = self.downsample
        _check(self.height % down == 0 and self.width % down == 0,
               f'image {self.height}x{self.width} is not divisible by the CNN downsampling {down}')
        _check(len(self.slot_grid) == 2 and all(isinstance(g, int) and g > 0 for g in self.slot_grid),
               f'slot_grid must be two positive integers, got {self.slot_grid}')
        gh, gw = self.grid
        _check(self.slot_grid[0] <= gh and self.slot_grid[1] <= gw,
               f'slot_grid {self.slot_grid} is larger than the CNN grid {self.grid}')
        _check(self.num_slots == self.slot_grid[0] * self.slot_grid[1],
               f'num_slots K={self.num_slots} does not match the pooled grid {self.slot_grid} '
               f'({self.slot_grid[0] * self.slot_grid[1]} slots)')
        _check(self.model_dim % self.num_heads == 0,
               f'model_dim {self.model_dim} is not divisible by num_heads {self.num_heads}')
        _check(self.pos_encoding in ('learned', 'sinusoidal'),
               f"pos_encoding must be 'learned' or 'sinusoidal', got {self.pos_encoding!r}")
        for name in ('mask_logit_norm', 'decoder_time', 'placement', 'frame_tokens', 'frame_motion', 'pose_head',
                     'attribute_heads', 'motion_input'):
            _check(isinstance(getattr(self, name), bool), f'{name} must be true or false, got {getattr(self, name)!r}')
        _check(self.decoder in ('mlp', 'broadcast'), f"decoder must be 'mlp' or 'broadcast', got {self.decoder!r}")
        _check(self.likelihood in ('mixture', 'blended'),
               f"likelihood must be 'mixture' or 'blended', got {self.likelihood!r}")
        if self.decoder == 'broadcast':
            up = 2 ** self.decoder_upsamples
            _check(self.height % up == 0 and self.width % up == 0,
                   f'image {self.height}x{self.width} is not divisible by 2**decoder_upsamples = {up}')
        _check(self.pixel_sigma > 0, f'pixel_sigma must be > 0, got {self.pixel_sigma}')
        _check(self.min_log_scale < self.max_log_scale,
               f'min_log_scale {self.min_log_scale} must be < max_log_scale {self.max_log_scale}')
        for name in ('alpha', 'beta_object', 'beta_frame'):
            _check(getattr(self, name) >= 0, f'{name} must be >= 0, got {getattr(self, name)}')
        _check(self.train_frames <= self.frames, f'train_frames {self.train_frames} exceeds frames {self.frames}')
        if self.motion_input:
            _check(self.modality == 'camera' and self.channels == 5,
                   f'motion_input needs a camera model with 5 channels (RGB + 2 of motion), got {self.modality} with '
                   f'{self.channels}')

    @property
    def image_channels(self) -> int:
        """Channels of the sensor's own image (without the motion channels the model adds)."""
        return self.channels - 2 if self.motion_input else self.channels

    # Derived sizes ---------------------------------------------------------------------------
    @property
    def downsample(self) -> int:
        out = 1
        for s in self.conv_strides:
            out *= s
        return out

    @property
    def grid(self) -> tuple:
        """(gh, gw): the CNN's output grid; S = gh * gw encodings per frame."""
        return (self.height // self.downsample, self.width // self.downsample)

    @property
    def num_spatial(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def decoded_train_frames(self) -> int:
        return self.train_frames or max(1, self.frames // 2)

    # Construction ------------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides) -> 'SimoneConfig':
        """
        Return a named architecture with ``overrides`` applied.

        ``paper``: the published architecture (64x64, T=16, K=16). ``small``: the same code path sized for CPU training
        (32x32, T=8, K=6, broadcast decoder, blended-mean likelihood: the combination that made slots compete on small
        machines, see REPORT.md). ``small-objects``: ``small`` with object-bound slots (slot attention over the window,
        per-frame placement), the pose and attribute heads that heterogeneous training supervises, and free mask logits
        (a LayerNorm over 6 logits caps the largest mixture weight near 0.75 until the learned temperature grows).
        ``real-motion``: ``small-objects`` at 64x64 (an 8x8 token grid) reading each frame's motion as two more channels
        (``sensing/motion.py``) and drawing it back: motion is what binds real objects without labels.
        """
        if name == 'paper':
            base = cls()
        elif name == 'small':
            base = cls(height=32, width=32, frames=8, conv_channels=(64, 64, 64), conv_strides=(2, 2, 2),
                       slot_grid=(2, 3), num_slots=6, model_dim=64, num_heads=4, ff_dim=128,
                       spatial_layers=2, slot_layers=2, object_dim=16, frame_dim=8,
                       decoder='broadcast', decoder_hidden=32, decoder_layers=5, decoder_upsamples=2,
                       likelihood='blended', pixel_sigma=0.08, alpha=1.0, beta_object=1e-3,
                       beta_frame=1e-3, train_pixel_stride=1)
        elif name == 'small-objects':
            base = dataclasses.replace(cls.preset('small'), slot_reduction='slot_attention', placement=True,
                                       frame_tokens=True, frame_motion=True, pose_head=True, attribute_heads=True,
                                       mask_logit_norm=False)
        elif name == 'real-motion':
            base = dataclasses.replace(cls.preset('small-objects'), height=64, width=64, channels=5,
                                       motion_input=True)
        else:
            raise ConfigError(f'unknown preset {name!r}; known presets: {", ".join(cls.PRESETS)}')
        return dataclasses.replace(base, **overrides) if overrides else base

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'SimoneConfig':
        """Build from a mapping; ``preset: NAME`` picks the base and the other keys override it."""
        data = dict(data)
        preset = data.pop('preset', None)
        if preset is None:
            return _coerce(cls, data)
        base = cls.preset(preset)
        return _coerce(cls, {**base.to_dict(), **data})

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, with a one-line error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f'config file not found: {path}')
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f'{path}: not valid YAML ({str(exc).splitlines()[0]})') from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected a mapping at the top level, got {type(data).__name__}')
    return data


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``section.key=value`` overrides (values parsed as YAML) to a nested mapping."""
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for item in overrides:
        if '=' not in item:
            raise ConfigError(f'override {item!r} is not of the form key=value')
        key, raw = item.split('=', 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f'override {item!r}: value is not valid YAML') from None
        node = data
        parts = key.split('.')
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f'override {item!r}: {part!r} is not a section')
        node[parts[-1]] = value
    return data


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
        return _coerce(cls, data)

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

    PRESETS = ('movi-a-like', 'tiny', 'lidar', 'textured', 'road')
    # length, width, height (m) and the share of ``object_speed`` each reaches
    AGENTS = {'car': (4.4, 1.8, 1.5, 1.0), 'cyclist': (1.8, 0.6, 1.7, 0.6), 'person': (0.6, 0.6, 1.75, 0.25)}
    GROUNDS = ('plain', 'textured')
    COLOURS = ('palette', 'hue')
    SHAPES = ('cube', 'sphere', 'cylinder', 'capsule')
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
        images, 80 m) 1.73 m above the road, driving along a free lane at 0-8 m/s; 10 Hz, T=8.
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
        else:
            raise ConfigError(f'unknown preset {name!r}; known presets: {", ".join(cls.PRESETS)}')
        return dataclasses.replace(base, **overrides) if overrides else base

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'SimConfig':
        data = dict(data)
        lidar = data.pop('lidar', None)
        cfg = _coerce(cls, data)
        return dataclasses.replace(cfg, lidar=LidarConfig.from_dict(lidar)) if lidar is not None else cfg

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping of a training run (the ``train:`` section of a training YAML)."""

    data: str = 'data/movi'                  # a data set folder made by video-object-sim
    init_from: str = ''                      # a bundle whose weights start a new run (fine-tuning); '' = random
    init_from_pretrained: str = ''           # a video-object-pretrain run whose CNN encoder starts the frame encoder
    steps: int = 20000
    batch_size: int = 32
    lr: float = 4e-4
    warmup_steps: int = 500
    grad_clip: float = 1.0
    seed: int = 0
    num_threads: int = 2                     # torch CPU threads per process
    amp: str = 'auto'                        # 'auto' (bf16 on CUDA), 'bf16', or 'off'
    log_every: int = 50                      # TensorBoard scalars
    eval_every: int = 1000                   # validation metrics + images
    eval_clips: int = 32
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    # Heterogeneous training: several data sets, each a mapping {data: folder, weight: share of each batch
    # (default 1), labels: which of its labels the losses may use (default all it has: masks, pose,
    # attributes; [] = unlabelled; foreground: its masks as one object's alone), elbo: the weight of its clips' ELBO
    # (default 1; below 1 lets a teacher such as motion_mask outweigh reconstruction on that source), teacher:
    # 'motion' (full-resolution residual motion), 'motion-edges' (the same refined along the frames' edges) or a
    # bundle folder (a self-training round:
    # that model's segments where they agree with the motion) as the clips' foreground for the foreground loss}.
    # Empty: ``data`` alone, with all its labels.
    sources: tuple = ()
    # Weights of the supervised losses (mask, placement, pose, attributes); each applies only to the clips of
    # a batch that carry its label. All 0 (the default) is pure unsupervised ELBO training.
    losses: dict = dataclasses.field(default_factory=dict)
    balance: str = 'fixed'                   # 'fixed' (weights as given), 'running_mean' (each term divided
                                             # by its running mean first) or 'uncertainty' (learned weights)

    SOURCE_KEYS = ('data', 'weight', 'labels', 'elbo', 'teacher')
    # 'foreground': the data set's masks read as one object's mask alone (a real sequence's annotated foreground:
    # the rest of the scene is not one segment), for the foreground loss; not among the defaults.
    LABEL_KINDS = ('masks', 'pose', 'attributes')
    EXTRA_LABEL_KINDS = ('foreground',)
    LOSSES = ('mask', 'placement', 'pose', 'attributes', 'motion', 'motion_mask', 'foreground')
    BALANCES = ('fixed', 'running_mean', 'uncertainty')

    def __post_init__(self):
        for name in ('steps', 'batch_size', 'num_threads', 'log_every', 'eval_every', 'eval_clips',
                     'checkpoint_every', 'keep_checkpoints'):
            value = getattr(self, name)
            _check(isinstance(value, int) and value > 0, f'train.{name} must be a positive integer, got {value!r}')
        _check(isinstance(self.warmup_steps, int) and self.warmup_steps >= 0,
               f'train.warmup_steps must be >= 0, got {self.warmup_steps!r}')
        _check(self.lr > 0, f'train.lr must be > 0, got {self.lr}')
        _check(self.grad_clip > 0, f'train.grad_clip must be > 0, got {self.grad_clip}')
        _check(self.amp in ('auto', 'bf16', 'off'), f"train.amp must be 'auto', 'bf16' or 'off', got {self.amp!r}")
        _check(self.balance in self.BALANCES, f'train.balance must be one of {self.BALANCES}, got {self.balance!r}')
        _check(isinstance(self.losses, Mapping), f'train.losses must be a mapping of loss weights, got {self.losses!r}')
        unknown = sorted(set(self.losses) - set(self.LOSSES))
        _check(not unknown, f'train.losses: unknown loss(es) {unknown}; known: {list(self.LOSSES)}')
        for name, weight in self.losses.items():
            _check(isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight >= 0,
                   f'train.losses.{name} must be a number >= 0, got {weight!r}')
        for i, source in enumerate(self.sources):
            _check(isinstance(source, Mapping) and 'data' in source,
                   f'train.sources[{i}] must be a mapping with at least data: FOLDER, got {source!r}')
            unknown = sorted(set(source) - set(self.SOURCE_KEYS))
            _check(not unknown, f'train.sources[{i}]: unknown key(s) {unknown}; known: {list(self.SOURCE_KEYS)}')
            weight = source.get('weight', 1.0)
            _check(isinstance(weight, (int, float)) and weight > 0,
                   f'train.sources[{i}].weight must be a number > 0, got {weight!r}')
            elbo = source.get('elbo', 1.0)
            _check(isinstance(elbo, (int, float)) and not isinstance(elbo, bool) and 0 <= elbo <= 1,
                   f'train.sources[{i}].elbo must be a number in [0, 1], got {elbo!r}')
            labels = source.get('labels', list(self.LABEL_KINDS))
            kinds = self.LABEL_KINDS + self.EXTRA_LABEL_KINDS
            _check(isinstance(labels, (list, tuple)) and set(labels) <= set(kinds),
                   f'train.sources[{i}].labels must be a list drawn from {list(kinds)}, got {labels!r}')
            _check(not {'masks', 'foreground'} <= set(labels),
                   f'train.sources[{i}].labels: masks and foreground read the same masks; give one')
            teacher = source.get('teacher', '')
            _check(isinstance(teacher, str), f'train.sources[{i}].teacher must be motion, motion-edges, a bundle '
                   f'folder (a self-training round) or empty, got {teacher!r}')

    def source_list(self) -> list[dict]:
        """Return the data sources, each {data, weight, labels, elbo} with defaults filled in."""
        given = self.sources or ({'data': self.data},)
        return [{'data': str(s['data']), 'weight': float(s.get('weight', 1.0)),
                 'labels': tuple(s.get('labels', self.LABEL_KINDS)), 'elbo': float(s.get('elbo', 1.0)),
                 'teacher': str(s.get('teacher', ''))}
                for s in given]

    def loss_weight(self, name: str) -> float:
        return float(self.losses.get(name, 0.0))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'TrainConfig':
        data = dict(data)
        if isinstance(data.get('sources'), list):
            data['sources'] = tuple(dict(s) if isinstance(s, Mapping) else s for s in data['sources'])
        return _coerce(cls, data)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out['sources'] = [dict(s, labels=list(s['labels'])) if 'labels' in s else dict(s) for s in self.sources]
        out['losses'] = dict(self.losses)
        return out


BACKENDS = ('auto', 'tensorrt', 'torch', 'onnxruntime')
PRECISIONS = ('fp32', 'fp16', 'bf16', 'int8')
RESIZE_MODES = ('crop', 'letterbox')
RELIABILITIES = ('best_effort', 'reliable')
TRANSPORTS = ('raw', 'compressed')


def _param(default, description: str, *, read_only: bool = False, choices: tuple = (), range: tuple = ()):
    """
    Return a NodeConfig field with its ROS parameter metadata beside it.

    Description, read-only (needs a reconfigure), the allowed values or the (low, high) range.
    """
    return dataclasses.field(default=default, metadata={'description': description, 'read_only': read_only,
                                                        'choices': choices, 'range': range})


@dataclass(frozen=True)
class NodeConfig:
    """
    Parameters of the streaming pipeline, shared by the ROS node and bag replay.

    The node declares one ROS parameter per field, with the field's metadata (``node_parameters``);
    ``config/video_object.yaml`` holds the same defaults and descriptions in ``node_name: ros__parameters:`` form.
    """

    model_path: str = _param('', 'model bundle folder; empty = the embedded camera model (default-real: 64x64, reads '
                             'motion); default = the embedded 32x32 camera model; default-lidar = the embedded '
                             'LIDAR model (90 degrees, 8 m); default-lidar-360 = the model for a real 360-degree '
                             '64-beam LIDAR', read_only=True)
    backend: str = _param('auto', 'inference backend: auto (tensorrt, torch on CUDA, onnxruntime, torch on CPU) or '
                          'one of them', read_only=True, choices=BACKENDS)
    precision: str = _param('fp32', 'fp32, fp16 on CUDA backends, bf16 (torch backend; CUDA or a CPU with '
                            'AVX512-BF16/AMX), or int8 (the bundle\'s checked int8 exports in ONNX Runtime)',
                            read_only=True, choices=PRECISIONS)
    stride: int = _param(4, 'frames between windows (1 = a window for every frame once T are buffered)',
                         range=(1, 1024))
    max_frame_gap: float = _param(1.0, 'seconds; a longer gap between input stamps resets the window buffer',
                                  range=(0.001, 3600.0))
    torch_compile: bool = _param(False, 'torch backend: compile the encoder with torch.compile (inductor): about 1.5x '
                                 'faster in bf16 on the CPU, a minute of compiling at the first windows',
                                 read_only=True)
    num_threads: int = _param(2, 'CPU threads for torch / ONNX Runtime (0 = library default)', read_only=True,
                              range=(0, 64))
    input_reliability: str = _param('best_effort', 'input QoS reliability: best_effort (as camera drivers publish) '
                                    'or reliable', read_only=True, choices=RELIABILITIES)
    input_depth: int = _param(30, 'input QoS history depth: frames kept while the node is busy (30 = 1 s at 30 Hz; '
                              'at depth 10 a quiet 2-core machine lost 1.3% of frames at 30 Hz, at 30 none)',
                              read_only=True, range=(1, 1000))
    input_transport: str = _param('raw', 'camera input: raw (sensor_msgs/Image on image) or compressed '
                                  '(sensor_msgs/CompressedImage, JPEG/PNG, on image/compressed)', read_only=True,
                                  choices=TRANSPORTS)
    decode_masses: bool = _param(False, "decode each window's last frame at the model's size to publish each "
                                 "slot's pixel share")
    debug_image_scale: float = _param(1.0, "size of ~/debug_image relative to the input image (LIDAR: to 4x the "
                                      "range image)", range=(0.05, 1.0))
    edge_aware_segments: bool = _param(False, "~/debug_image and ~/query_mask: segments follow the image's edges "
                                       '(a guided filter of the upsampled masks; about 15 ms at 240x240, 40 ms at '
                                       '480x480 with 6 slots) instead of nearest-neighbour blocks')
    objectness_segments: bool = _param(True, "segments: each region the bundle's objectness finds goes to the "
                                       'slots that hold it, with its boundary (camera bundles with an objectness '
                                       'head: about 4 ms a window at 64x64 on one core; LIDAR bundles with '
                                       'lidar-clusters: the range image clustered by geometry; only when segments '
                                       'are decoded)')
    resize_mode: str = _param('crop', 'fit input to the model: crop (centre crop, then resize) or letterbox '
                              '(resize, pad)', choices=RESIZE_MODES)
    query_max_results: int = _param(5, 'rows of ~/query_result at most (best match first)', range=(1, 100))
    query_min_score: float = _param(0.3, 'objects scoring below this do not answer a query', range=(0.0, 1.0))
    query_forget_windows: int = _param(10, 'an object unseen for this many windows is forgotten by the query memory',
                                       range=(1, 10000))
    expected_rate_hz: float = _param(0.0, 'the input rate the sensor should deliver; /diagnostics warns when the rate '
                                     'over the last 5 s falls 20% below it (0 = no rate check)', range=(0.0, 10000.0))
    stale_input_s: float = _param(1.0, 'seconds without an input frame after which /diagnostics reports ERROR (stale '
                                  'input)', range=(0.05, 3600.0))
    odom_frame: str = _param('vo_odom', '~/odometry and tf: the odometry frame (the first camera of the first window)')
    child_frame: str = _param('vo_camera', "~/odometry and tf: the camera's frame in it (OpenCV axes; its own name, "
                              'not the input frame, so the robot\'s tf tree keeps one parent per frame)')
    publish_tf: bool = _param(False, 'also broadcast odom_frame -> child_frame on /tf (needs tf2_msgs)')
    queue_size: int = _param(32, 'frames waiting for the encoder before the oldest are dropped (and counted)',
                             range=(1, 10000))
    autostart: bool = _param(True, 'configure and activate at start, without a lifecycle manager', read_only=True)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if meta['choices']:
                _check(value in meta['choices'], f'{f.name} must be one of {meta["choices"]}, got {value!r}')
            elif isinstance(f.default, bool):
                _check(isinstance(value, bool), f'{f.name} must be true or false, got {value!r}')
            elif isinstance(f.default, int):
                lo, hi = meta['range']
                _check(isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi,
                       f'{f.name} must be an integer in [{lo}, {hi}], got {value!r}')
            elif isinstance(f.default, float):
                lo, hi = meta['range']
                _check(isinstance(value, (int, float)) and not isinstance(value, bool) and lo <= value <= hi,
                       f'{f.name} must be in [{lo:g}, {hi:g}], got {value!r}')
            else:
                _check(isinstance(value, str), f'{f.name} must be a string, got {value!r}')
        for name in ('odom_frame', 'child_frame'):
            frame = getattr(self, name)
            _check(bool(frame) and not frame.startswith('/') and not any(c.isspace() for c in frame),
                   f'{name} must be a tf frame name (not empty, no leading "/", no spaces), got {frame!r}')
        _check(self.odom_frame != self.child_frame, f'odom_frame and child_frame must differ, both {self.odom_frame!r}')

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'NodeConfig':
        return _coerce(cls, data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def node_parameters() -> dict:
    """Every node parameter: name -> (default, metadata: description, read_only, choices, range)."""
    return {f.name: (f.default, dict(f.metadata)) for f in dataclasses.fields(NodeConfig)}


def node_parameters_from_file(doc: Mapping[str, Any], node_name: str = 'video_object_node') -> dict:
    """
    Return the node's parameters from a ROS parameters file's mapping.

    The node's parameters in a ROS parameters file's mapping, as ROS applies them to a node of that name in any
    namespace: the wildcard key ``/**`` first, then keys naming the node (``video_object_node``,
    ``/video_object_node``, ``/ns/video_object_node``, ``/**/video_object_node``), each under ``ros__parameters``.
    """
    out: dict = {}
    keys = sorted(doc, key=lambda k: str(k).strip('/') != '**')            # the wildcard first, then the node
    for key in keys:
        name = str(key).strip('/')
        if name == '**' or name == node_name or name.endswith('/' + node_name):
            section = doc[key] or {}
            if not isinstance(section, Mapping) or not isinstance(section.get('ros__parameters', {}), Mapping):
                raise ConfigError(f'parameters file: {key!r} must hold a ros__parameters mapping')
            out.update(section.get('ros__parameters') or {})
    return out


def params_file_text() -> str:
    """config/video_object.yaml as it must read: every node parameter's description and default."""
    lines = ['# Defaults of the video_object_node parameters: the same defaults and descriptions as',
             '# video_object_node.config.NodeConfig (a test keeps them in step; regenerate with',
             '# python -c "from video_object_node.config import params_file_text as t; print(t(), end=\'\')").',
             '# ros2 run video_object_node video_object_node --ros-args --params-file config/video_object.yaml',
             '# Keyed /** so that it applies to the node under any namespace and name (ROS matches a node-specific key',
             '# such as /robot1/video_object_node: only in that namespace): to set one node of several, key it by its',
             '# full name.',
             '/**:', '  ros__parameters:']
    for name, (default, meta) in node_parameters().items():
        value = "''" if default == '' else yaml.safe_dump(default).splitlines()[0]
        lines += [f'    # {meta["description"]}', f'    {name}: {value}']
    return '\n'.join(lines) + '\n'
