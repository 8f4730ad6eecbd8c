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
The node's inference thread: the input callback queues frames, the worker takes them all and hands them on.

Reception never waits for inference: ``put`` only appends (dropping the oldest beyond the queue's limit); the worker
wakes, takes every queued item and calls ``handle(items)`` on its own thread, so the frame encoder sees every frame
and the window encoder the newest due window. An exception in ``handle`` goes to ``on_error`` and the worker goes on.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable

WAIT_S = 0.2        # how often an idle worker looks whether it was stopped


class InferenceWorker:
    """A queue and the thread that drains it (``start``, ``put``, ``stop``)."""

    def __init__(self, handle: Callable[[list], None], on_error: Callable[[Exception], None],
                 name: str = 'video_object_inference'):
        self._handle, self._on_error, self._name = handle, on_error, name
        self._queue: deque = deque()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def put(self, item, limit: int) -> bool:
        """Queue ``item``; return True when the oldest one was dropped to keep at most ``limit``."""
        with self._wake:
            dropped = len(self._queue) >= limit
            if dropped:
                self._queue.popleft()
            self._queue.append(item)
            self._wake.notify()
        return dropped

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (it finishes the items it holds) and forget what is still queued."""
        self._running = False
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        self._queue.clear()

    def _run(self) -> None:
        while self._running:
            with self._wake:
                while self._running and not self._queue:
                    self._wake.wait(timeout=WAIT_S)
                items = list(self._queue)
                self._queue.clear()
            if not items:
                continue
            try:
                self._handle(items)
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one bad window
                self._on_error(exc)
