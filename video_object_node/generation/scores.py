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


# Frame prediction and layout following (the predictors and vid2vid) --------------------------------------------
def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of frames [..., C, H, W] in [0, 1] -> [...]."""
    mse = (a - b).pow(2).mean((-3, -2, -1)).clamp_min(1e-10)
    return 10 * torch.log10(1 / mse)


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """
    Structural similarity (Wang et al. 2004) of frames [..., C, H, W] in [0, 1] -> [...].

    A Gaussian window (7 pixels, sigma 1.5: small frames), the usual constants (0.01, 0.03), valid positions
    only, averaged over positions and channels.
    """
    lead, (c, h, w) = a.shape[:-3], a.shape[-3:]
    x, y = a.reshape(-1, 1, h, w).double(), b.reshape(-1, 1, h, w).double()
    g = torch.exp(-(torch.arange(window, dtype=torch.float64) - (window - 1) / 2) ** 2 / (2 * sigma ** 2))
    kernel = (g[:, None] * g[None]) / g.sum() ** 2
    blur = lambda t: torch.nn.functional.conv2d(t, kernel[None, None])  # noqa: E731
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.mean((1, 2, 3)).reshape(*lead, c).mean(-1).float()


def prediction_scores(predicted: torch.Tensor, truth: torch.Tensor, context: int) -> dict:
    """
    PSNR and SSIM of predicted frames [N, T, C, H, W] (the first ``context`` given) per future step.

    Beside them, the same for copying the last given frame, the floor a predictor must clear.
    """
    future, copy = predicted[:, context:], truth[:, context - 1:context].expand_as(truth[:, context:])
    real = truth[:, context:]
    out = {}
    for name, guess in (('model', future), ('copy_last_frame', copy)):
        p, s = psnr(guess, real).mean(0), ssim(guess, real).mean(0)
        out[name] = {'psnr_per_step': [round(float(v), 3) for v in p], 'ssim_per_step': [round(float(v), 4) for v in s],
                     'psnr': float(p.mean()), 'ssim': float(s.mean())}
    return out


@torch.no_grad()
def segments_of(model, videos: torch.Tensor, batch: int = 16) -> np.ndarray:
    """Return a SIMONe bundle's segments (argmax of its decoded masks) of videos [N, T, C, H, W] -> [N, T, H, W]."""
    out = []
    for i in range(0, len(videos), batch):
        out.append(model.decode_means(model.encode(videos[i:i + batch])).masks.argmax(2).numpy())
    return np.concatenate(out)


def layout_from_segments(segments: np.ndarray) -> np.ndarray:
    """
    Relabel segments [N, T, H, W] (slot indices, arbitrary) as a layout like the simulator's masks.

    Per clip: the segment covering most of the first frame's border becomes 0 (the background), the others
    1, 2, ... in order of size.
    """
    out = np.zeros_like(segments)
    for i, seg in enumerate(segments):
        border = np.concatenate([seg[0, 0], seg[0, -1], seg[0, :, 0], seg[0, :, -1]])
        ids, counts = np.unique(seg, return_counts=True)
        background = np.bincount(border, minlength=ids.max() + 1).argmax()
        rest = [k for k in ids[np.argsort(-counts)] if k != background]
        for new, old in enumerate(rest, start=1):
            out[i][seg == old] = new
    return out


def mask_following_iou(segments: np.ndarray, layout: np.ndarray) -> float:
    """
    Score how well segments [N, T, H, W] follow a layout [N, T, H, W].

    Per clip, layout ids and segments matched one to one (Hungarian, on IoU over the whole clip), the mean IoU of
    every layout id (unmatched: 0); averaged over clips.
    """
    scores = []
    for seg, lay in zip(segments, layout):
        a, b = np.unique(lay), np.unique(seg)
        iou = np.zeros((len(a), len(b)))
        for i, u in enumerate(a):
            mu = lay == u
            for j, v in enumerate(b):
                mv = seg == v
                iou[i, j] = (mu & mv).sum() / max(1, (mu | mv).sum())
        rows, cols = linear_sum_assignment(-iou)
        scores.append(iou[rows, cols].sum() / len(a))
    return float(np.mean(scores))
