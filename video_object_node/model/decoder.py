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
SIMONe decoders: every decoded pixel is a mixture over the K objects.

Both decoders read an object latent, a frame latent and (optionally) a conditioning vector, and
return for each object k, decoded frame t and decoded pixel an RGB mean and a mixture logit:
``[B, K, Td, C + 1, h, w]`` for the frames ``frame_idx`` and the pixel rows/columns ``ys``/``xs``.

- ``MlpDecoder`` (the paper): an MLP of ``[z_obj_k, z_frame_t, x, y, t]`` per pixel.
- ``BroadcastDecoder``: a per-slot spatial-broadcast CNN (allowed by claim 5: any image decoder).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import SimoneConfig


def pixel_coordinates(cfg: SimoneConfig, frame_idx: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """(x, y, t) of the decoded pixels, each in [-1, 1] at pixel centres -> [Td, h, w, 3]."""
    x = (xs.float() + 0.5) / cfg.width * 2 - 1
    y = (ys.float() + 0.5) / cfg.height * 2 - 1
    t = frame_time(cfg, frame_idx)
    td, h, w = len(frame_idx), len(ys), len(xs)
    return torch.stack([x[None, None, :].expand(td, h, w), y[None, :, None].expand(td, h, w),
                        t[:, None, None].expand(td, h, w)], dim=-1)


def slot_coordinates(xy: torch.Tensor, placement: torch.Tensor) -> torch.Tensor:
    """
    Image coordinates ``xy`` [..., 2] seen from each slot's placement [B, K, Td, 4] (centre, half-extent).

    (xy - centre) / scale, so a slot draws its object the same wherever the encoder placed it. ``xy`` broadcasts against
    [B, K, Td, 1, ..., 1, 2] after the placement's axes.
    """
    extra = xy.dim() - 1
    centre = placement[..., :2].reshape(*placement.shape[:3], *([1] * extra), 2)
    scale = placement[..., 2:].reshape(*placement.shape[:3], *([1] * extra), 2)
    return (xy - centre) / scale


def frame_time(cfg: SimoneConfig, frame_idx: torch.Tensor) -> torch.Tensor:
    """
    Return the decoder's time input of each decoded frame in [-1, 1].

    0 for all when ``decoder_time`` is off, so that whatever changes from frame to frame has to come through the frame
    latents.
    """
    t = frame_idx.float() / max(cfg.frames - 1, 1) * 2 - 1
    return t if cfg.decoder_time else torch.zeros_like(t)


def fourier_features(coords: torch.Tensor, frequencies: int) -> torch.Tensor:
    """[..., 3] -> [..., 3 + 6 * frequencies]: the coordinates and their sin/cos at octave frequencies."""
    if frequencies == 0:
        return coords
    scales = (2.0 ** torch.arange(frequencies, dtype=coords.dtype, device=coords.device)) * math.pi
    angles = coords[..., None] * scales                                       # [..., 3, F]
    return torch.cat([coords, angles.sin().flatten(-2), angles.cos().flatten(-2)], dim=-1)


class MlpDecoder(nn.Module):
    """
    Per-pixel MLP decoder of the paper.

    The first layer is split by input so that object, frame and pixel terms are computed once each and broadcast-added:
    [B,K,1,1,H] + [B,1,Td,1,H] + [Td,P,H].

    Parameters
    ----------
        cfg: decoder_hidden, decoder_layers, coord_frequencies, object/frame/cond dims.

    """

    def __init__(self, cfg: SimoneConfig):
        super().__init__()
        self.cfg = cfg
        hidden = cfg.decoder_hidden
        self.from_object = nn.Linear(cfg.object_dim, hidden)
        self.from_frame = nn.Linear(cfg.frame_dim, hidden, bias=False)
        self.from_coords = nn.Linear(3 + 6 * cfg.coord_frequencies, hidden, bias=False)
        self.from_cond = nn.Linear(cfg.cond_dim, hidden, bias=False) if cfg.cond_dim else None
        layers = []
        for _ in range(cfg.decoder_layers - 2):
            layers += [nn.ReLU(), nn.Linear(hidden, hidden)]
        self.trunk = nn.Sequential(*layers, nn.ReLU(), nn.Linear(hidden, cfg.channels + 1))

    def forward(self, z_obj, z_frame, frame_idx, ys, xs, cond=None, placement=None):
        b, k, _ = z_obj.shape
        coords = pixel_coordinates(self.cfg, frame_idx, ys, xs).to(z_obj)     # [Td, h, w, 3]
        td, h, w, _ = coords.shape
        obj = self.from_object(z_obj)                                          # [B, K, H]
        if self.from_cond is not None:
            obj = obj + self.from_cond(cond)[:, None, :]
        frm = self.from_frame(z_frame[:, frame_idx])                           # [B, Td, H]
        coords = coords.reshape(td, h * w, 3)
        if placement is not None:                                              # per slot: [B, K, Td, P, 3]
            xy = slot_coordinates(coords[None, None, :, :, :2], placement)
            coords = torch.cat([xy, coords[..., 2:].expand(*xy.shape[:-1], 1)], dim=-1)
        pix = self.from_coords(fourier_features(coords, self.cfg.coord_frequencies))   # [(B, K,) Td, P, H]
        if placement is None:
            pix = pix[None, None]
        x = obj[:, :, None, None, :] + frm[:, None, :, None, :] + pix          # [B, K, Td, P, H]
        out = self.trunk(x)                                                    # [B, K, Td, P, C+1]
        return out.permute(0, 1, 2, 4, 3).reshape(b, k, td, -1, h, w)          # [B, K, Td, C+1, h, w]


class BroadcastDecoder(nn.Module):
    """
    Per-slot spatial-broadcast decoder.

    Tile [z_obj_k, z_frame_t] over a coarse grid with its coordinates, convolve there, then upsample with transposed
    convolutions to full resolution.

    Parameters
    ----------
        cfg: decoder_hidden (channels), decoder_layers (convs), decoder_upsamples, latent dims.

    """

    def __init__(self, cfg: SimoneConfig):
        super().__init__()
        self.cfg = cfg
        hidden, up = cfg.decoder_hidden, cfg.decoder_upsamples
        self.base = (cfg.height // 2 ** up, cfg.width // 2 ** up)
        self.from_latents = nn.Linear(cfg.object_dim + cfg.frame_dim + cfg.cond_dim + 1, hidden)
        self.from_coords = nn.Conv2d(2, hidden, kernel_size=1, bias=False)
        # Most convolutions run at the coarse grid; the upsampling layers bring it to full resolution,
        # the last one emitting RGB + logit directly (full-resolution convolutions dominate the cost).
        layers = []
        for _ in range(max(cfg.decoder_layers - up - 1, 0)):
            layers += [nn.Conv2d(hidden, hidden, kernel_size=3, padding=1), nn.ReLU()]
        for i in range(up):
            last = i == up - 1
            layers += [nn.ConvTranspose2d(hidden, cfg.channels + 1 if last else hidden, kernel_size=4, stride=2,
                                          padding=1)]
            if not last:
                layers.append(nn.ReLU())
        if up == 0:
            layers.append(nn.Conv2d(hidden, cfg.channels + 1, kernel_size=3, padding=1))
        self.convs = nn.Sequential(nn.ReLU(), *layers)
        gh, gw = self.base
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, gh), torch.linspace(-1, 1, gw), indexing='ij')
        self.register_buffer('grid', torch.stack([xs, ys])[None], persistent=False)    # [1, 2, gh, gw]

    def forward(self, z_obj, z_frame, frame_idx, ys, xs, cond=None, placement=None):
        b, k, _ = z_obj.shape
        td = len(frame_idx)
        t = frame_time(self.cfg, frame_idx).to(z_obj)[None, None, :, None]
        parts = [z_obj[:, :, None, :].expand(b, k, td, -1),                    # [B, K, Td, Do]
                 z_frame[:, frame_idx][:, None].expand(b, k, td, -1),          # [B, K, Td, Df]
                 t.expand(b, k, td, 1)]
        if self.cfg.cond_dim:
            parts.append(cond[:, None, None, :].expand(b, k, td, -1))
        h = self.from_latents(torch.cat(parts, dim=-1)).reshape(b * k * td, -1, 1, 1)   # [N, Hd, 1, 1]
        if placement is None:
            h = h + self.from_coords(self.grid)                                # [N, Hd, gh, gw]
        else:
            grid = slot_coordinates(self.grid[0].permute(1, 2, 0), placement)  # [B, K, Td, gh, gw, 2]
            h = h + self.from_coords(grid.reshape(-1, *grid.shape[3:]).permute(0, 3, 1, 2))
        out = self.convs(h)                                                    # [N, C+1, H, W]
        out = out[:, :, ys][:, :, :, xs]                                       # [N, C+1, h, w]
        return out.reshape(b, k, td, *out.shape[1:])                          # [B, K, Td, C+1, h, w]


def build_decoder(cfg: SimoneConfig) -> nn.Module:
    return MlpDecoder(cfg) if cfg.decoder == 'mlp' else BroadcastDecoder(cfg)


def mixture_weights(logits: torch.Tensor, normalise: bool, log_temperature: torch.Tensor) -> torch.Tensor:
    """Softmax over slots of the mixture logits [B, K, ...] (after an optional LayerNorm over K)."""
    if normalise:
        logits = F.layer_norm(logits.movedim(1, -1), (logits.shape[1],)).movedim(-1, 1)
    return torch.softmax(logits * log_temperature.exp(), dim=1)
