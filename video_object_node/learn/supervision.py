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
Supervised losses for heterogeneous training: each applies only to the clips that carry its label.

A batch's labels are a ``Labels`` of tensors; the ``has_*`` flags [B] say which clips carry which label
(a simulator clip has masks, poses and object attributes; a robot bag's clip only poses; an unlabelled
clip none). Every loss returns ``None`` when no clip of the batch carries its label, so the trainer
adds only the terms that exist.

- ``mask``: cross-entropy between the decoded mixture weights and the true segments (the background is a
  segment too), each segment matched to one slot per clip by the Hungarian algorithm on that same
  cross-entropy (so permuted slots score the same).
- ``placement``: the matched slots' per-frame placement against their object's mask centroid and extent.
- ``pose``: the pose head against the camera's viewpoint targets, in standardised units.
- ``attributes``: the matched slots' colour, shape and size; presence for every slot (matched to an object
  or not).
- ``motion`` (models that read motion; every clip, no label needed): each slot's motion within its mask is
  explained by one affine motion fitted in closed form (weighted least squares), and what it leaves
  unexplained is the loss (the Guess-What-Moves objective): what moves together binds into one slot.
- ``motion_mask`` (models that read motion; the clips without masks): motion as a teacher of whole objects.
  The residual motion, smoothed over 3 frames and thresholded by Otsu's method, its largest region kept
  (``pseudo_foreground``), is a pseudo foreground; frames where it is implausible (almost nothing, or most of the
  image, moves) are left out. The
  slot whose masks overlap it most over the window (soft IoU) is pulled onto it by a class-balanced binary
  cross-entropy, and, with placement, that slot's placement onto its centroid and extent (Bao et al. 2022,
  "Discovering Objects that Can Move": motion segments supervise the slots' masks).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from ..model.encoder import PLACEMENT_MAX_SCALE, PLACEMENT_MIN_SCALE

LOSSES = ('mask', 'placement', 'pose', 'attributes', 'motion', 'motion_mask', 'foreground')
AFFINE_RIDGE = 1e-3          # keeps each slot's 3x3 normal equations invertible when its mask is (nearly) empty


@dataclass
class Labels:
    """
    What a batch of B windows carries (T frames of H x W; M object rows, id 0 = padding).

    masks [B, T, H, W] int64 (0 = background), pose [B, T, 11] viewpoint targets, object_ids [B, M] int64,
    object_colours [B, M, 3] in [0, 1], object_shapes [B, M] int64 (index into heads.SHAPES),
    object_sizes [B, M] metres; foreground [B, T, H, W] uint8 (one object's mask alone: 1 it, 0 not, 255 a frame
    left out; an annotated real foreground or a teacher's); has_masks, has_pose, has_colours, has_attributes,
    has_foreground: [B] bool.
    """

    masks: torch.Tensor
    pose: torch.Tensor
    object_ids: torch.Tensor
    object_colours: torch.Tensor
    object_shapes: torch.Tensor
    object_sizes: torch.Tensor
    has_masks: torch.Tensor
    has_pose: torch.Tensor
    has_colours: torch.Tensor
    has_attributes: torch.Tensor
    foreground: torch.Tensor
    has_foreground: torch.Tensor

    def to(self, device) -> 'Labels':
        return Labels(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


@dataclass
class Matching:
    """
    Per clip of the batch, the (segment label, slot) pairs the Hungarian algorithm chose; [] for a clip without masks.

    ``target`` [B, Td, h, w]: each decoded pixel's slot, -1 where no slot is assigned.
    """

    pairs: list
    target: torch.Tensor


def match_segments(masks: torch.Tensor, labels: torch.Tensor, has_masks: torch.Tensor) -> Matching:
    """
    Match each clip's segments to slots: masks [B, Td, K, h, w] (mixture weights), labels [B, Td, h, w].

    The cost of giving segment j to slot k is the cross-entropy of j's pixels under slot k; with more
    segments than slots, the smallest segments are left out (their pixels get no target).
    """
    b, _, k = masks.shape[:3]
    log_m = torch.log(masks.detach().float().clamp_min(1e-6)).transpose(1, 2).reshape(b, k, -1)   # [B, K, P]
    flat = labels.reshape(b, -1)
    target = torch.full_like(flat, -1)
    pairs = []
    for i in range(b):
        if not bool(has_masks[i]):
            pairs.append([])
            continue
        ids, inverse, counts = torch.unique(flat[i], return_inverse=True, return_counts=True)
        onehot = F.one_hot(inverse, len(ids)).float()                               # [P, n]
        cost = -(log_m[i] @ onehot) / counts.float()                                 # [K, n]
        keep = torch.argsort(counts, descending=True)[:k]
        rows, cols = linear_sum_assignment(cost[:, keep].cpu().numpy())
        chosen = [(int(ids[keep[c]]), int(r)) for r, c in zip(rows, cols)]
        lut = torch.full((len(ids),), -1, dtype=flat.dtype, device=flat.device)
        for c, (_label, slot) in zip(cols, chosen):
            lut[keep[c]] = slot
        target[i] = lut[inverse]
        pairs.append(chosen)
    return Matching(pairs, target.reshape(labels.shape))


def mask_loss(masks: torch.Tensor, matching: Matching) -> torch.Tensor | None:
    """
    Cross-entropy of the assigned pixels, balanced over segments.

    Cross-entropy of the assigned pixels, averaged within each segment first and then over segments, so an
    object weighs as much as the background that covers most pixels (a per-pixel mean is low even when all
    objects share one slot). masks [B, Td, K, h, w], matching.target [B, Td, h, w].
    """
    target = matching.target
    valid = target >= 0
    if not bool(valid.any()):
        return None
    b, k = masks.shape[0], masks.shape[2]
    log_m = torch.log(masks.float().clamp_min(1e-6))
    picked = torch.gather(log_m, 2, target.clamp_min(0)[:, :, None]).squeeze(2)            # [B, Td, h, w]
    segment = (torch.arange(b, device=target.device)[:, None] * k + target.clamp_min(0).reshape(b, -1)).reshape(-1)
    weight = valid.reshape(-1).float()
    sums = torch.zeros(b * k, device=masks.device).index_add(0, segment, -picked.reshape(-1) * weight)
    counts = torch.zeros(b * k, device=masks.device).index_add(0, segment, weight)
    present = counts > 0
    return (sums[present] / counts[present]).mean()


def placement_targets(object_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """
    One object's masks [T, H, W] -> (placement targets [T, 4], visible [T]).

    The centroid in [-1, 1] image coordinates and the half-extents of a uniform box with the mask's standard deviations.
    """
    t, h, w = object_mask.shape
    m = object_mask.float()
    ys = ((torch.arange(h, device=m.device) + 0.5) / h * 2 - 1)[None, :, None]
    xs = ((torch.arange(w, device=m.device) + 0.5) / w * 2 - 1)[None, None, :]
    count = m.sum(dim=(1, 2))
    safe = count.clamp_min(1)
    cx, cy = (m * xs).sum(dim=(1, 2)) / safe, (m * ys).sum(dim=(1, 2)) / safe
    vx = (m * (xs - cx[:, None, None]) ** 2).sum(dim=(1, 2)) / safe
    vy = (m * (ys - cy[:, None, None]) ** 2).sum(dim=(1, 2)) / safe
    sx = (math.sqrt(3) * vx.sqrt()).clamp(PLACEMENT_MIN_SCALE, PLACEMENT_MAX_SCALE)
    sy = (math.sqrt(3) * vy.sqrt()).clamp(PLACEMENT_MIN_SCALE, PLACEMENT_MAX_SCALE)
    return torch.stack([cx, cy, sx, sy], dim=-1), count > 0


def placement_loss(placement: torch.Tensor, masks: torch.Tensor, matching: Matching) -> torch.Tensor | None:
    """
    L1 between matched slots' placement and their objects'.

    L1 between matched slots' placement [B, K, T, 4] and their objects' (``placement_targets``) over the
    frames where the object is visible; masks [B, T, H, W] at full resolution.
    """
    errors = []
    for i, pairs in enumerate(matching.pairs):
        for label, slot in pairs:
            if label == 0:
                continue
            target, visible = placement_targets(masks[i] == label)
            if bool(visible.any()):
                errors.append((placement[i, slot].float() - target).abs()[visible].mean(dim=-1))
    return torch.cat(errors).mean() if errors else None


def pose_loss(pose_head, frame_mean: torch.Tensor, targets: torch.Tensor,
              has_pose: torch.Tensor) -> torch.Tensor | None:
    """
    MSE of the pose head in standardised units.

    MSE of the pose head in standardised units over the clips with poses: frame_mean [B, T, Df],
    targets [B, T, 11].
    """
    if not bool(has_pose.any()):
        return None
    pred = pose_head.standardised(frame_mean[has_pose].float())
    return (pred - pose_head.standardise(targets[has_pose].float())).square().mean()


def attribute_loss(attributes, labels: Labels, matching: Matching) -> torch.Tensor | None:
    """
    Score matched slots' attributes: colour MSE (clips with colours), shape cross-entropy, size MSE.

    Every slot of a clip with attributes: presence (1 if matched to an object, else 0) by binary cross-entropy.
    """
    terms, presence_rows, presence_targets = [], [], []
    for i, pairs in enumerate(matching.pairs):
        if not pairs or not bool(labels.has_attributes[i]):
            continue
        present = torch.zeros(attributes.presence_logit.shape[1], device=attributes.presence_logit.device)
        ids = labels.object_ids[i]
        for label, slot in pairs:
            rows = torch.nonzero(ids == label).flatten()
            if label == 0 or len(rows) == 0:
                continue
            row = int(rows[0])
            present[slot] = 1.0
            terms.append(F.cross_entropy(attributes.shape_logits[i, slot].float()[None],
                                         labels.object_shapes[i, row][None]))
            terms.append((attributes.size[i, slot].float() - labels.object_sizes[i, row]).square())
            if bool(labels.has_colours[i]):
                terms.append((attributes.colour[i, slot].float() - labels.object_colours[i, row]).square().mean())
        presence_rows.append(attributes.presence_logit[i].float())
        presence_targets.append(present)
    if not presence_rows:
        return None
    presence = F.binary_cross_entropy_with_logits(torch.stack(presence_rows), torch.stack(presence_targets))
    return presence + (torch.stack(terms).mean() if terms else 0.0)


def affine_motion_loss(masks: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """
    Mean squared flow that one affine motion per slot leaves unexplained.

    Masks [B, Td, K, h, w] (mixture weights), flow [B, Td, 2, h, w] (any unit). For each slot and frame, theta = argmin
    sum_p m_p |f_p - theta^T phi_p|^2 with phi_p = (x, y, 1) in [-1, 1] image coordinates (closed form, differentiable),
    and the loss is sum_k sum_p m_kp |f_p - theta_k^T phi_p|^2 averaged over pixels.
    """
    b, td, k, h, w = masks.shape
    m = masks.float().reshape(b, td, k, h * w)                                      # [B, Td, K, P]
    f = flow.float().reshape(b, td, 2, h * w).transpose(2, 3)                        # [B, Td, P, 2]
    ys = (torch.arange(h, device=m.device, dtype=torch.float32) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, device=m.device, dtype=torch.float32) + 0.5) / w * 2 - 1
    phi = torch.stack([xs[None, :].expand(h, w), ys[:, None].expand(h, w), torch.ones(h, w, device=m.device)],
                      dim=-1).reshape(h * w, 3)                                     # [P, 3]
    normal = torch.einsum('btkp,pi,pj->btkij', m, phi, phi)                          # [B, Td, K, 3, 3]
    normal = normal + AFFINE_RIDGE * torch.eye(3, device=m.device)
    rhs = torch.einsum('btkp,pi,btpc->btkic', m, phi, f)                            # [B, Td, K, 3, 2]
    theta = torch.linalg.solve(normal, rhs)                                         # [B, Td, K, 3, 2]
    predicted = torch.einsum('pi,btkic->btkpc', phi, theta)                         # [B, Td, K, P, 2]
    residual = (f[:, :, None] - predicted).square().sum(-1)                         # [B, Td, K, P]
    return (m * residual).sum(2).mean()


def pseudo_foreground(motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Motion channels [T, 2, h, w] in [0, 1] -> (pseudo foreground [T, h, w] bool, usable frames [T] bool).

    The motion the model reads (DIS at half resolution), through ``teacher.segment_motion`` without the edge
    refinement: averaged over each frame and its neighbours (3 frames: an object that pauses for a frame, or a
    clip's first frame, which has no motion, keeps its mask), blurred, thresholded by Otsu's method, the largest
    region kept. On the training sequences' masks this finds the foreground with J 0.377 where the per-frame
    threshold (the motion baseline) finds 0.293.
    """
    from ..sensing.motion import motion_magnitude
    from .teacher import segment_motion
    return segment_motion(motion_magnitude(motion))


def best_slot_bce(m: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """
    Pull one slot onto an object mask.

    m [U, K, h, w] mixture weights, y [U, h, w] in {0, 1} -> (the class-balanced binary cross-entropy of the slot with
    the highest soft IoU with y over the frames, that slot).
    """
    with torch.no_grad():
        inter = (m * y[:, None]).sum(dim=(0, 2, 3))
        union = m.sum(dim=(0, 2, 3)) + y.sum() - inter
        slot = int(torch.argmax(inter / union.clamp_min(1e-6)))
    p = m[:, slot].clamp(1e-6, 1 - 1e-6)
    on, off = y > 0, y == 0
    terms = [t for t in (torch.log(p[on]).mean() if bool(on.any()) else None,
                         torch.log1p(-p[off]).mean() if bool(off.any()) else None) if t is not None]
    return -torch.stack(terms).sum() / 2, slot


def foreground_loss(masks: torch.Tensor, foreground: torch.Tensor, has_foreground: torch.Tensor,
                    placement: torch.Tensor | None = None) -> torch.Tensor | None:
    """
    Pull one slot onto each clip's object, given as a mask of it alone.

    The mask is a real data set's annotation, or a teacher's (``learn/teacher.py``).

    masks [B, Td, K, h, w] (mixture weights), foreground [B, Td, h, w] uint8 (1 the object, 0 not it, 255 a frame to
    leave out), has_foreground [B]; placement [B, K, Td, 4] or None. Per clip, the slot that overlaps the object most
    over its frames gets the class-balanced cross-entropy (``best_slot_bce``), and its placement the L1 against the
    object's; the other slots are pushed off the object by the softmax over slots: one object, one slot.
    """
    errors = []
    for i in range(masks.shape[0]):
        if not bool(has_foreground[i]):
            continue
        usable = ~(foreground[i] == 255).flatten(1).all(dim=1)
        if not bool(usable.any()):
            continue
        keep = torch.nonzero(usable).flatten()
        y = (foreground[i, keep] == 1).float()                                        # [U, h, w]
        loss, slot = best_slot_bce(masks[i, keep].float(), y)
        if placement is not None and bool(y.flatten(1).any(dim=1).any()):
            target, visible = placement_targets(y)
            loss = loss + (placement[i, slot, keep].float() - target).abs()[visible].mean()
        errors.append(loss)
    return torch.stack(errors).mean() if errors else None


def motion_mask_loss(masks: torch.Tensor, motion: torch.Tensor, has_masks: torch.Tensor,
                     placement: torch.Tensor | None = None) -> torch.Tensor | None:
    """
    Motion segments as the teacher of the clips without masks.

    Masks [B, Td, K, h, w] (mixture weights), motion [B, Td, 2, h, w] (the decoded frames' motion channels in [0, 1]),
    has_masks [B]; placement [B, K, Td, 4] of the decoded frames or None. Per clip, the slot with the highest soft IoU
    with the pseudo foreground (``pseudo_foreground``) over the usable frames gets the balanced cross-entropy -(mean
    over foreground of log m + mean over background of log(1 - m)) / 2, plus the L1 of its placement against the pseudo
    foreground's (``placement_targets``); None when no clip has a usable frame.
    """
    channels = motion.detach().float().cpu().numpy()
    errors = []
    for i in range(masks.shape[0]):
        if bool(has_masks[i]):
            continue
        fg, usable = pseudo_foreground(channels[i])
        if not usable.any():
            continue
        keep = torch.from_numpy(np.flatnonzero(usable)).to(masks.device)
        y = torch.from_numpy(fg[usable]).to(masks.device, torch.float32)             # [U, h, w]
        loss, slot = best_slot_bce(masks[i, keep].float(), y)                       # masks [U, K, h, w]
        if placement is not None:
            target, _visible = placement_targets(y)
            loss = loss + (placement[i, slot, keep].float() - target).abs().mean()
        errors.append(loss)
    return torch.stack(errors).mean() if errors else None


def supervised_losses(model, terms: dict, labels: Labels, weights: dict) -> tuple[dict, Matching | None]:
    """
    Return the supervised terms this batch's labels and the model's heads allow.

    The supervised terms that this batch's labels and the model's heads allow, for the losses with a
    weight > 0 in ``weights`` (a LOSSES -> float mapping); returns ({name: loss}, the mask matching).
    """
    post, dec = terms['posterior'], terms['decoded']
    out = {}
    matching = None
    needs_matching = any(weights.get(n, 0) > 0 for n in ('mask', 'placement', 'attributes'))
    if needs_matching and bool(labels.has_masks.any()):
        stride, (oy, ox) = terms['pixel_stride'], terms['pixel_offset']
        decoded_labels = labels.masks[:, terms['frame_idx']][:, :, oy::stride, ox::stride]
        matching = match_segments(dec.masks, decoded_labels, labels.has_masks)
        if weights.get('mask', 0) > 0:
            out['mask'] = mask_loss(dec.masks, matching)
        if weights.get('placement', 0) > 0 and post.placement is not None:
            out['placement'] = placement_loss(post.placement, labels.masks, matching)
        if weights.get('attributes', 0) > 0 and model.attribute_heads is not None:
            out['attributes'] = attribute_loss(model.attribute_heads(post.object_mean), labels, matching)
    if weights.get('pose', 0) > 0 and model.pose_head is not None:
        out['pose'] = pose_loss(model.pose_head, post.frame_mean, labels.pose, labels.has_pose)
    if weights.get('motion', 0) > 0 and model.cfg.motion_input:
        from ..sensing.motion import MOTION_SCALE_PX
        motion = terms['target'][:, :, model.cfg.image_channels:]                      # [B, Td, 2, h, w] in [0, 1]
        out['motion'] = affine_motion_loss(dec.masks, (motion - 0.5) * 2.0 * MOTION_SCALE_PX)
    if weights.get('motion_mask', 0) > 0 and model.cfg.motion_input:
        motion = terms['target'][:, :, model.cfg.image_channels:]
        placement = None if post.placement is None else post.placement[:, :, terms['frame_idx']]
        out['motion_mask'] = motion_mask_loss(dec.masks, motion, labels.has_masks, placement)
    if weights.get('foreground', 0) > 0 and bool(labels.has_foreground.any()):
        stride, (oy, ox) = terms['pixel_stride'], terms['pixel_offset']
        decoded = labels.foreground[:, terms['frame_idx']][:, :, oy::stride, ox::stride]
        placement = None if post.placement is None else post.placement[:, :, terms['frame_idx']]
        out['foreground'] = foreground_loss(dec.masks, decoded, labels.has_foreground, placement)
    return {k: v for k, v in out.items() if v is not None}, matching


def empty_labels(batch: int, frames: int, height: int, width: int, max_objects: int = 1) -> Labels:
    """Labels for a batch that carries none (every has_* flag False)."""
    no = torch.zeros(batch, dtype=torch.bool)
    return Labels(masks=torch.zeros(batch, frames, height, width, dtype=torch.int64),
                  pose=torch.zeros(batch, frames, 11), object_ids=torch.zeros(batch, max_objects, dtype=torch.int64),
                  object_colours=torch.zeros(batch, max_objects, 3),
                  object_shapes=torch.zeros(batch, max_objects, dtype=torch.int64),
                  object_sizes=torch.zeros(batch, max_objects), has_masks=no, has_pose=no.clone(),
                  has_colours=no.clone(), has_attributes=no.clone(),
                  foreground=torch.zeros(batch, frames, height, width, dtype=torch.uint8), has_foreground=no.clone())


def stack_numpy(rows: list[dict], frames: int, height: int, width: int) -> Labels:
    """Labels from per-window numpy dicts (keys as ``Labels``' fields; a missing key = label absent)."""
    b = len(rows)
    m = max([len(r.get('object_ids', ())) for r in rows] + [1])
    labels = empty_labels(b, frames, height, width, m)
    for i, r in enumerate(rows):
        if r.get('masks') is not None:
            labels.masks[i] = torch.from_numpy(np.asarray(r['masks'], np.int64))
            labels.has_masks[i] = True
        if r.get('foreground') is not None:
            labels.foreground[i] = torch.from_numpy(np.asarray(r['foreground'], np.uint8))
            labels.has_foreground[i] = True
        if r.get('pose') is not None:
            labels.pose[i] = torch.from_numpy(np.asarray(r['pose'], np.float32))
            labels.has_pose[i] = True
        if r.get('object_ids') is not None:
            n = len(r['object_ids'])
            labels.object_ids[i, :n] = torch.from_numpy(np.asarray(r['object_ids'], np.int64))
            labels.object_shapes[i, :n] = torch.from_numpy(np.asarray(r['object_shapes'], np.int64))
            labels.object_sizes[i, :n] = torch.from_numpy(np.asarray(r['object_sizes'], np.float32))
            labels.has_attributes[i] = True
            if r.get('object_colours') is not None:
                labels.object_colours[i, :n] = torch.from_numpy(np.asarray(r['object_colours'], np.float32))
                labels.has_colours[i] = True
    return labels
