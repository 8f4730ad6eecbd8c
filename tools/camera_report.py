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
Write models/default/REPORT.md from the shipped bundle's evaluation (the files it ships beside it).

    python tools/camera_report.py --bundle models/default [--continued runs/objects2 --continued-from 7000]
        [--pretrained runs/from-pretrained --propagate eval/propagate-siammae]

Reads the bundle's config.json (step, int8 check), eval_report_movi.json, eval_report_textured.json and
query_report.json (copied into the bundle by the shipping steps in the REPORT), and the learning curves
(metrics.jsonl of the runs named). Earlier steps of the run (`runs/objects` on a machine that is gone) are
kept as they were recorded at the time.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

# Validation curve of runs/objects (steps 0-7,000), recorded by the sessions that ran it; the run folder is
# gone with its machine: (step, minutes, movi FG-ARI, textured FG-ARI, movi PSNR, textured pose R2).
FIRST_RUN = [(500, 6, 0.396, 0.322, 19.23, -0.297), (1000, 11, 0.463, 0.455, 19.49, -1.566),
             (1500, 17, 0.479, 0.458, 19.66, 0.030), (2000, 22, 0.529, 0.475, 19.86, 0.057),
             (2500, 27, 0.513, 0.524, 20.62, 0.139), (3000, 33, 0.579, 0.528, 21.12, 0.094),
             (3500, 40, 0.616, 0.575, 22.17, -0.121), (4000, 49, 0.619, 0.601, 22.68, 0.193),
             (4500, 58, 0.677, 0.639, 22.94, 0.237), (7000, None, 0.763, 0.698, None, None)]
ABLATIONS = [('this model\'s run (slot attention, placement, supervised, fixed weights)', 0.463, 0.455, 19.49, -1.566),
             ('unsupervised (ELBO only; `train.losses: {}`)', 0.215, 0.231, 20.10, -1.318),
             ('no per-frame placement', 0.476, 0.395, 19.40, -0.688),
             ('competitive reduction instead of slot attention', 0.343, 0.275, None, None),
             ('`balance: running_mean` instead of fixed weights', 0.303, 0.268, None, None)]


def f3(x) -> str:
    return '–' if x is None else f'{x:.3f}'


def curve(path: Path, offset: int = 0) -> list[tuple]:
    rows = []
    for line in (path / 'metrics.jsonl').read_text().splitlines():
        m = json.loads(line)
        rows.append((m['step'] + offset, m['elapsed_s'] / 60, m.get('val_movi_fg_ari'), m.get('val_textured_fg_ari'),
                     m.get('val_movi_psnr'), m.get('val_textured_pose_r2')))
    return rows


def curve_table(rows: list[tuple]) -> str:
    out = ['| step | minutes | movi FG-ARI | textured FG-ARI | movi PSNR | textured pose R² |', '|---|---|---|---|---|---|']
    for step, minutes, a, b, p, r in rows:
        out.append(f'| {step} | {"–" if minutes is None else f"{minutes:.0f}"} | {f3(a)} | {f3(b)} | '
                   f'{"–" if p is None else f"{p:.2f}"} | {f3(r)} |')
    return '\n'.join(out)


def tail_text(q8: dict) -> str:
    """Return the int8 record's fp32 tail and window-graph source in words (empty for a record from before them)."""
    text = ''
    if q8.get('window_matmuls_fp32'):
        tries = '; '.join(f"{t['fp32_tail']:g}: drop {t['fg_ari_drop']:.3f}" for t in q8.get('tries', []))
        text += (f"; the window encoder's last {q8['window_matmuls_fp32']} of {q8['window_matmuls']} weight MatMuls "
                 f"(its output heads) stay fp32, `--fp32-tail auto` having tried {tries}")
    source = q8.get('window_source')
    if source:
        text += (f"; its window graph quantized from the opset-{source['opset']} export, attention as "
                 f"{source['attention_3d']} fused 3-D `Attention` ops")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument('--bundle', type=Path, default=Path('models/default'))
    ap.add_argument('--continued', type=Path, help='run folder that continued runs/objects (train.init_from)')
    ap.add_argument('--continued-from', type=int, default=7000)
    ap.add_argument('--pretrained', type=Path, help='run from the pretrained frame encoder (same recipe)')
    ap.add_argument('--propagate', type=Path, help='video-object-propagate output of the pretraining run')
    args = ap.parse_args()
    b = args.bundle
    cfg = json.loads((b / 'config.json').read_text())
    mv = json.loads((b / 'eval_report_movi.json').read_text())
    tx = json.loads((b / 'eval_report_textured.json').read_text())
    q = json.loads((b / 'query_report.json').read_text())
    qm_path = b / 'query_report_movi.json'
    qm = json.loads(qm_path.read_text()) if qm_path.is_file() else None
    q8 = cfg['exports']['int8']
    step = cfg['meta']['step'] + (args.continued_from if args.continued else 0)
    rows = list(FIRST_RUN)
    if args.continued:
        rows += [r for r in curve(args.continued, args.continued_from) if r[0] <= step]
    if args.continued:
        trained = (f'**Trained {step:,} steps**: 7,000 in `runs/objects` (batch 32, bf16 autocast, Adam 4e-4 with '
                   'warm-up under a 30,000-step cosine schedule, one thread; ~90 minutes of a 2-core CPU shared with '
                   f'other runs), then {step - args.continued_from:,} more from that checkpoint in `runs/objects2` '
                   '(`train.init_from`, a fresh Adam, 3.5e-4 with 200 warm-up steps under a 23,000-step cosine '
                   'schedule: where the first schedule stood at step 7,000).')
        recipe = ('video-object-train --config config/train_objects.yaml --run-dir runs/objects --max-steps 7000\n'
                  '# then from that checkpoint (its bundle copied to runs/step7000):\n'
                  'video-object-train --config config/train_objects.yaml --run-dir runs/objects2 '
                  '-o train.init_from=runs/step7000 \\\n    -o train.lr=0.00035 -o train.warmup_steps=200 -o '
                  f'train.steps=23000 --max-steps {step - args.continued_from}\n'
                  'cp runs/objects2/bundle/{weights.safetensors,config.json} models/default/ && '
                  'video-object-export models/default')
    else:
        trained = (f'**Trained {step:,} steps** in `runs/objects` (batch 32, bf16 autocast, Adam 4e-4 with warm-up '
                   'under a 30,000-step cosine schedule, one thread; ~90 minutes of a 2-core CPU shared with other '
                   'runs); this bundle is its checkpoint at that step.')
        recipe = (f'video-object-train --config config/train_objects.yaml --run-dir runs/objects --max-steps {step}\n'
                  'cp runs/objects/bundle/{weights.safetensors,config.json} models/default/ && '
                  'video-object-export models/default')

    def per_target(r: dict) -> str:
        return ', '.join(f'{k} {v:.2f}' for k, v in sorted(r['viewpoint_r2_per_target'].items()))

    def target_row(r: dict) -> str:
        return (f'{f3(r["fg_ari"])} vs {f3(r["kmeans_fg_ari"])} and {f3(r["grid_fg_ari"])}')

    def verdict(ok: bool) -> str:
        return 'met' if ok else '**not met**'

    fg_ok = [r['fg_ari'] > r['kmeans_fg_ari'] for r in (mv, tx)]
    mbo_ok = [r['mbo'] > r['kmeans_mbo'] for r in (mv, tx)]
    kinds = ', '.join(f'{k} {v["referring_accuracy"]:.2f} ({v["num_queries"]})' for k, v in q['by_kind'].items())
    movi_queries = '' if qm is None else (
        f"\n- The same on the fresh `movi-a-like` clips (the issue's target set; `query_report_movi.json`, "
        f"{qm['num_queries']} queries): referring accuracy **{qm['referring_accuracy']:.3f}** (baseline "
        f"{qm['baseline_referring_accuracy']:.3f}), J {qm['j_mean']:.3f} ({qm['baseline_j_mean']:.3f}), "
        f"F {qm['f_mean']:.3f}.")
    pretrained = ''
    if args.pretrained and args.propagate:
        prop = json.loads((args.propagate / 'report.json').read_text())
        pre = {r[0]: r for r in curve(args.pretrained)}
        scratch = {r[0]: r for r in FIRST_RUN}
        lines = ['| step | scratch movi / textured FG-ARI | pretrained movi / textured FG-ARI | scratch / pretrained movi PSNR |',
                 '|---|---|---|---|']
        for s in sorted(set(pre) & set(scratch)):
            lines.append(f'| {s} | {f3(scratch[s][2])} / {f3(scratch[s][3])} | {f3(pre[s][2])} / {f3(pre[s][3])} | '
                         f'{scratch[s][4]:.2f} / {pre[s][4]:.2f} |')
        pretrained = f"""
## Pretrained frame encoder (issue 19): what it buys

`video-object-pretrain --config config/pretrain_siammae.yaml --run-dir runs/siammae -o train.steps=1500` (siamese
masked autoencoding of frame pairs, future frame 95% masked, the SIMONe frame CNN as encoder; 1,500 steps took
about a minute). Its features propagate the first frame's masks through the fresh `textured` clips with J&F
**{prop['j_and_f']:.3f}** (J {prop['j_mean']:.3f}, F {prop['f_mean']:.3f}, {prop['num_objects']} objects), against
{prop['pixels_j_and_f']:.3f} on raw pixels and {prop['random_j_and_f']:.3f} on randomly initialised features
(SiamMAE reports 62.0 on DAVIS-2017: other data, 480p, a ViT; not comparable beyond the ordering).
Then the same recipe as this model's first run, with `train.init_from_pretrained: runs/siammae`, at equal steps
(validation as below):

{chr(10).join(lines)}

The issue's target (reach the from-scratch run's final validation FG-ARI in half the steps) was not run to its
end; at equal steps the table above is what was measured.
"""
    report_args = ' '.join(f'--{k.replace("_", "-")} {v}' for k, v in vars(args).items()
                           if k != 'bundle' and v is not None and (args.continued or k != 'continued_from'))
    text = f"""# Embedded 32×32 camera model (`models/default`; the node's default is `models/default-real`)

SIMONe, `small-objects` preset: 32×32 input, T=8, K=6 slots by **slot attention over the whole window**
(learned initial slots; 2 rounds, the last through a detached fixed point), **per-frame slot placement**
(position and extent predicted per slot and frame; the broadcast decoder draws each slot in its own
coordinates), frame latents that also read the frame's encodings in their layout and **their motion against
the window's first frame** (soft-argmax of feature correlation), a **pose head** on the frame latents and
**attribute heads** (colour, shape, size, presence) on the object latents; width 64, 2+2 transformer layers,
broadcast decoder, blended likelihood, free mask logits. 1.8 MB of weights; ONNX exports (frame encoder, window
encoder with heads, mask decoder) and **int8 exports** (`video-object-quantize`: {'passed' if q8['passed'] else 'FAILED'}
its check on {q8['test_windows']} test windows: FG-ARI {q8['fp32']['fg_ari']:.3f} fp32 → {q8['int8']['fg_ari']:.3f} int8,
viewpoint R² {q8['fp32']['viewpoint_r2']:.3f} → {q8['int8']['viewpoint_r2']:.3f}, max |diff| of the means
{q8['parity_max_abs_diff']:.2f}{tail_text(q8)}).

{trained} Heterogeneous training (`config/train_objects.yaml`): 2,000 `movi-a-like` clips (flat ground) and
2,000 `textured` clips (procedural ground, walls), half of each batch from each, with the ELBO on every clip and,
weighted to the ELBO's gradient scale (measured gradient norms: ELBO 6.5, mask 2.6, pose 1.3, attributes 0.5,
placement 0.3 at weight 1): masks ×3 (Hungarian-matched cross-entropy, averaged per segment), placement ×5,
pose ×3, attributes ×0.5.

```bash
video-object-sim generate --preset movi-a-like --out data/movi --seed 0 --train 2000 --val 100 --test 200
video-object-sim generate --preset textured --out data/textured --seed 0 --train 2000 --val 100 --test 200
{recipe}
video-object-sim generate --preset textured --out data/textured-quant --seed 5 --train 32 --val 0 --test 48
video-object-quantize models/default --data data/textured-quant --calibration-clips 32 --test-clips 48
# fresh seeds, never used by training or tuning: 64 test clips each, probes fitted on the training sets
video-object-sim generate --preset movi-a-like --out data/movi-fresh --seed 7 --train 0 --val 0 --test 64
video-object-sim generate --preset textured --out data/textured-fresh --seed 7 --train 0 --val 0 --test 64
video-object-eval --model models/default --data data/movi-fresh --probe-data data/movi --probe-clips 150 --out eval/movi
video-object-eval --model models/default --data data/textured-fresh --probe-data data/textured --probe-clips 150 --out eval/textured
video-object-query --model models/default --data data/textured-fresh --out eval/query
video-object-query --model models/default --data data/movi-fresh --out eval/query-movi
python tools/camera_report.py --bundle models/default {report_args}  # this file
```

## Evaluation on fresh seeds (seed 7, 64 clips, 128 windows of 8 frames each)

| data | FG-ARI | k-means (k=6) | fixed 2×3 grid | own fixed partition | mBO | k-means mBO | PSNR | viewpoint R² (pose head) | pooled R² | ridge probe R² |
|---|---|---|---|---|---|---|---|---|---|---|
""" + '\n'.join(
        f'| {name} | **{f3(r["fg_ari"])}** | {f3(r["kmeans_fg_ari"])} | {f3(r["grid_fg_ari"])} | '
        f'{f3(r["fixed_partition_fg_ari"])} | **{f3(r["mbo"])}** | {f3(r["kmeans_mbo"])} | {r["psnr"]:.1f} | '
        f'**{f3(r["viewpoint_r2"])}** | {f3(r["viewpoint_r2_pooled"])} | {f3(r["viewpoint_probe_r2"])} |'
        for name, r in (('movi-a-like', mv), ('textured', tx))) + f"""

- Wave 1's model on the issue's fresh seeds: FG-ARI 0.560 (k-means 0.715), mBO 0.360 (0.428), viewpoint
  R² 0.06. This one: FG-ARI {f3(mv['fg_ari'])} / mBO {f3(mv['mbo'])} / viewpoint {f3(mv['viewpoint_r2'])} on movi-a-like.
- Viewpoint R² per target, movi-a-like: {per_target(mv)}; textured: {per_target(tx)}. The camera's motion
  within the window (x, fwd_x: yaw, down_x, z) is read well; height and pitch, whose ranges differ between the
  two presets, are the weak targets. The mean over the 11 targets is the headline, as in wave 1; "pooled" is
  one R² over all targets' variance together.
- Splits and merges: {mv['object_majority_share']:.3f} / {tx['object_majority_share']:.3f} of an object's
  pixels fall in its majority segment (movi-a-like / textured; wave 1: 0.74) and {mv['objects_merged']:.3f} /
  {tx['objects_merged']:.3f} of objects share it with another (wave 1: 0.15). The decoder draws smooth blobs at
  32×32 (`strip.png`): edges are where it loses; k-means on colour gets edges right by construction.
- Attribute heads on matched slots (movi-a-like / textured): shape accuracy {mv['attribute_shape_accuracy']:.3f} /
  {tx['attribute_shape_accuracy']:.3f}, colour MAE {mv['attribute_colour_mae']:.3f} / {tx['attribute_colour_mae']:.3f},
  size MAE {mv['attribute_size_mae_m']:.2f} / {tx['attribute_size_mae_m']:.2f} m, presence accuracy
  {mv['attribute_presence_accuracy']:.3f} / {tx['attribute_presence_accuracy']:.3f}.
- Object queries (`video-object-query`, textured fresh seeds, {q['num_queries']} queries with a unique referent):
  referring accuracy **{q['referring_accuracy']:.3f}** (k-means colour baseline {q['baseline_referring_accuracy']:.3f}),
  J {q['j_mean']:.3f} ({q['baseline_j_mean']:.3f}), F {q['f_mean']:.3f} ({q['baseline_f_mean']:.3f}); answer cost
  {q['answer_ms_per_window_p50']:.2f} ms per window. By kind: {kinds}.{movi_queries}

## Against the issue's targets

| target | measured (movi-a-like / textured) | |
|---|---|---|
| camera FG-ARI above k-means and the fixed grid | {target_row(mv)} / {target_row(tx)} | {' / '.join(verdict(o) for o in fg_ok)} |
| camera mBO above k-means | {f3(mv['mbo'])} vs {f3(mv['kmeans_mbo'])} / {f3(tx['mbo'])} vs {f3(tx['kmeans_mbo'])} | {' / '.join(verdict(o) for o in mbo_ok)} |
| viewpoint R² ≥ 0.5 (aim 0.8) | {f3(mv['viewpoint_r2'])} / {f3(tx['viewpoint_r2'])} | {verdict(min(mv['viewpoint_r2'], tx['viewpoint_r2']) >= 0.5)} |
| referring accuracy ≥ 0.8, J ≥ 0.6, above the baseline (textured{' / movi-a-like' if qm else ''}) | {q['referring_accuracy']:.3f}, {q['j_mean']:.3f} vs {q['baseline_referring_accuracy']:.3f}, {q['baseline_j_mean']:.3f}{'' if qm is None else f" / {qm['referring_accuracy']:.3f}, {qm['j_mean']:.3f} vs {qm['baseline_referring_accuracy']:.3f}, {qm['baseline_j_mean']:.3f}"} | above the baseline; {verdict(q['referring_accuracy'] >= 0.8 and q['j_mean'] >= 0.6)} |

## Learning curve (validation: the first window of 32 clips of each source's val split)

{curve_table(rows)}

(Minutes are wall-clock on a shared 2-core CPU; the continuation's restart from zero and include ~25 minutes
with the run paused for benchmarks. The val
pose R² of 32 first windows swings with a few clips whose targets barely vary; the fresh-seed evaluation above
uses 128 windows. Step 7,000's PSNR and pose R² were not recorded.)

## Ablations: the same schedule, 1,000 steps each, validation as above

| variant | movi FG-ARI | textured FG-ARI | movi PSNR | textured pose R² |
|---|---|---|---|---|
""" + '\n'.join(f'| {n} | {f3(a)} | {f3(b)} | {"–" if p is None else f"{p:.2f}"} | {f3(r)} |'
                for n, a, b, p, r in ABLATIONS) + f"""

Supervision is what makes the slots bind (unsupervised: half the FG-ARI at equal steps); slot attention beats
the competitive reduction; per-frame placement costs nothing on movi-a-like and gains on `textured`, where
objects move over a busy ground. Normalising each loss by its running mean (so each term weighs the same) was
worse than the fixed weights set from the measured gradient norms: the mask term, the one that binds slots,
loses its share. (`uncertainty` weighting was queued but not run to 1,000 steps.)

Earlier runs that decided the design (numbers at equal steps):
- **Mask logits without LayerNorm.** With the LayerNorm over the K=6 logits the largest mixture weight is capped
  near 0.75 until the learned temperature grows (it was exp(0.21) after 1,500 steps): the supervised mask loss
  stalled at 1.24. Free logits: val FG-ARI at step 500 went from 0.006 to 0.47 (no placement).
- **Mask cross-entropy averaged per segment.** Per pixel, the background (most pixels) dominates: the mask loss
  fell to 1.04 while every object shared one slot (val FG-ARI 0.06 at step 500); per segment, 0.40 at step 500.
- **Frame latents that see motion.** With frame latents from the mean over slots only, the pose head learned
  height and pitch a little and the camera's motion not at all (train R² of x and yaw ≈ 0 after 800 steps); adding
  the frame's encodings in their layout lifted height/pitch (train R² 0.46/0.58), and adding their soft-argmax
  motion against frame 0 gave the motion targets.
- **An 8×8 encoder grid** (stride 4) learned slower at equal steps (val FG-ARI 0.22 vs 0.40 at step 500) and cost
  1.8× per step: not used.
{pretrained}
## Wave 1's model (replaced)
Pooled 2×3 slots, no heads, trained unsupervised 12,000 steps: test FG-ARI 0.569 (k-means 0.699), mBO 0.375,
viewpoint R² 0.04 from a ridge probe; on the issue's fresh seeds 0.560 / 0.360 / 0.06. Its REPORT's findings
(slots tied to image regions split objects) led to the slot-attention design here.
"""
    (b / 'REPORT.md').write_text(text)
    print(f'wrote {b / "REPORT.md"}')


if __name__ == '__main__':
    main()
