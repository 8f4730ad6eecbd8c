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

"""SIMONe in pure PyTorch (no ROS imports): encoder, decoder, ELBO and model bundles."""
from ..config import SimoneConfig
from .bundle import BundleError, load_bundle, read_bundle_config, save_bundle
from .simone import DecoderOutput, Posterior, Simone, kl_standard_normal

__all__ = ['SimoneConfig', 'Simone', 'Posterior', 'DecoderOutput', 'kl_standard_normal',
           'save_bundle', 'load_bundle', 'read_bundle_config', 'BundleError']
