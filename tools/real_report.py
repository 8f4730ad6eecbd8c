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
Write models/default-real/REPORT.md from the bundle's evaluations (the files shipped beside it) and its runs.

    python tools/real_report.py --bundle models/default-real \
        --runs models/default-real/metrics_*.jsonl --monitor models/default-real/monitor.jsonl \
        --notes models/default-real/report_notes.md

Reads the bundle's config.json (step, preset, int8 check when present) and, copied into the bundle by the shipping
steps in the REPORT, eval_report_real.json (held-out real sequences), eval_report_movi.json and
eval_report_textured.json (fresh simulator seeds), query_report.json, propagate_report.json, the shipped 32x32
model's report on the same real windows (eval_report_real_default.json) and lineage.md (the runs it came from); the learning curves from each run's
metrics.jsonl, and the real-footage monitoring curve (best-slot J on the training sequences' masks, which no loss
reads) when given.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

HELD_OUT = ('bmx-bumps', 'car-turn', 'elephant', 'horsejump-low', 'mallard-water', 'rhino', 'stroller', 'train')


def f3(x) -> str:
    return '–' if x is None else f'{x:.3f}'


def read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def curve_rows(run: Path) -> list[str]:
    """Return a run folder's metrics.jsonl, or such a file kept beside the bundle as ``metrics_<run>.jsonl``."""
    path, name = (run / 'metrics.jsonl', run.name) if run.is_dir() else (run, run.stem.replace('metrics_', ''))
    rows = []
    for line in path.read_text().splitlines():
        m = json.loads(line)
        rows.append(f'| {name} | {m["step"]} | {m["elapsed_s"] / 60:.0f} | {f3(m.get("val_movi_fg_ari"))} | '
                    f'{f3(m.get("val_textured_fg_ari"))} | {f3(m.get("val_movi_pose_r2"))} | '
                    f'{f3(m.get("val_textured_pose_r2"))} |')
    return rows


def real_table(model: dict, old: dict | None) -> str:
    lines = ['| on the held-out real windows | best-slot J over the window | J&F per frame |', '|---|---|---|',
             f'| **this model** (64×64, motion channels), its best slot | **{f3(model["best_slot_j"])}** | '
             f'{f3(model["j_and_f"])} |',
             f'| k-means (k={model["model_config"]["num_slots"]}) on colour + position, its best cluster | '
             f'{f3(model["kmeans_best_slot_j"])} | {f3(model["kmeans_j_and_f"])} |',
             f'| residual motion (DIS flow minus the camera\'s homography), Otsu per frame | {f3(model["motion_j"])} | |',
             *([f'| the same motion over 3 frames, Otsu, largest region (what the `motion_mask` loss teaches with) | '
                f'{f3(model["motion_teacher_j"])} | |'] if model.get('motion_teacher_j') is not None else []),
             f'| fixed centre box (the middle half) | {f3(model["box_j"])} | |']
    if old is not None:
        lines.append(f'| the embedded 32×32 model (`models/default`), its best slot, same windows at its size | '
                     f'{f3(old["best_slot_j"])} | {f3(old["j_and_f"])} |')
    return '\n'.join(lines)


def per_sequence(model: dict) -> str:
    seqs = model['per_sequence']['best_slot_j']
    km = model['per_sequence'].get('kmeans_best_slot_j', {})
    mo = model['per_sequence'].get('motion_j', {})
    te = model['per_sequence'].get('motion_teacher_j', {})
    lines = ['| sequence | model | k-means | motion | motion teacher |', '|---|---|---|---|---|']
    lines += [f'| {name} | {f3(v)} | {f3(km.get(name))} | {f3(mo.get(name))} | {f3(te.get(name))} |'
              for name, v in seqs.items()]
    return '\n'.join(lines)


def stream_section(model: dict, old: dict | None, title: str) -> list[str]:
    """Write a ``video-object-eval --stream`` report (and the previous bundle's on the same frames) as markdown."""
    def row(name, key, bold=False):
        value = f3(model.get(key))
        cells = [name, f'**{value}**' if bold else value] + ([f3(old.get(key))] if old else [])
        return '| ' + ' | '.join(cells) + ' |'
    head = ['per frame', 'this model'] + (['the previous default-real'] if old else [])
    lines = [f'## {title}', '',
             f'{model["num_frames"]} frames of {model["num_sequences"]} sequences, full-size frames through the node\'s '
             'own pipeline (`LatentPipeline`, stride 1, its crop, motion and tracker), every window\'s last frame '
             'scored at 64×64 (`video-object-eval --stream`):', '',
             '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head),
             row('best slot J (`frame_best_slot_j`)', 'frame_best_slot_j', True),
             row('one tracked id per sequence (`stable_id_j`)', 'stable_id_j', True),
             row('slots holding ≥ 20% of the object (`fragments`, 1 = whole)', 'fragments'),
             row('k-means on colour + position, k = 6 (`kmeans_frame_j`)', 'kmeans_frame_j'),
             row('no learning: the residual motion the model reads, Otsu (`motion_frame_j`)', 'motion_frame_j'), '']
    cols = ['sequence', 'best slot', 'stable id', 'fragments', 'k-means', 'motion'] + (['previous best slot'] if old else [])
    lines += ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    per = model['per_sequence']
    keys = ('frame_best_slot_j', 'stable_id_j', 'fragments', 'kmeans_frame_j', 'motion_frame_j')
    for name in model['sequences']:
        cells = [name] + [f3(per.get(k, {}).get(name)) for k in keys]
        if old:
            cells.append(f3(old['per_sequence']['frame_best_slot_j'].get(name)))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines + ['']


def issue35_targets(stream: dict, movi: dict, probe: dict | None = None) -> list[str]:
    """Write the real-objects issue's targets against the held-out stream scores and the fresh simulator seeds."""
    best, stable = stream['frame_best_slot_j'], stream['stable_id_j']
    base = max(stream['kmeans_frame_j'], stream['motion_frame_j'])

    def met(ok):
        return 'met' if ok else '**not met**'
    return ['## Against the issue\'s targets (issue 35)', '', '| target | measured | |', '|---|---|---|',
            f'| held-out `frame_best_slot_j` ≥ 0.45 and ≥ 0.10 above both baselines at equal flow | {f3(best)} '
            f'(k-means {f3(stream["kmeans_frame_j"])}, motion {f3(stream["motion_frame_j"])}) | '
            f'{met(best >= 0.45 and best - base >= 0.10)} |',
            f'| held-out `stable_id_j` ≥ 0.35 | {f3(stable)} | {met(stable >= 0.35)} |',
            f'| fresh `movi-a-like` FG-ARI ≥ 0.85, viewpoint R² ≥ 0.6 | {f3(movi["fg_ari"])}, '
            f'{f3(movi.get("viewpoint_r2"))} | {met(movi["fg_ari"] >= 0.85 and (movi.get("viewpoint_r2") or 0) >= 0.6)} |',
            f'| aim: `frame_best_slot_j` ≥ 0.6, `stable_id_j` ≥ 0.5, `fragments` ≤ 1.3 | {f3(best)}, {f3(stable)}, '
            f'{f3(stream["fragments"])} | {met(best >= 0.6 and stable >= 0.5 and stream["fragments"] <= 1.3)} |',
            *through_node_rows(probe), '']


def through_node_rows(probe: dict | None) -> list[str]:
    """Write the fresh simulator seeds' per-frame FG-ARI through the node (objectness_probe.json), head on and off."""
    runs = [r for r in (probe or {}).get('runs', []) if 'movi' in r.get('data', '') and 'with_head' in r]
    if not runs:
        return []
    on, off = runs[0]['with_head']['frame_fg_ari'], runs[0].get('without_head', {}).get('frame_fg_ari')
    return [f'| the same seeds per frame through the node, segments made whole by the objectness head: FG-ARI ≥ 0.85 '
            f'| {f3(on)} (without the head {f3(off)}) | {"met" if on >= 0.85 else "**not met** through the node"} |']


def sim_table(movi: dict, tex: dict) -> str:
    lines = ['| data | FG-ARI | k-means (k=6) | fixed 2×3 grid | own fixed partition | mBO | k-means mBO | '
             'viewpoint R² (pose head) |', '|---|---|---|---|---|---|---|---|']
    for name, r in (('movi-a-like', movi), ('textured', tex)):
        lines.append(f'| {name} | **{f3(r["fg_ari"])}** | {f3(r["kmeans_fg_ari"])} | {f3(r["grid_fg_ari"])} | '
                     f'{f3(r["fixed_partition_fg_ari"])} | {f3(r["mbo"])} | {f3(r["kmeans_mbo"])} | '
                     f'{f3(r.get("viewpoint_r2"))} |')
    return '\n'.join(lines)


def objectness_rows(entry: dict | None) -> list[str]:
    """Return the licence-table rows of the data that trained the bundle's objectness head (none without a head)."""
    if not entry:
        return ['']
    return ['| **objectness head** (`objectness.onnx`, trained apart from the SIMONe weights above): 17 DAVIS-2016 '
            'train sequences\' masks (`data/real-trainmasks`, train split; the five validation sequences only chose '
            'between runs) | frames, motion and masks | CC BY-NC 4.0: research and evaluation only |',
            '| objectness head: 600 composites (`video-object-dataset compose`, seed 1): those 17 sequences\' objects '
            'cut out by their masks over walls from the same sequences and the clips above | frames, motion, exact '
            'masks | as their sources: CC BY-NC 4.0 (DAVIS), Apache-2.0 (SAM 2 clips), BSD-3 / Apache-2.0 (OpenCV) |',
            '| objectness head: simulator clips (`data/movi`, `data/textured`, train splits) | frames, motion, masks '
            '| made by this project (Apache-2.0) |', *_split_rows(entry), '',
            f'The objectness head\'s own record: trained on {", ".join(entry.get("trained_on", []))}; kept at step '
            f'{entry.get("steps")} for its per-frame J {entry.get("val_frame_j")} on {entry.get("validation")}; '
            f'regions shared by slots holding at least {entry.get("keep_share", 1.0)} of them ' + _sharing(entry)
            + ' (`runtime/objectness.py`).', '']


def _split_rows(entry: dict) -> list[str]:
    """Return the licence-table row of the data that trained the bundle's region split (none without one)."""
    split = entry.get('split')
    if not split:
        return []
    sources = '; '.join(s['data'] + (f' ({", ".join(s["sequences"])})' if s.get('sequences') else '')
                        for s in split.get('trained_on', []))
    return [f'| **region split** (`objectness.split` in `config.json`: one object or two where slots share a region): '
            f'{sources} | the node\'s own slots and regions on those frames, and the masks | CC BY-NC 4.0 (DAVIS): '
            'research and evaluation only; the simulator\'s: Apache-2.0 |']


def _sharing(entry: dict) -> str:
    """Say which slots keep their part of a region: the region split's call, or the purity condition."""
    split = entry.get('split')
    if split:
        sources = ', '.join(s['data'] for s in split.get('trained_on', []))
        return (f'whose part the region split (trained on {sources}; threshold {split["threshold"]}) calls '
                'another object')
    return f'with at least {entry.get("keep_purity", 0.0)} of their own mass there'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--bundle', type=Path, default=Path('models/default-real'))
    parser.add_argument('--runs', type=Path, nargs='+', default=[])
    parser.add_argument('--monitor', type=Path, help='JSON lines {run, step, best_slot_j, kmeans_best_slot_j}')
    parser.add_argument('--notes', type=Path, help='a markdown file of findings appended as they are')
    args = parser.parse_args()
    b = args.bundle
    doc = json.loads((b / 'config.json').read_text())
    real, old = read(b / 'eval_report_real.json'), read(b / 'eval_report_real_default.json')
    movi, tex = read(b / 'eval_report_movi.json'), read(b / 'eval_report_textured.json')
    query, prop = read(b / 'query_report.json'), read(b / 'propagate_report.json')
    meta = doc.get('meta', {})
    # The bundle's lineage (runs and steps it came through) is kept beside it, in lineage.md.
    lineage = (b / 'lineage.md').read_text().strip() if (b / 'lineage.md').is_file() else \
        f'Step {meta.get("step", "?")} of its run.'
    out = [f'# Camera model for real footage (`{b}`)', '',
           'SIMONe, `real-motion` preset: **64×64 input, an 8×8 token grid**, T=8, K=6 slots by slot attention over '
           'the window with per-frame placement, pose and attribute heads (the `small-objects` design), and **each '
           'frame\'s motion as two more input channels** (`sensing/motion.py`: OpenCV DIS optical flow to the '
           'previous frame, estimated at twice the model\'s size where the source has it and brought down to its '
           'grid, minus the camera\'s homography fitted by RANSAC: what moves unlike the camera). The decoder draws '
           'every slot\'s motion as well as its colour (the likelihood covers both). The node computes the same '
           'motion from the previous frame of the stream, on the camera frame fitted to 128×128 '
           '(`runtime/streaming.py`), so it sees what training saw. Since the fourth session it is the '
           'node\'s default camera model (an empty `model_path`; `model_path:=default-real` names it too; '
           '`model_path:=default` selects the 32×32 model).', '',
           lineage, '',
           '## Data that trained these weights, and their licences', '',
           '| data | what the losses read | licence |', '|---|---|---|',
           '| simulator clips (`movi-a-like`, `textured`; made by `video-object-sim generate`, PyBullet) | video, masks, '
           'placement, camera poses, object attributes | made by this project (Apache-2.0, as the code) |',
           '| 22 DAVIS-2016 train sequences (`../shared/realvideo/davis2016-train`, all but the held-out eight) | video '
           'only (their masks were read for monitoring, never by a loss) | CC BY-NC 4.0, some sequences from YouTube: '
           'research and evaluation only |',
           '| `01_dog.mp4` `02_cups.mp4` `03_blocks.mp4` `04_coffee.mp4` `05_default_juggle.mp4` `bedroom.mp4` '
           '(`../shared/realvideo/clips`, from the SAM 2 repository) | video only | Apache-2.0 |',
           '| `vtest.avi`, `tree.avi` (OpenCV sample data) | video only | BSD-3 / Apache-2.0 |',
           *objectness_rows(doc.get('objectness')),
           'Because DAVIS-2016 footage trained them, these weights are for research and evaluation, as that data '
           'is; the code is Apache-2.0.', '',
           '**Held-out real sequences** (chosen before any training by a rule: every fourth of the 30 in '
           f'alphabetical order, from the second): {", ".join(HELD_OUT)}. Never trained on, never used for a '
           'choice: runs were compared on five validation sequences (bear, dog-agility, kite-walk, paragliding, '
           'swing) and the simulator\'s validation clips.', '']
    stream, stream_old = read(b / 'eval_report_stream.json'), read(b / 'eval_report_stream_previous.json')
    if stream is not None:
        out += stream_section(stream, stream_old, 'Real footage, frame by frame through the node (held-out sequences)')
    val, val_old = read(b / 'eval_report_stream_val.json'), read(b / 'eval_report_stream_val_previous.json')
    if val is not None:
        out += stream_section(val, val_old, 'The same on the validation sequences (the runs were compared on these)')
    if real is not None:
        out += ['## Real footage: held-out sequences, per window (the earlier measure)', '',
                f'{real["num_windows"]} windows of 8 frames ({real["num_clips"]} clips of 16 frames; motion from the '
                'whole clip, as a stream has it), cropped and resized as the node does:', '',
                real_table(real, old), '', per_sequence(real), '']
    if movi is not None and tex is not None:
        out += ['## Simulator: fresh seeds (seed 7, 64 clips each)', '', sim_table(movi, tex), '',
                'The embedded 32×32 model on the same seeds: FG-ARI 0.838 / 0.796, mBO 0.570 / 0.539, viewpoint '
                'R² 0.515 / 0.767 (its REPORT).', '']
    q8 = doc.get('exports', {}).get('int8')
    if q8:
        out += [f'int8 exports (`video-object-quantize`, {q8.get("test_windows", "?")} textured test windows): FG-ARI '
                f'{f3(q8["fp32"]["fg_ari"])} fp32 → {f3(q8["int8"]["fg_ari"])} int8, a drop of '
                f'{f3(q8["fg_ari_drop"])}: **{"passed" if q8["passed"] else "failed"}** the 0.02 check, so the '
                f'node {"may run" if q8["passed"] else "refuses to run"} this bundle in int8 (`precision:=int8`).']
        if q8.get('tries'):
            tries = '; '.join(f'{t["fp32_tail"]:g}: drop {f3(t["fg_ari_drop"])}' for t in q8['tries'])
            out[-1] += (f' The window encoder\'s last {q8["window_matmuls_fp32"]} of {q8["window_matmuls"]} weight '
                        f'MatMuls (the share {q8["fp32_tail"]:g} nearest its outputs: the frame and placement heads) '
                        f'stay fp32 (`--fp32-tail auto`, the tails tried on the check split: {tries}; the whole '
                        'window encoder in int8 failed). The tail was chosen on the check\'s own windows, which no '
                        'training used.')
        if q8.get('window_source'):
            out[-1] += (f' The int8 window graph is quantized from the opset-{q8["window_source"]["opset"]} export, '
                        f'its attention {q8["window_source"]["attention_3d"]} fused 3-D `Attention` ops.')
        out += ['']
    if query is not None:
        out += [f'Object queries (textured fresh seeds): referring accuracy {f3(query["referring_accuracy"])} '
                f'(k-means colour baseline {f3(query["baseline_referring_accuracy"])}), J {f3(query["j_mean"])} '
                f'({f3(query["baseline_j_mean"])}).', '']
    if prop is not None:
        out += [f'Label propagation on the held-out real sequences at the 8×8 grid (first frame\'s mask carried by '
                f'the frame encoder\'s features): J&F {f3(prop["j_and_f"])} against raw pixels '
                f'{f3(prop["pixels_j_and_f"])} and the same encoder with random weights '
                f'{f3(prop["random_j_and_f"])} ({prop["num_objects"]} objects).', '']
    rows = [r for run in args.runs if (run / 'metrics.jsonl').is_file() or run.is_file() for r in curve_rows(run)]
    if rows:
        out += ['## Learning curves (validation: the first window of 32 clips of each simulator val split)', '',
                '| run | step | minutes | movi FG-ARI | textured FG-ARI | movi pose R² | textured pose R² |',
                '|---|---|---|---|---|---|---|', *rows, '']
    if args.monitor and args.monitor.is_file():
        out += ['## Real footage over training (monitoring: the 22 training sequences\' masks, 81 clips)', '',
                '| run | step | best-slot J | k-means best cluster |', '|---|---|---|---|']
        for line in args.monitor.read_text().splitlines():
            m = json.loads(line)
            out.append(f'| {m["run"]} | {m["step"]} | {f3(m["best_slot_j"])} | {f3(m["kmeans_best_slot_j"])} |')
        out.append('')
    if stream is not None and movi is not None:
        out += issue35_targets(stream, movi, read(b / 'objectness_probe.json'))
    if real is not None and movi is not None and tex is not None:
        ok = real['best_slot_j'] > real['kmeans_best_slot_j'] and real['best_slot_j'] > real['motion_j']
        out += ['## Against the earlier issue\'s targets (issue 27, per window)' if stream is not None
                else '## Against the issue\'s targets', '',
                '| target | measured | |', '|---|---|---|',
                f'| held-out real best-slot J above k-means and the motion baseline | {f3(real["best_slot_j"])} vs '
                f'{f3(real["kmeans_best_slot_j"])} and {f3(real["motion_j"])} | {"met" if ok else "**not met**"} |',
                f'| fresh `movi-a-like` FG-ARI ≥ 0.8 and above k-means (textured beside it) | {f3(movi["fg_ari"])} '
                f'vs {f3(movi["kmeans_fg_ari"])} (textured {f3(tex["fg_ari"])} vs {f3(tex["kmeans_fg_ari"])}) | '
                f'{"met" if movi["fg_ari"] >= 0.8 and movi["fg_ari"] > movi["kmeans_fg_ari"] else "not met"}'
                f'{"" if tex["fg_ari"] >= 0.8 else " (textured below 0.8)"} |',
                f'| viewpoint R² ≥ 0.5 | {f3(movi["viewpoint_r2"])} / {f3(tex["viewpoint_r2"])} | '
                f'{"met" if min(movi["viewpoint_r2"], tex["viewpoint_r2"]) >= 0.5 else "not met"} |',
                '| the node at 640×480, 30 Hz, ≥ 99% of frames encoded (at stride 1 if it can), p99 ≤ 3× p50, its '
                'window cost in `make bench` | `make bench`\'s node runs (docs/benchmarks.md), 30 s each, since the '
                'node runs a single-threaded executor: stride 1 encoded 900 of 900 frames and published 892 of 893 '
                'windows, end-to-end p50 19.9 ms, p99 30.3 ms (1.5×); stride 4: 900 of 900, p50 19.8, p99 31.2 '
                'ms; six more runs at stride 4 by hand, p99 ≤ 2× p50 in all; window 5.4–6.6 ms (ONNX Runtime '
                'fp32) | met |',
                '| aim: real best-slot J ≥ 0.6; sim FG-ARI ≥ 0.9, mBO ≥ 0.65; referring accuracy ≥ 0.8 | see above | '
                'not met |', '']
        if not ok:
            out += ['Because the real-footage must is not met, the node\'s default stays `models/default`; this '
                    'bundle is shipped so that the next session continues it (`train.init_from=models/default-real`) '
                    'and as the 64×64 option that reads motion.', '']
        else:
            out += [f'The real-footage must is met by {real["best_slot_j"] - real["motion_j"]:.3f} over the '
                    'no-learning motion baseline, a tie in substance (the sign flips from sequence to sequence). '
                    'Against the 32×32 model it wins every score, on real footage and on the simulator\'s fresh '
                    'seeds, and the node keeps up with 640×480 at 30 Hz even at stride 1: since the '
                    'fourth session it is the node\'s default camera model (an empty `model_path`). It costs about '
                    '3× the 32×32 model per frame; `model_path:=default` selects that one where the CPU is smaller.',
                    '']
    if args.notes and args.notes.is_file():
        out += [args.notes.read_text().strip(), '']
    (b / 'REPORT.md').write_text('\n'.join(out))
    print(f'wrote {b / "REPORT.md"}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
