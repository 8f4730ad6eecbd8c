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
SIMONe: encoder + mixture decoder + ELBO.

    video [B, T, C, H, W] --FrameEncoder--> [B, T, S, D] --WindowEncoder--> Posterior
    Posterior --sample / mean--> z_obj [B, K, Do], z_frame [B, T, Df] --decoder--> mixture per pixel
    loss = alpha * NLL + beta_object * KL(objects || N(0, I)) + beta_frame * KL(frames || N(0, I))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .config import SimoneConfig
from .decoder import build_decoder, mixture_weights
from .encoder import FrameEncoder, WindowEncoder
from .heads import AttributeHeads, PoseHead


@dataclass
class Posterior:
    """
    Diagonal Gaussian posteriors: objects [B, K, Do], frames [B, T, Df].

    With ``placement`` in the config, each slot's per-frame placement [B, K, T, 4] (centre x, y in [-1, 1],
    half-extents), a point estimate.
    """

    object_mean: torch.Tensor
    object_std: torch.Tensor
    frame_mean: torch.Tensor
    frame_std: torch.Tensor
    placement: torch.Tensor | None = None

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised samples (z_obj, z_frame)."""
        return (self.object_mean + self.object_std * torch.randn_like(self.object_std),
                self.frame_mean + self.frame_std * torch.randn_like(self.frame_std))


@dataclass
class DecoderOutput:
    """
    A decode of frames ``frame_idx`` at pixel rows ``ys`` and columns ``xs``.

    rgb [B, Td, C, h, w] (mask-blended mean), masks [B, Td, K, h, w] (mixture weights, sum to 1 over K),
    slot_rgb [B, Td, K, C, h, w] (each object's RGB mean).
    """

    rgb: torch.Tensor
    masks: torch.Tensor
    slot_rgb: torch.Tensor


def kl_standard_normal(mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, std^2) || N(0, 1)) per element."""
    return 0.5 * (mean.square() + std.square() - 1.0) - torch.log(std)


class Simone(nn.Module):
    """
    The SIMONe model.

    Parameters
    ----------
        cfg: a validated ``SimoneConfig`` (see ``SimoneConfig.preset``).

    """

    def __init__(self, cfg: SimoneConfig):
        super().__init__()
        self.cfg = cfg
        self.frame_encoder = FrameEncoder(cfg)
        self.window_encoder = WindowEncoder(cfg)
        self.decoder = build_decoder(cfg)
        # Learned scale on the mixture logits: lets the slots sharpen their competition.
        self.mask_log_temperature = nn.Parameter(torch.zeros(()))
        self.pose_head = PoseHead(cfg) if cfg.pose_head else None
        self.attribute_heads = AttributeHeads(cfg) if cfg.attribute_heads else None

    # Encoding -----------------------------------------------------------------------------------
    def _check_video(self, video: torch.Tensor) -> None:
        c = self.cfg
        expected = (c.frames, c.channels, c.height, c.width)
        if video.dim() != 5 or tuple(video.shape[1:]) != expected:
            raise ValueError(f'video must be [B, {", ".join(map(str, expected))}] (B, T, C, H, W), '
                             f'got {list(video.shape)}')

    def encode(self, video: torch.Tensor, cond: torch.Tensor | None = None) -> Posterior:
        """Encode a video float [B, T, C, H, W] in [0, 1] into its Posterior."""
        self._check_video(video)
        b, t = video.shape[:2]
        features = self.frame_encoder(video.flatten(0, 1))                     # [B*T, S, D]
        features = features.reshape(b, t, *features.shape[1:])                  # [B, T, S, D]
        om, ols, fm, fls, *placement = self.window_encoder(features, cond)
        return Posterior(om, ols.exp(), fm, fls.exp(), placement[0] if placement else None)

    # Decoding -----------------------------------------------------------------------------------
    def decode(self, z_objects: torch.Tensor, z_frames: torch.Tensor, cond: torch.Tensor | None = None,
               frame_idx: torch.Tensor | None = None, pixel_stride: int = 1,
               pixel_offset: tuple = (0, 0), placement: torch.Tensor | None = None) -> DecoderOutput:
        """
        Decode the frames ``frame_idx`` (default all) at every ``pixel_stride``-th pixel.

        A model with ``placement`` needs the posterior's placement [B, K, T, 4] (all T frames; ``frame_idx`` picks).

        A full decode (the default) runs frame by frame to bound memory.
        """
        c = self.cfg
        device = z_objects.device
        if c.placement and placement is None:
            raise ValueError('this model places its slots per frame: pass placement=posterior.placement [B, K, T, 4]')
        if frame_idx is None:
            frame_idx = torch.arange(c.frames, device=device)
        ys = torch.arange(pixel_offset[0], c.height, pixel_stride, device=device)
        xs = torch.arange(pixel_offset[1], c.width, pixel_stride, device=device)

        def run(idx):
            return self.decoder(z_objects, z_frames, idx, ys, xs, cond,
                                None if placement is None else placement[:, :, idx])   # [B, K, Td, C+1, h, w]

        if self.training or len(frame_idx) == 1:
            out = run(frame_idx)
        else:
            out = torch.cat([run(frame_idx[i:i + 1]) for i in range(len(frame_idx))], dim=2)
        slot_rgb = torch.sigmoid(out[:, :, :, :c.channels])                     # [B, K, Td, C, h, w]
        masks = mixture_weights(out[:, :, :, c.channels], c.mask_logit_norm, self.mask_log_temperature)  # [B,K,Td,h,w]
        rgb = (masks[:, :, :, None] * slot_rgb).sum(dim=1)                     # [B, Td, C, h, w]
        return DecoderOutput(rgb=rgb, masks=masks.transpose(1, 2), slot_rgb=slot_rgb.transpose(1, 2))

    def decode_means(self, post: Posterior, cond: torch.Tensor | None = None, **kwargs) -> DecoderOutput:
        """Decode a posterior at its means (with its placement, when the model has one)."""
        return self.decode(post.object_mean, post.frame_mean, cond, placement=post.placement, **kwargs)

    # Loss ---------------------------------------------------------------------------------------
    def forward(self, video: torch.Tensor, cond: torch.Tensor | None = None, aux: bool = False,
                clip_weights: torch.Tensor | None = None) -> dict:
        """Return the ELBO terms (so DistributedDataParallel sees the training computation as ``forward``)."""
        return self.elbo(video, cond, aux=aux, clip_weights=clip_weights)

    def elbo(self, video: torch.Tensor, cond: torch.Tensor | None = None, sample: bool | None = None,
             full_decode: bool | None = None, aux: bool = False, clip_weights: torch.Tensor | None = None) -> dict:
        """
        Negative ELBO and its terms for ``video`` [B, T, C, H, W] in [0, 1].

        In training mode (the default for ``sample`` and ``full_decode``) the latents are sampled and a
        random subset of ``train_frames`` frames is decoded at every ``train_pixel_stride``-th pixel;
        in eval mode the posterior means are decoded at every pixel of every frame.
        ``clip_weights`` [B] (None: all 1) weighs each clip's terms in ``loss`` (the reported nll and KLs stay
        unweighted). Returns a dict of scalars: loss, nll, kl_objects, kl_frames, mse; with ``aux`` also what the
        supervised losses read: ``posterior``, ``decoded`` (a DecoderOutput), ``frame_idx``,
        ``pixel_stride``, ``pixel_offset``, ``target`` (the decoded frames' pixels of ``video``).
        """
        c = self.cfg
        sample = self.training if sample is None else sample
        full_decode = (not self.training) if full_decode is None else full_decode
        post = self.encode(video, cond)
        z_obj, z_frm = post.sample() if sample else (post.object_mean, post.frame_mean)
        if full_decode:
            frame_idx, stride, offset = torch.arange(c.frames, device=video.device), 1, (0, 0)
        else:
            frame_idx = torch.randperm(c.frames, device=video.device)[:c.decoded_train_frames].sort().values
            stride = c.train_pixel_stride
            offset = tuple(int(v) for v in torch.randint(0, stride, (2,)))
        dec = self.decode(z_obj, z_frm, cond, frame_idx, stride, offset, post.placement)
        target = video[:, frame_idx][:, :, :, offset[0]::stride, offset[1]::stride]   # [B, Td, C, h, w]
        nll_clip = self.pixel_nll(target, dec, per_clip=True)                         # [B]
        kl_obj_clip = kl_standard_normal(post.object_mean, post.object_std).sum(-1).mean(-1)
        kl_frm_clip = kl_standard_normal(post.frame_mean, post.frame_std).sum(-1).mean(-1)
        loss_clip = c.alpha * nll_clip + c.beta_object * kl_obj_clip + c.beta_frame * kl_frm_clip
        loss = loss_clip.mean() if clip_weights is None else (loss_clip * clip_weights.to(loss_clip)).mean()
        nll, kl_obj, kl_frm = nll_clip.mean(), kl_obj_clip.mean(), kl_frm_clip.mean()
        mse = (dec.rgb - target).square().mean()
        terms = {'loss': loss, 'nll': nll, 'kl_objects': kl_obj, 'kl_frames': kl_frm, 'mse': mse.detach()}
        if aux:
            terms.update(posterior=post, decoded=dec, frame_idx=frame_idx, pixel_stride=stride, pixel_offset=offset,
                         target=target)
        return terms

    def pixel_nll(self, target: torch.Tensor, dec: DecoderOutput, per_clip: bool = False) -> torch.Tensor:
        """Mean over decoded pixels of -log p(pixel), summed over channels ([B] per clip with ``per_clip``)."""
        sigma = self.cfg.pixel_sigma
        log_norm = -0.5 * math.log(2 * math.pi) - math.log(sigma)
        if self.cfg.likelihood == 'blended':
            log_p = (log_norm - 0.5 * ((target - dec.rgb) / sigma).square()).sum(2)          # [B, Td, h, w]
        else:
            per_slot = (log_norm - 0.5 * ((target[:, :, None] - dec.slot_rgb) / sigma).square()).sum(3)  # [B,Td,K,h,w]
            log_p = torch.logsumexp(per_slot + torch.log(dec.masks.clamp_min(1e-12)), dim=2)        # [B, Td, h, w]
        return -log_p.flatten(1).mean(1) if per_clip else -log_p.mean()
