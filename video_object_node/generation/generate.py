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
`video-object-generate`: generate and edit video from SIMONe's latents, and a MoCoGAN baseline beside it.

    video-object-generate sample  --model B --out DIR [--num 8] [--seed S] [--temperature 1.0] [--prior normal|data:D]
    video-object-generate swap    --model B --data D --clip A --from-clip C [--slot K | --query "red cube"] --out DIR
    video-object-generate review  --model B --data D --clip A --camera-from C --out DIR
    video-object-generate interpolate --model B --data D --clip A --to-clip C [--steps 8] --out DIR
    video-object-generate baseline --model B --data D --out DIR [--kind mocogan] [--minutes 10] [--num 8] [--resume]

- ``sample``: object and frame latents from the prior N(0, I), or from a Gaussian fitted to the posteriors of a
  data split (``--prior data:D``), decoded to T frames. A model that places its slots per frame draws the
  placement tracks from clips of ``--data`` (placement is an encoder output, not a latent with a prior).
- ``swap``: clip A's latents with one slot replaced by a slot of clip C (the same index ``--slot``, or C's best
  answer to ``--query``, which replaces A's slot placed nearest to it); A's frames kept.
- ``review``: A's object latents (and placement) with C's frame latents: A's objects along C's camera path.
- ``interpolate``: A's latents moving linearly to C's (slots matched by the Hungarian algorithm) in ``--steps``.
- ``baseline``: trains a classic video generator (``--kind``: mocogan, vgan, tgan, svg, videovae, dvdgan, swgan,
  vid2vid; ``generation/baselines.py``) on D's training clips for ``--minutes`` in the run folder ``--out``
  (``--resume`` continues it) and samples it; B's encoder scores the samples. ``sample --score-with B2`` scores
  a SIMONe bundle's samples with another bundle's encoder, so that every generator is judged by one encoder.

Every command writes into ``--out``: ``result.gif`` and ``result.mp4`` (imageio), ``strip.png`` (input /
result / segments) and ``result.json``: the command, the latents used, and the scores of
``generation/scores.py`` (``consistency``; per command the edit checks, ``viewpoint_r2_to_source``, the
Fréchet distance and colour statistics against real clips).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from ..data.dataset import DatasetError, sensor_for_dataset
from ..bundle.viewpoint_probe import viewpoint_targets
from ..scores.viewpoint import r2_scores
from ..sensing.sensors import SensorError
from . import scores as gs
from .harness import KINDS, HarnessError
from .reference import GenerateError, distribution_scores, load_clips, real_reference

COMMANDS = ('sample', 'swap', 'review', 'interpolate', 'baseline')
VIDEO_SCALE = 4           # result.gif / result.mp4 upscale (32x32 frames are too small to look at)


@torch.no_grad()
def decode(model, objects, frames, placement=None) -> tuple[np.ndarray, np.ndarray]:
    """Latents (numpy) -> video [N, T, C, H, W] float and segments [N, T, H, W]."""
    t = lambda x: None if x is None else torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
    out = model.decode(t(objects), t(frames), placement=t(placement))
    return out.rgb.clamp(0, 1).numpy(), out.masks.argmax(2).numpy()


# Writing --------------------------------------------------------------------------------------------------
def to_uint8(video: np.ndarray) -> np.ndarray:
    """[N, T, C, H, W] float in [0, 1] -> [N*T, H, W, 3] uint8 (range images shown in grey)."""
    v = np.clip(np.asarray(video), 0, 1)
    v = v[:, :, :3] if v.shape[2] >= 3 else np.repeat(v[:, :, :1], 3, axis=2)
    return (v.transpose(0, 1, 3, 4, 2).reshape(-1, *v.shape[3:], 3) * 255).round().astype(np.uint8)


def write_outputs(out: Path, result: np.ndarray, segments: np.ndarray | None, inputs: np.ndarray | None,
                  doc: dict, fps: float = 8.0) -> None:
    import imageio.v3 as iio

    from ..scores.pictures import colour_segments
    out.mkdir(parents=True, exist_ok=True)
    frames = to_uint8(result)
    big = frames.repeat(VIDEO_SCALE, 1).repeat(VIDEO_SCALE, 2)
    iio.imwrite(out / 'result.gif', big, duration=1000 / fps, loop=0)
    iio.imwrite(out / 'result.mp4', big, fps=fps)
    rows = ([to_uint8(inputs[:1])] if inputs is not None else []) + [to_uint8(result[:1])]
    if segments is not None:
        rows.append(colour_segments(segments[0]))
    strip = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    iio.imwrite(out / 'strip.png', strip.repeat(VIDEO_SCALE, 0).repeat(VIDEO_SCALE, 1))
    (out / 'result.json').write_text(json.dumps(doc, indent=2, sort_keys=True, default=_jsonable))


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.round(5).tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    raise TypeError(type(x).__name__)


def reencoding_consistency(model, generated: np.ndarray, objects, frames, spread) -> tuple[float, tuple]:
    read = gs.encode_clips(model, torch.from_numpy(generated).float())
    return gs.consistency(objects, frames, read[0], read[1], spread), read


# Commands --------------------------------------------------------------------------------------------------
@torch.no_grad()
def sample(model, args) -> dict:
    cfg = model.cfg
    g = torch.Generator().manual_seed(args.seed)
    real = real_reference(model, args.data) if args.data else None
    if args.prior == 'normal':
        objects = torch.randn(args.num, cfg.num_slots, cfg.object_dim, generator=g) * args.temperature
        frames = torch.randn(args.num, cfg.frames, cfg.frame_dim, generator=g) * args.temperature
        prior = 'N(0, I)'
    else:
        source = real_reference(model, Path(args.prior[5:]))
        slots = source['objects'].reshape(-1, cfg.object_dim)
        mo, so = slots.mean(0), slots.std(0)
        mf, sf = source['frames'].mean((0, 1)), source['frames'].std((0, 1))
        objects = torch.from_numpy(mo) + torch.randn(args.num, cfg.num_slots, cfg.object_dim, generator=g) * \
            torch.from_numpy(so) * args.temperature
        frames = torch.from_numpy(mf) + torch.randn(args.num, cfg.frames, cfg.frame_dim, generator=g) * \
            torch.from_numpy(sf) * args.temperature
        prior = f'diagonal Gaussian fitted to the posteriors of {args.prior[5:]} ({source["split"]} split)'
        real = real or source
    placement = None
    if cfg.placement:
        if real is None:
            raise GenerateError('this model places its slots per frame: give --data (or --prior data:D) to draw '
                                'placement tracks from real clips')
        pick = torch.randint(0, len(real['placement']), (args.num,), generator=g).numpy()
        placement = real['placement'][pick]
    result, segments = decode(model, objects.numpy(), frames.numpy(), placement)
    doc = {'prior': prior, 'temperature': args.temperature, 'num': args.num, 'seed': args.seed,
           'placement': 'tracks of real clips' if placement is not None else None}
    if real is not None:
        doc['consistency'], _read = reencoding_consistency(model, result, objects.numpy(), frames.numpy(),
                                                           real['spread'])
        if args.score_with:
            from ..model import load_bundle
            scorer = load_bundle(args.score_with)
            doc['scored_with'] = str(args.score_with)
            doc.update(distribution_scores(scorer, result, real_reference(scorer, args.data)))
        else:
            doc.update(distribution_scores(model, result, real))
    else:
        doc['consistency'] = None
        doc['consistency_note'] = 'give --data: consistency is relative to the spread of latents in real clips'
    doc['latents'] = {'objects': objects.numpy()[:2], 'frames': frames.numpy()[:2]}
    return doc, result, segments, None


def _posteriors(model, video):
    objects, frames, placement, _counts = gs.encode_clips(model, video)
    return objects, frames, placement


@torch.no_grad()
def swap(model, args) -> tuple:
    video, _clips = load_clips(model, args.data, args.split, [args.clip, args.from_clip])
    objects, frames, placement = _posteriors(model, video)
    k = model.cfg.num_slots
    if args.query:
        donor = _query_slot(model, video[1:2], args.query)
        target = args.slot if args.slot is not None else (
            int(np.linalg.norm(placement[0, :, -1, :2] - placement[1, donor, -1, :2], axis=-1).argmin())
            if placement is not None else donor)
    else:
        if args.slot is None:
            raise GenerateError('give --slot K or --query TEXT: which slot to swap')
        donor = target = args.slot
    for name, value in (('--slot', target), ('donor slot', donor)):
        if not 0 <= value < k:
            raise GenerateError(f'{name} {value} is out of range: the model has {k} slots (0..{k - 1})')
    new_objects, new_place = objects[:1].copy(), None if placement is None else placement[:1].copy()
    new_objects[0, target] = objects[1, donor]
    if new_place is not None:
        new_place[0, target] = placement[1, donor]
    result, segments = decode(model, new_objects, frames[:1], new_place)
    real = real_reference(model, args.data)
    doc = {'clip': args.clip, 'from_clip': args.from_clip, 'replaced_slot': target, 'donor_slot': donor,
           'query': args.query or None}
    doc['consistency'], read = reencoding_consistency(model, result, new_objects, frames[:1], real['spread'])
    doc['swap_check'] = _swap_check(model, objects, new_objects, read, target, donor, placement, read[2])
    doc['latents'] = {'objects': new_objects[0], 'frames': frames[0]}
    return doc, result, segments, video.numpy()[:1]


def _query_slot(model, video, text: str) -> int:
    from ..runtime.query import ObjectMemory, QueryError, parse_query, slot_positions
    if model.attribute_heads is None:
        raise GenerateError('--query needs a bundle with attribute heads')
    try:
        query = parse_query(text)
    except QueryError as exc:
        raise GenerateError(str(exc)) from None
    post = model.encode(video)
    a = model.attribute_heads(post.object_mean)
    attrs = torch.cat([a.colour, a.shape_logits, a.size[..., None], a.presence_logit[..., None]], -1)[0].numpy()
    masks = model.decode_means(post, frame_idx=torch.tensor([model.cfg.frames - 1])).masks[0, 0].numpy()
    memory = ObjectMemory()
    c = model.cfg
    memory.update(np.arange(c.num_slots), attrs, slot_positions(None, masks, (c.height, c.width), (c.height, c.width)))
    answer = memory.answer(query, max_results=1, min_score=0.0)
    if not answer:
        raise GenerateError(f'no slot of --from-clip answers {text!r}')
    return int(answer[0]['id'])


def _swap_check(model, objects, new_objects, read, target, donor, placement, read_placement) -> dict:
    """
    Check a swap by re-encoding: the donor's colour and place.

    After a swap, the re-encoded slot that holds the swapped object (matched by latent distance) should read
    the donor's colour (attribute head) and sit where the donor was placed.
    """
    _d, order = gs.matched_distance(new_objects[0], read[0][0])
    slot = int(order[target])
    out = {'reencoded_slot': slot}
    if model.attribute_heads is not None:
        colour = lambda z: model.attribute_heads(torch.from_numpy(np.asarray(z))[None]).colour[0].numpy()  # noqa: E731
        read_colour = colour(read[0][0][slot])
        out['colour_distance_to_donor'] = float(np.abs(read_colour - colour(objects[1, donor])).mean())
        out['colour_distance_to_replaced'] = float(np.abs(read_colour - colour(objects[0, target])).mean())
        out['reads_donor_colour'] = out['colour_distance_to_donor'] < out['colour_distance_to_replaced']
    if placement is not None and read_placement is not None:
        where = read_placement[0, slot, :, :2]
        out['position_error_to_donor'] = float(np.abs(where - placement[1, donor, :, :2]).mean())
        out['position_error_to_replaced'] = float(np.abs(where - placement[0, target, :, :2]).mean())
    return out


@torch.no_grad()
def review(model, args) -> tuple:
    video, clips = load_clips(model, args.data, args.split, [args.clip, args.camera_from])
    objects, frames, placement = _posteriors(model, video)
    result, segments = decode(model, objects[:1], frames[1:2], None if placement is None else placement[:1])
    real = real_reference(model, args.data)
    doc = {'clip': args.clip, 'camera_from': args.camera_from}
    doc['consistency'], read = reencoding_consistency(model, result, objects[:1], frames[1:2], real['spread'])
    sensor = sensor_for_dataset(args.data, model.cfg)
    if model.pose_head is not None and sensor.pose_key in clips[1]:
        truth = viewpoint_targets(clips[1][sensor.pose_key].astype(np.float64))
        pred = model.pose_head(torch.from_numpy(read[1])).numpy()[0]
        own = viewpoint_targets(clips[0][sensor.pose_key].astype(np.float64))
        doc['viewpoint_r2_to_source'] = float(np.nanmean(r2_scores(truth, pred)))
        doc['viewpoint_r2_to_clip'] = float(np.nanmean(r2_scores(own, pred)))
    else:
        doc['viewpoint_r2_to_source'] = None
        doc['viewpoint_note'] = 'the bundle has no pose head or the clip no camera poses'
    d_own, _ = gs.matched_distance(objects[0], read[0][0])
    d_other, _ = gs.matched_distance(objects[1], read[0][0])
    doc['objects_read_back'] = {'distance_to_clip_objects': d_own, 'distance_to_camera_clip_objects': d_other}
    doc['latents'] = {'objects': objects[0], 'frames': frames[1]}
    return doc, result, segments, video.numpy()[:1]


@torch.no_grad()
def interpolate(model, args) -> tuple:
    if args.steps < 2:
        raise GenerateError(f'--steps must be >= 2, got {args.steps}')
    video, _clips = load_clips(model, args.data, args.split, [args.clip, args.to_clip])
    objects, frames, placement = _posteriors(model, video)
    _d, order = gs.matched_distance(objects[0], objects[1])
    b_objects = objects[1][order]
    b_place = None if placement is None else placement[1][order]
    ws = np.linspace(0, 1, args.steps)
    obj = np.stack([(1 - w) * objects[0] + w * b_objects for w in ws])
    frm = np.stack([(1 - w) * frames[0] + w * frames[1] for w in ws])
    plc = None if placement is None else np.stack([(1 - w) * placement[0] + w * b_place for w in ws])
    result, segments = decode(model, obj, frm, plc)
    real = real_reference(model, args.data)
    doc = {'clip': args.clip, 'to_clip': args.to_clip, 'steps': args.steps}
    doc['consistency'], _read = reencoding_consistency(model, result, obj, frm, real['spread'])
    return doc, result, segments, video.numpy()[:1]


def baseline(model, args) -> tuple:
    from .baselines import run_baseline
    return run_baseline(model, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-generate', description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.strip().splitlines()[1:]))
    parser.add_argument('command', choices=COMMANDS)
    parser.add_argument('--model', type=Path, required=True)
    parser.add_argument('--data', type=Path)
    parser.add_argument('--split', default='test')
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--temperature', type=float, default=1.0)
    parser.add_argument('--prior', default='normal', help="normal, or data:DATASET (the aggregate posterior)")
    parser.add_argument('--clip', type=int)
    parser.add_argument('--from-clip', type=int)
    parser.add_argument('--to-clip', type=int)
    parser.add_argument('--camera-from', type=int)
    parser.add_argument('--slot', type=int)
    parser.add_argument('--query')
    parser.add_argument('--steps', type=int, default=8)
    parser.add_argument('--minutes', type=float, default=10.0, help='baseline: training budget (wall clock)')
    parser.add_argument('--kind', default='mocogan', help=f'baseline: which generator ({", ".join(KINDS)})')
    parser.add_argument('--max-steps', type=int, help='baseline: stop at this many steps in all')
    parser.add_argument('--batch', type=int, default=16, help='baseline: clips per step')
    parser.add_argument('--resume', action='store_true', help='baseline: continue the run in --out')
    parser.add_argument('--layout', default='truth', help='baseline vid2vid: render the simulator masks (truth) or '
                        "SIMONe's decoded segments (simone)")
    parser.add_argument('--score-with', type=Path, help='sample: the bundle whose encoder scores the samples '
                        '(default: --model)')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads for torch')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    from ..bundle.layout import BundleError
    from ..model import load_bundle
    needs = {'swap': ('data', 'clip', 'from_clip'), 'review': ('data', 'clip', 'camera_from'),
             'interpolate': ('data', 'clip', 'to_clip'), 'baseline': ('data',), 'sample': ()}
    try:
        missing = [f'--{n.replace("_", "-")}' for n in needs[args.command] if getattr(args, n) is None]
        if missing:
            raise GenerateError(f'{args.command} needs {", ".join(missing)}')
        if args.threads < 1:
            raise GenerateError(f'--threads must be >= 1, got {args.threads}')
        torch.set_num_threads(args.threads)
        if args.num < 1 or args.temperature <= 0:
            raise GenerateError('--num must be >= 1 and --temperature > 0')
        if args.prior != 'normal' and not args.prior.startswith('data:'):
            raise GenerateError(f"--prior must be 'normal' or 'data:DATASET', got {args.prior!r}")
        model = load_bundle(args.model)
        fn = {'sample': sample, 'swap': swap, 'review': review, 'interpolate': interpolate, 'baseline': baseline}
        doc, result, segments, inputs = fn[args.command](model, args)
    except (GenerateError, HarnessError, BundleError, DatasetError, SensorError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    doc = {'command': args.command, 'model': str(args.model), 'data': str(args.data) if args.data else None, **doc}
    write_outputs(args.out, result, segments, inputs, doc)
    print(json.dumps({k: v for k, v in doc.items() if k not in ('latents', 'history')}, default=_jsonable))
    return 0


if __name__ == '__main__':
    sys.exit(main())
