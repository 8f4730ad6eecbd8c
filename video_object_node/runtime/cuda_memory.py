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
CUDA device memory for the TensorRT backend through CUDA's own Python API (cuda-python), without torch.

``cuda_device_count`` says whether a CUDA device can be used at all (0 when cuda-python is missing, the driver
is absent or no device is visible); ``DeviceBuffers`` keeps one device allocation per tensor name, grown when a
larger tensor comes, and copies host arrays in and out on one CUDA stream.
"""
from __future__ import annotations

import numpy as np

CUDA_PYTHON_HINT = 'the TensorRT backend needs cuda-python (pip install ".[tensorrt]")'


class CudaError(RuntimeError):
    """A CUDA runtime call failed."""


def cudart():
    """Return cuda-python's runtime module (``cuda.bindings.runtime``; ``cuda.cudart`` before 12.6)."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        try:
            from cuda import cudart as runtime
        except ImportError as exc:
            raise ImportError(CUDA_PYTHON_HINT) from exc
    return runtime


def check(result, call: str):
    """Return a runtime call's values after its error code, or raise CudaError naming the call and the error."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        rt = cudart()
        name = rt.cudaGetErrorName(err)[1]
        name = name.decode() if isinstance(name, bytes) else str(name)
        raise CudaError(f'{call} failed: {name}')
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def cuda_device_count() -> int:
    """Return how many CUDA devices the runtime sees; 0 without cuda-python, a driver or a device."""
    try:
        rt = cudart()
    except ImportError:
        return 0
    err, count = rt.cudaGetDeviceCount()
    return int(count) if int(err) == 0 else 0


def device_name_and_capability(device: int = 0) -> tuple[str, str]:
    """Return the device's name and compute capability ('8.7')."""
    rt = cudart()
    props = check(rt.cudaGetDeviceProperties(device), 'cudaGetDeviceProperties')
    name = props.name
    name = name.split(b'\0', 1)[0].decode() if isinstance(name, bytes) else str(name)
    return name, f'{props.major}.{props.minor}'


class DeviceBuffers:
    """
    Device allocations by tensor name on one CUDA stream, reused across calls.

    ``upload`` copies a host array into its buffer and returns the device address; ``output`` returns the
    address of a buffer that holds a float32 array of a shape; ``download`` copies outputs back after the work
    queued on ``stream`` and waits for it.
    """

    def __init__(self):
        self.rt = cudart()
        self.stream = check(self.rt.cudaStreamCreate(), 'cudaStreamCreate')
        self.buffers: dict[str, tuple[int, int]] = {}                 # name -> (address, bytes)

    @property
    def stream_handle(self) -> int:
        return int(self.stream)

    def _buffer(self, name: str, nbytes: int) -> int:
        address, size = self.buffers.get(name, (0, 0))
        if size < nbytes:
            if address:
                check(self.rt.cudaFree(address), 'cudaFree')
            address = int(check(self.rt.cudaMalloc(nbytes), f'cudaMalloc({nbytes}) for {name}'))
            self.buffers[name] = (address, nbytes)
        return address

    def upload(self, name: str, array: np.ndarray) -> int:
        array = np.ascontiguousarray(array)
        address = self._buffer(name, array.nbytes)
        # From pageable host memory the copy returns once the array is staged, so the array may go after it.
        check(self.rt.cudaMemcpyAsync(address, array.ctypes.data, array.nbytes,
                                      self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, self.stream),
              f'cudaMemcpyAsync to {name}')
        return address

    def output(self, name: str, shape: tuple) -> int:
        return self._buffer(name, int(np.prod(shape)) * 4)

    def download(self, outputs: list[tuple[str, tuple]]) -> list[np.ndarray]:
        results = []
        for name, shape in outputs:
            host = np.empty(shape, np.float32)
            address, _ = self.buffers[name]
            check(self.rt.cudaMemcpyAsync(host.ctypes.data, address, host.nbytes,
                                          self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, self.stream),
                  f'cudaMemcpyAsync from {name}')
            results.append(host)
        check(self.rt.cudaStreamSynchronize(self.stream), 'cudaStreamSynchronize')
        return results

    def close(self) -> None:
        for address, _ in self.buffers.values():
            self.rt.cudaFree(address)
        self.buffers.clear()
        if self.stream is not None:
            self.rt.cudaStreamDestroy(self.stream)
            self.stream = None
