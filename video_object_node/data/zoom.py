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
`video-object-dataset zoom`: annotated sequences cropped round their object, so that it fills more of the frame.

    video-object-dataset zoom SEQ [SEQ ...] OUT [--share 0.6]

Each sequence folder (``frames/`` and ``masks/``, as ``../shared/realvideo/davis2016-train``) is copied to
``OUT/<name>/`` with every frame and mask cropped to the same box: ``--share`` of the frame's width and height,
centred on the object's mean centre over the sequence (moved inside the frame where it would leave it). One box a
sequence keeps the footage's own camera motion; the object covers about 1 / share² more of the frame (a big object
close to the camera, as a robot meets it). The copies are sequence folders again: `video-object-eval --stream`,
`video-object-objectness split` and `from-video` read them. Frames are written as PNG (no second compression),
masks as 0 / 255 PNG; each folder is written beside its final name and renamed into place. Bad input is one line and
exit 2.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np

from .video_dataset import FRAME_SUFFIXES, VideoDatasetError, read_annotated_folder


def object_box(masks: np.ndarray, share: float) -> tuple[int, int, int, int]:
    """Return the crop (y0, x0, height, width): ``share`` of the sides round the mean centre of masks [N, H, W]."""
    h, w = masks.shape[1:]
    centres = [np.argwhere(m).mean(axis=0) for m in masks if m.any()]
    if not centres:
        raise VideoDatasetError('no frame shows the object: nothing to zoom on')
    cy, cx = np.mean(centres, axis=0)
    ch, cw = max(1, int(round(h * share))), max(1, int(round(w * share)))
    y0 = int(np.clip(round(cy - ch / 2), 0, h - ch))
    x0 = int(np.clip(round(cx - cw / 2), 0, w - cw))
    return y0, x0, ch, cw


def zoom_sequence(src: Path, out: Path, share: float) -> dict:
    """Write ``src`` cropped round its object to ``out/<name>``; return its record (box, the object's shares)."""
    src = Path(src)
    try:
        frames, masks = read_annotated_folder(src, masks=True)
        y0, x0, ch, cw = object_box(masks, share)
    except VideoDatasetError as exc:
        raise VideoDatasetError(f'{src}: {exc}') from None
    names = sorted(p.stem for p in (src / 'frames').iterdir() if p.suffix.lower() in FRAME_SUFFIXES)  # its order
    final = Path(out) / src.name
    partial = final.with_name(f'.{src.name}.partial')
    shutil.rmtree(partial, ignore_errors=True)
    (partial / 'frames').mkdir(parents=True)
    (partial / 'masks').mkdir()
    crop = (slice(y0, y0 + ch), slice(x0, x0 + cw))
    for name, frame, mask in zip(names, frames, masks):
        cv2.imwrite(str(partial / 'frames' / f'{name}.png'), cv2.cvtColor(frame[crop], cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(partial / 'masks' / f'{name}.png'), mask[crop].astype(np.uint8) * 255)
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    return {'sequence': src.name, 'box': [y0, x0, ch, cw], 'size': list(masks.shape[1:]),
            'object_share': round(float(masks.mean()), 4),
            'zoomed_share': round(float(masks[:, crop[0], crop[1]].mean()), 4)}


def zoom(sources: list[Path], out: Path, share: float = 0.6) -> list[dict]:
    """Zoom every sequence folder of ``sources`` into ``out``; return their records."""
    if not 0.0 < share <= 1.0:
        raise VideoDatasetError(f'--share must be in (0, 1], got {share}')
    for src in sources:
        if not (Path(src) / 'frames').is_dir() or not (Path(src) / 'masks').is_dir():
            raise VideoDatasetError(f'{src}: a sequence folder with frames/ and masks/ is needed')
    Path(out).mkdir(parents=True, exist_ok=True)
    return [zoom_sequence(Path(src), Path(out), share) for src in sources]
