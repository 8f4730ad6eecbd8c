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
Object queries: a small language over the attribute heads' outputs, and a memory of objects across windows.

    red cube        large sphere        leftmost object        nearest blue        the small green cylinder

Words: colours (MOVi-A's 8 CLEVR colours), shapes, sizes, ``object`` (any), fillers (``the``, ``a``, ``an``)
and at most one relation: ``leftmost``, ``rightmost``, ``nearest``, ``farthest``, ``largest``, ``smallest``
(``nearest``/``farthest`` need 3-D positions: LIDAR bundles, or depth). No downloaded model: a query is parsed
into filters and a relation, and scored against each remembered object's attribute probabilities.

``ObjectMemory`` keeps, per stable id (the node's tracker), a running average of the attribute probabilities
and the last place the object was seen (u, v in input pixels, its share of the image, x/y/z for LIDAR), and
forgets an id after ``forget_after`` windows unseen: an answer is about an object, not one window's slot, and
survives a window where the object is hidden. ROS-free.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..palette import COLOUR_NAMES, COLOUR_RGB, SHAPES

SIZES = ('small', 'large')
SIZE_SPLIT_M = 0.8               # the simulator's sizes are 0.6-1.0 m: small below, large above
RELATIONS = ('leftmost', 'rightmost', 'nearest', 'farthest', 'largest', 'smallest')
WILDCARDS = ('object', 'thing')
FILLERS = ('the', 'a', 'an')
SYNONYMS = {'grey': 'gray', 'ball': 'sphere', 'box': 'cube', 'big': 'large', 'little': 'small', 'closest': 'nearest'}
COLOUR_SHARPNESS = 30.0          # softmax over -distance^2 * this, to the palette colours


class QueryError(ValueError):
    """A query cannot be parsed (one line naming the word and listing the vocabulary)."""


def vocabulary() -> str:
    return (f'colours {", ".join(COLOUR_NAMES)}; shapes {", ".join(SHAPES)}; sizes {", ".join(SIZES)}; '
            f'relations {", ".join(RELATIONS)}; any: {", ".join(WILDCARDS)}')


@dataclass(frozen=True)
class Query:
    text: str
    colour: str | None = None
    shape: str | None = None
    size: str | None = None
    relation: str | None = None
    refused: bool = False        # a malformed query, kept so that it answers nothing until replaced

    @property
    def empty(self) -> bool:
        return not self.text


def parse_query(text: str) -> Query:
    """Parse a query; QueryError on an unknown word, a repeated attribute or two relations."""
    words = [SYNONYMS.get(w, w) for w in str(text).lower().replace(',', ' ').split()]
    if not words:
        return Query('')
    found: dict = {}
    for word in words:
        if word in FILLERS or word in WILDCARDS:
            continue
        for kind, names in (('colour', COLOUR_NAMES), ('shape', SHAPES), ('size', SIZES), ('relation', RELATIONS)):
            if word in names or (kind == 'shape' and word.endswith('s') and word[:-1] in names):
                name = word if word in names else word[:-1]
                if kind in found and found[kind] != name:
                    raise QueryError(f'query {text!r} names two {kind}s ({found[kind]}, {name}); give one')
                found[kind] = name
                break
        else:
            raise QueryError(f'query {text!r}: unknown word {word!r}; vocabulary: {vocabulary()}')
    return Query(' '.join(words), **found)


def attribute_probabilities(attributes: np.ndarray) -> dict:
    """
    Attribute-head outputs [K, 9] (colour RGB, 4 shape logits, size, presence logit) -> per slot probabilities.

    Colour [K, 8], shape [K, 4], large [K], present [K].
    """
    attributes = np.asarray(attributes, np.float64)
    rgb, logits = attributes[:, :3], attributes[:, 3:3 + len(SHAPES)]
    size, presence = attributes[:, 3 + len(SHAPES)], attributes[:, 4 + len(SHAPES)]
    d2 = ((rgb[:, None, :] - COLOUR_RGB[None]) ** 2).sum(-1)
    colour = _softmax(-d2 * COLOUR_SHARPNESS)
    return {'colour': colour, 'shape': _softmax(logits), 'large': 1 / (1 + np.exp(-(size - SIZE_SPLIT_M) / 0.05)),
            'present': 1 / (1 + np.exp(-presence))}


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class Remembered:
    """One object's memory: attribute probabilities (running average) and where it was last seen."""

    colour: np.ndarray
    shape: np.ndarray
    large: float
    present: float
    u: float
    v: float
    area: float
    xyz: np.ndarray = field(default_factory=lambda: np.full(3, np.nan))
    unseen: int = 0


class ObjectMemory:
    """
    Per stable id: an exponential average (``decay``) of attribute probabilities and the last position.

    An id unseen for ``forget_after`` windows is forgotten. A slot counts as seen when its presence is above
    ``present_threshold`` and it covers some of the image.
    """

    def __init__(self, decay: float = 0.5, forget_after: int = 10, present_threshold: float = 0.5):
        self.decay, self.forget_after, self.present_threshold = decay, forget_after, present_threshold
        self.objects: dict[int, Remembered] = {}

    def update(self, ids: np.ndarray, attributes: np.ndarray, positions: np.ndarray,
               xyz: np.ndarray | None = None) -> None:
        """``positions`` [K, 3]: (u, v, area) of each slot this window (area 0 = not visible)."""
        probs = attribute_probabilities(attributes)
        seen = set()
        for k, oid in enumerate(np.asarray(ids).tolist()):
            u, v, area = positions[k]
            if probs['present'][k] < self.present_threshold or not area > 0:
                continue
            seen.add(oid)
            new = Remembered(probs['colour'][k], probs['shape'][k], float(probs['large'][k]),
                             float(probs['present'][k]), float(u), float(v), float(area),
                             np.asarray(xyz[k], np.float64) if xyz is not None else np.full(3, np.nan))
            old = self.objects.get(oid)
            if old is not None:
                a = self.decay
                new.colour = a * old.colour + (1 - a) * new.colour
                new.shape = a * old.shape + (1 - a) * new.shape
                new.large = a * old.large + (1 - a) * new.large
            self.objects[oid] = new
        for oid in list(self.objects):
            if oid not in seen:
                self.objects[oid].unseen += 1
                if self.objects[oid].unseen > self.forget_after:
                    del self.objects[oid]

    def answer(self, query: Query, max_results: int = 5, min_score: float = 0.3) -> list[dict]:
        """
        Return the best matches of the query, best first.

        Best matches first: [{'id', 'score', 'u', 'v', 'area', 'x', 'y', 'z'}], at most ``max_results``,
        none scoring below ``min_score``.
        """
        if query.empty or query.refused or not self.objects:
            return []
        rows = []
        for oid, o in self.objects.items():
            score = o.present
            if query.colour:
                score *= float(o.colour[COLOUR_NAMES.index(query.colour)])
            if query.shape:
                score *= float(o.shape[SHAPES.index(query.shape)])
            if query.size:
                score *= o.large if query.size == 'large' else 1.0 - o.large
            rows.append({'id': oid, 'score': score, 'u': o.u, 'v': o.v, 'area': o.area, 'x': float(o.xyz[0]),
                         'y': float(o.xyz[1]), 'z': float(o.xyz[2])})
        rows = [r for r in rows if r['score'] >= min_score]
        if query.relation:
            key = {'leftmost': lambda r: r['u'], 'rightmost': lambda r: -r['u'], 'largest': lambda r: -r['area'],
                   'smallest': lambda r: r['area'],
                   'nearest': lambda r: np.linalg.norm([r['x'], r['y'], r['z']]),
                   'farthest': lambda r: -np.linalg.norm([r['x'], r['y'], r['z']])}[query.relation]
            if query.relation in ('nearest', 'farthest') and any(np.isnan(r['x']) for r in rows):
                return []                                   # no 3-D positions: nearest/farthest cannot be told
            rows.sort(key=key)
        else:
            rows.sort(key=lambda r: -r['score'])
        return rows[:max_results]


def slot_positions(placement: np.ndarray | None, masks: np.ndarray | None, image_hw: tuple, model_hw: tuple,
                   mode: str = 'crop') -> np.ndarray:
    """
    Each slot's (u, v, area) in the window's last frame, in input-image pixels and share of the image.

    From the decoded masks [K, h, w] when there are any (centroid of the argmax segment), else from the per-frame
    placement [K, T, 4] (centre, and the box of its half-extents).
    """
    from .overlay import view_box
    h, w = image_hw
    (y0, x0, bh, bw), (my0, mx0, vh, vw) = view_box(h, w, model_hw[0], model_hw[1], mode)
    if masks is not None:
        k = len(masks)
        labels = masks.argmax(axis=0)[my0:my0 + vh, mx0:mx0 + vw]
        out = np.zeros((k, 3))
        for slot in range(k):
            ys, xs = np.nonzero(labels == slot)
            if len(ys):
                out[slot] = (x0 + (xs.mean() + 0.5) * bw / vw, y0 + (ys.mean() + 0.5) * bh / vh,
                             len(ys) * (bw / vw) * (bh / vh) / (h * w))
        return out
    if placement is None:
        raise ValueError('slot positions need decoded masks or a bundle that places its slots')
    last = np.asarray(placement)[:, -1]                                     # [K, 4]: x, y in [-1, 1], sx, sy
    mx = (last[:, 0] + 1) / 2 * model_hw[1] - mx0
    my = (last[:, 1] + 1) / 2 * model_hw[0] - my0
    area = (2 * last[:, 2] * model_hw[1] / 2) * (2 * last[:, 3] * model_hw[0] / 2) * (bw / vw) * (bh / vh) / (h * w)
    return np.stack([x0 + mx * bw / vw, y0 + my * bh / vh, np.clip(area, 0, 1)], axis=1)
