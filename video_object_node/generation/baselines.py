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
``video-object-generate baseline --kind K``: a classic video generator trained and scored as SIMONe is.

The generator is trained on a data set's training clips and its samples are scored the way SIMONe's are.

Every kind (``harness.KINDS``) is trained by the one harness (``generation/harness.py``) for ``--minutes`` (or
``--max-steps``) in the run folder ``--out``, which also receives ``result.gif``, ``result.mp4``, ``strip.png`` and
``result.json``: the distribution scores of ``generation/scores.py`` against the data's real test windows
(``frechet_distance`` on the project's own encoder, ``colour_histogram_distance``, ``visible_segments``), and
what fits the kind:

- predictors (``svg``, ``videovae``): PSNR and SSIM of the frames after the first ``context``, per step, beside
  copying the last given frame; VideoVAE's ``result`` is unconditional, SVG's continues real clips;
- ``vid2vid``: ``mask_following_iou``, the embedded model's segments of the rendered clips matched to the layout
  they were rendered from, beside the same for the real clips and for the first frame held still.
  ``--layout simone`` renders the layouts SIMONe decodes from the real clips instead of the simulator's masks;
  ``--layout simone-swap`` re-renders a SIMONe *edit*: each clip's largest object swapped for the next clip's
  (latent and placement track, as ``video-object-generate swap``), vid2vid starting from SIMONe's decoded first
  frame of the edit and following its decoded segments; the edit as SIMONe decodes it is scored beside it.

``--resume`` continues the run in ``--out`` from its latest checkpoint for another ``--minutes``.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from . import scores as gs
from .harness import KINDS, HarnessError, Schedule, Trainer, Windows, history
from .reference import distribution_scores, real_reference

LAYOUTS = ('truth', 'simone', 'simone-swap')


def real_windows(model, data, split: str, limit: int, labels=('masks',)) -> dict:
    """Return the first T-frame window of up to ``limit`` clips of a split: video [N, T, C, H, W] in [0, 1], masks."""
    from ..learn.banks import ClipBank
    bank = ClipBank(str(data), split, model.cfg, limit=limit, labels=labels)
    t = model.cfg.frames
    out = {'video': bank.video[:, :t].float() / 255}
    if bank.masks is not None:
        out['masks'] = torch.from_numpy(bank.masks[:, :t].astype(np.int64))
    return out


def train_generator(model, args) -> Trainer:
    """Build (or resume) the run in ``args.out`` and train it on the data's training windows."""
    from ..learn.banks import ClipBank
    c = model.cfg
    schedule = Schedule(minutes=args.minutes, max_steps=args.max_steps or 0, batch=args.batch, seed=args.seed)
    trainer = Trainer(args.kind, {'size': (c.height, c.width), 'frames': c.frames, 'channels': c.channels},
                      args.out, schedule, resume=args.resume)
    needs_masks = 'layout' in trainer.model.needs
    bank = ClipBank(str(args.data), 'train', c, labels=('masks',) if needs_masks else ())
    if needs_masks and bank.masks is None:
        raise HarnessError(f'{args.kind} renders layouts: {args.data} has no masks')
    windows = Windows(bank.video, bank.masks if needs_masks else None, c.frames)
    bar = tqdm(desc=args.kind, unit='step', disable=args.no_progress)
    trainer.fit(windows, progress=lambda step, terms: bar.update(step - bar.n))
    bar.close()
    return trainer


def run_baseline(model, args) -> tuple:
    """Train ``args.kind`` and score it; returns (doc, result video, segments or None, inputs or None)."""
    if args.kind not in KINDS:
        raise HarnessError(f'unknown --kind {args.kind!r}; one of {", ".join(KINDS)}')
    if args.batch < 2 or (args.max_steps is not None and args.max_steps < 1):
        raise HarnessError(f'--batch must be >= 2 and --max-steps >= 1, got {args.batch} and {args.max_steps}')
    if args.layout not in LAYOUTS:
        raise HarnessError(f'--layout must be one of {", ".join(LAYOUTS)}, got {args.layout!r}')
    trainer = train_generator(model, args)
    gen = trainer.model
    real = real_reference(model, args.data)
    doc = {'baseline': f'{args.kind}: {gen.idea}', 'kind': args.kind, 'train_minutes': args.minutes,
           'train_steps': trainer.step, 'train_seconds': round(trainer.seconds, 1), 'history': history(args.out),
           'consistency': None, 'consistency_note': 'a baseline has no SIMONe latents to read back'}
    g = torch.Generator().manual_seed(args.seed)
    inputs = segments = None
    with torch.no_grad():
        if gen.needs:
            clips = real_windows(model, args.data, real['split'], args.num)
            if 'layout' in gen.needs:
                if 'masks' not in clips:
                    raise HarnessError(f'{args.kind} renders layouts: {args.data} has no masks')
                if args.layout == 'simone':
                    clips['masks'] = torch.from_numpy(gs.layout_from_segments(gs.segments_of(model, clips['video'])))
                elif args.layout == 'simone-swap':
                    clips, decoded = swap_edits(model, clips)
                    doc['simone_decoded_edit'] = distribution_scores(model, decoded, real)
                segments = clips['masks'].numpy()
            result = gen.sample(len(clips['video']), g, clips).numpy()
            inputs = clips['video'].numpy()
        else:
            result = gen.sample(args.num, g).numpy()
        if hasattr(gen, 'predict'):
            truth = torch.from_numpy(real['video'])              # the reference's windows: read once
            predicted = gen.predict(truth, torch.Generator().manual_seed(args.seed))
            doc['prediction'] = {'context_frames': gen.context, 'clips': len(predicted),
                                 **gs.prediction_scores(predicted, truth, gen.context)}
        if 'layout' in gen.needs:
            doc.update(layout_scores(model, result, clips, args.layout))
    doc.update(distribution_scores(model, result, real))
    return doc, result, segments, inputs


@torch.no_grad()
def swap_edits(model, clips: dict) -> tuple[dict, np.ndarray]:
    """
    Return SIMONe swap edits of real windows as vid2vid's input, and the edits as SIMONe decodes them.

    Clip i keeps its latents but its largest non-background slot, which takes the same slot of clip i + 1 (latent
    and placement track). The input is SIMONe's decoded edit: its first frame as the frame to start from, its
    segments (relabelled as a layout) as the layout; the decoded edit [N, T, C, H, W] is returned beside it.
    """
    if len(clips['video']) < 2:
        raise HarnessError('--layout simone-swap needs at least 2 clips (--num >= 2)')
    post = model.encode(clips['video'])
    segments = model.decode_means(post).masks.argmax(2).numpy()
    layout = gs.layout_from_segments(segments)
    objects, placement = post.object_mean.clone(), None if post.placement is None else post.placement.clone()
    n = len(objects)
    for i in range(n):
        donor = (i + 1) % n
        largest = layout[donor] == 1                   # layout ids run by size: 1 is the largest object
        if not largest.any():
            continue
        slot = int(np.bincount(segments[donor][largest].ravel()).argmax())
        objects[i, slot] = post.object_mean[donor, slot]
        if placement is not None:
            placement[i, slot] = post.placement[donor, slot]
    out = model.decode(objects, post.frame_mean, placement=placement)
    decoded = out.rgb.clamp(0, 1)
    edit = {'video': decoded, 'masks': torch.from_numpy(gs.layout_from_segments(out.masks.argmax(2).numpy()))}
    return edit, decoded.numpy()


def layout_scores(model, rendered: np.ndarray, clips: dict, layout: str) -> dict:
    """vid2vid: segments of the rendered, the real and the held-still clips against the layout rendered from."""
    lay = clips['masks'].numpy()
    still = clips['video'][:, :1].expand_as(clips['video'])
    names = {'truth': 'simulator masks', 'simone': "SIMONe's decoded segments of the real clips",
             'simone-swap': "SIMONe's decoded segments of swap edits (real clips' largest objects exchanged)"}
    return {'layout': names[layout],
            'mask_following_iou': gs.mask_following_iou(gs.segments_of(model, torch.from_numpy(rendered)), lay),
            'mask_following_iou_real_clips': gs.mask_following_iou(gs.segments_of(model, clips['video']), lay),
            'mask_following_iou_first_frame_held': gs.mask_following_iou(gs.segments_of(model, still), lay)}
