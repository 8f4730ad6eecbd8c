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
One training harness for every classic video generator (``video-object-generate baseline --kind K``).

A generator (``VideoGenerator``, one small file per kind under ``generation/``) names its parameter groups and
its training *phases*: an ordered list of (group, loss function). Each step draws a batch of random T-frame
windows (and their masks, for a generator that reads a layout), then runs the phases in order; a phase's
loss moves only its own group (the other groups are frozen while it runs), so a GAN's critic phase and
generator phase are two phases, a VAE has one. The harness owns what is common:

- the schedule: a wall-clock budget (``minutes``; 0.3 is enough to write every output) and a step cap,
  Adam with the generator's own learning rate and betas, a linear warm-up;
- checkpoints in the run folder (``checkpoints/step-*.safetensors``, as ``video-object-train`` writes them:
  weights, optimiser, both random generators), every ``checkpoint_seconds`` and at the end, also on SIGINT;
- ``--resume``: the latest checkpoint continues for another budget, bit for bit as if it had not stopped
  (same batches, same noise);
- TensorBoard (``tb/``) and ``history.jsonl``: every logged step's terms.
"""
from __future__ import annotations

import importlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..files import atomic_write_text
from ..learn.loop import StopFlag, checkpoint_paths, load_checkpoint, save_checkpoint

# kind -> (module under generation/, class)
KINDS = {
    'mocogan': ('mocogan', 'MoCoGAN'),
    'vgan': ('vgan', 'VGAN'),
    'tgan': ('tgan', 'TGAN'),
    'svg': ('svg', 'SVGLP'),
    'videovae': ('videovae', 'VideoVAE'),
    'dvdgan': ('dvdgan', 'DVDGAN'),
    'swgan': ('swgan', 'SWGAN'),
    'vid2vid': ('vid2vid', 'Vid2Vid'),
}
MODEL_FILE = 'generator.json'

Phase = tuple[str, Callable[[dict], tuple[torch.Tensor, dict]]]


class HarnessError(ValueError):
    """A run cannot start or continue (one line)."""


class VideoGenerator(nn.Module):
    """
    What every generator provides to the harness.

    ``needs`` says what ``sample`` reads from real clips: () for an unconditional generator, 'context' for a
    predictor (the first ``context`` frames), 'layout' for a translator (one segment id map per frame).
    """

    kind = ''
    idea = ''
    needs: tuple = ()
    optim = {'lr': 2e-4, 'betas': (0.5, 0.999)}

    def __init__(self, size: tuple, frames: int, channels: int):
        super().__init__()
        self.size, self.frames, self.channels = tuple(int(s) for s in size), int(frames), int(channels)

    def settings(self) -> dict:
        """Return the constructor's arguments (written to the run folder, so that a resume rebuilds the same model)."""
        return {'size': list(self.size), 'frames': self.frames, 'channels': self.channels}

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def after_phase(self, group: str) -> None:
        """Run after a phase's optimiser step (e.g. a constraint on the critic's weights)."""

    def sample(self, n: int, generator: torch.Generator, real: dict | None = None) -> torch.Tensor:
        """Videos [n, T, C, H, W] in [0, 1]; ``real`` holds 'video' [n, T, C, H, W] and 'masks' where needed."""
        raise NotImplementedError


def make_generator(kind: str, **settings) -> VideoGenerator:
    if kind not in KINDS:
        raise HarnessError(f'unknown --kind {kind!r}; one of {", ".join(KINDS)}')
    module, name = KINDS[kind]
    cls = getattr(importlib.import_module(f'{__package__}.{module}'), name)
    return cls(**settings)


@dataclass
class Schedule:
    minutes: float = 10.0
    max_steps: int = 0             # 0: no cap
    batch: int = 16
    warmup_steps: int = 25
    log_every: int = 25
    checkpoint_seconds: float = 120.0
    keep: int = 2
    seed: int = 0

    def check(self) -> None:
        if not self.minutes > 0:
            raise HarnessError(f'--minutes must be > 0, got {self.minutes}')
        if self.batch < 2 or self.max_steps < 0 or self.warmup_steps < 0 or self.log_every < 1:
            raise HarnessError('batch must be >= 2, max_steps and warmup_steps >= 0, log_every >= 1')


class Windows:
    """Random T-frame windows of a bank's clips: video uint8 [N, T0, C, H, W] and masks [N, T0, H, W] or None."""

    def __init__(self, video: torch.Tensor, masks: np.ndarray | None, frames: int):
        if video.shape[1] < frames:
            raise HarnessError(f'clips have {video.shape[1]} frames; the generator needs windows of {frames}')
        self.video, self.frames = video, frames
        self.masks = None if masks is None else torch.from_numpy(np.asarray(masks)).long()

    def batch(self, rng: np.random.Generator, size: int) -> dict:
        idx = rng.integers(0, len(self.video), size)
        offsets = rng.integers(0, self.video.shape[1] - self.frames + 1, size)
        out = {'video': torch.stack([self.video[i, o:o + self.frames] for i, o in zip(idx, offsets)]).float() / 255}
        if self.masks is not None:
            out['masks'] = torch.stack([self.masks[i, o:o + self.frames] for i, o in zip(idx, offsets)])
        return out


class Trainer:
    """A generator, its optimiser and its run folder (``resume``: continue from the latest checkpoint)."""

    def __init__(self, kind: str, settings: dict, run: Path, schedule: Schedule, resume: bool = False):
        schedule.check()
        self.run, self.schedule = Path(run), schedule
        saved = self.run / MODEL_FILE
        if resume:
            if not checkpoint_paths(self.run):
                raise HarnessError(f'nothing to resume: {self.run / "checkpoints"} holds no checkpoint')
            doc = json.loads(saved.read_text())
            if doc['kind'] != kind:
                raise HarnessError(f'{self.run} holds a {doc["kind"]} run, not {kind}')
            settings = doc['settings']
        elif checkpoint_paths(self.run):
            raise HarnessError(f'{self.run} already holds checkpoints; add --resume to continue them')
        torch.manual_seed(schedule.seed)                  # the same weights for the same seed
        self.model = make_generator(kind, **settings)
        self.groups = self.model.param_groups()
        self.optim = torch.optim.Adam([{'params': p, 'name': g} for g, p in self.groups.items()],
                                      **self.model.optim)
        self.base_lr = self.model.optim['lr']
        self.step, self.seconds = 0, 0.0
        self.rng = np.random.default_rng(schedule.seed)
        if resume:
            meta, rng_states = load_checkpoint(checkpoint_paths(self.run)[-1], self.model, self.optim)
            self.step, self.seconds = int(meta['step']), float(meta['seconds'])
            self.rng.bit_generator.state = meta['numpy_rng']
            torch.set_rng_state(rng_states[0])
        else:
            atomic_write_text(saved, json.dumps({'kind': kind, 'settings': self.model.settings(),
                                                 'schedule': asdict(schedule)}, indent=1))
        self.writer = None

    def _set_lr(self) -> None:
        scale = min(1.0, (self.step + 1) / self.schedule.warmup_steps) if self.schedule.warmup_steps else 1.0
        for group in self.optim.param_groups:
            group['lr'] = self.base_lr * scale

    def train_step(self, windows: Windows) -> dict:
        self.model.train()
        self._set_lr()
        ctx = {'rng': self.rng, 'step': self.step, **windows.batch(self.rng, self.schedule.batch)}
        terms = {}
        for group, loss_fn in self.model.phases():
            own = {id(p) for p in self.groups[group]}
            for g, params in self.groups.items():
                for p in params:
                    p.requires_grad_(g == group)
            loss, logs = loss_fn(ctx)
            self.optim.zero_grad(set_to_none=True)
            loss.backward()
            for p in self.model.parameters():        # Adam leaves a parameter without a gradient untouched
                if id(p) not in own:
                    p.grad = None
            self.optim.step()
            self.model.after_phase(group)
            terms.update({f'{group}/{k}': float(v.detach()) if torch.is_tensor(v) else float(v)
                          for k, v in logs.items()})
        for p in self.model.parameters():
            p.requires_grad_(True)
        self.step += 1
        return terms

    def checkpoint(self) -> None:
        save_checkpoint(self.run, self.step, self.model, self.optim, self.rng, [torch.get_rng_state()],
                        {'seconds': round(self.seconds, 2), 'kind': self.model.kind}, self.schedule.keep)

    def log(self, terms: dict) -> None:
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(self.run / 'tb'), purge_step=self.step)
        for k, v in terms.items():
            self.writer.add_scalar(k, v, self.step)
        with open(self.run / 'history.jsonl', 'a') as f:
            f.write(json.dumps({'step': self.step, 'seconds': round(self.seconds, 2), **terms}) + '\n')

    def fit(self, windows: Windows, progress: Callable[[int, dict], None] | None = None) -> dict:
        """Train for the schedule's minutes (or up to ``max_steps`` steps in all); returns the run's record."""
        s = self.schedule
        stop, start = StopFlag(), time.monotonic()
        this_call, last_ckpt, steps_before = 0.0, 0.0, self.step
        while this_call < s.minutes * 60 and not (s.max_steps and self.step >= s.max_steps):
            t = time.monotonic()
            terms = self.train_step(windows)
            self.seconds += time.monotonic() - t
            this_call = time.monotonic() - start
            if self.step % s.log_every == 0:
                self.log(terms)
                if progress is not None:
                    progress(self.step, terms)
            if this_call - last_ckpt >= s.checkpoint_seconds or stop.signal is not None:
                self.checkpoint()
                last_ckpt = this_call
            if stop.signal is not None:
                break
        if self.step > steps_before and self.step % s.log_every:
            self.log(terms)                                   # the last step is always in the history
        self.checkpoint()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.model.eval()
        return {'kind': self.model.kind, 'steps': self.step, 'steps_this_call': self.step - steps_before,
                'train_seconds': round(self.seconds, 1)}


def history(run: Path, last: int = 10) -> list[dict]:
    path = Path(run) / 'history.jsonl'
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()[-last:]]
