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
The node's output publishers: made and withdrawn with the outputs its window path has, fed by the worker.

The outputs are the rows of ``ros/outputs.py``; which ones a window path has depends on the bundle and on the
parameters (``decode_masses`` brings query masks and LIDAR markers). On-demand outputs are built only while someone
listens. A lock keeps the worker's publishing and a parameter change's swap of publishers apart.
"""
from __future__ import annotations

import threading

from .outputs import message_class


class Publishers:
    """The publishers of a node's outputs (``refresh`` to the path's outputs, ``publish`` a window, ``close``)."""

    def __init__(self, node, qos):
        self._node, self._qos = node, qos
        self._lock = threading.Lock()
        self._pubs: dict = {}
        self.outputs: tuple = ()

    def __contains__(self, name: str) -> bool:
        return name in self._pubs

    def refresh(self, outputs: tuple) -> None:
        """Publish exactly ``outputs``: withdraw the publishers of outputs gone, make those of new ones."""
        with self._lock:
            for name in set(self._pubs) - {o.name for o in outputs}:
                self._node.destroy_publisher(self._pubs.pop(name))
            for o in outputs:
                if o.name not in self._pubs:
                    self._pubs[o.name] = self._node.create_publisher(message_class(o.msg_type), o.topic, self._qos)
            self.outputs = outputs

    def publish(self, path, result, frame_id: str, counts) -> None:
        """Build the window's messages for the outputs that are wanted and publish them; count on-demand builds."""
        with self._lock:
            def wanted(output) -> bool:
                publisher = self._pubs.get(output.name)
                return publisher is not None and not (output.on_demand and publisher.get_subscription_count() == 0)

            messages = path.messages(result, frame_id, wanted)
            for output in self.outputs:
                if output.on_demand and wanted(output):
                    counts[f'{output.key}s_built'] += 1
            for name, msg in messages.items():
                self._pubs[name].publish(msg)

    def close(self) -> None:
        with self._lock:
            for pub in self._pubs.values():
                self._node.destroy_publisher(pub)
            self._pubs = {}
