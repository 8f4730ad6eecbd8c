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
The training objective: the ELBO on every clip plus the supervised terms its labels allow, balanced.

    loss = ELBO + sum_i w_i * balanced(L_i)         over the supervised losses L_i present in the batch

where each clip's ELBO counts with its source's ``elbo`` weight (``train.sources``; default 1).

Balancing schemes (``train.balance``):
- ``fixed``: balanced(L) = L.
- ``running_mean``: balanced(L) = L / running mean of L (detached), so every term starts at ~1 and a
  term whose scale is large (or small) does not drown the others.
- ``uncertainty``: balanced(L) = exp(-s) * L + s with a learned s per term (Kendall et al. 2018): the
  model weighs down the terms it cannot reduce.
"""
from __future__ import annotations

import torch
from torch import nn

from .supervision import LOSSES, Labels, supervised_losses

RUNNING_MEAN_DECAY = 0.99


class LossBalancer(nn.Module):
    """Balances the supervised terms; its state (running means, learned log-weights) is checkpointed."""

    def __init__(self, mode: str, weights: dict):
        super().__init__()
        self.mode = mode
        self.weights = {name: float(weights.get(name, 0.0)) for name in LOSSES}
        self.register_buffer('running', torch.zeros(len(LOSSES)))
        self.register_buffer('seen', torch.zeros(len(LOSSES)))
        self.log_vars = nn.Parameter(torch.zeros(len(LOSSES))) if mode == 'uncertainty' else None

    def forward(self, terms: dict) -> torch.Tensor:
        total = torch.zeros(())
        for name, value in terms.items():
            i = LOSSES.index(name)
            w = self.weights[name]
            if self.mode == 'running_mean':
                with torch.no_grad():
                    v = value.detach().float()
                    self.running[i] = v if self.seen[i] == 0 else (
                        RUNNING_MEAN_DECAY * self.running[i] + (1 - RUNNING_MEAN_DECAY) * v)
                    self.seen[i] += 1
                total = total + w * value / self.running[i].clamp_min(1e-6)
            elif self.mode == 'uncertainty':
                total = total + w * (torch.exp(-self.log_vars[i]) * value + self.log_vars[i])
            else:
                total = total + w * value
        return total


def step_loss(net, model, video: torch.Tensor, labels: Labels | None, balancer: LossBalancer,
              clip_weights: torch.Tensor | None = None) -> dict:
    """
    Forward one batch and return its loss terms.

    Forward one batch: the ELBO terms (each clip's weighted by ``clip_weights`` [B], its source's ``elbo``;
    None: all 1), the supervised terms, and ``loss`` (what is minimised).
    """
    supervised = any(w > 0 for w in balancer.weights.values()) and labels is not None
    terms = net(video, aux=supervised, clip_weights=clip_weights)
    if not supervised:
        return terms
    extra, _matching = supervised_losses(model, terms, labels, balancer.weights)
    elbo = terms['loss']
    for key in ('posterior', 'decoded', 'frame_idx', 'pixel_stride', 'pixel_offset', 'target'):
        terms.pop(key)
    terms['elbo'] = elbo.detach()
    terms['loss'] = elbo + balancer(extra).to(elbo) if extra else elbo
    terms.update({f'sup_{k}': v.detach() for k, v in extra.items()})
    return terms
