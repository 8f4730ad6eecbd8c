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
The one training loop, for every objective (``video-object-train``: SIMONe; ``video-object-pretrain``: SiamMAE).

An objective is a ``Job``: it owns its model, optimiser, data and logging, restores itself from its run folder,
and takes one step at a time. ``run_steps`` drives any job the same way: steps up to ``train.steps`` (or
``--max-steps`` more), logging every ``log_every``, validation every ``eval_every``, a checkpoint every
``checkpoint_every``, at the end and on SIGINT/SIGTERM (then it stops, and ``--resume`` continues bit for bit).
Also shared: the run folder's arguments, checkpoints (model, optimiser, loss balancer, RNG states; the last
``keep`` kept) and the learning-rate schedule.
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..config import apply_overrides, load_yaml
from .config import TrainConfig
from ..files import atomic_write

CHECKPOINTS = 'checkpoints'


class TrainError(RuntimeError):
    """A run cannot start or continue (bad folder, missing checkpoint, mismatched config)."""


def checkpoint_paths(run: Path) -> list[Path]:
    return sorted((run / CHECKPOINTS).glob('step-*.safetensors'))


def save_checkpoint(run: Path, step: int, model: torch.nn.Module, optim: torch.optim.Optimizer,
                    rng: np.random.Generator, torch_rng_states: list[torch.Tensor], extra: dict, keep: int,
                    balancer: torch.nn.Module | None = None) -> Path:
    tensors = {f'model.{k}': v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if balancer is not None:
        tensors.update({f'balancer.{k}': v.detach().cpu().contiguous() for k, v in balancer.state_dict().items()})
    for i, state in optim.state_dict()['state'].items():
        for key, value in state.items():
            tensors[f'optim.{i}.{key}'] = torch.as_tensor(value).detach().cpu().contiguous()
    for rank, state in enumerate(torch_rng_states):
        tensors[f'rng.torch.{rank}'] = state
    meta = {'step': step, 'param_groups': optim.state_dict()['param_groups'], 'numpy_rng': rng.bit_generator.state,
            **extra}
    folder = run / CHECKPOINTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f'step-{step:08d}.safetensors'
    atomic_write(path.with_suffix('.json'), lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1)))
    atomic_write(path, lambda tmp: save_file(tensors, tmp))
    for old in checkpoint_paths(run)[:-keep]:
        old.unlink()
        old.with_suffix('.json').unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, model: torch.nn.Module, optim: torch.optim.Optimizer,
                    balancer: torch.nn.Module | None = None) -> tuple[dict, dict]:
    """Restore model, optimiser (and loss balancer) from a checkpoint; returns (meta, torch RNG states by rank)."""
    meta_path = path.with_suffix('.json')
    if not meta_path.is_file():
        raise TrainError(f'checkpoint {path} has no {meta_path.name}')
    meta = json.loads(meta_path.read_text())
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith('model.')})
    if balancer is not None:
        saved = {k[9:]: v for k, v in tensors.items() if k.startswith('balancer.')}
        if saved:
            # A checkpoint from before a loss was appended to LOSSES holds shorter per-loss vectors: its
            # entries are the first ones, the new losses start fresh.
            current = balancer.state_dict()
            for key, value in saved.items():
                if key in current and value.ndim == 1 and len(value) < len(current[key]):
                    saved[key] = torch.cat([value, current[key][len(value):]])
            balancer.load_state_dict(saved)
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith('optim.'):
            _, i, name = key.split('.', 2)
            state.setdefault(int(i), {})[name] = value
    optim.load_state_dict({'state': state, 'param_groups': meta['param_groups']})
    rng_states = {int(k.rsplit('.', 1)[1]): v for k, v in tensors.items() if k.startswith('rng.torch.')}
    return meta, rng_states


class StopFlag:
    """Set by SIGINT/SIGTERM; the loop checkpoints and exits at the end of the current step."""

    def __init__(self):
        self.signal = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._set)

    def _set(self, signum, _frame):
        self.signal = signum


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 10% of ``lr`` at ``steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def latest_checkpoint(run: Path, resume: bool) -> Path | None:
    """
    Return the checkpoint a run continues from (``resume``), or None for a fresh run.

    TrainError when there is none to resume, or when a fresh run would overwrite one.
    """
    ckpts = checkpoint_paths(run)
    if resume and not ckpts:
        raise TrainError(f'nothing to resume: {run / CHECKPOINTS} holds no checkpoint')
    if not resume and ckpts:
        raise TrainError(f'{run} already holds checkpoints; use --resume {run} or a new --run-dir folder')
    return ckpts[-1] if resume else None


def run_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """Return a training command's parser: its module doc as the help, the run arguments (``add_run_arguments``)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(doc.strip().splitlines()[1:]))
    add_run_arguments(parser)
    return parser


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments every resumable training command takes (video-object-train, video-object-pretrain)."""
    parser.add_argument('--config', type=Path, help='training YAML')
    parser.add_argument('--run-dir', dest='run', type=Path, help='run folder to create')
    parser.add_argument('--resume', type=Path, help='run folder to continue from its latest checkpoint')
    parser.add_argument('-o', '--override', action='append', default=[], metavar='KEY=VALUE',
                        help='override a config value, e.g. train.steps=5000')
    parser.add_argument('--max-steps', type=int, help='stop after this many steps in this call (a chunk)')
    parser.add_argument('--no-progress', action='store_true')


def read_run_arguments(args) -> tuple[dict, Path]:
    """
    Return (the raw config with overrides, the run folder) of ``add_run_arguments``' arguments.

    TrainError with one line when they do not name a run.
    """
    if args.max_steps is not None and args.max_steps < 1:
        raise TrainError(f'--max-steps must be >= 1, got {args.max_steps}')
    if args.resume:
        if not (args.resume / 'config.yaml').is_file():
            raise TrainError(f'{args.resume} is not a run folder (no config.yaml)')
        return apply_overrides(load_yaml(args.resume / 'config.yaml'), args.override), args.resume
    if not args.config or not args.run:
        raise TrainError('give --config and --run-dir to start a run, or --resume RUN to continue one')
    latest_checkpoint(args.run, resume=False)           # a fresh run never overwrites one
    return apply_overrides(load_yaml(args.config), args.override), args.run


class Job(Protocol):
    """One objective's training state, as ``run_steps`` drives it (``learn/train.py``, ``learn/pretrain.py``)."""

    step: int
    rank: int                 # the process' rank (0 logs, validates and writes; others only step)

    def train_step(self) -> dict: ...                       # one optimiser step; its terms (``loss`` among them)

    def log(self, terms: dict, bar) -> None: ...            # training scalars (TensorBoard, the progress bar)

    def validate(self) -> dict: ...                         # scores on held-out clips, appended to metrics.jsonl

    def checkpoint(self) -> None: ...                       # save_checkpoint, and what the objective ships

    def stop_requested(self, stop: StopFlag) -> bool: ...   # (all processes agree)

    def close(self) -> None: ...


def run_steps(job: Job, cfg: TrainConfig, run: Path, max_steps: int | None = None, progress: bool = True,
              desc: str = 'train') -> dict:
    """Step ``job`` up to ``cfg.steps`` (or ``max_steps`` more); returns {'step', the last validation's scores}."""
    stop = StopFlag()
    end = cfg.steps if max_steps is None else min(cfg.steps, job.step + max_steps)
    bar = tqdm(total=cfg.steps, initial=job.step, unit='step', disable=not progress or job.rank != 0, desc=desc)
    last_metrics: dict = {}
    try:
        while job.step < end:
            terms = job.train_step()
            if job.rank == 0:
                bar.update(1)
                if job.step % cfg.log_every == 0 or job.step == end:
                    job.log(terms, bar)
                if job.step % cfg.eval_every == 0 or job.step == end:
                    last_metrics = job.validate()
            stop_now = job.stop_requested(stop)
            if job.step % cfg.checkpoint_every == 0 or job.step == end or stop_now:
                job.checkpoint()
            if stop_now:
                if job.rank == 0:
                    tqdm.write(f'stopped by signal at step {job.step}; checkpoint written, resume with --resume {run}',
                               file=sys.stderr)
                break
    finally:
        bar.close()
        job.close()
    return {'step': job.step, **last_metrics}
