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
Export a bundle's encoder to ONNX, split at the streaming seam, and check every export.

    video-object-export models/default [--opset 20]

Three graphs go into the bundle folder, each checked in ONNX Runtime against PyTorch (fp32, max abs
difference of every output <= 1e-4) before it is recorded:

- ``frame_encoder.onnx``: ``frames`` float32 [N, C, H, W] in [0, 1] -> ``features`` [N, S, D]
- ``window_encoder.onnx``: ``features`` [B, T, S, D] (+ ``cond`` [B, cond_dim]) -> ``object_mean``,
  ``object_std`` [B, K, Do], ``frame_mean``, ``frame_std`` [B, T, Df], and what the model's heads add
  (``placement``, ``viewpoint``, ``attributes``)
- ``mask_decoder.onnx``: ``object_mean``, ``frame_mean`` (+ ``placement``) -> ``masks`` [B, K, H, W] of the
  window's last frame (the node's masses, segments and centroids)

Batch axes are dynamic; T is fixed per bundle. ``config.json`` gains an ``exports`` section with each
graph's file, sha256, opset, and input/output names and shapes: the one place tensors are named.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import logging
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..bundle.graphs import ATTENTION_OPSET, DEFAULT_OPSET, window_output_names, window_output_shape
from ..bundle.layout import Bundle, BundleError, write_bundle_config
from ..files import atomic_write
from ..model.bundle import load_bundle
from ..model.graphs import MaskDecoderGraph, WindowEncoderGraph
from ..model.simone import Simone
from .attention_layout import to_3d_attention

PARITY_TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """An export failed or did not match PyTorch."""


def mask_decoder_inputs(c) -> list:
    inputs = [{'name': 'object_mean', 'shape': ['batch', c.num_slots, c.object_dim]},
              {'name': 'frame_mean', 'shape': ['batch', c.frames, c.frame_dim]}]
    if c.placement:
        inputs.append({'name': 'placement', 'shape': ['batch', c.num_slots, c.frames, 4]})
    return inputs


def graph_specs(model: Simone) -> dict:
    """Names and shapes ('batch' marks the dynamic axis) of both graphs' inputs and outputs."""
    c = model.cfg
    window_inputs = [{'name': 'features', 'shape': ['batch', c.frames, c.num_spatial, c.model_dim]}]
    if c.cond_dim:
        window_inputs.append({'name': 'cond', 'shape': ['batch', c.cond_dim]})
    return {
        'frame_encoder': {
            'inputs': [{'name': 'frames', 'shape': ['batch', c.channels, c.height, c.width]}],
            'outputs': [{'name': 'features', 'shape': ['batch', c.num_spatial, c.model_dim]}]},
        'window_encoder': {
            'inputs': window_inputs,
            'outputs': [{'name': name, 'shape': window_output_shape(c, name)} for name in window_output_names(c)]},
        'mask_decoder': {
            'inputs': mask_decoder_inputs(c),
            'outputs': [{'name': 'masks', 'shape': ['batch', c.num_slots, c.height, c.width]}]},
    }


def _example(spec: dict, batch: int, generator: torch.Generator) -> tuple:
    return tuple(torch.rand([batch if d == 'batch' else d for d in i['shape']], generator=generator)
                 for i in spec['inputs'])


def export_graph(module: nn.Module, spec: dict, path: Path, opset: int) -> int:
    """Export one graph to ``path``; from ``ATTENTION_OPSET`` on, its attention in the 3-D layout (returns how many)."""
    names = [i['name'] for i in spec['inputs']]
    batch = torch.export.Dim('batch', min=1, max=1024)
    example = _example(spec, 2, torch.Generator().manual_seed(0))
    dynamic = {n: {0: batch} for n in names}   # input names are the forward() argument names
    quiet = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        warnings.simplefilter('ignore')
        logging.getLogger('torch.onnx').setLevel(logging.ERROR)
        try:
            program = torch.onnx.export(module, example, dynamo=True, external_data=False, opset_version=opset,
                                        input_names=names, output_names=[o['name'] for o in spec['outputs']],
                                        dynamic_shapes=dynamic, verbose=False)
        except Exception as exc:  # the exporter raises many types; keep its first line
            raise ExportError(f'ONNX export of {path.name} failed: {str(exc).splitlines()[0]}') from exc
    if opset < ATTENTION_OPSET:
        atomic_write(path, lambda tmp: program.save(tmp))
        return 0
    import onnx
    graph = program.model_proto
    rewritten = to_3d_attention(graph)
    onnx.checker.check_model(graph)
    atomic_write(path, lambda tmp: onnx.save(graph, tmp))
    return rewritten


def check_parity(module: nn.Module, spec: dict, path: Path, batch: int = 3) -> float:
    """Max abs difference between ONNX Runtime (CPU) and PyTorch on random inputs; raises above tolerance."""
    import onnxruntime as ort

    inputs = _example(spec, batch, torch.Generator().manual_seed(1))
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    got = session.run(None, {i['name']: x.numpy() for i, x in zip(spec['inputs'], inputs)})
    with torch.no_grad():
        want = module(*inputs)
    want = want if isinstance(want, tuple) else (want,)
    diff = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(f'{path.name}: ONNX Runtime differs from PyTorch by {diff:.2e} '
                          f'(tolerance {PARITY_TOLERANCE:.0e})')
    return diff


def export_window_graph(model: Simone, path: Path, opset: int = ATTENTION_OPSET) -> dict:
    """Export ``model``'s window encoder alone to ``path`` (not recorded in a bundle): opset, parity, 3-D count."""
    module, spec = WindowEncoderGraph(model).eval(), graph_specs(model)['window_encoder']
    attention_3d = export_graph(module, spec, path, opset)
    return {'opset': opset, 'parity_max_abs_diff': check_parity(module, spec, path), 'attention_3d': attention_3d}


def export_bundle(bundle: str | Path, opset: int = DEFAULT_OPSET) -> dict:
    """Export both encoder graphs into ``bundle`` and record them in its config.json; returns the record."""
    opened = Bundle.open(bundle)
    bundle, model = opened.path, load_bundle(opened)
    specs = graph_specs(model)
    modules = {'frame_encoder': model.frame_encoder, 'window_encoder': WindowEncoderGraph(model).eval(),
               'mask_decoder': MaskDecoderGraph(model).eval()}
    record = {}
    for name, module in modules.items():
        path = bundle / f'{name}.onnx'
        attention_3d = export_graph(module, specs[name], path, opset)
        diff = check_parity(module, specs[name], path)
        record[name] = {'file': path.name, 'sha256': hashlib.sha256(path.read_bytes()).hexdigest(), 'opset': opset,
                        'parity_max_abs_diff': diff, **specs[name]}
        if attention_3d:
            record[name]['attention_3d'] = attention_3d
    write_bundle_config(bundle, dict(opened.doc, exports=record))
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-export', description=__doc__.strip().splitlines()[0])
    parser.add_argument('bundle', type=Path, help='model bundle folder')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    args = parser.parse_args(argv)
    try:
        record = export_bundle(args.bundle, args.opset)
    except (BundleError, ExportError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    for name, r in record.items():
        print(f'{args.bundle / r["file"]}: opset {r["opset"]}, parity max |diff| {r["parity_max_abs_diff"]:.1e}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
