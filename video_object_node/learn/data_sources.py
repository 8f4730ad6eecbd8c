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
Data sources named on a command line: ``ROOT[:SPLIT[:WEIGHT]]`` (a data set's folder, its split, how much it counts).

Read by the cluster scorer's and the region split's trainers (``video-object-objectness scorer|split --data ...``),
``tools/lidar_scorer_crosscheck.py`` and, without a weight (``parse_split``), the objectness head's trainer.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


class SourceError(ValueError):
    """A data source that cannot be read as ROOT[:SPLIT[:WEIGHT]] (one line)."""


def parse_weighted(text: str) -> tuple[Path, str, float]:
    """Parse 'ROOT[:SPLIT[:WEIGHT]]' -> (root, split, weight); split train and weight 1 by default."""
    parts = str(text).split(':')
    if len(parts) > 3 or not parts[0]:
        raise SourceError(f'data source {text!r}: expected ROOT[:SPLIT[:WEIGHT]]')
    root, split = Path(parts[0]), (parts[1] if len(parts) > 1 and parts[1] else 'train')
    try:
        weight = float(parts[2]) if len(parts) > 2 else 1.0
    except ValueError:
        raise SourceError(f'data source {text!r}: the weight {parts[2]!r} is not a number') from None
    if not root.is_dir():
        raise SourceError(f'data set {str(root)!r} is not a folder')
    if not (weight > 0 and np.isfinite(weight)):
        raise SourceError(f'data source {text!r}: the weight must be > 0')
    return root, split, weight


def parse_split(text: str) -> tuple[Path, str]:
    """Parse 'ROOT[:SPLIT]' -> (root, split), split train by default (a source that takes no weight)."""
    if str(text).count(':') > 1:
        raise SourceError(f'data source {text!r}: expected ROOT[:SPLIT]')
    root, split, _ = parse_weighted(text)
    return root, split
