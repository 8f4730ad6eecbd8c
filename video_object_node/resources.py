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
Files the package ships beside its code (``models/``, ``config/``).

Found in a source checkout, else in the installed package's share folder (ament index), never by assuming a checkout's
layout.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE = 'video_object_node'
SOURCE_ROOT = Path(__file__).resolve().parents[1]   # the checkout (or site-packages) holding the package


def resource_path(relative: str) -> Path:
    """
    Return the path of a packaged resource, in a checkout or installed.

    ``relative`` (e.g. 'config/fastdds_local.xml', 'models/default') in the checkout when this module runs
    from one (``package.xml`` beside the package), else under the installed share folder.
    """
    if (SOURCE_ROOT / 'package.xml').is_file() and (SOURCE_ROOT / relative).exists():
        return SOURCE_ROOT / relative
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE)) / relative
    except Exception:  # noqa: BLE001 - no ament index (a plain pip install): the source layout is all there is
        return SOURCE_ROOT / relative
