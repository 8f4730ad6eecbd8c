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
Simulated data: PyBullet scenes (``sim``, imported on demand), clip data sets on disk and their makers.

Names are loaded when first used, so that ``data.lidar`` (numpy, the node's LIDAR projection) does not bring the
data set code (torch) with it.
"""
__all__ = ['ClipDataset', 'DatasetError', 'read_index', 'resize_clip', 'video_tensor']


def __getattr__(name: str):
    if name in __all__:
        from . import dataset
        return getattr(dataset, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
