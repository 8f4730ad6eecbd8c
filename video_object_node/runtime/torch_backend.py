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
The PyTorch backend (CPU or CUDA; fp32, fp16, bf16; CUDA graphs; torch.compile).

The only backend that needs torch, imported by ``backends.create_backend`` when it is chosen.
"""
from __future__ import annotations

import numpy as np
import torch

from ..bundle.graphs import window_output_names
from .config import PRECISIONS
from ..model.graphs import MaskDecoderGraph, WindowEncoderGraph
from .backends import Backend, WindowOutput


def cpu_has_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16 or AMX), rather than emulating it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class TorchBackend(Backend):
    """
    PyTorch eager inference, CPU or CUDA.

    PyTorch eager (CPU or CUDA), fp32, fp16 (CUDA only) or bf16 (CUDA, or a CPU with bf16 instructions:
    AVX512-BF16 / AMX; about 2x faster on the CNN, means within ~1e-2 of fp32), optional CUDA graph capture.
    """

    name = 'torch'

    def __init__(self, model, device: str = 'cpu', precision: str = 'fp32', cuda_graphs: bool = False,
                 compile: bool = False):
        super().__init__(model.cfg)
        self.device = torch.device(device)
        if precision not in PRECISIONS or precision == 'int8':
            raise ValueError(f"the torch backend runs fp32, fp16 or bf16, got {precision!r}")
        if self.device.type == 'cuda' and not torch.cuda.is_available():
            raise RuntimeError('torch backend on CUDA asked for, but torch.cuda.is_available() is False')
        if precision == 'fp16' and self.device.type != 'cuda':
            raise ValueError('fp16 needs CUDA; use fp32 (or bf16 where the CPU has bf16 instructions) on the CPU')
        if precision == 'bf16' and self.device.type == 'cpu' and not cpu_has_bf16():
            raise RuntimeError('bf16 on this CPU would be emulated (no AVX512-BF16 or AMX); use fp32')
        if cuda_graphs and self.device.type != 'cuda':
            raise ValueError('CUDA graphs need the CUDA device')
        self.dtype = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}[precision]
        self.model = model.to(self.device, self.dtype).eval()
        self.window_graph = WindowEncoderGraph(self.model).eval()
        self.mask_graph = MaskDecoderGraph(self.model).eval()
        self.output_names = window_output_names(model.cfg)
        self.precision, self.cuda_graphs, self.compiled = precision, cuda_graphs, compile
        self._graphs: dict = {}
        self.frame_fn = self.model.frame_encoder
        if compile:
            # Inductor fuses the elementwise work (adds, norms, GELU) and the layout copies that dominate the
            # bf16 window after the matmuls; the first call of each input shape compiles (~1 min on 2 cores).
            if cuda_graphs:
                raise ValueError('compile and CUDA graphs are alternatives; choose one')
            self.frame_fn = torch.compile(self.model.frame_encoder)
            self.window_graph = torch.compile(self.window_graph)

    def _run(self, key: str, fn, *inputs: torch.Tensor):
        if not self.cuda_graphs:
            with torch.inference_mode():
                return fn(*inputs)
        shape_key = (key,) + tuple(tuple(x.shape) for x in inputs)
        if shape_key not in self._graphs:
            static_in = [x.clone() for x in inputs]
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream), torch.inference_mode():
                for _ in range(2):  # warm-up before capture, as CUDA graphs require
                    fn(*static_in)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), torch.inference_mode():
                static_out = fn(*static_in)
            self._graphs[shape_key] = (graph, static_in, static_out)
        graph, static_in, static_out = self._graphs[shape_key]
        for dst, src in zip(static_in, inputs):
            dst.copy_(src)
        graph.replay()
        return static_out

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x).to(self.device, self.dtype)

    def _frames(self, frames):
        out = self._run('frames', self.frame_fn, self._tensor(frames))
        return out.float().cpu().numpy()

    def _window(self, features, cond):
        inputs = [self._tensor(features)] + ([self._tensor(cond)] if cond is not None else [])
        out = self._run('window', self.window_graph, *inputs)
        return WindowOutput.from_named(self.output_names, (t.float().cpu().numpy() for t in out))

    def _masks(self, object_mean, frame_mean, placement):
        inputs = [self._tensor(object_mean), self._tensor(frame_mean)]
        inputs += [self._tensor(placement)] if placement is not None else []
        return self._run('masks', self.mask_graph, *inputs).float().cpu().numpy()

    def describe(self) -> str:
        extra = ', CUDA graphs' if self.cuda_graphs else ', compiled' if self.compiled else ''
        return f'torch ({self.device.type}, {self.precision}{extra})'
