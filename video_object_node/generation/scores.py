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
Scores of generated video, computed with the project's own frozen encoder (no downloaded network).

- ``consistency``: re-encode a generated window; the distance of the re-encoded latents to the latents that
  made it (slots matched by the Hungarian algorithm), divided by the typical distance between the latents of
  two different clips of the data: 0 = read back exactly, ~1 = no better than another clip.
- ``frechet_distance``: between Gaussians fitted to clip features of generated and real video; a clip's feature
  is the SIMONe encoder's object latents averaged over slots beside its frame latents averaged over time
  (this project's encoder, not an Inception network: comparable within this project only).
- ``colour_histogram_distance``: total variation between the 8x8x8 RGB histograms of generated and real pixels.
- ``visible_segments``: the mean number of slots that cover at least 2% of a clip's pixels when the model
  segments it (generated and real side by side).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

SEGMENT_SHARE = 0.02


@torch.no_grad()
def encode_clips(model, videos: torch.Tensor, batch: int = 16):
    """
    Encode videos [N, T, C, H, W] in [0, 1].

    (object means [N, K, Do], frame means [N, T, Df], placement or None, visible segment counts [N]).
    """
    objs, frms, places, counts = [], [], [], []
    for i in range(0, len(videos), batch):
        post = model.encode(videos[i:i + batch])
        masks = model.decode_means(post).masks                                     # [B, T, K, H, W]
        seg = masks.argmax(2)
        share = torch.stack([(seg == k).float().mean((1, 2, 3)) for k in range(masks.shape[2])], 1)
        objs.append(post.object_mean)
        frms.append(post.frame_mean)
        places.append(post.placement)
        counts.append((share >= SEGMENT_SHARE).sum(1))
    placement = None if places[0] is None else torch.cat(places).numpy()
    return torch.cat(objs).numpy(), torch.cat(frms).numpy(), placement, torch.cat(counts).numpy()


def latent_spread(objects: np.ndarray, frames: np.ndarray) -> tuple[float, float]:
    """Mean distance between slot latents of different clips, and between frame latents of different clips."""
    rng = np.random.default_rng(0)
    n = len(objects)
    if n < 2:
        raise ValueError('the spread of latents needs at least 2 clips')
    a, b = rng.integers(0, n, 256), rng.integers(0, n, 256)
    a, b = a[a != b], b[a != b]
    k = objects.shape[1]
    ka, kb = rng.integers(0, k, len(a)), rng.integers(0, k, len(a))
    t = frames.shape[1]
    ta = rng.integers(0, t, len(a))
    return (float(np.linalg.norm(objects[a, ka] - objects[b, kb], axis=-1).mean()),
            float(np.linalg.norm(frames[a, ta] - frames[b, ta], axis=-1).mean()))


def matched_distance(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean distance between two sets of slot latents [K, D] after Hungarian matching; and the matching."""
    cost = np.linalg.norm(a[:, None] - b[None], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(len(a), int)
    order[rows] = cols
    return float(cost[rows, cols].mean()), order


def consistency(made_objects, made_frames, read_objects, read_frames, spread: tuple) -> float:
    """Relative re-encoding distance (see the module doc), averaged over the generated windows."""
    scores = []
    for mo, mf, ro, rf in zip(made_objects, made_frames, read_objects, read_frames):
        d_obj, _ = matched_distance(mo, ro)
        d_frm = float(np.linalg.norm(mf - rf, axis=-1).mean())
        scores.append((d_obj / spread[0] + d_frm / spread[1]) / 2)
    return float(np.mean(scores))


def clip_features(objects: np.ndarray, frames: np.ndarray) -> np.ndarray:
    return np.concatenate([objects.mean(1), frames.mean(1)], axis=1)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets a [N, D] and b [M, D]."""
    from scipy.linalg import sqrtm
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = sqrtm(ca @ cb)
    root = root.real if np.iscomplexobj(root) else root
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * root))


def colour_histogram_distance(a: np.ndarray, b: np.ndarray, bins: int = 8) -> float:
    """Total variation between the RGB histograms of two videos' pixels (float [..., 3] in [0, 1])."""
    def hist(x):
        q = np.clip((np.asarray(x).reshape(-1, 3) * bins).astype(int), 0, bins - 1)
        h = np.bincount(q[:, 0] * bins * bins + q[:, 1] * bins + q[:, 2], minlength=bins ** 3).astype(float)
        return h / h.sum()
    return float(0.5 * np.abs(hist(a) - hist(b)).sum())
