"""`video-object-train`: train SIMONe on a simulated data set, resumably, on one or many processes.

    video-object-train --config config/train_small.yaml --run-dir runs/default [-o train.steps=5000 ...]
    video-object-train --resume runs/default              # continue bit for bit (same machine)
    torchrun --nproc_per_node 2 -m video_object_node.train --config ... --run-dir ...   # DDP (gloo / NCCL)

A run folder holds ``config.yaml`` (the resolved model and train config), ``checkpoints/`` (safetensors
tensors + a JSON sidecar per checkpoint: model, Adam state, RNG states, step), ``tb/`` (TensorBoard
scalars and images), ``metrics.jsonl`` (validation scores over time) and ``bundle/`` (the latest
weights as a model bundle). Carry the folder to another machine to go on there.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from .config import ConfigError, SimoneConfig, TrainConfig, apply_overrides, load_yaml
from .data.dataset import ClipDataset, DatasetError, model_view, window_inputs
from .metrics import fg_ari, psnr
from .model import BundleError, Simone, load_bundle, save_bundle
from .model.bundle import _atomic_write

CHECKPOINTS = 'checkpoints'


class TrainError(RuntimeError):
    """A run cannot start or continue (bad folder, missing checkpoint, mismatched config)."""


# Configuration -----------------------------------------------------------------------------------
def resolve_config(raw: dict) -> tuple[SimoneConfig, TrainConfig]:
    unknown = sorted(set(raw) - {'model', 'train'})
    if unknown:
        raise ConfigError(f'unknown top-level section(s) {unknown}; expected model and train')
    return SimoneConfig.from_dict(raw.get('model') or {}), TrainConfig.from_dict(raw.get('train') or {})


def resolved_yaml(model_cfg: SimoneConfig, train_cfg: TrainConfig) -> str:
    return yaml.safe_dump({'model': model_cfg.to_dict(), 'train': train_cfg.to_dict()}, sort_keys=True)


# Data ---------------------------------------------------------------------------------------------
class ClipBank:
    """A split held in memory at the model's size: inputs uint8 [N, T0, C, H, W], labels [N, T0, H, W].

    Camera clips are resized to the model; LIDAR clips become range images of the data set's sensor
    model, which must match the model's input (``lidar`` is then that sensor model).
    """

    def __init__(self, root: str, split: str, cfg: SimoneConfig, limit: int | None = None):
        size, self.lidar = model_view(root, cfg)
        ds = ClipDataset(root, split, size=size)
        if ds.sim.frames < cfg.frames:
            raise DatasetError(f'{root} has {ds.sim.frames}-frame clips; the model needs windows of {cfg.frames}')
        n = len(ds) if limit is None else min(limit, len(ds))
        if n == 0:
            raise DatasetError(f'split {split!r} of {root} is empty')
        pairs = [window_inputs(ds[i], self.lidar) for i in range(n)]
        self.video = torch.from_numpy(np.stack([p[0] for p in pairs])).contiguous()
        self.masks = np.stack([p[1] for p in pairs])
        self.frames = cfg.frames

    def __len__(self) -> int:
        return len(self.video)

    def batch(self, idx: np.ndarray, offsets: np.ndarray) -> torch.Tensor:
        """Windows of ``frames`` frames starting at ``offsets`` -> float [B, T, C, H, W] in [0, 1]."""
        windows = [self.video[i, o:o + self.frames] for i, o in zip(idx, offsets)]
        return torch.stack(windows).float().div_(255.0)


# Checkpoints --------------------------------------------------------------------------------------
def checkpoint_paths(run: Path) -> list[Path]:
    return sorted((run / CHECKPOINTS).glob('step-*.safetensors'))


def save_checkpoint(run: Path, step: int, model: Simone, optim: torch.optim.Optimizer, rng: np.random.Generator,
                    torch_rng_states: list[torch.Tensor], extra: dict, keep: int) -> Path:
    tensors = {f'model.{k}': v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
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
    _atomic_write(path.with_suffix('.json'), lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1)))
    _atomic_write(path, lambda tmp: save_file(tensors, tmp))
    for old in checkpoint_paths(run)[:-keep]:
        old.unlink()
        old.with_suffix('.json').unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, model: Simone, optim: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Restore model and optimiser from a checkpoint; returns (meta, torch RNG states by rank)."""
    meta_path = path.with_suffix('.json')
    if not meta_path.is_file():
        raise TrainError(f'checkpoint {path} has no {meta_path.name}')
    meta = json.loads(meta_path.read_text())
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith('model.')})
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith('optim.'):
            _, i, name = key.split('.', 2)
            state.setdefault(int(i), {})[name] = value
    optim.load_state_dict({'state': state, 'param_groups': meta['param_groups']})
    rng_states = {int(k.rsplit('.', 1)[1]): v for k, v in tensors.items() if k.startswith('rng.torch.')}
    return meta, rng_states


# Validation ---------------------------------------------------------------------------------------
@torch.no_grad()
def quick_eval(model: Simone, bank: ClipBank) -> tuple[dict, dict]:
    """Posterior-mean decode of the first window of each validation clip: MSE, PSNR, FG-ARI."""
    was_training = model.training
    model.eval()
    offsets = np.zeros(len(bank), int)
    mses, aris, first = [], [], None
    for start in range(0, len(bank), 8):
        idx = np.arange(start, min(start + 8, len(bank)))
        video = bank.batch(idx, offsets[idx])
        post = model.encode(video)
        out = model.decode(post.object_mean, post.frame_mean)
        mses.append(((out.rgb - video) ** 2).mean(dim=(1, 2, 3, 4)))
        seg = out.masks.argmax(dim=2).numpy()
        for j, i in enumerate(idx):
            aris.append(fg_ari(bank.masks[i, :model.cfg.frames], seg[j]))
        if first is None:
            first = dict(video=video[0], recon=out.rgb[0], seg=seg[0], masks=bank.masks[idx[0], :model.cfg.frames])
    model.train(was_training)
    mse = torch.cat(mses).mean().item()
    return {'val_mse': mse, 'val_psnr': psnr(mse), 'val_fg_ari': float(np.nanmean(aris))}, first


# The loop -----------------------------------------------------------------------------------------
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


def init_from_bundle(model: Simone, bundle: Path) -> int:
    """Fine-tuning: start ``model`` from a bundle's weights (read by ``load_bundle``: safetensors, checked).
    Every tensor must fit: settings that change no weight shape (K, decoder_time, losses) may differ, the
    architecture may not. Returns the number of tensors copied; TrainError naming the misfits otherwise."""
    try:
        source = load_bundle(bundle).state_dict()
    except BundleError as exc:
        raise TrainError(f'train.init_from: {exc}') from None
    own = model.state_dict()
    misfits = [f'{k} {tuple(v.shape)} vs {tuple(source[k].shape) if k in source else "missing"}'
               for k, v in own.items() if k not in source or source[k].shape != v.shape]
    if misfits:
        raise TrainError(f'train.init_from: {len(misfits)} tensor(s) of this model do not fit {bundle} (another '
                         f'architecture): {"; ".join(misfits[:3])}')
    model.load_state_dict(source)
    return len(own)


def train(run: Path, model_cfg: SimoneConfig, cfg: TrainConfig, resume: bool = False, progress: bool = True,
          max_steps: int | None = None) -> dict:
    """Train (or resume) the run in ``run`` up to ``cfg.steps`` (or ``max_steps`` more steps this call)."""
    distributed = int(os.environ.get('WORLD_SIZE', '1')) > 1
    device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0))) if torch.cuda.is_available() \
        else torch.device('cpu')
    if distributed and not dist.is_initialized():
        dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo')
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    torch.set_num_threads(cfg.num_threads)
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    if cfg.batch_size % world:
        raise ConfigError(f'train.batch_size {cfg.batch_size} is not divisible by the {world} processes')

    torch.manual_seed(cfg.seed)
    model = Simone(model_cfg).to(device)
    optim = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed + 1000 * rank)  # per-rank stream for latent samples and decoded subsets
    step, extra = 0, {'elapsed_s': 0.0}
    ckpts = checkpoint_paths(run)
    if resume:
        if not ckpts:
            raise TrainError(f'nothing to resume: {run / CHECKPOINTS} holds no checkpoint')
        meta, rng_states = load_checkpoint(ckpts[-1], model, optim)
        step = meta['step']
        rng.bit_generator.state = meta['numpy_rng']
        if rank in rng_states:
            torch.set_rng_state(rng_states[rank])
        extra = {'elapsed_s': meta.get('elapsed_s', 0.0)}
    elif ckpts:
        raise TrainError(f'{run} already holds checkpoints; use --resume {run} or a new --run-dir folder')
    elif cfg.init_from:
        loaded = init_from_bundle(model, Path(cfg.init_from))
        if rank == 0:
            print(f'initialised {loaded} tensors from {cfg.init_from}', file=sys.stderr)
    model.train()
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model

    bank = ClipBank(cfg.data, 'train', model_cfg)
    val = ClipBank(cfg.data, 'val', model_cfg, limit=cfg.eval_clips) if rank == 0 else None
    max_offset = bank.video.shape[1] - model_cfg.frames
    writer = None
    if rank == 0:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(run / 'tb'), purge_step=step)
    use_bf16 = cfg.amp == 'bf16' or (cfg.amp == 'auto' and device.type == 'cuda')
    stop = StopFlag()
    end = cfg.steps if max_steps is None else min(cfg.steps, step + max_steps)
    bar = tqdm(total=cfg.steps, initial=step, unit='step', disable=not progress or rank != 0, desc='train')
    last_metrics: dict = {}
    t0, steps_done = time.monotonic(), 0

    def checkpoint():
        states = [torch.get_rng_state()]
        if distributed:
            states = [None] * world
            dist.all_gather_object(states, torch.get_rng_state())
        if rank == 0:
            elapsed = extra['elapsed_s'] + time.monotonic() - t0
            save_checkpoint(run, step, model, optim, rng, states, {'elapsed_s': elapsed}, cfg.keep_checkpoints)
            save_bundle(model, run / 'bundle', meta={'step': step, 'train': cfg.to_dict()},
                        lidar=dataclasses.asdict(bank.lidar) if bank.lidar else None)

    while step < end:
        for group in optim.param_groups:
            group['lr'] = lr_at(step, cfg)
        idx = rng.integers(0, len(bank), cfg.batch_size)
        offsets = rng.integers(0, max_offset + 1, cfg.batch_size)
        mine = slice(rank * cfg.batch_size // world, (rank + 1) * cfg.batch_size // world)
        video = bank.batch(idx[mine], offsets[mine]).to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            terms = net(video)
        optim.zero_grad(set_to_none=True)
        terms['loss'].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optim.step()
        step += 1
        steps_done += 1
        if rank == 0:
            bar.update(1)
            if step % cfg.log_every == 0 or step == end:
                scalars = {k: float(v.detach()) for k, v in terms.items()}
                scalars.update(grad_norm=float(grad_norm), lr=optim.param_groups[0]['lr'],
                               steps_per_s=steps_done / (time.monotonic() - t0))
                for key, value in scalars.items():
                    writer.add_scalar(f'train/{key}', value, step)
                bar.set_postfix(loss=f'{scalars["loss"]:.3f}', mse=f'{scalars["mse"]:.4f}',
                                kl_o=f'{scalars["kl_objects"]:.1f}', sps=f'{scalars["steps_per_s"]:.2f}')
            if step % cfg.eval_every == 0 or step == end:
                last_metrics, sample = quick_eval(model, val)
                for key, value in last_metrics.items():
                    writer.add_scalar(f'val/{key[4:]}', value, step)
                from .visualize import decomposition_strip
                strip = decomposition_strip(sample['video'].permute(0, 2, 3, 1).numpy(),
                                            sample['recon'].permute(0, 2, 3, 1).numpy(), sample['seg'], sample['masks'])
                writer.add_image('val/decomposition', strip, step, dataformats='HWC')
                with open(run / 'metrics.jsonl', 'a') as f:
                    f.write(json.dumps({'step': step, **last_metrics,
                                        'elapsed_s': extra['elapsed_s'] + time.monotonic() - t0}) + '\n')
        stop_now = stop.signal is not None
        if distributed:
            flag = torch.tensor([int(stop_now)])
            dist.all_reduce(flag)
            stop_now = bool(flag.item())
        if step % cfg.checkpoint_every == 0 or step == end or stop_now:
            checkpoint()
        if stop_now:
            if rank == 0:
                tqdm.write(f'stopped by signal at step {step}; checkpoint written, resume with --resume {run}',
                           file=sys.stderr)
            break
    bar.close()
    if writer is not None:
        writer.close()
    result = {'step': step, **last_metrics}
    if distributed:
        # Evidence that the replicas stayed in step: a digest of every rank's parameters.
        digests = [None] * world
        dist.all_gather_object(digests, parameter_digest(model))
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
    parser = argparse.ArgumentParser(prog='video-object-train', description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('--config', type=Path, help='training YAML with model: and train: sections')
    parser.add_argument('--run-dir', dest='run', type=Path, help='run folder to create')
    parser.add_argument('--resume', type=Path, help='run folder to continue from its latest checkpoint')
    parser.add_argument('-o', '--override', action='append', default=[], metavar='KEY=VALUE',
                        help='override a config value, e.g. train.steps=5000 or model.num_slots=6')
    parser.add_argument('--max-steps', type=int, help='stop after this many steps in this call (a chunk)')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    try:
        if args.resume:
            run = args.resume
            if not (run / 'config.yaml').is_file():
                raise TrainError(f'{run} is not a run folder (no config.yaml)')
            raw = apply_overrides(load_yaml(run / 'config.yaml'), args.override)
            model_cfg, train_cfg = resolve_config(raw)
            saved_model = SimoneConfig.from_dict(load_yaml(run / 'config.yaml')['model'])
            if model_cfg != saved_model:
                raise TrainError('the model config of a run cannot change on resume')
            run.joinpath('config.yaml').write_text(resolved_yaml(model_cfg, train_cfg))
        else:
            if not args.config or not args.run:
                raise TrainError('give --config and --run-dir to start a run, or --resume RUN to continue one')
            raw = apply_overrides(load_yaml(args.config), args.override)
            model_cfg, train_cfg = resolve_config(raw)
            run = args.run
            if checkpoint_paths(run):
                raise TrainError(f'{run} already holds checkpoints; use --resume {run} or a new --run-dir folder')
            run.mkdir(parents=True, exist_ok=True)
            if int(os.environ.get('RANK', '0')) == 0:
                (run / 'config.yaml').write_text(resolved_yaml(model_cfg, train_cfg))
        result = train(run, model_cfg, train_cfg, resume=bool(args.resume), progress=not args.no_progress,
                       max_steps=args.max_steps)
    except (ConfigError, DatasetError, TrainError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if int(os.environ.get('RANK', '0')) == 0:
        print(json.dumps(result))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == '__main__':
    sys.exit(main())
