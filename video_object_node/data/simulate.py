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
`video-object-sim`: make, inspect and preview simulated clip data sets.

    video-object-sim generate --preset movi-a-like --out data/movi --seed 0 --train 2000 --val 100 --test 200
    video-object-sim preview data/movi --split test --clips 4 --out preview.png
    video-object-sim info data/movi
"""
from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..config import ConfigError
from .config import SimConfig
from ..files import atomic_write_text
from .dataset import (FORMAT_VERSION, INDEX_FILE, SPLITS, ClipDataset, DatasetError, clip_seed,
                      read_index, shard_name, write_shard)

PLAN_FILE = 'plan.json'
_worker_sim = None


def _init_worker(sim_dict: dict) -> None:
    global _worker_sim
    from .sim import SceneSimulator
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    _worker_sim = SceneSimulator(SimConfig.from_dict(sim_dict))


def _make_shard(task: tuple) -> tuple:
    root, seed, split, shard, start, count = task
    clips = [_worker_sim.clip(clip_seed(seed, split, i)) for i in range(start, start + count)]
    write_shard(Path(root) / shard_name(split, shard), clips)
    return split, count


def _write_json(path: Path, doc: dict) -> None:
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True))


def generate(cfg: SimConfig, out: str | Path, *, seed: int, counts: dict, preset: str = 'custom',
             shard_size: int = 25, workers: int = 2, progress: bool = True) -> dict:
    """Make (or finish making) a data set; returns its index. Resumes when ``out`` holds the same plan."""
    out = Path(out)
    for split, n in counts.items():
        if split not in SPLITS:
            raise DatasetError(f'unknown split {split!r}; splits are {SPLITS}')
        if not isinstance(n, int) or n < 0:
            raise DatasetError(f'--{split} must be a count >= 0, got {n}')
    if shard_size <= 0 or workers <= 0:
        raise DatasetError(f'shard_size and workers must be > 0, got {shard_size}, {workers}')
    plan = {'format': FORMAT_VERSION, 'preset': preset, 'seed': seed, 'sim': cfg.to_dict(),
            'counts': {s: counts.get(s, 0) for s in SPLITS}, 'shard_size': shard_size}
    try:
        out.mkdir(parents=True, exist_ok=True)
        plan_path = out / PLAN_FILE
        if plan_path.is_file():
            if json.loads(plan_path.read_text()) != plan:
                raise DatasetError(f'{out} holds a different data set (other preset, seed, sizes or config); '
                                   'choose another --out')
        elif any(out.iterdir()):
            raise DatasetError(f'{out} is not empty and holds no data set plan; choose an empty or new folder')
        else:
            _write_json(plan_path, plan)
    except PermissionError as exc:
        raise DatasetError(f'cannot write to {out}: {exc.strerror}') from None
    tasks, done = [], 0
    for split in SPLITS:
        n = plan['counts'][split]
        for shard, start in enumerate(range(0, n, shard_size)):
            count = min(shard_size, n - start)
            if (out / shard_name(split, shard)).is_file():
                done += count
            else:
                tasks.append((str(out), seed, split, shard, start, count))
    total = sum(plan['counts'].values())
    bar = tqdm(total=total, initial=done, unit='clip', desc=f'generate {preset}', disable=not progress)
    if tasks:
        # spawn, not fork: forking a process whose torch/OpenMP threads already ran can deadlock the child.
        ctx = mp.get_context('spawn')
        with ctx.Pool(min(workers, len(tasks)), initializer=_init_worker, initargs=(cfg.to_dict(),)) as pool:
            for _split, count in pool.imap_unordered(_make_shard, tasks):
                bar.update(count)
    bar.close()
    index = {key: plan[key] for key in ('format', 'preset', 'seed', 'sim')}
    index['splits'] = {}
    for split in SPLITS:
        n = plan['counts'][split]
        shards = []
        for shard, start in enumerate(range(0, n, shard_size)):
            path = out / shard_name(split, shard)
            shards.append({'file': shard_name(split, shard), 'clips': min(shard_size, n - start),
                           'sha256': hashlib.sha256(path.read_bytes()).hexdigest()})
        index['splits'][split] = {'clips': n, 'shard_size': shard_size, 'shards': shards}
    _write_json(out / INDEX_FILE, index)
    return index


def info(root: str | Path) -> str:
    index = read_index(root)
    sim = SimConfig.from_dict(index['sim'])
    lines = [f'{root}: format {index["format"]}, preset {index["preset"]}, seed {index["seed"]}',
             f'  clips: T={sim.frames} {sim.height}x{sim.width} RGB, {sim.min_objects}-{sim.max_objects} objects '
             f'({", ".join(sim.shapes)}), cameras: {", ".join(sim.trajectories)}',
             '  lidar: ' + (f'{sim.lidar.channels} channels x {sim.lidar.azimuth_bins} azimuth bins, '
                            f'fov {sim.lidar.horizontal_fov:g} x {sim.lidar.vertical_fov} deg, '
                            f'max range {sim.lidar.max_range} m'
                            if sim.lidar else 'none')]
    size = 0
    for split, entry in index['splits'].items():
        files = [Path(root) / s['file'] for s in entry['shards']]
        split_bytes = sum(f.stat().st_size for f in files if f.is_file())
        size += split_bytes
        lines.append(f'  {split:<5} {entry["clips"]:>6} clips in {len(files)} shards, {split_bytes / 1e6:.1f} MB')
    lines.append(f'  total {size / 1e6:.1f} MB')
    return '\n'.join(lines)


def preview(root: str | Path, out: str | Path, split: str = 'test', clips: int = 4, frames: int = 4) -> Path:
    """Return a PNG contact sheet: for each clip, rows of RGB, instance masks, depth (and LIDAR if present)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    ds = ClipDataset(root, split)
    clips = min(clips, len(ds))
    if clips == 0:
        raise DatasetError(f'split {split!r} of {root} has no clips to preview')
    has_lidar = ds.sim.lidar is not None
    rows_per_clip = 4 if has_lidar else 3
    frame_idx = np.linspace(0, ds.sim.frames - 1, frames).round().astype(int)
    fig, axes = plt.subplots(clips * rows_per_clip, frames, figsize=(2.0 * frames, 2.0 * clips * rows_per_clip),
                             squeeze=False)
    for c in range(clips):
        clip = ds[c]
        n_obj = len(clip['object_ids'])
        for j, f in enumerate(frame_idx):
            r = c * rows_per_clip
            axes[r, j].imshow(clip['video'][f])
            axes[r, j].set_title(f'clip {c} t={f}', fontsize=8)
            axes[r + 1, j].imshow(clip['masks'][f], cmap='tab20', vmin=0, vmax=max(n_obj, 1), interpolation='nearest')
            axes[r + 2, j].imshow(clip['depth'][f], cmap='viridis')
            if has_lidar:
                ids = clip['lidar_ids'][f].astype(float)
                ids[ids < 0] = np.nan
                axes[r + 3, j].imshow(ids, cmap='tab20', vmin=0, vmax=max(n_obj, 1), aspect='auto',
                                      interpolation='nearest')
        for k, name in enumerate(['RGB', 'masks', 'depth', 'LIDAR ids'][:rows_per_clip]):
            axes[c * rows_per_clip + k, 0].set_ylabel(name, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='video-object-sim', description='Simulated multi-object clips '
                                     '(PyBullet) with ground truth: make, inspect and preview data sets.')
    sub = parser.add_subparsers(dest='command', required=True)
    gen = sub.add_parser('generate', help='make (or resume making) a data set')
    gen.add_argument('--preset', required=True, help=f'one of {", ".join(SimConfig.PRESETS)}')
    gen.add_argument('--out', required=True, type=Path, help='output folder (new, empty, or an interrupted run)')
    gen.add_argument('--seed', type=int, default=0)
    for split, default in (('train', 1000), ('val', 100), ('test', 200)):
        gen.add_argument(f'--{split}', type=int, default=default, help=f'clips in the {split} split')
    gen.add_argument('--colours', choices=SimConfig.COLOURS, help="objects' colours (default: the preset's)")
    gen.add_argument('--workers', type=int, default=2, help='processes (default 2)')
    gen.add_argument('--shard-size', type=int, default=25, help='clips per shard file')
    gen.add_argument('--no-progress', action='store_true')
    pre = sub.add_parser('preview', help='write a PNG contact sheet of a few clips')
    pre.add_argument('data', type=Path)
    pre.add_argument('--split', default='test')
    pre.add_argument('--clips', type=int, default=4)
    pre.add_argument('--out', type=Path, default=Path('preview.png'))
    inf = sub.add_parser('info', help='describe a data set')
    inf.add_argument('data', type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == 'generate':
            cfg = SimConfig.preset(args.preset, **({'colours': args.colours} if args.colours else {}))
            counts = {'train': args.train, 'val': args.val, 'test': args.test}
            generate(cfg, args.out, seed=args.seed, counts=counts, preset=args.preset, shard_size=args.shard_size,
                     workers=args.workers, progress=not args.no_progress)
            print(info(args.out))
        elif args.command == 'preview':
            print(f'wrote {preview(args.data, args.out, args.split, args.clips)}')
        else:
            print(info(args.data))
    except (ConfigError, DatasetError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
