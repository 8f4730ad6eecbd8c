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

"""The training config: ``TrainConfig``, the ``train:`` section of a training YAML."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from ..config import ConfigError, coerce


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping of a training run (the ``train:`` section of a training YAML)."""

    data: str = 'data/movi'                  # a data set folder made by video-object-sim
    init_from: str = ''                      # a bundle whose weights start a new run (fine-tuning); '' = random
    init_from_pretrained: str = ''           # a video-object-pretrain run whose CNN encoder starts the frame encoder
    steps: int = 20000
    batch_size: int = 32
    lr: float = 4e-4
    warmup_steps: int = 500
    grad_clip: float = 1.0
    seed: int = 0
    num_threads: int = 2                     # torch CPU threads per process
    amp: str = 'auto'                        # 'auto' (bf16 on CUDA), 'bf16', or 'off'
    log_every: int = 50                      # TensorBoard scalars
    eval_every: int = 1000                   # validation metrics + images
    eval_clips: int = 32
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    # Heterogeneous training: several data sets, each a mapping {data: folder, weight: share of each batch
    # (default 1), labels: which of its labels the losses may use (default all it has: masks, pose,
    # attributes; [] = unlabelled; foreground: its masks as one object's alone), elbo: the weight of its clips' ELBO
    # (default 1; below 1 lets a teacher such as motion_mask outweigh reconstruction on that source), teacher:
    # 'motion' (full-resolution residual motion), 'motion-edges' (the same refined along the frames' edges) or a
    # bundle folder (a self-training round:
    # that model's segments where they agree with the motion) as the clips' foreground for the foreground loss}.
    # Empty: ``data`` alone, with all its labels.
    sources: tuple = ()
    # Weights of the supervised losses (mask, placement, pose, attributes); each applies only to the clips of
    # a batch that carry its label. All 0 (the default) is pure unsupervised ELBO training.
    losses: dict = dataclasses.field(default_factory=dict)
    balance: str = 'fixed'                   # 'fixed' (weights as given), 'running_mean' (each term divided
                                             # by its running mean first) or 'uncertainty' (learned weights)

    SOURCE_KEYS = ('data', 'weight', 'labels', 'elbo', 'teacher')
    # 'foreground': the data set's masks read as one object's mask alone (a real sequence's annotated foreground:
    # the rest of the scene is not one segment), for the foreground loss; not among the defaults.
    LABEL_KINDS = ('masks', 'pose', 'attributes')
    EXTRA_LABEL_KINDS = ('foreground',)
    LOSSES = ('mask', 'placement', 'pose', 'attributes', 'motion', 'motion_mask', 'foreground')
    BALANCES = ('fixed', 'running_mean', 'uncertainty')

    def __post_init__(self):
        for name in ('steps', 'batch_size', 'num_threads', 'log_every', 'eval_every', 'eval_clips',
                     'checkpoint_every', 'keep_checkpoints'):
            value = getattr(self, name)
            _check(isinstance(value, int) and value > 0, f'train.{name} must be a positive integer, got {value!r}')
        _check(isinstance(self.warmup_steps, int) and self.warmup_steps >= 0,
               f'train.warmup_steps must be >= 0, got {self.warmup_steps!r}')
        _check(self.lr > 0, f'train.lr must be > 0, got {self.lr}')
        _check(self.grad_clip > 0, f'train.grad_clip must be > 0, got {self.grad_clip}')
        _check(self.amp in ('auto', 'bf16', 'off'), f"train.amp must be 'auto', 'bf16' or 'off', got {self.amp!r}")
        _check(self.balance in self.BALANCES, f'train.balance must be one of {self.BALANCES}, got {self.balance!r}')
        _check(isinstance(self.losses, Mapping), f'train.losses must be a mapping of loss weights, got {self.losses!r}')
        unknown = sorted(set(self.losses) - set(self.LOSSES))
        _check(not unknown, f'train.losses: unknown loss(es) {unknown}; known: {list(self.LOSSES)}')
        for name, weight in self.losses.items():
            _check(isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight >= 0,
                   f'train.losses.{name} must be a number >= 0, got {weight!r}')
        for i, source in enumerate(self.sources):
            _check(isinstance(source, Mapping) and 'data' in source,
                   f'train.sources[{i}] must be a mapping with at least data: FOLDER, got {source!r}')
            unknown = sorted(set(source) - set(self.SOURCE_KEYS))
            _check(not unknown, f'train.sources[{i}]: unknown key(s) {unknown}; known: {list(self.SOURCE_KEYS)}')
            weight = source.get('weight', 1.0)
            _check(isinstance(weight, (int, float)) and weight > 0,
                   f'train.sources[{i}].weight must be a number > 0, got {weight!r}')
            elbo = source.get('elbo', 1.0)
            _check(isinstance(elbo, (int, float)) and not isinstance(elbo, bool) and 0 <= elbo <= 1,
                   f'train.sources[{i}].elbo must be a number in [0, 1], got {elbo!r}')
            labels = source.get('labels', list(self.LABEL_KINDS))
            kinds = self.LABEL_KINDS + self.EXTRA_LABEL_KINDS
            _check(isinstance(labels, (list, tuple)) and set(labels) <= set(kinds),
                   f'train.sources[{i}].labels must be a list drawn from {list(kinds)}, got {labels!r}')
            _check(not {'masks', 'foreground'} <= set(labels),
                   f'train.sources[{i}].labels: masks and foreground read the same masks; give one')
            teacher = source.get('teacher', '')
            _check(isinstance(teacher, str), f'train.sources[{i}].teacher must be motion, motion-edges, a bundle '
                   f'folder (a self-training round) or empty, got {teacher!r}')

    def source_list(self) -> list[dict]:
        """Return the data sources, each {data, weight, labels, elbo} with defaults filled in."""
        given = self.sources or ({'data': self.data},)
        return [{'data': str(s['data']), 'weight': float(s.get('weight', 1.0)),
                 'labels': tuple(s.get('labels', self.LABEL_KINDS)), 'elbo': float(s.get('elbo', 1.0)),
                 'teacher': str(s.get('teacher', ''))}
                for s in given]

    def loss_weight(self, name: str) -> float:
        return float(self.losses.get(name, 0.0))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'TrainConfig':
        data = dict(data)
        if isinstance(data.get('sources'), list):
            data['sources'] = tuple(dict(s) if isinstance(s, Mapping) else s for s in data['sources'])
        return coerce(cls, data)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out['sources'] = [dict(s, labels=list(s['labels'])) if 'labels' in s else dict(s) for s in self.sources]
        out['losses'] = dict(self.losses)
        return out
