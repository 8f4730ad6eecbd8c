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
Carry a trained model's weights to a model with a finer token grid, motion channels or more slots.

Fine-tuning (``train.init_from``) copies every tensor whose shape fits. A model of the same architecture at a
larger input (a 4x4 token grid -> 8x8) or one that also reads and draws motion (RGB -> RGB + 2 channels)
differs in exactly these tensors, each carried over so that the new model starts where the old one was:

- ``frame_encoder.position`` [S, D]: the learned position table, upsampled bilinearly on the token grid;
- ``frame_encoder.cnn.0.weight`` [C', C, k, k]: the colour filters copied, the motion filters zero (the
  model starts blind to motion and learns to read it);
- ``window_encoder.frame_tokens.2.weight`` [D, S*D] and ``window_encoder.frame_motion.proj.weight`` [D, 2S]:
  per-token weights; each new token takes its parent token's weight over the number of its siblings, so a
  uniform layout gives the same output;
- the decoder's last layer [.., C + 1, ..]: colour and mask logit copied, motion outputs zero (every slot
  draws "still" at first);
- ``window_encoder.slot_attention.init`` [K, D] -> [n*K, D] (more slots): the learned starts copied n times, each copy
  after the first moved by a little seeded noise (a tenth of their spread), so that the copies can part.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import SimoneConfig


class TransferError(ValueError):
    """The two models differ in more than grid size and motion channels."""


def _parents(source: SimoneConfig, target: SimoneConfig) -> torch.Tensor:
    """For each token of the target grid, its parent token in the source grid [S_target]."""
    (sh, sw), (th, tw) = source.grid, target.grid
    if th % sh or tw % sw:
        raise TransferError(f'token grid {target.grid} is not a whole multiple of {source.grid}')
    rows = torch.arange(th) // (th // sh)
    cols = torch.arange(tw) // (tw // sw)
    return (rows[:, None] * sw + cols[None, :]).flatten()


def _per_token(weight: torch.Tensor, parents: torch.Tensor, width: int, share: float) -> torch.Tensor:
    """[O, S_src * width] -> [O, S_target * width]: token blocks of ``width`` inputs copied from the parent."""
    blocks = weight.reshape(weight.shape[0], -1, width)
    return (blocks[:, parents] * share).reshape(weight.shape[0], -1)


def transfer_state(source: dict, source_cfg: SimoneConfig, target: dict, target_cfg: SimoneConfig) -> tuple[dict, list]:
    """
    Return the target's state dict filled from ``source`` (see the module doc); returns it and the names adapted.

    Tensors the source lacks (a head it did not have) keep the target's initial values.
    """
    parents = _parents(source_cfg, target_cfg)
    share = 1.0 / (len(parents) / source_cfg.num_spatial)
    out, adapted = {}, []
    for name, value in target.items():
        if name not in source:
            out[name] = value
            continue
        old = source[name]
        if old.shape == value.shape:
            out[name] = old
            continue
        try:
            out[name] = _carry(name, old, value, source_cfg, target_cfg, parents, share)
        except RuntimeError:            # shapes that differ in more than the grid or the channels
            out[name] = None
        if out[name] is None or out[name].shape != value.shape:
            raise TransferError(f'{name}: {tuple(old.shape)} cannot be carried to {tuple(value.shape)}')
        adapted.append(name)
    return out, adapted


def _carry(name: str, old: torch.Tensor, value: torch.Tensor, source_cfg: SimoneConfig, target_cfg: SimoneConfig,
           parents: torch.Tensor, share: float) -> torch.Tensor | None:
    """One tensor carried to its new shape (see the module doc); None when it is not one that can be."""
    colour = source_cfg.channels
    if name == 'frame_encoder.position':
        sh, sw = source_cfg.grid
        grid = old.T.reshape(1, -1, sh, sw)                                             # [1, D, gh, gw]
        new = F.interpolate(grid, size=target_cfg.grid, mode='bilinear', align_corners=False)
        return new.reshape(old.shape[1], -1).T.contiguous()                             # [S', D]
    if name == 'frame_encoder.cnn.0.weight':
        new = torch.zeros_like(value)
        new[:, :colour] = old
        return new
    if name == 'window_encoder.frame_tokens.2.weight':
        return _per_token(old, parents, source_cfg.model_dim, share)
    if name == 'window_encoder.frame_motion.proj.weight':
        return _per_token(old, parents, 2, share)
    if name.endswith('slot_attention.init') and old.dim() == 2 and value.shape[0] % old.shape[0] == 0:
        copies = value.shape[0] // old.shape[0]
        noise = torch.randn((copies - 1) * old.shape[0], old.shape[1], generator=torch.Generator().manual_seed(0))
        return torch.cat([old, old.repeat(copies - 1, 1) + 0.1 * old.std() * noise.to(old.dtype)])
    if name.startswith('decoder.') and old.dim() == value.dim():
        axis = next(i for i, (a, b) in enumerate(zip(old.shape, value.shape)) if a != b)
        if old.shape[axis] != colour + 1 or value.shape[axis] != target_cfg.channels + 1:
            return None
        new = torch.zeros_like(value)
        new.narrow(axis, 0, colour).copy_(old.narrow(axis, 0, colour))                     # colour
        new.narrow(axis, value.shape[axis] - 1, 1).copy_(old.narrow(axis, colour, 1))      # mask logit
        return new
    return None
