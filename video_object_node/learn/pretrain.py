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
`video-object-pretrain`: self-supervised frame features from unlabelled video (siamese masked autoencoding).

    video-object-pretrain --config config/pretrain_siammae.yaml --run-dir runs/siammae   [--max-steps N]
    video-object-pretrain --resume runs/siammae

Frame pairs are drawn from the clips of the training sources (a past frame and a future one ``gap`` frames
later); the future frame is mostly masked and reconstructed from its few visible patches and the whole past
frame (``model/siammae.py``). Only video is used: any robot bag made with ``video-object-dataset`` serves.
The run folder holds config.yaml, checkpoints/ (resumable bit for bit), tb/ (TensorBoard), metrics.jsonl
(validation loss and label propagation J&F over time) and ``encoder.safetensors``: the encoder, which
``video-object-propagate --features RUN`` reads and ``train.init_from_pretrained: RUN`` starts SIMONe's frame
encoder from (CNN encoder).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from safetensors import safe_open
from safetensors.torch import save_file

from ..config import ConfigError
from .config import TrainConfig
from ..data.dataset import DatasetError
from ..files import atomic_write
from ..model.config import SiamMAEConfig
from ..model.siammae import SiamMAE
from .banks import ClipBank
from .loop import (StopFlag, TrainError, latest_checkpoint, load_checkpoint, lr_at, read_run_arguments, run_parser,
                   run_steps, save_checkpoint)

ENCODER_FILE = 'encoder.safetensors'


def resolve(raw: dict) -> tuple[SiamMAEConfig, TrainConfig]:
    unknown = sorted(set(raw) - {'pretrain', 'train'})
    if unknown:
        raise ConfigError(f'unknown top-level section(s) {unknown}; expected pretrain and train')
    section = dict(raw.get('pretrain') or {})
    known = set(SiamMAEConfig.__dataclass_fields__)
    bad = sorted(set(section) - known)
    if bad:
        raise ConfigError(f'pretrain: unknown key(s) {bad}; known keys: {sorted(known)}')
    if 'gap' in section:
        section['gap'] = tuple(section['gap'])
    cfg = SiamMAEConfig(**section)
    cfg.check()
    cfg.simone_config()
    return cfg, TrainConfig.from_dict(raw.get('train') or {})


def save_encoder(model: SiamMAE, path: Path) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.encoder.state_dict().items()}
    meta = {'pretrain': json.dumps({**model.cfg.__dict__, 'gap': list(model.cfg.gap)}),
            'simone': model.simone_cfg.to_json()}
    atomic_write(path, lambda tmp: save_file(state, tmp, metadata=meta))


def load_pretrained(source: Path) -> SiamMAE:
    """Return the pretraining model of a run folder (or its encoder file) with the encoder's weights loaded."""
    from ..model.config import SimoneConfig
    path = Path(source)
    path = path / ENCODER_FILE if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f'no pretrained encoder at {source} (expected a run folder with {ENCODER_FILE})')
    with safe_open(str(path), 'pt') as f:
        meta = f.metadata() or {}
        state = {k: f.get_tensor(k) for k in f.keys()}
    if 'pretrain' not in meta or 'simone' not in meta:
        raise FileNotFoundError(f'{path} is not a pretrained encoder (no pretrain/simone metadata)')
    fields = json.loads(meta['pretrain'])
    fields['gap'] = tuple(fields['gap'])
    fields['simone'] = SimoneConfig.from_dict(json.loads(meta['simone'])).to_dict()
    model = SiamMAE(SiamMAEConfig(**fields))
    model.encoder.load_state_dict(state)
    return model.eval()


def pair_batch(bank: ClipBank, rng: np.random.Generator, batch: int, gap: tuple) -> tuple:
    """Past and future frames [B, C, H, W] from random clips of the bank, ``gap`` frames apart."""
    t0 = bank.video.shape[1]
    idx = rng.integers(0, len(bank), batch)
    gaps = rng.integers(gap[0], min(gap[1], t0 - 1) + 1, batch)
    starts = np.array([rng.integers(0, t0 - g) for g in gaps])
    past = bank.video[idx, starts].float().div_(255)
    future = bank.video[idx, starts + gaps].float().div_(255)
    return past, future


@torch.no_grad()
def validate(model: SiamMAE, bank: ClipBank, batch: int = 32) -> float:
    model.eval()
    rng = np.random.default_rng(123)
    g = torch.Generator().manual_seed(123)
    past, future = pair_batch(bank, rng, min(batch, len(bank)), model.cfg.gap)
    loss = float(model(past, future, model.random_keep(len(past), g))['loss'])
    model.train()
    return loss


class PretrainJob:
    """SiamMAE's training job (``loop.Job``): frame pairs from the sources' clips, the masked-future loss."""

    rank = 0

    def __init__(self, run: Path, cfg: SiamMAEConfig, tcfg: TrainConfig, resume: bool):
        torch.set_num_threads(tcfg.num_threads)
        torch.manual_seed(tcfg.seed)
        self.run, self.cfg, self.tcfg = run, cfg, tcfg
        self.model = SiamMAE(cfg)
        self.optim = torch.optim.AdamW(self.model.parameters(), lr=tcfg.lr, weight_decay=0.05)
        self.rng = np.random.default_rng(tcfg.seed)
        self.step, self.elapsed = 0, 0.0
        latest = latest_checkpoint(run, resume)
        if latest is not None:
            meta, states = load_checkpoint(latest, self.model, self.optim)
            self.step, self.elapsed = meta['step'], meta.get('elapsed_s', 0.0)
            self.rng.bit_generator.state = meta['numpy_rng']
            if 0 in states:
                torch.set_rng_state(states[0])
        sources = tcfg.source_list()
        simone = self.model.simone_cfg
        self.banks = [ClipBank(s['data'], 'train', simone, labels=()) for s in sources]
        self.weights = np.array([s['weight'] for s in sources]) / sum(s['weight'] for s in sources)
        self.val = ClipBank(sources[0]['data'], 'val', simone, limit=tcfg.eval_clips, labels=())
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(str(run / 'tb'), purge_step=self.step + 1)  # events after the checkpoint go
        self.use_bf16 = tcfg.amp == 'bf16'
        self.t0, self.done = time.monotonic(), 0
        self.model.train()

    def train_step(self) -> dict:
        for group in self.optim.param_groups:
            group['lr'] = lr_at(self.step, self.tcfg)
        bank = self.banks[int(self.rng.choice(len(self.banks), p=self.weights))]
        past, future = pair_batch(bank, self.rng, self.tcfg.batch_size, self.cfg.gap)
        keep = self.model.random_keep(len(past))
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=self.use_bf16):
            terms = self.model(past, future, keep)
        self.optim.zero_grad(set_to_none=True)
        terms['loss'].backward()
        terms['grad_norm'] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.tcfg.grad_clip)
        self.optim.step()
        self.step, self.done = self.step + 1, self.done + 1
        return terms

    def log(self, terms: dict, bar) -> None:
        for key in ('loss', 'visible_loss', 'grad_norm'):
            self.writer.add_scalar(f'train/{key}', float(terms[key].detach()), self.step)
        self.writer.add_scalar('train/steps_per_s', self.done / (time.monotonic() - self.t0), self.step)
        bar.set_postfix(loss=f'{float(terms["loss"].detach()):.3f}')

    def elapsed_now(self) -> float:
        return self.elapsed + time.monotonic() - self.t0

    def validate(self) -> dict:
        metrics = {'step': self.step, 'val_loss': validate(self.model, self.val), 'elapsed_s': self.elapsed_now()}
        self.writer.add_scalar('val/loss', metrics['val_loss'], self.step)
        with open(self.run / 'metrics.jsonl', 'a') as f:
            f.write(json.dumps(metrics) + '\n')
        return metrics

    def checkpoint(self) -> None:
        save_checkpoint(self.run, self.step, self.model, self.optim, self.rng, [torch.get_rng_state()],
                        {'elapsed_s': self.elapsed_now()}, self.tcfg.keep_checkpoints)
        save_encoder(self.model, self.run / ENCODER_FILE)

    def stop_requested(self, stop: StopFlag) -> bool:
        return stop.signal is not None

    def close(self) -> None:
        self.writer.close()


def pretrain(run: Path, cfg: SiamMAEConfig, tcfg: TrainConfig, resume: bool = False, progress: bool = True,
             max_steps: int | None = None) -> dict:
    """Pretrain (or resume) the run in ``run`` up to ``tcfg.steps`` (or ``max_steps`` more steps this call)."""
    return run_steps(PretrainJob(run, cfg, tcfg, resume), tcfg, run, max_steps, progress, desc='pretrain')


def main(argv: list[str] | None = None) -> int:
    args = run_parser('video-object-pretrain', __doc__).parse_args(argv)
    try:
        raw, run = read_run_arguments(args)
        cfg, tcfg = resolve(raw)
        run.mkdir(parents=True, exist_ok=True)
        if not args.resume:
            section = {**cfg.__dict__, 'gap': list(cfg.gap)}
            (run / 'config.yaml').write_text(yaml.safe_dump({'pretrain': section, 'train': tcfg.to_dict()}))
        result = pretrain(run, cfg, tcfg, bool(args.resume), not args.no_progress, args.max_steps)
    except (ConfigError, DatasetError, TrainError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
