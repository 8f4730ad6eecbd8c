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
The one window path of the node and bag replay: input messages in, output messages out.

    message --accept--> Frame (or Rejection) --encode--> the newest due window --messages--> {topic: message}

``accept`` decodes a message through the input table (``inputs.py``) into the pipeline's frame; ``encode`` runs
the frames through ``LatentPipeline.encode`` (the node passes every frame its queue holds, replay one at a time);
``messages`` builds one message per active output (``outputs.py``) that ``wanted`` lets through. The node
publishes what comes out, replay writes it into a bag, and the tests drive this same path (``push``).
"""
from __future__ import annotations

from typing import Callable

from ..runtime.pipeline import Encoded, Frame, LatentPipeline, Rejection, WindowResult
from .inputs import Input, accept_message
from .outputs import Output, active_outputs


class WindowPath:
    """
    Messages of one input topic through one pipeline.

    ``on_demand``: include the outputs built only on demand (the node keeps them and asks ``wanted`` whether anyone
    listens; replay includes them when asked to).
    """

    def __init__(self, pipeline: LatentPipeline, source: Input, on_demand: bool = True):
        self.pipeline = pipeline
        self.source = source
        self.on_demand = on_demand
        self.outputs: tuple = active_outputs(pipeline, on_demand)

    def refresh_outputs(self) -> tuple:
        """Re-read which outputs the pipeline's parameters enable (after a parameter change); returns them."""
        self.outputs = active_outputs(self.pipeline, self.on_demand)
        return self.outputs

    def accept(self, msg) -> Frame | Rejection:
        return accept_message(self.pipeline, self.source, msg)

    def encode(self, frames) -> Encoded:
        return self.pipeline.encode(frames)

    def messages(self, result: WindowResult, frame_id: str,
                 wanted: Callable[[Output], bool] | None = None) -> dict:
        """{output name: message} for the window; outputs ``wanted`` refuses, or with nothing to say, left out."""
        built = {}
        for output in self.outputs:
            if wanted is not None and not wanted(output):
                continue
            msg = output.build(self.pipeline, result, frame_id)
            if msg is not None:
                built[output.name] = msg
        return built

    def push(self, msg) -> tuple[Encoded | None, dict]:
        """
        One message all the way (replay's pace).

        (what encoding did, or None when the message was refused; the window's messages, {} when no window came due).
        """
        frame = self.accept(msg)
        if not isinstance(frame, Frame):
            return None, {}
        encoded = self.encode([frame])
        if encoded.result is None:
            return encoded, {}
        return encoded, self.messages(encoded.result, msg.header.frame_id)
