"""`make demo`: encode a simulated clip with the default model and print the latents.

Uses the embedded bundle ``models/default`` when it holds trained weights, otherwise a model built
(untrained, seeded) from the committed training config, so the demo runs on a fresh clone.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from .config import ConfigError, SimoneConfig, load_yaml
from .model import BundleError, Simone, load_bundle

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = REPO / 'models' / 'default'
DEFAULT_CONFIG = REPO / 'config' / 'train_small.yaml'


def demo_clip(cfg: SimoneConfig, seed: int) -> np.ndarray:
    """A simulated movi-a-like clip at the model's size: float32 [T, C, H, W] in [0, 1]."""
    from .config import SimConfig
    from .data.dataset import resize_clip
    from .data.sim import render_clip

    clip = render_clip(SimConfig.preset('movi-a-like', frames=cfg.frames), seed)
    video = resize_clip(clip['video'], clip['masks'], clip['depth'], clip['intrinsics'], (cfg.height, cfg.width))['video']
    return video.transpose(0, 3, 1, 2).astype(np.float32) / 255.0


def load_model(bundle: Path, config: Path) -> tuple[Simone, str]:
    if (bundle / 'weights.safetensors').is_file():
        return load_bundle(bundle), f'bundle {bundle}'
    torch.manual_seed(0)
    cfg = SimoneConfig.from_dict(load_yaml(config).get('model', {}))
    return Simone(cfg).eval(), f'untrained model from {config} (no trained bundle at {bundle})'


def stats(name: str, x: torch.Tensor) -> str:
    return (f'  {name:<12} {str(list(x.shape)):<14} mean {x.mean():+.3f}  std {x.std():.3f}  '
            f'min {x.min():+.3f}  max {x.max():+.3f}')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-demo', description=__doc__.splitlines()[0])
    parser.add_argument('--model', type=Path, default=DEFAULT_BUNDLE, help='model bundle folder')
    parser.add_argument('--config', type=Path, default=DEFAULT_CONFIG, help='training config (fallback model)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the demo clip')
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    try:
        model, source = load_model(args.model, args.config)
    except (ConfigError, BundleError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    cfg = model.cfg
    video = torch.from_numpy(demo_clip(cfg, args.seed))[None]
    with torch.no_grad():
        post = model.encode(video)
        out = model.decode(post.object_mean, post.frame_mean)
    print(f'model: {source}')
    print(f'clip: T={cfg.frames} {cfg.height}x{cfg.width}; K={cfg.num_slots} object slots, '
          f'object latent D={cfg.object_dim}, frame latent D={cfg.frame_dim}')
    print(stats('object_mean', post.object_mean[0]))
    print(stats('object_std', post.object_std[0]))
    print(stats('frame_mean', post.frame_mean[0]))
    print(stats('frame_std', post.frame_std[0]))
    mse = (out.rgb - video).square().mean().item()
    share = out.masks[0].mean(dim=(0, 2, 3))
    print(f'  reconstruction PSNR {10 * np.log10(1 / mse):.1f} dB; slot pixel shares '
          + ' '.join(f'{s:.2f}' for s in share.tolist()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
