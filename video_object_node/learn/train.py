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
`video-object-train`: train SIMONe on a simulated data set, resumably, on one or many processes.

    video-object-train --config config/train_small.yaml --run-dir runs/default [-o train.steps=5000 ...]
    video-object-train --resume runs/default              # continue bit for bit (same machine)
    torchrun --nproc_per_node 2 -m video_object_node.learn.train --config ... --run-dir ...   # DDP (gloo / NCCL)

A run folder holds ``config.yaml`` (the resolved model and train config), ``checkpoints/`` (safetensors
tensors + a JSON sidecar per checkpoint: model, Adam state, RNG states, step), ``tb/`` (TensorBoard
scalars and images), ``metrics.jsonl`` (validation scores over time) and ``bundle/`` (the latest
weights as a model bundle). Carry the folder to another machine to go on there.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml

from ..config import ConfigError, load_yaml
from .config import TrainConfig
from ..model.config import SimoneConfig
from ..data.dataset import ClipDataset, DatasetError, read_index
from ..bundle.layout import BundleError
from ..model import Simone, load_bundle, save_bundle
from ..sensing.sensors import SensorError
from .banks import ClipBank, SourceMix
from .loop import (StopFlag, TrainError, latest_checkpoint, load_checkpoint, lr_at, read_run_arguments, run_parser,
                   run_steps, save_checkpoint)
from ..scores.segments import fg_ari, psnr
from .objective import LossBalancer, step_loss
from ..bundle.viewpoint_probe import viewpoint_targets
from ..scores.viewpoint import r2_scores


# Configuration -----------------------------------------------------------------------------------
def resolve_config(raw: dict) -> tuple[SimoneConfig, TrainConfig]:
    unknown = sorted(set(raw) - {'model', 'train'})
    if unknown:
        raise ConfigError(f'unknown top-level section(s) {unknown}; expected model and train')
    return SimoneConfig.from_dict(raw.get('model') or {}), TrainConfig.from_dict(raw.get('train') or {})


def resolved_yaml(model_cfg: SimoneConfig, train_cfg: TrainConfig) -> str:
    return yaml.safe_dump({'model': model_cfg.to_dict(), 'train': train_cfg.to_dict()}, sort_keys=True)


# Validation ---------------------------------------------------------------------------------------
@torch.no_grad()
def quick_eval(model: Simone, bank: ClipBank) -> tuple[dict, dict]:
    """
    Posterior-mean decode of the first window of each validation clip.

    MSE, PSNR, FG-ARI, and the pose head's R^2 when the model has one and the clips have poses.
    """
    was_training = model.training
    model.eval()
    offsets = np.zeros(len(bank), int)
    mses, aris, first, poses, truths = [], [], None, [], []
    for start in range(0, len(bank), 8):
        idx = np.arange(start, min(start + 8, len(bank)))
        video = bank.batch(idx, offsets[idx])
        post = model.encode(video)
        out = model.decode_means(post)
        mses.append(((out.rgb - video) ** 2).mean(dim=(1, 2, 3, 4)))
        seg = out.masks.argmax(dim=2).numpy()
        if bank.masks is not None:
            for j, i in enumerate(idx):
                aris.append(fg_ari(bank.masks[i, :model.cfg.frames], seg[j]))
        if model.pose_head is not None and bank.extrinsics is not None:
            with_pose = bank.pose_clips[idx]
            if with_pose.any():
                poses.append(model.pose_head(post.frame_mean[torch.from_numpy(with_pose)]).reshape(-1, 11).numpy())
                truths.extend(viewpoint_targets(bank.extrinsics[i, :model.cfg.frames]) for i in idx[with_pose])
        if first is None:
            first = dict(video=video[0], recon=out.rgb[0], seg=seg[0],
                         masks=bank.masks[idx[0], :model.cfg.frames] if bank.masks is not None else seg[0])
    model.train(was_training)
    mse = torch.cat(mses).mean().item()
    metrics = {'val_mse': mse, 'val_psnr': psnr(mse), 'val_fg_ari': float(np.nanmean(aris)) if aris else float('nan')}
    if poses:
        r2 = r2_scores(np.concatenate(truths), np.concatenate(poses))
        metrics['val_pose_r2'] = float(np.nanmean(r2)) if np.isfinite(r2).any() else float('nan')
    return metrics, first


# The loop -----------------------------------------------------------------------------------------
def init_from_bundle(model: Simone, bundle: Path) -> int:
    """
    Fine-tuning: start ``model`` from a bundle's weights (read by ``load_bundle``: safetensors, checked).

    Every tensor must fit: settings that change no weight shape (K, decoder_time, losses) may differ, the architecture
    may not. Returns the number of tensors copied; TrainError naming the misfits otherwise.
    """
    try:
        source = load_bundle(bundle).state_dict()
    except BundleError as exc:
        raise TrainError(f'train.init_from: {exc}') from None
    own = model.state_dict()
    misfits = [f'{k} {tuple(v.shape)} vs {tuple(source[k].shape) if k in source else "missing"}'
               for k, v in own.items() if k not in source or source[k].shape != v.shape]
    if misfits:
        # A finer token grid or motion channels can be carried over (model/transfer.py); anything else cannot.
        from ..bundle.layout import Bundle
        from ..model.transfer import TransferError, transfer_state
        try:
            state, adapted = transfer_state(source, Bundle.open(bundle).model, own, model.cfg)
        except TransferError as exc:
            raise TrainError(f'train.init_from: {len(misfits)} tensor(s) of this model do not fit {bundle} (another '
                             f'architecture: {exc}): {"; ".join(misfits[:3])}') from None
        model.load_state_dict(state)
        print(f'init_from: {len(own)} tensors from {bundle}, {len(adapted)} carried to new shapes: '
              f'{", ".join(adapted)}', file=sys.stderr)
        return len(own)
    model.load_state_dict({k: source[k] for k in own})      # the bundle's extra tensors (heads) are not needed
    return len(own)


def init_frame_encoder(model: Simone, run: Path) -> int:
    """
    Start the frame encoder from a pretraining run's CNN encoder (``video-object-pretrain``); every tensor must fit.

    Returns the number of tensors copied.
    """
    from .pretrain import load_pretrained
    try:
        pretrained = load_pretrained(run)
    except FileNotFoundError as exc:
        raise TrainError(f'train.init_from_pretrained: {exc}') from None
    if pretrained.cfg.encoder != 'cnn':
        raise TrainError(f'train.init_from_pretrained: {run} pretrained a {pretrained.cfg.encoder} encoder; SIMONe\'s '
                         'frame encoder is the CNN (pretrain with encoder: cnn)')
    source, own = pretrained.encoder.state_dict(), model.frame_encoder.state_dict()
    misfits = [k for k, v in own.items() if k not in source or source[k].shape != v.shape]
    if misfits:
        raise TrainError(f'train.init_from_pretrained: the frame encoder of {run} does not fit this model '
                         f'({len(misfits)} tensors, e.g. {misfits[0]}); pretrain with this model\'s preset')
    model.frame_encoder.load_state_dict(source)
    return len(own)


def load_sources(cfg: TrainConfig, model_cfg: SimoneConfig) -> SourceMix:
    """Return the training banks of every source, mixed by their weights."""
    sources = cfg.source_list()
    banks = [ClipBank(s['data'], 'train', model_cfg, labels=s['labels'], teacher=s['teacher']) for s in sources]
    return SourceMix(banks, [s['weight'] for s in sources])


def standardise_pose_targets(model: Simone, mix: SourceMix) -> None:
    """Set the pose head's target mean and std from every window start of the banks that carry poses."""
    targets = [viewpoint_targets(b.extrinsics[i, o:o + mix.frames])
               for b in mix.banks if b.extrinsics is not None
               for i in np.flatnonzero(b.pose_clips)[:500] for o in range(0, b.extrinsics.shape[1] - mix.frames + 1, 4)]
    if model.pose_head is None or not targets:
        return
    y = np.concatenate(targets)
    model.pose_head.target_mean.copy_(torch.from_numpy(y.mean(0)).float())
    model.pose_head.target_std.copy_(torch.from_numpy(y.std(0) + 1e-3).float())


@torch.no_grad()
def set_pose_residuals(model: Simone, bank: ClipBank | None) -> None:
    """Set the pose head's residual std on validation windows (the node's covariance); left NaN without poses."""
    if model.pose_head is None or bank is None or bank.extrinsics is None:
        return
    was_training = model.training
    model.eval()
    idx = np.flatnonzero(bank.pose_clips)
    if len(idx) < 2:
        return
    chunks = [idx[i:i + 8] for i in range(0, len(idx), 8)]
    pred = torch.cat([model.pose_head(model.encode(bank.batch(c, np.zeros(len(c), int))).frame_mean)
                      for c in chunks]).reshape(-1, 11).numpy()
    truth = np.concatenate([viewpoint_targets(bank.extrinsics[i, :model.cfg.frames]) for i in idx])
    model.pose_head.residual_std.copy_(torch.from_numpy((truth - pred).std(0)).float())
    model.train(was_training)


class Run:
    """SIMONe's training job (``loop.Job``): model, optimiser, loss balancer, data, RNGs, logging."""

    def __init__(self, run: Path, model_cfg: SimoneConfig, cfg: TrainConfig, resume: bool, progress: bool):
        self.path, self.cfg, self.model_cfg = run, cfg, model_cfg
        self.distributed = int(os.environ.get('WORLD_SIZE', '1')) > 1
        self.device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0))) if torch.cuda.is_available() \
            else torch.device('cpu')
        if self.distributed and not dist.is_initialized():
            dist.init_process_group('nccl' if self.device.type == 'cuda' else 'gloo')
        self.rank, self.world = (dist.get_rank(), dist.get_world_size()) if self.distributed else (0, 1)
        torch.set_num_threads(cfg.num_threads)
        if self.device.type == 'cuda':
            torch.cuda.set_device(self.device)
        if self.distributed and (any(w > 0 for w in cfg.losses.values()) or model_cfg.pose_head
                                 or model_cfg.attribute_heads):
            raise ConfigError('supervised losses and model heads train in one process only (they run outside '
                              'the DistributedDataParallel forward); start without torchrun')
        if cfg.batch_size % self.world:
            raise ConfigError(f'train.batch_size {cfg.batch_size} is not divisible by the {self.world} processes')
        torch.manual_seed(cfg.seed)
        self.model = Simone(model_cfg).to(self.device)
        self.balancer = LossBalancer(cfg.balance, cfg.losses).to(self.device)
        self.optim = torch.optim.Adam(list(self.model.parameters()) + list(self.balancer.parameters()), lr=cfg.lr)
        self.rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed + 1000 * self.rank)  # per-rank stream for latent samples and decoded subsets
        self.step, self.elapsed = 0, 0.0
        self.mix = load_sources(cfg, model_cfg)
        elbo = [s['elbo'] for s in cfg.source_list()]
        self.elbo_weights = None if all(w == 1.0 for w in elbo) else torch.tensor(elbo, dtype=torch.float32)
        self.restore(resume)
        self.model.train()
        self.net = torch.nn.parallel.DistributedDataParallel(self.model) if self.distributed else self.model
        # Validation on every source's val split (the sources differ: e.g. ego-motion is visible on one only).
        self.vals = {}
        if self.rank == 0:
            for s in cfg.source_list():
                name = Path(s['data']).name
                has_val = 'val' in read_index(s['data'])['splits']        # a real LIDAR sequence may have none
                if name not in self.vals and has_val and ClipDataset(s['data'], 'val').num_clips > 0:   # nor a bag
                    self.vals[name] = ClipBank(s['data'], 'val', model_cfg, limit=cfg.eval_clips)
            if not self.vals:
                raise DatasetError('no source has a val split with clips: validation needs one')
        self.val = next(iter(self.vals.values()), None)
        self.writer = None
        if self.rank == 0:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(run / 'tb'), purge_step=self.step + 1)  # events after the checkpoint go
        self.use_bf16 = cfg.amp == 'bf16' or (cfg.amp == 'auto' and self.device.type == 'cuda')
        self.supervised = any(w > 0 for w in self.balancer.weights.values())
        self.progress = progress
        self.t0, self.steps_done = time.monotonic(), 0

    def restore(self, resume: bool) -> None:
        latest = latest_checkpoint(self.path, resume)
        if latest is not None:
            meta, rng_states = load_checkpoint(latest, self.model, self.optim, self.balancer)
            self.step = meta['step']
            self.rng.bit_generator.state = meta['numpy_rng']
            if self.rank in rng_states:
                torch.set_rng_state(rng_states[self.rank])
            self.elapsed = meta.get('elapsed_s', 0.0)
            return
        if self.cfg.init_from:
            loaded = init_from_bundle(self.model, Path(self.cfg.init_from))
            if self.rank == 0:
                print(f'initialised {loaded} tensors from {self.cfg.init_from}', file=sys.stderr)
        if self.cfg.init_from_pretrained:
            loaded = init_frame_encoder(self.model, Path(self.cfg.init_from_pretrained))
            if self.rank == 0:
                print(f'frame encoder: {loaded} tensors from {self.cfg.init_from_pretrained}', file=sys.stderr)
        standardise_pose_targets(self.model, self.mix)

    def train_step(self) -> dict:
        cfg = self.cfg
        for group in self.optim.param_groups:
            group['lr'] = lr_at(self.step, cfg)
        source, idx, offsets = self.mix.draw(self.rng, cfg.batch_size)
        mine = slice(self.rank * cfg.batch_size // self.world, (self.rank + 1) * cfg.batch_size // self.world)
        video, labels = self.mix.batch(source[mine], idx[mine], offsets[mine])
        video = video.to(self.device, non_blocking=True)
        labels = labels.to(self.device) if self.supervised else None
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16):
            weights = None if self.elbo_weights is None else self.elbo_weights[torch.from_numpy(source[mine])]
            terms = step_loss(self.net, self.model, video, labels, self.balancer, weights)
        self.optim.zero_grad(set_to_none=True)
        terms['loss'].backward()
        terms['grad_norm'] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optim.step()
        self.step += 1
        self.steps_done += 1
        return terms

    def log(self, terms: dict, bar) -> None:
        scalars = {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in terms.items()}
        scalars.update(lr=self.optim.param_groups[0]['lr'], steps_per_s=self.steps_done / (time.monotonic() - self.t0))
        for key, value in scalars.items():
            self.writer.add_scalar(f'train/{key}', value, self.step)
        if self.balancer.log_vars is not None:
            for name, value in zip(self.balancer.weights, self.balancer.log_vars.detach()):
                self.writer.add_scalar(f'balance/log_var_{name}', float(value), self.step)
        bar.set_postfix(loss=f'{scalars["loss"]:.3f}', mse=f'{scalars["mse"]:.4f}',
                        kl_o=f'{scalars["kl_objects"]:.1f}', sps=f'{scalars["steps_per_s"]:.2f}')

    def validate(self) -> dict:
        """Every source's val split; the first source's scores are also the run's headline ``val_*``."""
        metrics, sample = {}, None
        for i, (name, bank) in enumerate(self.vals.items()):
            scores, first = quick_eval(self.model, bank)
            if i == 0:
                metrics.update(scores)
                sample = first
            if len(self.vals) > 1:
                metrics.update({f'val_{name}_{k[4:]}': v for k, v in scores.items()})
        for key, value in metrics.items():
            self.writer.add_scalar(f'val/{key[4:]}', value, self.step)
        from ..scores.pictures import decomposition_strip
        rgb = self.model.cfg.image_channels
        strip = decomposition_strip(sample['video'][:, :rgb].permute(0, 2, 3, 1).numpy(),
                                    sample['recon'][:, :rgb].permute(0, 2, 3, 1).numpy(), sample['seg'],
                                    sample['masks'])
        self.writer.add_image('val/decomposition', strip, self.step, dataformats='HWC')
        with open(self.path / 'metrics.jsonl', 'a') as f:
            f.write(json.dumps({'step': self.step, **metrics, 'elapsed_s': self.elapsed_now()}) + '\n')
        return metrics

    def elapsed_now(self) -> float:
        return self.elapsed + time.monotonic() - self.t0

    def checkpoint(self) -> None:
        states = [torch.get_rng_state()]
        if self.distributed:
            states = [None] * self.world
            dist.all_gather_object(states, torch.get_rng_state())
        if self.rank == 0:
            set_pose_residuals(self.model, self.val)
            save_checkpoint(self.path, self.step, self.model, self.optim, self.rng, states,
                            {'elapsed_s': self.elapsed_now()}, self.cfg.keep_checkpoints, self.balancer)
            save_bundle(self.model, self.path / 'bundle', meta={'step': self.step, 'train': self.cfg.to_dict()},
                        sensor=self.mix.banks[0].sensor)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def stop_requested(self, stop: StopFlag) -> bool:
        stop_now = stop.signal is not None
        if self.distributed:
            flag = torch.tensor([int(stop_now)])
            dist.all_reduce(flag)
            stop_now = bool(flag.item())
        return stop_now


def train(run: Path, model_cfg: SimoneConfig, cfg: TrainConfig, resume: bool = False, progress: bool = True,
          max_steps: int | None = None) -> dict:
    """Train (or resume) the run in ``run`` up to ``cfg.steps`` (or ``max_steps`` more steps this call)."""
    r = Run(run, model_cfg, cfg, resume, progress)
    result = run_steps(r, cfg, run, max_steps, progress, desc='train')
    if r.distributed:
        # Evidence that the replicas stayed in step: a digest of every rank's parameters.
        digests = [None] * r.world
        dist.all_gather_object(digests, parameter_digest(r.model))
        result['replica_digests'] = digests
        dist.barrier()
    return result


def parameter_digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = run_parser('video-object-train', __doc__).parse_args(argv)
    try:
        raw, run = read_run_arguments(args)
        if args.resume:
            model_cfg, train_cfg = resolve_config(raw)
            saved_model = SimoneConfig.from_dict(load_yaml(run / 'config.yaml')['model'])
            if model_cfg != saved_model:
                raise TrainError('the model config of a run cannot change on resume')
            run.joinpath('config.yaml').write_text(resolved_yaml(model_cfg, train_cfg))
        else:
            model_cfg, train_cfg = resolve_config(raw)
            run.mkdir(parents=True, exist_ok=True)
            if int(os.environ.get('RANK', '0')) == 0:
                (run / 'config.yaml').write_text(resolved_yaml(model_cfg, train_cfg))
        result = train(run, model_cfg, train_cfg, resume=bool(args.resume), progress=not args.no_progress,
                       max_steps=args.max_steps)
    except (ConfigError, DatasetError, SensorError, TrainError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if int(os.environ.get('RANK', '0')) == 0:
        print(json.dumps(result))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == '__main__':
    sys.exit(main())
