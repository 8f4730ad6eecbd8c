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
Measure the motion teachers against annotated masks: J of each teacher's mask over the usable frames and over all.

    python tools/teacher_probe.py --data data/real-trainmasks --split train [--size 64] [--clips N]

Variants: the model's own motion (DIS MEDIUM, half resolution; ``supervision.pseudo_foreground``), DIS at full
resolution, and full resolution refined along the frame's edges (``teacher.motion_teacher``), each with the
guided filter's eps given by --eps. Numbers only; no data set is written.
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    from video_object_node.data.dataset import ClipDataset, resize_clip
    from video_object_node.learn.supervision import pseudo_foreground
    from video_object_node.learn import teacher as tm
    from video_object_node.sensing import edges
    from video_object_node.sensing.motion import clip_motion, motion_source_size
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--data', required=True)
    parser.add_argument('--split', default='train')
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--clips', type=int, default=0)
    parser.add_argument('--eps', type=float, nargs='+', default=[edges.GUIDE_EPS])
    args = parser.parse_args()
    size = (args.size, args.size)
    ds = ClipDataset(args.data, args.split)
    n = len(ds) if not args.clips else min(args.clips, len(ds))
    sums: dict = {}

    def add(name, fg, usable, truth):
        s = sums.setdefault(name, [0, 0, 0, 0])
        s[0] += np.logical_and(fg[usable], truth[usable]).sum()
        s[1] += np.logical_or(fg[usable], truth[usable]).sum()
        s[2] += np.logical_and(fg, truth).sum()
        s[3] += np.logical_or(fg, truth).sum()

    for i in range(n):
        raw = ds.raw(i)
        source = motion_source_size(size, available=raw['video'].shape[1:3])
        video = raw['video']
        if video.shape[1:3] != source:
            video = resize_clip(video, None, None, None, source)['video']
        truth = resize_clip(raw['video'], raw['masks'], None, None, size)['masks'] > 0
        add('dis_medium', *pseudo_foreground(clip_motion(video, size) / 255.0), truth)
        fine = tm.full_resolution_motion(video, size)
        add('dis_full', *tm.segment_motion(fine), truth)
        guides = tm.model_frames(video, size)
        for eps in args.eps:
            fg, usable = tm.segment_motion(fine, guides, eps=eps)
            add(f'dis_full_edges_eps{eps}', fg, usable, truth)
    print(json.dumps({k: {'j_usable': round(v[0] / v[1], 3), 'j_all': round(v[2] / v[3], 3)} for k, v in sums.items()},
                     indent=1))


if __name__ == '__main__':
    main()
