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
Time the attention core alone (softmax(QK^T / sqrt(d)) V) in every kernel this CPU has, at the paper-like sizes.

The paper-like window encoder's attention (4 heads of 32, T=16 frames of 8x8 tokens) in its two layouts: joint
(one sequence of 1,024 tokens) and factorised (16 sequences of 64 tokens within a frame, then 64 sequences of 16
across time). Kernels: ONNX Runtime's decomposed graph (MatMul, Softmax, MatMul: what the opset-20 export runs),
the ONNX ``Attention`` op (opset 23), ONNX Runtime's fused contrib op ``com.microsoft.MultiHeadAttention``, and
torch's ``scaled_dot_product_attention`` with its fused CPU kernel and with the math one. One thread each.

    python tools/attention_kernel_probe.py [--runs 20] [--threads 1]   # one JSON line per layout and kernel
"""
import argparse
import json

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper
from torch.nn.attention import SDPBackend, sdpa_kernel
from video_object_node.bench.latency import timed_runs

HEADS, HEAD_DIM = 4, 32
# name -> [(batch, tokens)] of one layer's attention: the joint window, or the factorised pair (space, then time).
LAYOUTS = {'joint': [(1, 1024)], 'factorised': [(16, 64), (64, 16)]}


def graph(kind: str, batch: int, tokens: int) -> bytes:
    """Return an ONNX model of one attention core: inputs q, k, v [B, h, N, d] (BNSH), output like q."""
    shape = [batch, HEADS, tokens, HEAD_DIM]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ('q', 'k', 'v')]
    output = helper.make_tensor_value_info('y', TensorProto.FLOAT, shape)
    init, opset = [], [helper.make_opsetid('', 20)]
    if kind == 'decomposed':
        init = [helper.make_tensor('scale', TensorProto.FLOAT, [], [HEAD_DIM ** -0.5])]
        nodes = [helper.make_node('Transpose', ['k'], ['kt'], perm=[0, 1, 3, 2]),
                 helper.make_node('MatMul', ['q', 'kt'], ['s0']), helper.make_node('Mul', ['s0', 'scale'], ['s']),
                 helper.make_node('Softmax', ['s'], ['a'], axis=-1), helper.make_node('MatMul', ['a', 'v'], ['y'])]
    elif kind == 'onnx_attention':
        opset = [helper.make_opsetid('', 23)]
        nodes = [helper.make_node('Attention', ['q', 'k', 'v'], ['y'])]
    elif kind == 'ort_multihead':
        # The contrib op takes the query as [B, N, h*d] and the key and value as [B, h, N, d]; it returns [B, N, h*d].
        opset.append(helper.make_opsetid('com.microsoft', 1))
        init = [helper.make_tensor('packed', TensorProto.INT64, [3], [batch, tokens, HEADS * HEAD_DIM]),
                helper.make_tensor('split', TensorProto.INT64, [4], [batch, tokens, HEADS, HEAD_DIM])]
        nodes = [helper.make_node('Transpose', ['q'], ['q_bnh'], perm=[0, 2, 1, 3]),
                 helper.make_node('Reshape', ['q_bnh', 'packed'], ['q3']),
                 helper.make_node('MultiHeadAttention', ['q3', 'k', 'v'], ['y3'], domain='com.microsoft',
                                  num_heads=HEADS),
                 helper.make_node('Reshape', ['y3', 'split'], ['y4']),
                 helper.make_node('Transpose', ['y4'], ['y'], perm=[0, 2, 1, 3])]
    else:
        raise ValueError(kind)
    model = helper.make_model(helper.make_graph(nodes, kind, inputs, [output], init), opset_imports=opset)
    return model.SerializeToString()


def median_ms(fn, runs: int) -> float:
    """Return the median milliseconds of ``runs`` calls after three warm-up calls."""
    return float(np.median(timed_runs(fn, runs, warmup=3)) * 1000)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog='attention_kernel_probe.py', description=__doc__.strip().splitlines()[0])
    parser.add_argument('--runs', type=int, default=20, help='timed runs per kernel (median reported)')
    parser.add_argument('--threads', type=int, default=1, help='threads of every kernel')
    args = parser.parse_args(argv)
    if not (1 <= args.runs <= 10000 and 1 <= args.threads <= 256):
        parser.error('--runs must be 1..10000 and --threads 1..256')
    torch.set_num_threads(args.threads)
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = args.threads
    rng = np.random.default_rng(0)
    for layout, parts in LAYOUTS.items():
        feeds = [{n: rng.standard_normal((b, HEADS, n_tok, HEAD_DIM), dtype=np.float32) for n in 'qkv'}
                 for b, n_tok in parts]
        want = [F.scaled_dot_product_attention(*(torch.from_numpy(f[n]) for n in 'qkv')).numpy() for f in feeds]
        rows = {}
        for kind in ('decomposed', 'onnx_attention', 'ort_multihead'):
            sessions = [ort.InferenceSession(graph(kind, b, n_tok), so, providers=['CPUExecutionProvider'])
                        for b, n_tok in parts]
            err = max(float(np.abs(s.run(None, f)[0] - w).max()) for s, f, w in zip(sessions, feeds, want))
            rows[kind] = (median_ms(lambda: [s.run(None, f) for s, f in zip(sessions, feeds)], args.runs), err)
        tensors = [[torch.from_numpy(f[n]) for n in 'qkv'] for f in feeds]
        for kind, backend in (('torch_fused', SDPBackend.FLASH_ATTENTION), ('torch_math', SDPBackend.MATH)):
            def call():
                with torch.no_grad(), sdpa_kernel(backend):
                    return [F.scaled_dot_product_attention(*t) for t in tensors]
            err = max(float(np.abs(y.numpy() - w).max()) for y, w in zip(call(), want))
            rows[kind] = (median_ms(call, args.runs), err)
        base = rows['decomposed'][0]
        for kind, (ms, err) in rows.items():
            print(json.dumps({'layout': layout, 'kernel': kind, 'ms_per_layer': round(ms, 3),
                              'ratio_to_decomposed': round(ms / base, 3), 'max_abs_err': float(f'{err:.1e}'),
                              'threads': args.threads}))


if __name__ == '__main__':
    main()
