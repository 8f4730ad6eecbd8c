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
A sliced-Wasserstein generator (after Deshpande, Zhang and Schwing, CVPR 2018): no critic at all.

TGAN's generator (``generation/tgan.py``) is trained to minimise the sliced Wasserstein distance between real
and generated clips, estimated on spatio-temporal patches at three scales (each patch a point, so a batch of 16
clips gives hundreds of points per scale):

- 4x8x8 patches (frames x pixels) of the full-size clip: texture and edges;
- 4x8x8 patches of the clip pooled 2x in space: objects and their motion;
- the whole clip pooled 4x in space: layout.

The distance along ``projections`` random unit directions (drawn anew each step) is the mean squared gap between
the sorted projections of real and generated points. Nothing is learnt but the generator: what this model shows
is how far a fixed, non-adversarial distance on pixels goes.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .harness import VideoGenerator
from .tgan import TGANGenerator

PATCH = (4, 8, 8)


def patches(video: torch.Tensor, rng: np.random.Generator, count: int, patch: tuple = PATCH) -> torch.Tensor:
    """``count`` random patches of each clip [B, C, T, H, W] -> points [B * count, C * prod(patch)]."""
    b, _c, t, h, w = video.shape
    pt, ph, pw = min(patch[0], t), min(patch[1], h), min(patch[2], w)
    starts = [rng.integers(0, n - p + 1, (b, count)) for n, p in ((t, pt), (h, ph), (w, pw))]
    out = [video[i, :, st:st + pt, sy:sy + ph, sx:sx + pw]
           for i in range(b) for st, sy, sx in zip(starts[0][i], starts[1][i], starts[2][i])]
    return torch.stack(out).flatten(1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int, generator: torch.Generator) -> torch.Tensor:
    """Squared sliced Wasserstein-2 distance between point sets a [N, D] and b [N, D]."""
    directions = torch.randn(a.shape[1], projections, generator=generator)
    directions = directions / directions.norm(dim=0, keepdim=True)
    pa, _ = torch.sort(a @ directions, 0)
    pb, _ = torch.sort(b @ directions, 0)
    return (pa - pb).pow(2).mean()


def scales(video: torch.Tensor) -> list[torch.Tensor]:
    """Return a clip [B, T, C, H, W] in [0, 1] at [full size, pooled 2x, pooled 4x], each [B, C, T, h, w] in [-1, 1]."""
    clip = video.transpose(1, 2) * 2 - 1
    return [clip, F.avg_pool3d(clip, (1, 2, 2)), F.avg_pool3d(clip, (1, 4, 4))]


class SWGAN(VideoGenerator):
    kind = 'swgan'
    idea = "TGAN's generator under a sliced Wasserstein distance on patches at three scales, no critic"
    optim = {'lr': 5e-4, 'betas': (0.5, 0.999)}

    def __init__(self, size: tuple = (32, 32), frames: int = 8, channels: int = 3, noise_dim: int = 64,
                 frame_dim: int = 32, width: int = 64, projections: int = 256, patches_per_clip: int = 32):
        super().__init__(size, frames, channels)
        self.noise_dim, self.frame_dim, self.width = noise_dim, frame_dim, width
        self.projections, self.patches_per_clip = projections, patches_per_clip
        self.generator = TGANGenerator(size, frames, channels, noise_dim, frame_dim, width)

    def settings(self) -> dict:
        return {**super().settings(), 'noise_dim': self.noise_dim, 'frame_dim': self.frame_dim, 'width': self.width,
                'projections': self.projections, 'patches_per_clip': self.patches_per_clip}

    def param_groups(self):
        return {'generator': list(self.generator.parameters())}

    def sample(self, n: int, generator: torch.Generator | None = None, real: dict | None = None) -> torch.Tensor:
        return self.generator(n, generator)

    def distance(self, real: torch.Tensor, fake: torch.Tensor, rng: np.random.Generator) -> dict:
        g = torch.Generator().manual_seed(int(rng.integers(2 ** 31)))
        out = {}
        for name, r, f in zip(('patch', 'object', 'layout'), scales(real), scales(fake)):
            if name == 'layout':
                pr, pf = r.flatten(1), f.flatten(1)
            else:
                pr, pf = patches(r, rng, self.patches_per_clip), patches(f, rng, self.patches_per_clip)
            out[name] = sliced_wasserstein(pr, pf, self.projections, g)
        return out

    def phases(self):
        def gen(ctx):
            terms = self.distance(ctx['video'], self.sample(len(ctx['video'])), ctx['rng'])
            return sum(terms.values()), terms
        return [('generator', gen)]
