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
How good a decomposition is, in numbers and pictures.

For every floor that judges one: learn, export's int8 check, generation, the demo.

``segments.py``: ARI / FG-ARI, mBO, split and merge, J&F, and the baselines (fixed grid, k-means colour clustering);
``viewpoint.py``: R² of the viewpoint; ``lidar.py``: the LIDAR scores and baselines (grid, k-means of xyz, the
classical clustering); ``pictures.py``: decomposition strips, segments drawn in the one palette (``palette.py``).
"""
