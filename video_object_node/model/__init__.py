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
SIMONe in pure PyTorch (no ROS imports): encoder, decoder, ELBO, and writing and loading bundles with torch.

The model's names are imported (with torch) only when asked for, so that ``model.config`` (the torch-free
``SimoneConfig``) can be read by inference without torch. A bundle's layout is ``bundle/layout.py``.
"""
from importlib import import_module

_NAMES = {'SimoneConfig': 'config', 'Simone': 'simone', 'Posterior': 'simone', 'DecoderOutput': 'simone',
          'kl_standard_normal': 'simone', 'save_bundle': 'bundle', 'load_bundle': 'bundle'}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    """Return one of the model's names, importing its module (and torch) on first use."""
    if name in _NAMES:
        return getattr(import_module(f'.{_NAMES[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
