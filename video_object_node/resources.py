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
