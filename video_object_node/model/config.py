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
The model's config: ``SimoneConfig``, the architecture and loss of a SIMONe model, with its presets.

Torch-free data (``config.py`` reads and checks it): the runtime, the sensors and a bundle's ``config.json`` read it
without the model.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

from ..config import ConfigError, coerce


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


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
            return coerce(cls, data)
        base = cls.preset(preset)
        return coerce(cls, {**base.to_dict(), **data})

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


@dataclass(frozen=True)
class SiamMAEConfig:
    """
    Sizes of the pretraining model.

    The CNN encoder is built from ``simone`` (a SimoneConfig preset name or mapping) so that its weights fit the SIMONe
    model that will start from them.
    """

    encoder: str = 'cnn'              # 'cnn' (SIMONe's frame encoder) or 'vit'
    simone: str = 'small-objects'     # the SIMONe preset whose frame encoder (and input size) the CNN is
    vit_patch: int = 8
    vit_layers: int = 4
    decoder_layers: int = 2
    decoder_dim: int = 64
    heads: int = 4
    mask_ratio: float = 0.95          # of the future frame's patches
    gap: tuple = (1, 6)               # frames between past and future, sampled uniformly (inclusive)

    ENCODERS = ('cnn', 'vit')

    def check(self) -> None:
        if self.encoder not in self.ENCODERS:
            raise ConfigError(f'pretrain encoder must be one of {self.ENCODERS}, got {self.encoder!r}')
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ConfigError(f'mask_ratio must be in [0, 1), got {self.mask_ratio}')
        if len(self.gap) != 2 or not 1 <= self.gap[0] <= self.gap[1]:
            raise ConfigError(f'gap must be (low, high) frames with 1 <= low <= high, got {self.gap}')
        if self.decoder_dim % self.heads:
            raise ConfigError(f'decoder_dim {self.decoder_dim} is not divisible by heads {self.heads}')

    def simone_config(self) -> SimoneConfig:
        return SimoneConfig.preset(self.simone) if isinstance(self.simone, str) else SimoneConfig.from_dict(self.simone)
