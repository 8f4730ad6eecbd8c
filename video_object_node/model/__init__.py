"""SIMONe in pure PyTorch (no ROS imports): encoder, decoder, ELBO and model bundles."""
from ..config import SimoneConfig
from .bundle import BundleError, load_bundle, read_bundle_config, save_bundle
from .simone import DecoderOutput, Posterior, Simone, kl_standard_normal

__all__ = ['SimoneConfig', 'Simone', 'Posterior', 'DecoderOutput', 'kl_standard_normal',
           'save_bundle', 'load_bundle', 'read_bundle_config', 'BundleError']
