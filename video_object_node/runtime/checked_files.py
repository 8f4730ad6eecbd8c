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

"""A file a bundle's config.json names with its sha256, read and checked (the objectness head, the cluster scorer)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..bundle.layout import BundleError


def read_checked(bundle: str | Path, spec: dict, what: str) -> tuple[Path, bytes]:
    """
    Read a file a bundle's config.json names (``spec``: ``file`` and ``sha256``): its path and bytes.

    BundleError with one line when it is missing or does not match its recorded sha256; ``what`` names it there.
    """
    path = Path(bundle) / str(spec.get('file', ''))
    if not path.is_file():
        raise BundleError(f'bundle {bundle}: {what} {path.name!r} is missing (copy the bundle again)')
    data = path.read_bytes()
    if spec.get('sha256') and hashlib.sha256(data).hexdigest() != spec['sha256']:
        raise BundleError(f'bundle {bundle}: {path.name} does not match its sha256 (copy the bundle again)')
    return path, data
