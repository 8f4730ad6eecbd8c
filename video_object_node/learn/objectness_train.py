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
Train the per-frame objectness head (``model/objectness.py``) on exact masks (``video-object-objectness train``).

Each frame of each clip becomes one sample: the model's input (RGB + the motion channels against the previous frame of
the clip, computed as the node computes them: ``sensing/motion.py``) and its foreground (every labelled object). Real
frames also get another real frame's object pasted on them (its colour and motion, at a random shift; masks unioned).
Loss: binary cross-entropy + soft Dice; Adam with a cosine decay over the run's minutes. The weights with the best
per-frame J on the validation split are kept (``best.safetensors``); a run resumes from ``last.safetensors``. With
``ema`` > 0 the evaluated and kept weights are an exponential moving average of the trained ones
(``torch.optim.swa_utils``; ``ema.safetensors``): 2,000 annotated frames make the weights noisy from step to step.

``export/objectness.py`` attaches the kept weights to a bundle (``video-object-objectness attach``).
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..data.dataset import ClipDataset
from ..files import atomic_write, atomic_write_text
from ..model.objectness import ObjectnessNet


class ObjectnessError(ValueError):
    """A bad argument or run folder: one line."""


def touching(labels: np.ndarray) -> np.ndarray:
    """
    Return the pixels of an object next to another object's (4-neighbours), bool, for label maps [..., H, W].

    0 is the background; both sides of a contact are marked (a band two pixels wide between touching objects).
    """
    out = np.zeros(labels.shape, bool)
    for axis in (-1, -2):
        a, b = labels, np.roll(labels, 1, axis=axis)
        edge = (a > 0) & (b > 0) & (a != b)
        index = [slice(None)] * labels.ndim
        index[axis] = 0
        edge[tuple(index)] = False                                     # no wrap-around
        out |= edge | np.roll(edge, -1, axis=axis)
    return out


def frame_samples(root: Path, split: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """
    Every frame of a split: inputs uint8 [N, 5, size, size] (RGB, motion) and targets uint8 [N, size, size].

    Targets: 1 = an object's pixel, 2 = one next to another object's (``touching``), 0 = background.
    """
    ds = ClipDataset(root, split, size=(size, size), motion=True)
    inputs, fg = [], []
    for i in range(len(ds)):
        clip = ds[i]
        if clip.get('masks') is None:
            raise ObjectnessError(f'{root}:{split} clip {i} has no masks')
        video = clip['video'].transpose(0, 3, 1, 2)                               # [T, 3, H, W] uint8
        inputs.append(np.concatenate([video, clip['motion']], axis=1))           # [T, 5, H, W]
        masks = clip['masks']
        fg.append((masks > 0).astype(np.uint8) + touching(masks).astype(np.uint8))
    return np.concatenate(inputs), np.concatenate(fg)


def cached_samples(run: Path, root: Path, split: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``frame_samples``, cached in the run folder (written atomically)."""
    name = hashlib.sha256(f'{root.resolve()}:{split}:{size}:touching'.encode()).hexdigest()[:12]
    path = run / f'cache-{root.name}-{split}-{name}.npz'
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return z['inputs'], z['fg']
    inputs, fg = frame_samples(root, split, size)

    def write(tmp):
        with open(tmp, 'wb') as f:
            np.savez(f, inputs=inputs, fg=fg)
    atomic_write(path, write)
    return inputs, fg


def paste(inputs: np.ndarray, fg: np.ndarray, donors: np.ndarray, donor_fg: np.ndarray,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """
    Copy-paste: each sample gets a donor's object (colour and motion channels) at a random shift; targets unioned.

    Where the pasted object meets the sample's own, both sides become touching pixels (2).
    """
    out, out_fg = inputs.copy(), fg.copy()
    size = inputs.shape[-1]
    for b in range(len(inputs)):
        d = int(rng.integers(len(donors)))
        shift = rng.integers(-size // 3, size // 3 + 1, size=2)
        obj = np.roll(donor_fg[d] > 0, tuple(shift), axis=(0, 1))
        pixels = np.roll(donors[d], tuple(shift), axis=(1, 2))
        out[b][:, obj] = pixels[:, obj]
        labels = (out_fg[b] > 0).astype(np.int32)
        labels[obj] = 2
        out_fg[b] = np.where(labels > 0, 1, 0) + touching(labels)
    return out, out_fg


def zoom(x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, least: float = 0.6) -> tuple:
    """
    Crop a random square of ``least``..1 of the side from the whole batch and resize it back (a closer camera).

    Colour bilinear, masks nearest; the motion channels scale with the zoom (the same motion covers more pixels).
    """
    size = x.shape[-1]
    scale = float(rng.uniform(least, 1.0))
    side = max(8, int(round(size * scale)))
    y0, x0 = (int(v) for v in rng.integers(0, size - side + 1, size=2))
    x = F.interpolate(x[..., y0:y0 + side, x0:x0 + side], size=(size, size), mode='bilinear', align_corners=False)
    y = F.interpolate(y[..., y0:y0 + side, x0:x0 + side], size=(size, size), mode='nearest')
    x[:, 3:] = ((x[:, 3:] - 0.5) * size / side + 0.5).clamp(0, 1)
    return x, y


def augment(x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, zoom_least: float = 1.0,
            recolour: float = 0.0) -> tuple:
    """
    Flip, zoom and jitter a batch (inputs [B, 5, H, W] in [0, 1], masks [B, 1, H, W]).

    Flip left-right (the horizontal motion channel changes sign); with ``zoom_least`` < 1, ``zoom`` half the batches;
    jitter brightness and contrast of the colour; with ``recolour`` > 0, that share of the samples has its colour
    channels shuffled (a new hue for every object and wall) or, one in four of them, made grey (objects are told by
    their shape and motion, not by the colours of a few annotated sequences).
    """
    if zoom_least < 1.0 and rng.random() < 0.5:
        x, y = zoom(x, y, rng, zoom_least)
    flip = torch.from_numpy(rng.random(len(x)) < 0.5)
    x[flip] = x[flip].flip(-1)
    y[flip] = y[flip].flip(-1)
    x[flip, 3] = 1.0 - x[flip, 3]
    for b in np.nonzero(rng.random(len(x)) < recolour)[0]:
        if rng.random() < 0.25:
            x[b, :3] = x[b, :3].mean(0, keepdim=True)
        else:
            x[b, :3] = x[b, torch.from_numpy(rng.permutation(3))]
    gain = torch.from_numpy(rng.uniform(0.7, 1.3, (len(x), 1, 1, 1)).astype(np.float32))
    bias = torch.from_numpy(rng.uniform(-0.1, 0.1, (len(x), 1, 1, 1)).astype(np.float32))
    x[:, :3] = ((x[:, :3] - 0.5) * gain + 0.5 + bias).clamp(0, 1)
    return x, y


TOUCHING_WEIGHT = 5.0     # touching pixels are rare: their cross-entropy counts this much more


def loss_fn(logit: torch.Tensor, target: torch.Tensor, touch_weight: float = TOUCHING_WEIGHT) -> torch.Tensor:
    """
    Binary cross-entropy + soft Dice (per sample) of the foreground, on logits [B, 1 or 2, H, W].

    Targets [B, 1, H, W] in {0, 1, 2} (2 = touching another object, also foreground); a second logit channel learns
    the touching pixels by cross-entropy that weighs them ``touch_weight`` times.
    """
    fg = (target > 0).float()
    bce = F.binary_cross_entropy_with_logits(logit[:, :1], fg)
    p = torch.sigmoid(logit[:, :1]).flatten(1)
    t = fg.flatten(1)
    dice = 1 - (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
    loss = bce + dice.mean()
    if logit.shape[1] > 1:
        edge = (target == 2).float()
        loss = loss + F.binary_cross_entropy_with_logits(logit[:, 1:2], edge,
                                                         pos_weight=torch.tensor(float(touch_weight)))
    return loss


def frame_j(pred: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """Per-frame J of boolean predictions [N, H, W] (frames whose foreground is empty: NaN)."""
    inter = (pred & fg).sum((1, 2))
    union = (pred | fg).sum((1, 2))
    return np.where(fg.any((1, 2)), inter / np.maximum(union, 1), np.nan)


@torch.no_grad()
def predict(net: ObjectnessNet, inputs: np.ndarray, batch: int = 64) -> np.ndarray:
    """Foreground probability [N, H, W] of uint8 inputs [N, 5, H, W]."""
    net.eval()
    out = [torch.sigmoid(net(torch.from_numpy(inputs[i:i + batch]).float() / 255.0)[:, 0]).numpy()
           for i in range(0, len(inputs), batch)]
    net.train()
    return np.concatenate(out)


def train(run: Path, sources: list, val: tuple, minutes: float, batch: int = 32, lr: float = 1e-3, size: int = 64,
          seed: int = 0, paste_prob: float = 0.5, eval_every: int = 200, weights: list | None = None,
          zoom_least: float = 1.0, weight_decay: float = 0.0, init_from: Path | None = None, outputs: int = 1,
          touch_weight: float = TOUCHING_WEIGHT, ema: float = 0.0, recolour: float = 0.0, log=print) -> dict:
    """Train (or resume) in ``run`` on data set splits; return the summary (best validation J, steps)."""
    run.mkdir(parents=True, exist_ok=True)
    data = [cached_samples(run, r, s, size) for r, s in sources]
    # Real footage gets other real objects pasted on it; composites and the simulator already have several objects.
    real = [i for i, (r, _s) in enumerate(sources) if data[i][0].shape[0] and _is_real(r)]
    names = [f'{r}:{s}' for r, s in sources]
    return fit(run, data, real, cached_samples(run, *val, size), minutes, names=names, val_name=f'{val[0]}:{val[1]}',
               batch=batch, lr=lr, seed=seed, paste_prob=paste_prob, eval_every=eval_every, weights=weights,
               zoom_least=zoom_least, weight_decay=weight_decay, init_from=init_from, outputs=outputs,
               touch_weight=touch_weight, ema=ema, recolour=recolour, log=log)


def _is_real(root: Path) -> bool:
    """Whether a data set is real footage (its index says preset 'video'), not composites or the simulator."""
    from ..data.dataset import read_index
    return read_index(root).get('preset') == 'video'


def fit(run: Path, data: list, real: list, val: tuple, minutes: float, names: list | None = None, val_name: str = '',
        batch: int = 32, lr: float = 1e-3, seed: int = 0, paste_prob: float = 0.5, eval_every: int = 200,
        max_steps: int | None = None, weights: list | None = None, zoom_least: float = 1.0,
        weight_decay: float = 0.0, init_from: Path | None = None, outputs: int = 1,
        touch_weight: float = TOUCHING_WEIGHT, ema: float = 0.0, recolour: float = 0.0, log=print) -> dict:
    """
    Train (or resume) on arrays.

    data: [(inputs uint8 [N, C, H, W], foreground uint8 [N, H, W])] per source (a batch is drawn from one source, with
    probabilities ``weights``, default equal); real: the sources whose objects are pasted onto their own samples; val:
    (inputs, foreground). ``zoom_least`` < 1 adds random zooms (``augment``); ``weight_decay``: AdamW's;
    ``init_from``: a run folder whose best weights start a new run (a one-output head's start a two-output one's
    foreground); ``outputs`` 2: the head also learns the pixels where objects touch; ``ema`` in (0, 1): the weights
    evaluated and kept are the moving average of the trained ones with this decay a step (the raw weights' J is
    logged beside, ``val_frame_j_raw``); ``recolour``: the share of samples whose colours change (``augment``).
    """
    run.mkdir(parents=True, exist_ok=True)
    state_path = run / 'state.json'
    state = json.loads(state_path.read_text()) if state_path.is_file() else {
        'step': 0, 'seconds': 0.0, 'best_j': -1.0, 'best_step': 0, 'seed': seed,
        'sources': names or [f'source {i}' for i in range(len(data))], 'val': val_name, 'batch': batch,
        'lr': lr, 'paste_prob': paste_prob, 'weights': weights, 'zoom_least': zoom_least,
        'weight_decay': weight_decay, 'touch_weight': touch_weight, 'ema': ema,
        'recolour': recolour}
    state['minutes'] = minutes
    p = None if weights is None else np.asarray(weights, np.float64) / np.sum(weights)
    donors = np.concatenate([data[i][0] for i in real]) if real else None
    donor_fg = np.concatenate([data[i][1] for i in real]) if real else None
    val_in, val_fg = val
    state.setdefault('outputs', outputs)
    net = ObjectnessNet(channels=data[0][0].shape[1], outputs=state['outputs'])
    if (run / 'last.safetensors').is_file():
        net.load_state_dict(load_file(run / 'last.safetensors'))
    elif init_from is not None:
        start_from(net, load_net(Path(init_from)))
        state['init_from'] = str(init_from)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    average = None
    if state.get('ema', 0.0) > 0:
        average = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(state['ema']))
        if (run / 'ema.safetensors').is_file():
            average.module.load_state_dict(load_file(run / 'ema.safetensors'))
            average.n_averaged.fill_(max(state['step'], 1))
    kept = net if average is None else average.module
    rng = np.random.default_rng(seed + state['step'])
    start = time.monotonic() - state['seconds']
    total = minutes * 60.0
    curve = run / 'curve.jsonl'
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= total or (max_steps is not None and state['step'] >= max_steps):
            break
        for group in opt.param_groups:
            group['lr'] = lr * 0.5 * (1 + np.cos(np.pi * min(elapsed / total, 1.0)))
        src = int(rng.choice(len(data), p=p))
        inputs, fg = data[src]
        pick = rng.integers(len(inputs), size=batch)
        x, y = inputs[pick], fg[pick]
        if src in real and rng.random() < paste_prob:
            x, y = paste(x, y, donors, donor_fg, rng)
        x = torch.from_numpy(x).float() / 255.0
        y = torch.from_numpy(y).float()[:, None]
        x, y = augment(x, y, rng, zoom_least, state.get('recolour', 0.0))
        loss = loss_fn(net(x), y, touch_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if average is not None:
            average.update_parameters(net)
        state['step'] += 1
        if state['step'] % eval_every == 0:
            j = float(np.nanmean(frame_j(predict(kept, val_in) > 0.5, val_fg > 0)))
            state['seconds'] = time.monotonic() - start
            row = {'step': state['step'], 'minutes': round(state['seconds'] / 60, 2), 'loss': float(loss.detach()),
                   'val_frame_j': round(j, 4), 'lr': opt.param_groups[0]['lr']}
            if average is not None:
                row['val_frame_j_raw'] = round(float(np.nanmean(frame_j(predict(net, val_in) > 0.5, val_fg > 0))), 4)
            with open(curve, 'a') as f:
                f.write(json.dumps(row) + '\n')
            log(json.dumps(row))
            raw = {k: v.contiguous() for k, v in net.state_dict().items()}
            atomic_write(run / 'last.safetensors', lambda tmp: save_file(raw, tmp))
            weights = raw if average is None else {k: v.contiguous() for k, v in kept.state_dict().items()}
            if average is not None:
                atomic_write(run / 'ema.safetensors', lambda tmp: save_file(weights, tmp))
            if j > state['best_j']:
                state['best_j'], state['best_step'] = j, state['step']
                atomic_write(run / 'best.safetensors', lambda tmp: save_file(weights, tmp))
            atomic_write_text(state_path, json.dumps(state, indent=2))
    return {'run': str(run), 'steps': state['step'], 'best_val_frame_j': state['best_j'],
            'best_step': state['best_step']}


def start_from(net: ObjectnessNet, other: ObjectnessNet) -> None:
    """Copy another head's weights into ``net``; its outputs into the first of ``net``'s (the rest keep their start)."""
    state = other.state_dict()
    own = net.state_dict()
    for name in ('out.weight', 'out.bias'):
        merged = own[name].clone()
        merged[:state[name].shape[0]] = state[name][:merged.shape[0]]
        state[name] = merged
    net.load_state_dict(state)


def load_net(run: Path) -> ObjectnessNet:
    """Load a run's best weights, or a ``.safetensors`` file of a head's weights (no pickle)."""
    run = Path(run)
    path = run if run.suffix == '.safetensors' else run / 'best.safetensors'
    if not path.is_file():
        raise ObjectnessError(f'{run} has no best.safetensors (train it first)' if path != run else
                              f'{run} is not a file')
    weights = load_file(path)
    net = ObjectnessNet(channels=int(weights['down.0.0.weight'].shape[1]), outputs=int(weights['out.weight'].shape[0]))
    net.load_state_dict(weights)
    return net.eval()
