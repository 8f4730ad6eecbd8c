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
The real clips that generated video is scored against, and the distribution scores themselves.

``real_reference`` encodes the first window of up to ``REAL_CLIPS`` clips of a data set's test split (its train
split when the test split has fewer than two) with the scoring bundle; ``distribution_scores`` compares generated
clips with them (``generation/scores.py``). The Fréchet distance is biased upwards by small samples: beside it come
the distance between two halves of the reference (half the sample), and ``real_floor`` gives the distance between the
reference and as many training clips (the floor at the same sample size; ``tools/generator_table.py`` reports it).
Every command of ``video-object-generate`` and every baseline kind reads the same reference.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.dataset import ClipDataset, sensor_for_dataset
from . import scores as gs

REAL_CLIPS = 64           # real clips the distribution scores compare with


class GenerateError(ValueError):
    """Bad arguments for a generation command (one line)."""


def load_clips(model, data, split: str, indices) -> tuple[torch.Tensor, list]:
    """Return the first window of each clip: video [N, T, C, H, W] in [0, 1] and the clip dicts."""
    sensor = sensor_for_dataset(data, model.cfg)
    ds = ClipDataset(data, split, size=sensor.dataset_size(), frames=model.cfg.frames)
    for i in indices:
        if not 0 <= i < len(ds):
            raise GenerateError(f'clip {i} is not in split {split!r} of {data} ({len(ds)} clips)')
    clips = [ds[i] for i in indices]
    video = torch.from_numpy(np.stack([sensor.window_inputs(c)[0] for c in clips])).float().div_(255)
    return video, clips


def real_reference(model, data) -> dict:
    """Encode the real clips of the data's test split (or train): features, spread, colours, segment counts."""
    split = 'test' if ClipDataset(data, 'test').num_clips >= 2 else 'train'
    n = min(REAL_CLIPS, ClipDataset(data, split).num_clips)
    video, _ = load_clips(model, data, split, range(n))
    objects, frames, placement, counts = gs.encode_clips(model, video)
    return {'video': video.numpy(), 'objects': objects, 'frames': frames, 'placement': placement,
            'counts': counts, 'spread': gs.latent_spread(objects, frames), 'split': split}


def real_floor(model, data, real: dict) -> float:
    """Return the Fréchet distance between the reference and as many training clips: its floor at that sample size."""
    n = len(real['video'])
    if real['split'] != 'test' or ClipDataset(data, 'train').num_clips < n:
        raise GenerateError(f'{data} has fewer than {n} training clips beside its test split')
    other, _ = load_clips(model, data, 'train', range(n))
    objects, frames, _p, _c = gs.encode_clips(model, other)
    return gs.frechet_distance(gs.clip_features(objects, frames), gs.clip_features(real['objects'], real['frames']))


def distribution_scores(model, generated: np.ndarray, real: dict) -> dict:
    objects, frames, _p, counts = gs.encode_clips(model, torch.from_numpy(generated).float())
    out = {'colour_histogram_distance': gs.colour_histogram_distance(generated.transpose(0, 1, 3, 4, 2)[..., :3],
                                                                     real['video'].transpose(0, 1, 3, 4, 2)[..., :3]),
           'visible_segments': float(counts.mean()), 'real_visible_segments': float(real['counts'].mean())}
    if len(generated) >= 2:
        out['frechet_distance'] = gs.frechet_distance(gs.clip_features(objects, frames),
                                                      gs.clip_features(real['objects'], real['frames']))
        out['frechet_distance_real_split_halves'] = gs.frechet_distance(
            gs.clip_features(real['objects'][::2], real['frames'][::2]),
            gs.clip_features(real['objects'][1::2], real['frames'][1::2]))
    return out
