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

"""SIMONe model: shapes, mixture, KL, gradients, learning, determinism and config validation."""
import dataclasses

import numpy as np
import pytest
import torch

from video_object_node.config import ConfigError
from video_object_node.model import Simone, SimoneConfig, kl_standard_normal


def moving_squares(frames: int, size: int, seed: int = 0) -> np.ndarray:
    """Coloured squares sliding over a grey floor: float32 [T, 3, H, W] in [0, 1]."""
    rng = np.random.default_rng(seed)
    video = np.full((frames, 3, size, size), 0.5, np.float32)
    side = size // 4
    for _ in range(3):
        colour = rng.uniform(0, 1, 3).astype(np.float32)
        y, x = rng.integers(0, size - side, 2)
        vy, vx = rng.integers(-2, 3, 2)
        for t in range(frames):
            yy, xx = np.clip(y + vy * t, 0, size - side), np.clip(x + vx * t, 0, size - side)
            video[t, :, yy:yy + side, xx:xx + side] = colour[:, None, None]
    return video


def small(**overrides):
    return SimoneConfig.preset('small', **overrides)


@pytest.mark.parametrize('batch', [1, 3])
def test_small_preset_shapes(batch):
    cfg = small()
    torch.manual_seed(0)
    model = Simone(cfg).eval()
    video = torch.rand(batch, cfg.frames, 3, cfg.height, cfg.width)
    with torch.no_grad():
        post = model.encode(video)
        assert post.object_mean.shape == (batch, cfg.num_slots, cfg.object_dim)
        assert post.object_std.shape == (batch, cfg.num_slots, cfg.object_dim)
        assert post.frame_mean.shape == (batch, cfg.frames, cfg.frame_dim)
        assert post.frame_std.shape == (batch, cfg.frames, cfg.frame_dim)
        out = model.decode(post.object_mean, post.frame_mean)
    assert out.rgb.shape == (batch, cfg.frames, 3, cfg.height, cfg.width)
    assert out.masks.shape == (batch, cfg.frames, cfg.num_slots, cfg.height, cfg.width)
    assert out.slot_rgb.shape == (batch, cfg.frames, cfg.num_slots, 3, cfg.height, cfg.width)


def test_paper_preset_shapes():
    cfg = SimoneConfig.preset('paper')
    assert (cfg.height, cfg.frames, cfg.num_slots, cfg.grid, cfg.object_dim) == (64, 16, 16, (8, 8), 32)
    torch.manual_seed(0)
    model = Simone(cfg).eval()
    video = torch.rand(2, 16, 3, 64, 64)
    with torch.no_grad():
        post = model.encode(video)
        # A full paper decode is ~3 TFLOP; decode two frames at every 8th pixel.
        out = model.decode(post.object_mean, post.frame_mean, frame_idx=torch.tensor([0, 15]), pixel_stride=8)
    assert post.object_mean.shape == (2, 16, 32) and post.frame_mean.shape == (2, 16, 32)
    assert out.rgb.shape == (2, 2, 3, 8, 8) and out.masks.shape == (2, 2, 16, 8, 8)


@pytest.mark.parametrize('decoder,norm', [('mlp', True), ('broadcast', False), ('broadcast', True)])
def test_mixture_weights_sum_to_one(decoder, norm):
    cfg = small(decoder=decoder, mask_logit_norm=norm, decoder_hidden=32, decoder_layers=3)
    model = Simone(cfg).eval()
    with torch.no_grad():
        z_obj = torch.randn(2, cfg.num_slots, cfg.object_dim) * 3
        z_frm = torch.randn(2, cfg.frames, cfg.frame_dim) * 3
        out = model.decode(z_obj, z_frm)
    assert torch.all(out.masks >= 0)
    torch.testing.assert_close(out.masks.sum(dim=2), torch.ones(2, cfg.frames, cfg.height, cfg.width))
    # The blended image is the mask-weighted mean of the slot images.
    torch.testing.assert_close(out.rgb, (out.masks[:, :, :, None] * out.slot_rgb).sum(2))


def test_kl_closed_form():
    mean = torch.tensor([0.0, 1.0, -2.0, 0.5])
    std = torch.tensor([1.0, 1.0, 0.5, 2.0])
    expected = torch.log(1 / std) + (std ** 2 + mean ** 2) / 2 - 0.5
    torch.testing.assert_close(kl_standard_normal(mean, std), expected)
    assert kl_standard_normal(mean[:1], std[:1]).item() == 0.0
    # 0.5 * (4 + 0.25 - 1) - log 0.5
    assert kl_standard_normal(mean[2:3], std[2:3]).item() == pytest.approx(1.625 + np.log(2), rel=1e-6)


def test_log_scale_bounded_and_elbo_terms():
    cfg = small()
    model = Simone(cfg)
    video = torch.rand(2, cfg.frames, 3, cfg.height, cfg.width)
    post = model.encode(video)
    for std in (post.object_std, post.frame_std):
        assert torch.all(std <= np.exp(cfg.max_log_scale) * 1.01)
        assert torch.all(std >= np.exp(cfg.min_log_scale) * 0.99)
    terms = model.elbo(video)
    expected = cfg.alpha * terms['nll'] + cfg.beta_object * terms['kl_objects'] + cfg.beta_frame * terms['kl_frames']
    torch.testing.assert_close(terms['loss'], expected)


def test_clip_weights_scale_each_clips_elbo():
    """
    Check that a source's ``elbo`` weight reaches the loss clip by clip.

    Weight 0 removes a clip's ELBO, all 1 is the plain mean, and the reported nll stays unweighted.
    """
    cfg = small()
    torch.manual_seed(0)
    model = Simone(cfg).eval()
    video = torch.rand(2, cfg.frames, 3, cfg.height, cfg.width)
    with torch.no_grad():
        plain = model.elbo(video)
        ones = model.elbo(video, clip_weights=torch.ones(2))
        first_only = model.elbo(video, clip_weights=torch.tensor([1.0, 0.0]))
        first = model.elbo(video[:1])
        second = model.elbo(video[1:])
    torch.testing.assert_close(ones['loss'], plain['loss'])
    torch.testing.assert_close(first_only['loss'], first['loss'] / 2, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(plain['loss'], (first['loss'] + second['loss']) / 2, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(first_only['nll'], plain['nll'])
    assert abs(float(first['loss'] - second['loss'])) > 1e-3       # the two clips differ, so the weights matter


def test_source_elbo_weights_are_validated_and_filled_in():
    from video_object_node.learn.config import TrainConfig
    cfg = TrainConfig(sources=({'data': 'a'}, {'data': 'b', 'labels': [], 'elbo': 0.25}))
    assert [s['elbo'] for s in cfg.source_list()] == [1.0, 0.25]
    for bad in (1.5, -0.1, 'low', True):
        with pytest.raises(ConfigError, match=r'train.sources\[0\].elbo must be a number in \[0, 1\]'):
            TrainConfig(sources=({'data': 'a', 'elbo': bad},))


@pytest.mark.parametrize('preset_overrides', [
    dict(),
    dict(decoder='mlp', likelihood='mixture', mask_logit_norm=True, decoder_hidden=32, decoder_layers=3,
         coord_frequencies=2, pos_encoding='sinusoidal', cond_dim=4),
    dict(slot_reduction='compete'),
])
def test_every_parameter_gets_a_gradient(preset_overrides):
    cfg = small(**preset_overrides)
    torch.manual_seed(0)
    model = Simone(cfg).train()
    video = torch.rand(2, cfg.frames, 3, cfg.height, cfg.width)
    cond = torch.randn(2, cfg.cond_dim) if cfg.cond_dim else None
    model.elbo(video, cond)['loss'].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []


def test_conditioning_changes_latents_and_is_required():
    cfg = small(cond_dim=3)
    torch.manual_seed(0)
    model = Simone(cfg).eval()
    video = torch.rand(1, cfg.frames, 3, cfg.height, cfg.width)
    with torch.no_grad():
        a = model.encode(video, torch.zeros(1, 3)).object_mean
        b = model.encode(video, torch.ones(1, 3)).object_mean
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match='conditioned'):
        model.encode(video)


def test_same_seed_same_output():
    cfg = small()
    video = torch.rand(2, cfg.frames, 3, cfg.height, cfg.width)
    results = []
    for _ in range(2):
        torch.manual_seed(123)
        model = Simone(cfg).train()
        results.append(model.elbo(video)['loss'].item())
    assert results[0] == results[1]
    torch.manual_seed(7)
    other = Simone(cfg).train()
    torch.manual_seed(123)
    assert other.elbo(video)['loss'].item() != results[0]


def test_overfits_a_fixed_clip():
    """Check that a few hundred CPU steps of the small preset at least halve the reconstruction MSE."""
    cfg = small()
    torch.manual_seed(0)
    model = Simone(cfg)
    video = torch.from_numpy(moving_squares(cfg.frames, cfg.height))[None]
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)

    def eval_mse():
        model.eval()
        with torch.no_grad():
            mse = model.elbo(video)['mse'].item()
        model.train()
        return mse

    before = eval_mse()
    for _ in range(300):
        optim.zero_grad()
        model.elbo(video)['loss'].backward()
        optim.step()
    after = eval_mse()
    assert after < 0.5 * before, (before, after)


@pytest.mark.parametrize('overrides,match', [
    (dict(num_slots=5), 'num_slots K=5 does not match the pooled grid'),
    (dict(frames=0), 'frames must be a positive integer'),
    (dict(pixel_sigma=-0.1), 'pixel_sigma must be > 0'),
    (dict(slot_grid=(9, 9), num_slots=81), 'larger than the CNN grid'),
    (dict(height=30), 'not divisible'),
    (dict(decoder='unet'), "decoder must be 'mlp' or 'broadcast'"),
    (dict(model_dim=30), 'not divisible by num_heads'),
    (dict(slot_reduction='kmeans'), 'slot_reduction must be one of'),
    (dict(slot_iterations=0), 'slot_iterations must be an integer in 1..8'),
])
def test_bad_config_raises_clear_error(overrides, match):
    with pytest.raises(ConfigError, match=match):
        small(**overrides)


def test_unknown_preset_and_key():
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        SimoneConfig.preset('huge')
    with pytest.raises(ConfigError, match='unknown key'):
        SimoneConfig.from_dict({'preset': 'small', 'num_slotz': 4})


def test_config_dict_round_trip():
    cfg = small(cond_dim=2)
    assert SimoneConfig.from_dict(cfg.to_dict()) == cfg
    assert SimoneConfig.from_dict({'preset': 'small', 'cond_dim': 2}) == cfg
    assert dataclasses.replace(cfg, cond_dim=0) == small()


def test_wrong_video_shape_is_rejected():
    cfg = small()
    model = Simone(cfg)
    with pytest.raises(ValueError, match=r'video must be \[B, 8, 3, 32, 32\]'):
        model.encode(torch.rand(1, 4, 3, 32, 32))


@pytest.mark.parametrize('decoder', ['mlp', 'broadcast'])
def test_decoder_time_off_makes_frames_differ_only_through_frame_latents(decoder):
    torch.manual_seed(0)
    for decoder_time in (True, False):
        cfg = small(decoder=decoder, decoder_hidden=16, decoder_layers=3, decoder_time=decoder_time)
        model = Simone(cfg).eval()
        z_obj = torch.randn(1, cfg.num_slots, cfg.object_dim)
        z_frm = torch.randn(1, 1, cfg.frame_dim).expand(1, cfg.frames, -1)     # the same latent every frame
        with torch.no_grad():
            rgb = model.decode(z_obj, z_frm).rgb
        same = torch.allclose(rgb[:, 0], rgb[:, -1])
        assert same == (not decoder_time)


def test_competing_slots_share_out_each_encoding():
    """
    Check that competing slots share out each encoding.

    In the competitive reduction each encoding is shared out among the slots (shares sum to one over the
    slots) and the slot that matches an encoding takes the largest share of it.
    """
    from video_object_node.model.encoder import CompetitiveReduction
    torch.manual_seed(0)
    red = CompetitiveReduction(16, 32).eval()
    slots, inputs = torch.randn(2, 3, 4, 16), torch.randn(2, 3, 9, 16)
    out = red(slots, inputs)
    assert out.shape == slots.shape and torch.isfinite(out).all()
    assert not torch.allclose(out, red(slots, torch.randn(2, 3, 9, 16)))
    with torch.no_grad():
        red.q.weight.copy_(torch.eye(16))
        red.k.weight.copy_(torch.eye(16))
    matched = inputs[:, :, [5, 1, 7, 3]]                  # slot j is a copy of encoding (5, 1, 7, 3)[j]
    share = red.shares(matched, red.k(red.norm_inputs(inputs)))
    torch.testing.assert_close(share.sum(2), torch.ones(2, 3, 9))
    assert (share[:, :, :, [5, 1, 7, 3]].argmax(2) == torch.arange(4)).all()


def test_factorised_attention_attends_within_frames_then_along_time():
    """
    Each half of a factorised block reaches only what it should.

    The spatial attention stays in its frame, the temporal one at its grid position.
    """
    from video_object_node.model.encoder import FactorisedBlock
    torch.manual_seed(0)
    t, s, d = 3, 4, 8
    block = FactorisedBlock(dim=d, heads=2, ff_dim=16, frames=t, spatial=s).eval()
    x = torch.randn(1, t * s, d)
    bumped = x.clone()
    bumped[0, 0] += 3.0 * torch.randn(d)                                  # frame 0, grid position 0

    def changed(**zeroed):
        with torch.no_grad():
            for name in zeroed:
                getattr(block, name).proj.weight.zero_()
                getattr(block, name).proj.bias.zero_()
            diff = (block(bumped) - block(x)).abs().sum(-1).reshape(t, s)
        return diff > 1e-6

    spatial_only = changed(attn_time=True)                                # temporal attention silenced
    assert spatial_only[0].all() and not spatial_only[1:].any()          # only frame 0 moves
    torch.manual_seed(0)
    block = FactorisedBlock(dim=d, heads=2, ff_dim=16, frames=t, spatial=s).eval()
    temporal_only = changed(attn=True)                                    # spatial attention silenced
    assert temporal_only[:, 0].all() and not temporal_only[:, 1:].any()  # only grid position 0 moves
    cfg = SimoneConfig.preset('small', attention='factorised')
    assert Simone(cfg).encode(torch.rand(2, cfg.frames, 3, cfg.height, cfg.width)).object_mean.shape == (2, 6, 16)
    with pytest.raises(ConfigError, match="attention must be one of"):
        SimoneConfig.preset('small', attention='sparse')
