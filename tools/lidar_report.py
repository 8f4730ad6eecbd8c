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
Write models/default-lidar/REPORT.md from the shipped bundle's evaluation (``eval_report.json`` beside it).

    python tools/lidar_report.py --bundle models/default-lidar [--continued runs/lidar2 --continued-from 2500]

Earlier steps of the run (`runs/lidar-objects` on a machine that is gone) are kept as recorded at the time.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

# Validation curve of runs/lidar-objects (steps 0-2,500): (step, minutes, FG-ARI, PSNR, pose R2).
FIRST_RUN = [(500, 11, 0.347, 20.48, 0.377), (1000, 22, 0.379, 22.94, 0.402), (1500, 34, 0.411, 23.63, 0.435),
             (2000, 50, 0.483, 24.54, 0.403), (2500, 66, 0.550, 24.77, 0.427)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument('--bundle', type=Path, default=Path('models/default-lidar'))
    ap.add_argument('--continued', type=Path, help='run folder that continued runs/lidar-objects (train.init_from)')
    ap.add_argument('--continued-from', type=int, default=2500)
    args = ap.parse_args()
    b = args.bundle
    cfg = json.loads((b / 'config.json').read_text())
    r = json.loads((b / 'eval_report.json').read_text())
    step = cfg['meta']['step'] + (args.continued_from if args.continued else 0)
    rows = list(FIRST_RUN)
    if args.continued:
        for line in (args.continued / 'metrics.jsonl').read_text().splitlines():
            m = json.loads(line)
            if m['step'] + args.continued_from <= step:
                rows.append((m['step'] + args.continued_from, m['elapsed_s'] / 60, m['val_fg_ari'], m['val_psnr'],
                             m.get('val_pose_r2')))
    if args.continued:
        trained = (f'**Trained {step:,} steps**: 2,500 in `runs/lidar-objects` (batch 32, bf16, 20,000-step cosine '
                   'schedule, one thread, 66 minutes of a 2-core CPU shared with the camera run), then '
                   f'{step - args.continued_from:,} more from that checkpoint in `runs/lidar2` (`train.init_from`, a '
                   'fresh Adam, 3.8e-4 with 100 warm-up steps under a 17,500-step cosine schedule: where the first '
                   'schedule stood at step 2,500; one thread beside the camera run).')
        recipe = ('video-object-train --config config/train_lidar_objects.yaml --run-dir runs/lidar-objects '
                  '--max-steps 2500\n# then from that checkpoint (its bundle copied to runs/lidar2500):\n'
                  'video-object-train --config config/train_lidar_objects.yaml --run-dir runs/lidar2 '
                  '-o train.init_from=runs/lidar2500 \\\n    -o train.lr=0.00038 -o train.warmup_steps=100 '
                  f'-o train.steps=17500 --max-steps {step - args.continued_from}\n'
                  'cp runs/lidar2/bundle/{weights.safetensors,config.json} models/default-lidar/ && '
                  'video-object-export models/default-lidar')
        args_text = f' --continued {args.continued} --continued-from {args.continued_from}'
    else:
        trained = (f'**Trained {step:,} steps** (batch 32, bf16, 20,000-step cosine schedule, one thread, 66 minutes '
                   'of a 2-core CPU shared with the camera run).')
        recipe = ('video-object-train --config config/train_lidar_objects.yaml --run-dir runs/lidar-objects '
                  f'--max-steps {step}\ncp runs/lidar-objects/bundle/{{weights.safetensors,config.json}} '
                  'models/default-lidar/ && video-object-export models/default-lidar')
        args_text = ''
    varying = {k: v for k, v in r['viewpoint_r2_per_target'].items() if v is not None}
    fg_ok, mbo_ok = r['fg_ari'] > r['grid_fg_ari'], r['mbo'] > r['kmeans_mbo']
    curve = '\n'.join(f'| {s} | {m:.0f} | {a:.3f} | {p:.2f} | {"–" if q is None else f"{q:.3f}"} |'
                      for s, m, a, p, q in rows)
    text = f"""# Embedded default LIDAR model (`models/default-lidar`)

The camera model's design on range images (`config/train_lidar_objects.yaml`): `small-objects` with input
2×32×64 (range / 8 m and height (z + 2.5 m) / 3.5 m; 0 = no return), T=8, **K=8 slots by slot attention over
the window** with per-frame placement, frame latents that read the sweep's layout and its motion against the
window's first sweep, a pose head (the sensor's motion, height and pitch) and attribute heads (shape, size,
presence; a LIDAR does not see colour). Sensor model in `config.json`: 32 beams over −40…5°, 64 azimuth bins
over the 90° ahead, 8 m range (the `lidar` preset). Use it with `model_path:=default-lidar`
(`launch/video_object_lidar.launch.xml`).

{trained} Supervised by the simulator's instance ids of the returns (ground and empty pixels are background),
the sensor's poses and object shapes and sizes; the ELBO on every clip.

```bash
video-object-sim generate --preset lidar --out data/lidar --seed 0 --train 1500 --val 100 --test 200
{recipe}
video-object-sim generate --preset lidar --out data/lidar-fresh --seed 7 --train 0 --val 0 --test 64
video-object-eval --model models/default-lidar --data data/lidar-fresh --probe-data data/lidar --probe-clips 150 --out eval/lidar
python tools/lidar_report.py --bundle models/default-lidar{args_text}   # this file
```

## Evaluation on fresh seeds (seed 7, {r['num_clips']} clips, {r['num_windows']} windows; FG-ARI over range-image pixels with an object return)

| score | model | k-means (k=8, range+height+position) | fixed 1×8 sector grid | model's own fixed partition |
|---|---|---|---|---|
| FG-ARI | **{r['fg_ari']:.3f}** | {r['kmeans_fg_ari']:.3f} | {r['grid_fg_ari']:.3f} | {r['fixed_partition_fg_ari']:.3f} |
| mBO | **{r['mbo']:.3f}** | {r['kmeans_mbo']:.3f} | | |

- The issue's LIDAR musts: FG-ARI above the fixed sector grid ({r['fg_ari']:.3f} vs {r['grid_fg_ari']:.3f}:
  {'met' if fg_ok else '**not met**'}) and mBO above k-means ({r['mbo']:.3f} vs {r['kmeans_mbo']:.3f}:
  {'met' if mbo_ok else '**not met**'}). The aims: FG-ARI ≥ 0.7 ({'met' if r['fg_ari'] >= 0.7 else 'not met'}) and a
  centroid error ≤ 0.5 m (measured: **{r['centroid_error_m']:.2f} m** over {r['matched_objects']} matched objects ×
  frames; {'met' if r['centroid_error_m'] <= 0.5 else 'not met'}; wave 1's model: 1.39 m).
- PSNR {r['psnr']:.1f} dB; splits and merges: {r['object_majority_share']:.3f} of an object's returns in its
  majority segment, {r['objects_merged']:.3f} of objects share it. Attribute heads: shape accuracy
  {r['attribute_shape_accuracy']:.3f}, presence {r['attribute_presence_accuracy']:.3f}, size MAE
  {r['attribute_size_mae_m']:.2f} m; object position R² {r['object_position_r2']:.3f} from the object latents.
- Pose head: R² {r['viewpoint_r2']:.3f} over the targets that vary
  ({', '.join(f'{k} {v:.2f}' for k, v in varying.items())}; the sensor is mounted level, so its forward axis and
  pitch do not change and those targets are left out as constant).
- Wave 1's model (pooled 1×8 sectors, unsupervised): FG-ARI 0.336 (test split; the issue's fresh seeds 0.315),
  below the 1×8 sector grid (0.357 / 0.385), mBO 0.092 (k-means 0.216).

## Learning curve (validation: the first window of 32 val clips)

| step | minutes | FG-ARI | PSNR | pose R² |
|---|---|---|---|---|
{curve}

(Minutes are wall-clock on a shared 2-core CPU; the continuation's restart from zero.)
"""
    (b / 'REPORT.md').write_text(text)
    print(f'wrote {b / "REPORT.md"}')


if __name__ == '__main__':
    main()
