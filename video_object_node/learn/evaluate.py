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
`video-object-eval`: score a model bundle's decomposition on a data set split.

    video-object-eval --model models/default --data data/movi --split test --out eval/default

Every clip is cut into non-overlapping windows of the model's T frames (resized to its input size);
each window is encoded, decoded at the posterior means, and segmented by the argmax of the mixture
weights. Scores (one contingency table per window over T x H x W): FG-ARI, ARI with background, mBO,
PSNR; beside them the baselines that keep FG-ARI honest: k-means on colour + position with k = K, a
fixed grid of the model's slot layout, and the model's own most common labelling used as a fixed
partition. Probes: viewpoint (ridge from frame latents, fitted on ``--probe-split``) and objects
(slots matched to objects by Hungarian on mask IoU, then position and colour from the object latents).

Writes OUT/report.json, OUT/report.md, OUT/scores.png and OUT/strip.png.

With ``--stream``, the model is scored as a robot gets it instead: every sequence's frames through the node's own
pipeline at stride 1, each window's last frame against the annotated object (``learn/stream_eval.py``:
frame_best_slot_j, stable_id_j, fragments, kmeans_frame_j, motion_frame_j; OUT/report.json and OUT/report.md).
``--data`` may then also be a folder of full-size frame folders (``SEQ/frames``, ``SEQ/masks``):

    video-object-eval --stream --model models/default-real --data ../shared/realvideo/davis2016-train \
        --sequences bmx-bumps car-turn --out eval/stream
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from tqdm import tqdm

from ..bundle.layout import PROBE_FILE, Bundle
from ..bundle.viewpoint_probe import TARGET_NAMES, RidgeProbe, probe_features, viewpoint_targets
from ..data.config import SimConfig
from ..data.dataset import DatasetError, iter_windows, read_index
from ..data.dataset import sensor_for_dataset
from ..files import atomic_write_text
from ..scores.pictures import decomposition_strip
from ..scores.segments import (adjusted_rand_index, fg_ari, fixed_grid_segments, kmeans_segments, mean_best_overlap,
                               psnr, split_and_merge)
from ..scores.viewpoint import r2_scores
from ..sensing.sensors import SensorError
from .foreground import foreground_scores, is_foreground_data, per_sequence
from .viewpoint import frame_latents_and_targets

MIN_OBJECT_PIXELS = 8   # objects smaller than this over a window are not matched by the object probe


@torch.no_grad()
def decompose_windows(model, data, split: str, clips: int | None, batch: int = 8, progress: bool = True,
                      segments=None, keep_soft: bool = False):
    """
    Yield one record per window: video, recon, seg, true masks, latents and ground truth.

    LIDAR: with ``segments`` (a ``runtime/objectness.LidarClusters``, as ``geometric_segments`` gives) ``seg`` is the
    node's segments, the clusters given to the slots, not the argmax; ``keep_soft`` keeps each window's mixture
    weights [T, K, H, W] as ``soft_masks``.
    """
    cfg = model.cfg
    pending = []

    def flush():
        video = torch.from_numpy(np.stack([p['input'] for p in pending])).float().div_(255)    # [B, T, C, H, W]
        post = model.encode(video)
        out = model.decode_means(post)
        seg = out.masks.argmax(dim=2).numpy()
        confidence = out.masks.max(dim=2).values.mean(dim=(1, 2, 3)).numpy()
        viewpoint = model.pose_head(post.frame_mean).numpy() if model.pose_head is not None else None
        attributes = model.attribute_heads(post.object_mean) if model.attribute_heads is not None else None
        lidar = sensor.modality == 'lidar' and (segments is not None or keep_soft)
        soft = out.masks.squeeze(3).numpy() if lidar else None                      # [B, T, K, H, W]
        for j, p in enumerate(pending):
            if keep_soft and soft is not None:
                p['soft_masks'] = soft[j]
            if segments is not None and soft is not None:
                placed = segments.slots_by == 'placement' and post.placement is not None
                weights = [segments.placed(post.placement[j, :, t].numpy(), m.shape[-2:]) if placed else m
                           for t, m in enumerate(soft[j])]                     # as the node: placement, no decoder
                seg[j] = np.stack([segments.segments(m, rng).argmax(axis=0)
                                   for m, rng in zip(weights, p['lidar_range'])])
            p.update(recon=out.rgb[j, :, :cfg.image_channels].permute(0, 2, 3, 1).numpy(), seg=seg[j],
                     confidence=float(confidence[j]),
                     mse=float(((out.rgb[j] - video[j]) ** 2).mean()), object_mean=post.object_mean[j].numpy(),
                     frame_mean=post.frame_mean[j].numpy())
            if viewpoint is not None:
                p['viewpoint'] = viewpoint[j]
            if attributes is not None:
                p['attributes'] = {k: getattr(attributes, k)[j].numpy()
                                   for k in ('colour', 'shape_logits', 'size', 'presence_logit')}
        done = list(pending)
        pending.clear()
        return done

    sensor = sensor_for_dataset(data, cfg)
    # Real footage (from-video) gets each frame's motion from the whole clip, as a stream would: the model's
    # input if it reads motion, and the motion baseline's either way.
    motion = sensor.reads_motion or read_index(data).get('preset') == 'video'
    for i, start, window in iter_windows(data, split, cfg.frames, sensor.dataset_size(), clips,
                                         progress=f'eval {split}' if progress else None, motion=motion):
        inputs, labels = sensor.window_inputs(window)
        record = dict(clip=i, start=start, input=inputs, video=inputs[:, :cfg.image_channels].transpose(0, 2, 3, 1),
                      motion=window.get('motion'), masks=labels,
                      extrinsics=window[sensor.pose_key].astype(np.float64) if sensor.pose_key in window else None)
        if 'object_ids' in window:
            record['object_ids'] = window['object_ids']
        if 'object_positions' in window:              # the simulator's ground truth (real sweeps have ids alone)
            record.update(object_colours=window['object_colours'], object_positions=window['object_positions'],
                          object_shapes=window['object_shapes'] - 1, object_sizes=window['object_sizes'])
        if sensor.modality == 'lidar':
            record.update(sensor=sensor, lidar_range=window['lidar_range'])
        if 'sequence' in window:
            record['sequence'] = int(window['sequence'].reshape(-1)[0])
        pending.append(record)
        if len(pending) >= batch:
            yield from flush()
    if pending:
        yield from flush()


def geometric_segments(model, data, bundle: Path | None):
    """
    Return the segments the node publishes for a LIDAR bundle whose objectness is ``lidar-clusters``, else None.

    Each frame's range-image clusters go to the slots that point at them (``runtime/objectness.LidarClusters``).
    """
    if bundle is None:
        return None
    entry = Bundle.open(bundle).objectness or {}
    if entry.get('kind') != 'lidar-clusters':
        return None
    from ..runtime.objectness import LidarClusters
    return LidarClusters(entry, sensor_for_dataset(data, model.cfg), bundle)


def match_slots(masks: np.ndarray, seg: np.ndarray, object_ids: np.ndarray, k: int) -> list[tuple[int, int, float]]:
    """Hungarian matching of objects to slots on mask IoU over a window -> [(object index, slot, IoU)]."""
    present = [(i, o) for i, o in enumerate(object_ids) if (masks == o).sum() >= MIN_OBJECT_PIXELS]
    if not present:
        return []
    iou = np.zeros((len(present), k))
    for r, (_, o) in enumerate(present):
        obj = masks == o
        for s in range(k):
            slot = seg == s
            union = np.logical_or(obj, slot).sum()
            iou[r, s] = np.logical_and(obj, slot).sum() / union if union else 0.0
    rows, cols = linear_sum_assignment(-iou)
    return [(present[r][0], int(c), float(iou[r, c])) for r, c in zip(rows, cols) if iou[r, c] > 0]


def centroid_errors(record: dict) -> list[float]:
    """
    Return LIDAR centroid errors of matched objects and slots, in metres.

    LIDAR: for each matched (object, slot), per frame, the distance between the centroid of the object's
    returns and the centroid of the slot's returns, both mapped back to 3-D (metres).
    """
    from ..sensing.lidar import unproject
    lidar = record['sensor'].lidar
    errors = []
    k = len(record['object_mean'])
    for obj, slot, _iou in match_slots(record['masks'], record['seg'], record['object_ids'], k):
        for t in range(len(record['masks'])):
            truth = unproject(record['lidar_range'][t], lidar, record['masks'][t] == record['object_ids'][obj])
            pred = unproject(record['lidar_range'][t], lidar, record['seg'][t] == slot)
            if len(truth) and len(pred):
                errors.append(float(np.linalg.norm(truth.mean(0) - pred.mean(0))))
    return errors


def object_probe_data(records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the matched (object latent mean, position in the first camera's frame at t=0, colour) triples."""
    feats, positions, colours = [], [], []
    for r in records:
        cam0_from_world = np.linalg.inv(r['extrinsics'][0])
        for obj, slot, _iou in match_slots(r['masks'], r['seg'], r['object_ids'], len(r['object_mean'])):
            p = r['object_positions'][obj, 0].astype(np.float64)
            feats.append(r['object_mean'][slot])
            positions.append(cam0_from_world[:3, :3] @ p + cam0_from_world[:3, 3])
            colours.append(r['object_colours'][obj])
    return np.array(feats, np.float64), np.array(positions), np.array(colours, np.float64)


def attribute_scores(records: list[dict]) -> dict:
    """
    Return the attribute heads on the slots matched to objects (Hungarian on IoU).

    Shape accuracy, colour and size mean absolute error; presence accuracy over all slots (a slot matched to an object
    should say present).
    """
    if 'attributes' not in records[0]:
        return {}
    shape_hits, colour_err, size_err, presence_hits = [], [], [], []
    for r in records:
        a = r['attributes']
        present = np.zeros(len(a['size']), bool)
        for obj, slot, _iou in match_slots(r['masks'], r['seg'], r['object_ids'], len(a['size'])):
            present[slot] = True
            shape_hits.append(int(a['shape_logits'][slot].argmax() == r['object_shapes'][obj]))
            colour_err.append(float(np.abs(a['colour'][slot] - r['object_colours'][obj]).mean()))
            size_err.append(float(abs(a['size'][slot] - r['object_sizes'][obj])))
        presence_hits.extend((a['presence_logit'] > 0) == present)
    mean = lambda v: float(np.mean(v)) if len(v) else None  # noqa: E731
    return {'attribute_shape_accuracy': mean(shape_hits), 'attribute_colour_mae': mean(colour_err),
            'attribute_size_mae_m': mean(size_err), 'attribute_presence_accuracy': mean(presence_hits)}


def evaluate(model, data: str | Path, split: str = 'test', clips: int | None = None, probe_split: str = 'train',
             probe_clips: int = 300, kmeans: bool = True, progress: bool = True, out: Path | None = None,
             probe_data: str | Path | None = None,
             bundle: Path | None = None) -> dict:
    """Score ``model`` on ``split`` of ``data``; returns the report dict (and writes files to ``out``)."""
    cfg = model.cfg
    start_time = time.monotonic()
    records = list(decompose_windows(model, data, split, clips, progress=progress,
                                     segments=geometric_segments(model, data, bundle)))
    # What the data's labels allow: a robot bag's clips have no masks or objects, maybe no poses.
    has_masks = all(r['masks'] is not None for r in records)
    has_objects = has_masks and all('object_ids' in r for r in records)
    posed = [r for r in records if r['extrinsics'] is not None]
    not_computed = {}
    if not has_masks:
        not_computed.update(dict.fromkeys(['fg_ari', 'ari', 'mbo', 'kmeans_fg_ari', 'grid_fg_ari'],
                                          'the clips have no segmentation masks'))
    if not has_objects:
        not_computed.update(dict.fromkeys(['object_position_r2', 'object_colour_r2', 'attribute_shape_accuracy'],
                                          'the clips have no object ground truth'))
    if not posed:
        not_computed['viewpoint_r2'] = 'the clips have no camera poses (give odometry or tf when making the data set)'
    per = segmentation_scores(records, cfg, kmeans, progress) if has_masks else {}
    foreground = has_masks and not has_objects and is_foreground_data(records)
    if foreground:
        per.update(foreground_scores(records, cfg.num_slots, kmeans, progress))
    mse = float(np.mean([r['mse'] for r in records]))
    report = {key: float(np.nanmean(v)) if v else None for key, v in per.items()}
    report.update(not_computed=not_computed)
    if foreground:
        names = read_index(data).get('sequences')
        keys = ('best_slot_j', 'kmeans_best_slot_j', 'motion_j', 'motion_teacher_j', 'box_j')
        report['per_sequence'] = {key: per_sequence(records, per[key], names) for key in keys if per[key]}
    report.update(psnr=psnr(mse), mse=mse, num_clips=len({r['clip'] for r in records}), num_windows=len(records),
                  mask_confidence=float(np.mean([r['confidence'] for r in records])),
                  split=split, data=str(data), model=str(bundle) if bundle else None,
                  model_config={k: v for k, v in cfg.to_dict().items()
                                if k in ('height', 'width', 'frames', 'num_slots', 'decoder', 'likelihood',
                                         'slot_reduction', 'placement')})
    if posed:
        report.update(viewpoint_scores(model, posed, probe_data or data, probe_split, probe_clips, bundle))
        report['viewpoint_windows'] = len(posed)
    if has_objects and all('object_positions' in r for r in records):
        report.update(attribute_scores(records))
        report.update(object_probe_scores(model, records, probe_data or data, probe_split, probe_clips))
    report['centroid_error_m'] = None
    if 'sensor' in records[0] and has_objects:
        errors = [e for r in records for e in centroid_errors(r)]
        report['centroid_error_m'] = float(np.mean(errors)) if errors else None
    if 'sensor' in records[0] and has_masks:
        # LIDAR: every score on the returns (within 40 m), beside the sector grid, k-means on xyz and the classical
        # clustering (scores/lidar.py); these replace the pixel-level keys above.
        from ..scores.lidar import lidar_report
        sweeps = ((r['lidar_range'][t], r['masks'][t], r['seg'][t]) for r in records for t in range(len(r['seg'])))
        report.update(lidar_report(sweeps, records[0]['sensor'].lidar, kmeans=kmeans))
    report['seconds'] = round(time.monotonic() - start_time, 1)
    if out is not None:
        write_outputs(Path(out), report, records, per)
    return report


def segmentation_scores(records: list[dict], cfg, kmeans: bool = True, progress: bool = False) -> dict:
    """
    Per window: FG-ARI, ARI, mBO, splits and merges; and the baselines.

    K-means on colour + position (k = K), a fixed grid of the slot layout, the model's own most common labelling as a
    fixed partition.
    """
    per = {key: [] for key in ('fg_ari', 'ari', 'mbo', 'kmeans_fg_ari', 'kmeans_mbo', 'grid_fg_ari',
                               'fixed_partition_fg_ari', 'object_majority_share', 'objects_merged')}
    grid = fixed_grid_segments(records[0]['masks'].shape, *cfg.slot_grid)
    votes = np.stack([np.eye(cfg.num_slots, dtype=np.int32)[r['seg']] for r in records]).sum(0)
    fixed = votes.argmax(-1)
    for r in tqdm(records, desc='score', unit='window', disable=not progress):
        m, s = r['masks'], r['seg']
        per['fg_ari'].append(fg_ari(m, s))
        per['ari'].append(adjusted_rand_index(m, s))
        per['mbo'].append(mean_best_overlap(m, s))
        per['grid_fg_ari'].append(fg_ari(m, grid))
        per['fixed_partition_fg_ari'].append(fg_ari(m, fixed))
        share, merged = split_and_merge(m, s)
        per['object_majority_share'].append(share)
        per['objects_merged'].append(merged)
        if kmeans:
            km = kmeans_segments(r['video'], cfg.num_slots)
            per['kmeans_fg_ari'].append(fg_ari(m, km))
            per['kmeans_mbo'].append(mean_best_overlap(m, km))
    return per


def viewpoint_scores(model, records: list[dict], data, probe_split: str, probe_clips: int, bundle) -> dict:
    """
    Return the viewpoint's R^2: from the bundle's pose head (trained with the model) when it has one.

    Beside it, a ridge probe on the frame latents (the bundle's stored probe, else one fitted on the probe split).
    """
    cfg = model.cfg
    x_test = np.concatenate([probe_features(r['frame_mean']) for r in records])
    y_test = np.concatenate([viewpoint_targets(r['extrinsics']) for r in records])
    stored = bundle is not None and (Path(bundle) / PROBE_FILE).is_file()
    if stored:
        probe = RidgeProbe.load(Path(bundle) / PROBE_FILE, cfg.frame_dim)
    else:
        x_train, y_train = frame_latents_and_targets(model, data, probe_split, probe_clips)
        probe = RidgeProbe.fit(x_train, y_train)
    probe_r2 = r2_scores(y_test, probe.predict(x_test))
    out = {'viewpoint_probe_r2': float(np.nanmean(probe_r2)),
           'viewpoint_probe': 'stored in bundle' if stored else f'fitted on {probe_split} ({probe_clips} clips)'}
    if 'viewpoint' in records[0]:
        pred = np.concatenate([r['viewpoint'] for r in records])
        r2 = r2_scores(y_test, pred)
        out['viewpoint_source'] = 'pose head'
        # Pooled over the targets in the units the head was trained in (each target over its training std):
        # a target that barely varies in these windows cannot dominate, as it does in the mean of per-target R2.
        scale = model.pose_head.target_std.double().numpy()
        sse = (((y_test - pred) / scale) ** 2).sum()
        sst = (((y_test - y_test.mean(0)) / scale) ** 2).sum()
        out['viewpoint_r2_pooled'] = float(1 - sse / sst) if sst > 0 else None
    else:
        r2 = probe_r2
        out['viewpoint_source'] = out['viewpoint_probe']
    out['viewpoint_r2'] = float(np.nanmean(r2))
    out['viewpoint_r2_per_target'] = {n: (None if np.isnan(v) else float(v)) for n, v in zip(TARGET_NAMES, r2)}
    return out


def object_probe_scores(model, records: list[dict], data, probe_split: str, probe_clips: int) -> dict:
    """
    Position and colour of matched objects from their slots' latents.

    A ridge probe fitted on the probe split's matched slots, scored on these records.
    """
    train_records = list(decompose_windows(model, data, probe_split, min(probe_clips, 200), progress=False))
    fx, fp, fc = object_probe_data(train_records)
    tx, tp, tc = object_probe_data(records)
    out = {'object_position_r2': None, 'object_colour_r2': None, 'matched_objects': int(len(tx))}
    if len(fx) > model.cfg.object_dim and len(tx) > 1:
        out['object_position_r2'] = float(np.nanmean(r2_scores(tp, RidgeProbe.fit(fx, fp).predict(tx))))
        out['object_colour_r2'] = float(np.nanmean(r2_scores(tc, RidgeProbe.fit(fx, fc).predict(tx))))
    return out


def write_outputs(out: Path, report: dict, records: list[dict], per: dict) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / 'report.json').write_text(json.dumps(report, indent=2, sort_keys=True))
    strips = [decomposition_strip(r['video'], r['recon'], r['seg'], r['masks']) for r in records[:4]]
    plt.imsave(out / 'strip.png', np.concatenate(strips, axis=0))
    md = ['# Evaluation', '', f'Model `{report["model"]}` on `{report["data"]}` split `{report["split"]}`: '
          f'{report["num_clips"]} clips, {report["num_windows"]} windows. PSNR {report["psnr"]:.2f} dB; mean '
          f'largest mixture weight {_fmt(report["mask_confidence"])}.', '']
    if per:
        _plot_scores(out / 'scores.png', report, per)
        md += ['| score | model | k-means (k=K) | fixed grid | model fixed partition |', '|---|---|---|---|---|',
               f'| FG-ARI | {_fmt(report["fg_ari"])} | {_fmt(report["kmeans_fg_ari"])} | '
               f'{_fmt(report["grid_fg_ari"])} | {_fmt(report["fixed_partition_fg_ari"])} |',
               f'| mBO | {_fmt(report["mbo"])} | {_fmt(report["kmeans_mbo"])} | | |', '',
               f'ARI with background {_fmt(report["ari"])}. Objects: {_fmt(report["object_majority_share"])} of '
               f'their pixels in their majority segment (splits lower it); {_fmt(report["objects_merged"])} share '
               'that segment with another object (merges).', '', '![scores](scores.png)', '']
    if 'best_slot_j' in report:
        md += ['| foreground (one object per clip) | J over the window | J&F per frame |', '|---|---|---|',
               f'| model: its best slot | {_fmt(report["best_slot_j"])} | {_fmt(report["j_and_f"])} |',
               f'| k-means (k=K): its best cluster | {_fmt(report.get("kmeans_best_slot_j"))} | '
               f'{_fmt(report.get("kmeans_j_and_f"))} |',
               f'| centre box (middle half) | {_fmt(report["box_j"])} | |',
               f'| residual motion, Otsu threshold | {_fmt(report["motion_j"])} | |',
               f'| residual motion over 3 frames, Otsu, largest region (the motion_mask loss\'s teacher) | '
               f'{_fmt(report.get("motion_teacher_j"))} | |', '']
    if 'viewpoint_r2' in report:
        md += [f'Viewpoint R² {_fmt(report["viewpoint_r2"])} ({report["viewpoint_source"]}, '
               f'{report["viewpoint_windows"]} windows with poses): '
               + ', '.join(f'{k} {_fmt(v)}' for k, v in report['viewpoint_r2_per_target'].items())
               + f'. Ridge probe on the frame latents: R² {_fmt(report["viewpoint_probe_r2"])} '
               f'({report["viewpoint_probe"]}).', '']
    if 'attribute_shape_accuracy' in report:
        md += [f'Attribute heads on matched slots: shape accuracy {_fmt(report["attribute_shape_accuracy"])}, '
               f'colour MAE {_fmt(report["attribute_colour_mae"])}, size MAE {_fmt(report["attribute_size_mae_m"])} '
               f'm; presence accuracy over all slots {_fmt(report["attribute_presence_accuracy"])}.', '']
    if 'matched_objects' in report:
        md += [f'Object probe ({report["matched_objects"]} matched objects): position R² '
               f'{_fmt(report["object_position_r2"])}, colour R² {_fmt(report["object_colour_r2"])}.', '']
    if report['not_computed']:
        md += ['Not computed: ' + '; '.join(f'{k} ({why})' for k, why in report['not_computed'].items()) + '.', '']
    md += ['Rows per window: input, reconstruction, predicted segments, true masks (when the data has them).', '',
           '![strip](strip.png)', '']
    (out / 'report.md').write_text('\n'.join(md))


def _plot_scores(path: Path, report: dict, per: dict) -> None:
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    names = ['model', 'k-means (k=K)', 'fixed grid', 'model fixed partition']
    keys = ['fg_ari', 'kmeans_fg_ari', 'grid_fg_ari', 'fixed_partition_fg_ari']
    axes[0].bar(names, [report[k] or 0.0 for k in keys], color=['tab:blue', 'tab:orange', 'tab:gray', 'tab:green'])
    axes[0].set_ylabel('FG-ARI')
    axes[0].set_ylim(0, 1)
    axes[0].tick_params(axis='x', labelsize=7)
    axes[1].hist([per['fg_ari'], per['kmeans_fg_ari'] or [0]], bins=20, range=(-0.1, 1), label=names[:2])
    axes[1].set_xlabel('FG-ARI per window')
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _fmt(value) -> str:
    return 'n/a' if value is None else f'{value:.3f}'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-eval', description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.strip().splitlines()[1:]))
    parser.add_argument('--model', type=Path, help='model bundle folder (required but with --baselines-only)')
    parser.add_argument('--data', type=Path, required=True, help='data set folder (video-object-sim generate)')
    parser.add_argument('--split', default='test')
    parser.add_argument('--out', type=Path, required=True, help='output folder for report.json and pictures')
    parser.add_argument('--clips', type=int, help='evaluate only the first N clips')
    parser.add_argument('--probe-split', default='train', help='split the probes are fitted on')
    parser.add_argument('--probe-data', type=Path, help='data set the probes are fitted on (default: --data)')
    parser.add_argument('--probe-clips', type=int, default=300)
    parser.add_argument('--no-kmeans', action='store_true', help='skip the k-means baseline')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--stream', action='store_true',
                        help="score frame by frame through the node's pipeline (stride 1; see above)")
    parser.add_argument('--sequences', nargs='+', default=(), metavar='NAME',
                        help='with --stream: only these sequences of --data')
    parser.add_argument('--backend', default='auto', choices=('auto', 'onnxruntime', 'torch'),
                        help='with --stream: the inference backend, as the node parameter')
    parser.add_argument('--baselines-only', action='store_true',
                        help='LIDAR data sets: score the sector grid, k-means and the classical clustering alone')
    parser.add_argument('--within', type=float, default=40.0, help='LIDAR: score returns within this range (m)')
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    if not args.within > 0:
        parser.error(f'--within must be > 0, got {args.within}')
    if args.baselines_only:
        return _main_lidar_baselines(args)
    if args.model is None:
        parser.error('--model is required (but with --baselines-only)')
    if args.stream:
        return _main_stream(args)
    from ..bundle.layout import BundleError
    from ..model import load_bundle
    torch.set_num_threads(args.threads)
    try:
        model = load_bundle(args.model)
        report = evaluate(model, args.data, args.split, args.clips, args.probe_split, args.probe_clips,
                          probe_data=args.probe_data,
                          kmeans=not args.no_kmeans, progress=not args.no_progress, out=args.out, bundle=args.model)
    except (BundleError, DatasetError, SensorError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    keys = ('best_slot_j', 'j_and_f', 'kmeans_best_slot_j', 'box_j', 'motion_j', 'motion_teacher_j',
            'fg_ari', 'kmeans_fg_ari', 'grid_fg_ari', 'fixed_partition_fg_ari', 'ari', 'mbo', 'kmeans_mbo', 'psnr',
            'object_majority_share', 'objects_merged', 'viewpoint_r2', 'viewpoint_probe_r2', 'object_position_r2',
            'object_colour_r2', 'attribute_shape_accuracy', 'attribute_colour_mae', 'attribute_presence_accuracy',
            'num_clips')
    print(json.dumps({k: report[k] for k in keys if k in report}))
    return 0


def _main_lidar_baselines(args) -> int:
    from ..scores.lidar import dataset_sweeps, lidar_report
    try:
        index = read_index(args.data)
        lidar = SimConfig.from_dict(index['sim']).lidar
        if lidar is None or args.split not in index['splits']:
            raise DatasetError(f'{args.data}: --baselines-only needs a LIDAR data set with a {args.split!r} split')
        if 'lidar_ids' not in index.get('labels', {}).get(args.split, ['lidar_ids']):
            raise DatasetError(f'{args.data}: split {args.split!r} has no object labels to score against')
        report = lidar_report(dataset_sweeps(args.data, args.split), lidar, args.within, not args.no_kmeans)
    except (DatasetError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    report.update(data=str(args.data), split=args.split, model=None)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / 'report.json', json.dumps(report, indent=2, sort_keys=True))
    print(json.dumps(report))
    return 0


def _main_stream(args) -> int:
    from ..bundle.layout import BundleError
    from .stream_eval import StreamDataError, evaluate_stream, stream_report_md
    try:
        report = evaluate_stream(args.model, args.data, args.split, tuple(args.sequences), not args.no_kmeans,
                                 args.threads, args.backend, progress=not args.no_progress)
    except (BundleError, StreamDataError, SensorError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'report.json').write_text(json.dumps(report, indent=2, sort_keys=True))
    (args.out / 'report.md').write_text(stream_report_md(report))
    print(json.dumps({k: report[k] for k in ('frame_best_slot_j', 'stable_id_j', 'fragments', 'kmeans_frame_j',
                                             'motion_frame_j', 'num_frames', 'num_sequences')}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
