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
The ONNX ``Attention`` op (opset 23) in its 3-D layout: no head transposes around it.

torch exports ``scaled_dot_product_attention`` as a 4-D ``Attention`` [B, heads, N, d/h]: the packed QKV
projection is reshaped to [B, N, 3, h, d/h], transposed, sliced into Q, K and V, and the result transposed back
and reshaped to [B, N, D]. The op also takes Q, K and V as [B, N, h*d/h] with ``q_num_heads``/``kv_num_heads``,
which needs none of that: ``to_3d_attention`` rewrites each packed self-attention it finds into three projections
(or a ``Split`` of the packed one) and one 3-D ``Attention``: the same arithmetic; the export's parity check runs on
the rewritten graph. On this project's 2-core CPU the factorised paper-like window encoder in int8 takes 16.3 ms
instead of 18.0 (4-D), and 15.6 ms with the projections apart.
"""
from __future__ import annotations

import onnx
from onnx import helper, numpy_helper


def _consts(graph) -> dict:
    return {i.name: numpy_helper.to_array(i) for i in graph.initializer}


def _const_list(consts: dict, name: str) -> list | None:
    value = consts.get(name)
    return None if value is None else [int(v) for v in value.reshape(-1)]


def _perm(node) -> list | None:
    for a in node.attribute:
        if a.name == 'perm':
            return list(a.ints)
    return None


def _packed_source(producer: dict, consts: dict, names: list) -> tuple | None:
    """Return (packed QKV tensor, heads, [B', N, D] of it) when ``names`` are Q, K, V split from one projection."""
    sources = []
    for index, name in enumerate(names):
        squeeze = producer.get(name)
        if squeeze is None or squeeze.op_type != 'Squeeze' or len(squeeze.input) < 2 or \
                _const_list(consts, squeeze.input[1]) != [0]:
            return None
        sl = producer.get(squeeze.input[0])
        if sl is None or sl.op_type != 'Slice' or len(sl.input) < 4 or \
                [_const_list(consts, n) for n in sl.input[1:4]] != [[index], [index + 1], [0]] or \
                (len(sl.input) > 4 and _const_list(consts, sl.input[4]) not in ([1], None)):
            return None
        sources.append(sl.input[0])
    if len(set(sources)) != 1:
        return None
    transpose = producer.get(sources[0])
    if transpose is None or transpose.op_type != 'Transpose' or _perm(transpose) != [2, 0, 3, 1, 4]:
        return None
    reshape = producer.get(transpose.input[0])
    shape = None if reshape is None or reshape.op_type != 'Reshape' else _const_list(consts, reshape.input[1])
    if shape is None or len(shape) != 5 or shape[2] != 3 or shape[1] <= 0 or min(shape[3:]) <= 0:
        return None
    return reshape.input[0], shape[3], shape[3] * shape[4]


def to_3d_attention(model: onnx.ModelProto) -> int:
    """Rewrite ``model``'s packed 4-D self-attentions into the 3-D layout in place; returns how many it rewrote."""
    graph = model.graph
    consts = _consts(graph)
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    outputs = {o.name for o in graph.output}
    replace, drop, count = {}, set(), 0      # drop: the old output reshapes, whose names the new ops take
    for node in graph.node:
        if node.op_type != 'Attention' or node.domain not in ('', 'ai.onnx') or len(node.input) != 3 or \
                len([o for o in node.output if o]) != 1:
            continue
        found = _packed_source(producer, consts, list(node.input))
        after = consumers.get(node.output[0], [])
        if found is None or len(after) != 1 or after[0].op_type != 'Transpose' or _perm(after[0]) != [0, 2, 1, 3] \
                or node.output[0] in outputs:
            continue
        back = consumers.get(after[0].output[0], [])
        dim = found[2]
        if len(back) != 1 or back[0].op_type != 'Reshape' or after[0].output[0] in outputs:
            continue
        shape = _const_list(consts, back[0].input[1])
        if shape is None or len(shape) != 3 or shape[2] != dim:
            continue
        packed, heads = found[0], found[1]
        qkv = [f'{node.name}_{p}' for p in 'qkv']
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attrs.update(q_num_heads=heads, kv_num_heads=heads)
        replace[id(node)] = _projections(graph, producer, consumers, consts, packed, qkv, dim, node.name) + \
            [helper.make_node('Attention', qkv, [back[0].output[0]], name=node.name, **attrs)]
        drop.add(id(back[0]))                   # the rest of the old pattern is left unread: _prune removes it
        count += 1
    if not count:
        return 0
    nodes = []
    for n in graph.node:
        if id(n) in replace:
            nodes.extend(replace[id(n)])
        elif id(n) not in drop:
            nodes.append(n)
    del graph.node[:]
    graph.node.extend(nodes)
    _prune(graph)
    return count


def _projections(graph, producer: dict, consumers: dict, consts: dict, packed: str, qkv: list, dim: int,
                 name: str) -> list:
    """
    Nodes that make Q, K and V (``qkv``) from the packed projection ``packed`` [.., 3*dim].

    Where it is ``X @ W + b`` with constant W and b read by nothing else, three products with W and b's thirds (no
    copy of the packed result: 4% of the factorised paper-like window in int8); else a Split of it.
    """
    add = producer.get(packed)
    matmul = producer.get(add.input[0]) if add is not None and add.op_type == 'Add' else None
    if matmul is not None and matmul.op_type == 'MatMul' and add.input[1] in consts and matmul.input[1] in consts \
            and len(consumers.get(matmul.output[0], [])) == 1 and len(consumers.get(packed, [])) == 1:
        weight, bias = consts[matmul.input[1]], consts[add.input[1]]
        if weight.ndim == 2 and weight.shape[1] == 3 * dim and bias.shape == (3 * dim,):
            nodes = []
            for i, out in enumerate(qkv):
                w, b, product = f'{out}_weight', f'{out}_bias', f'{out}_product'
                graph.initializer.extend([numpy_helper.from_array(weight[:, i * dim:(i + 1) * dim].copy(), w),
                                          numpy_helper.from_array(bias[i * dim:(i + 1) * dim].copy(), b)])
                nodes += [helper.make_node('MatMul', [matmul.input[0], w], [product], name=f'{out}_matmul'),
                          helper.make_node('Add', [product, b], [out], name=f'{out}_add')]
            return nodes
    sizes = f'{name}_qkv_sizes'
    graph.initializer.append(helper.make_tensor(sizes, onnx.TensorProto.INT64, [3], [dim] * 3))
    return [helper.make_node('Split', [packed, sizes], qkv, name=f'{name}_split', axis=-1)]


def _prune(graph) -> None:
    """Drop the nodes, initializers and value infos nothing reads any more (the old slices and transposes)."""
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        keep = [n for n in graph.node if any(o in used for o in n.output if o)]
        if len(keep) == len(graph.node):
            break
        del graph.node[:]
        graph.node.extend(keep)
    used = {i for n in graph.node for i in n.input}
    live = used | {o for n in graph.node for o in n.output}
    inits = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    infos = [v for v in graph.value_info if v.name in live]
    del graph.value_info[:]
    graph.value_info.extend(infos)
