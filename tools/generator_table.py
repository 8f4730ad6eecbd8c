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
Every classic video generator and SIMONe at equal minutes, side by side (issue 39; docs/generate.md).

    python tools/generator_table.py --minutes 5 --data data/gen-textured data/gen-movi-a-like --out runs/gen-compare \
        [--lanes 2] [--num 64] [--kinds mocogan vgan ...] [--sheet-dir docs/images]

For each data set: every ``--kind`` of ``video-object-generate baseline`` trained for ``--minutes`` (one thread
each, ``--lanes`` at a time), SIMONe (``config/train_generate_compare.yaml``: the embedded model's design, the
ELBO alone, from scratch) trained for the same minutes and sampled from its aggregate posterior, and the shipped
``models/default`` sampled the same way (trained for about 90 minutes on labelled clips: a reference, not a rival
at equal minutes). Every sample is scored by the same encoder (``--score-model``, default ``models/default``).
A run folder that already holds a ``result.json`` is not run again (delete it to rerun), unless ``--resume``:
then every row continues its run for another ``--minutes`` (the harness's ``--resume``; SIMONe's run resumes
from its checkpoint) and is scored again, so a copy of a finished table folder becomes the next point of the
learning curves. Writes
``OUT/table.md`` (one table per data set) and one sample sheet per data set (``--sheet-dir``: the first sample
of every generator, one row each, 2x).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

KINDS = ('mocogan', 'vgan', 'tgan', 'dvdgan', 'swgan', 'videovae', 'svg', 'vid2vid')


def _run(cmd: list[str], log: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, 'w') as f:
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode


def baseline_job(kind: str, data: Path, out: Path, args) -> tuple[str, int]:
    folder = out / data.name / kind
    if (folder / 'result.json').is_file() and not args.resume:
        return str(folder), 0
    cmd = ['video-object-generate', 'baseline', '--kind', kind, '--model', str(args.score_model), '--data', str(data),
           '--out', str(folder), '--minutes', str(args.minutes), '--num', str(args.num), '--threads', '1',
           '--no-progress', *(['--resume'] if args.resume else [])]
    return str(folder), _run(cmd, out / 'logs' / f'{data.name}-{kind}.log')


def simone_job(data: Path, out: Path, args) -> tuple[str, int]:
    folder = out / data.name / 'simone'
    if (folder / 'result.json').is_file() and not args.resume:
        return str(folder), 0
    run = out / data.name / 'simone-run'
    timeout = ['timeout', '-s', 'INT', f'{args.minutes * 60:.0f}', 'video-object-train']
    if args.resume:
        _run([*timeout, '--resume', str(run), '--no-progress'], out / 'logs' / f'{data.name}-simone-train-resume.log')
    elif not (run / 'bundle').is_dir():
        cmd = [*timeout, '--config', 'config/train_generate_compare.yaml', '--run-dir', str(run), '--no-progress',
               '-o', f'train.sources=[{{data: {data}, labels: []}}]']
        _run(cmd, out / 'logs' / f'{data.name}-simone-train.log')
    return str(folder), _sample(run / 'bundle', data, folder, args, 'simone')


def _sample(bundle: Path, data: Path, folder: Path, args, name: str) -> int:
    cmd = ['video-object-generate', 'sample', '--model', str(bundle), '--data', str(data), '--prior', f'data:{data}',
           '--score-with', str(args.score_model), '--out', str(folder), '--num', str(args.num), '--threads', '1',
           '--no-progress']
    return _run(cmd, args.out / 'logs' / f'{data.name}-{name}-sample.log')


def shipped_job(data: Path, out: Path, args) -> tuple[str, int]:
    folder = out / data.name / 'shipped'
    if (folder / 'result.json').is_file():
        return str(folder), 0
    return str(folder), _sample(args.score_model, data, folder, args, 'shipped')


def real_floor(score_model: Path, data: Path) -> tuple[float, int]:
    """Return the Fréchet distance between the real test clips and as many training clips, and their number."""
    from video_object_node.generation.reference import real_floor as floor, real_reference
    from video_object_node.model import load_bundle
    model = load_bundle(score_model)
    real = real_reference(model, data)
    return floor(model, data, real), len(real['video'])


def row(name: str, doc: dict) -> str:
    pred = doc.get('prediction', {})
    extra = []
    if pred:
        m, c = pred['model'], pred['copy_last_frame']
        extra.append(f"PSNR {m['psnr']:.2f} / SSIM {m['ssim']:.3f} "
                     f"(copy last frame {c['psnr']:.2f} / {c['ssim']:.3f})")
    if 'mask_following_iou' in doc:
        extra.append(f"mask IoU {doc['mask_following_iou']:.3f} "
                     f"(real clips {doc['mask_following_iou_real_clips']:.3f}, "
                     f"first frame held {doc['mask_following_iou_first_frame_held']:.3f})")
    steps = doc.get('train_steps', '')
    minutes = f"{doc['train_seconds'] / 60:.1f}" if 'train_seconds' in doc else ''
    return (f"| {name} | {steps} | {minutes} | {doc['frechet_distance']:.2f} | "
            f"{doc['colour_histogram_distance']:.3f} | "
            f"{doc['visible_segments']:.2f} | {'; '.join(extra)} |")


def sheet(folders: list[tuple[str, Path]], frames: int, path: Path) -> None:
    import imageio.v3 as iio
    rows = []
    for _name, folder in folders:
        gif = iio.imread(folder / 'result.gif', index=None)[:frames, ..., :3]      # the first sample's frames
        small = gif[:, ::2, ::2]                                                     # 4x -> 2x
        rows.append(np.concatenate(list(small), axis=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.concatenate(rows, axis=0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--minutes', type=float, default=5.0)
    parser.add_argument('--data', type=Path, nargs='+', required=True)
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--kinds', nargs='+', default=list(KINDS), choices=KINDS)
    parser.add_argument('--lanes', type=int, default=2)
    parser.add_argument('--num', type=int, default=64)
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--score-model', type=Path, default=Path('models/default'))
    parser.add_argument('--sheet-dir', type=Path)
    parser.add_argument('--resume', action='store_true', help='continue every row for another --minutes')
    args = parser.parse_args()
    if args.minutes <= 0 or args.lanes < 1 or args.num < 2:
        parser.error('--minutes must be > 0, --lanes >= 1, --num >= 2')
    jobs = [(baseline_job, (k, d, args.out, args)) for d in args.data for k in args.kinds]
    jobs += [(simone_job, (d, args.out, args)) for d in args.data]
    jobs += [(shipped_job, (d, args.out, args)) for d in args.data]
    with ThreadPoolExecutor(args.lanes) as pool:
        for folder, rc in pool.map(lambda j: j[0](*j[1]), jobs):
            print(f'{folder}: rc {rc}', flush=True)
    lines = []
    for d in args.data:
        names = [('SIMONe, from scratch, aggregate posterior', 'simone'), *[(k, k) for k in args.kinds],
                 ('SIMONe shipped (`models/default`, ~90 min, labelled clips; reference)', 'shipped')]
        done = [(n, args.out / d.name / f) for n, f in names if (args.out / d.name / f / 'result.json').is_file()]
        real = json.loads((done[0][1] / 'result.json').read_text())
        floor = real_floor(args.score_model, d)
        lines += [f'### {d.name}: {args.num} samples; real clips: '
                  f"{real['real_visible_segments']:.2f} visible segments; Fréchet distance between the "
                  f"{floor[1]} real test clips and as many training clips (the floor): {floor[0]:.2f}", '',
                  '| generator | steps | train minutes | Fréchet distance | colour histogram | visible segments '
                  '| its own scores |', '|---|---|---|---|---|---|---|']
        for name, folder in done:
            doc = json.loads((folder / 'result.json').read_text())
            if folder.name == 'simone':
                last = sorted((folder.parent / 'simone-run' / 'checkpoints').glob('step-*.json'))[-1]
                meta = json.loads(last.read_text())
                doc['train_steps'], doc['train_seconds'] = meta['step'], meta['elapsed_s']
            lines.append(row(name, doc))
        lines.append('')
        if args.sheet_dir:
            sheet(done, args.frames, args.sheet_dir / f'generators-{d.name}.png')
    (args.out / 'table.md').write_text('\n'.join(lines))
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
