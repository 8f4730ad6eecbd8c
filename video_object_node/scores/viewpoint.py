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

"""How well a viewpoint is predicted: R² of each target (``bundle/viewpoint_probe.py`` names the targets)."""
from __future__ import annotations

import numpy as np


def r2_scores(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """R^2 of each output column (1 - SSE / SST); a constant column scores nan."""
    sst = ((y - y.mean(0)) ** 2).sum(0)
    sse = ((y - pred) ** 2).sum(0)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(sst > 1e-12, 1.0 - sse / sst, np.nan)
