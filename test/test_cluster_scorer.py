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

"""A LIDAR bundle's learned cluster scorer: cluster features, the trees as arrays, the slots taking the likeliest."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from video_object_node.bundle.layout import Bundle, BundleError
from video_object_node.data.config import SimConfig
from video_object_node.data.dataset import ClipDataset
from video_object_node.data.simulate import generate
from video_object_node.export.objectness import main as objectness_main
from video_object_node.runtime.cluster_scorer import SCORER_FILE, ClusterScorer
from video_object_node.sensing.cluster_features import FEATURES, cluster_features, cluster_truth
from video_object_node.sensing.config import LidarConfig
from video_object_node.sensing.lidar import project, range_points
from video_object_node.sensing.lidar_clusters import range_clusters

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / 'models' / 'default-lidar-360'


def _road_with(boxes, lc):
    """
    Return a sweep's points and ids: a flat road 1.73 m below the sensor and upright boxes on it.

    boxes: (id, x0, x1, y0, y1, top above the road); each is the solid box seen from the sensor (nearest hit).
    """
    elevation = np.radians(np.array(lc.beam_elevations))
    azimuth = np.radians(np.arange(lc.azimuth_bins) * 360.0 / lc.azimuth_bins)
    el, az = np.meshgrid(elevation, azimuth, indexing='ij')
    d = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1).reshape(-1, 3)
    best = np.where(d[:, 2] < -1e-3, -1.73 / np.minimum(d[:, 2], -1e-3), np.inf)
    ids = np.zeros(len(d), np.int64)
    for oid, x0, x1, y0, y1, top in boxes:
        lo, hi = np.array([x0, y0, -1.73]), np.array([x1, y1, -1.73 + top])
        with np.errstate(divide='ignore', invalid='ignore'):
            t0, t1 = lo / d, hi / d
        near = np.nanmax(np.minimum(t0, t1), axis=1)
        far = np.nanmin(np.maximum(t0, t1), axis=1)
        hit = (near <= far) & (near > 0) & (near < best)
        best[hit], ids[hit] = near[hit], oid
    keep = np.isfinite(best) & (best <= lc.max_range)
    return d[keep] * best[keep, None], ids[keep]


def test_cluster_features_measure_a_car_and_a_wall_and_keep_a_box_across_the_seam_narrow():
    lc = LidarConfig.sensor('hdl64', azimuth_bins=512)
    boxes = [(1, 8.0, 12.5, 4.0, 5.8, 1.5),           # a car, 4.5 x 1.8 x 1.5 m, ahead-left
             (2, 9.0, 10.8, -0.8, 0.8, 1.5),          # a car across the seam (azimuth 0)
             (3, -20.0, -19.7, -15.0, 15.0, 6.0)]     # a wall behind, 30 m long and 6 m high
    pts, ids = _road_with(boxes, lc)
    proj = project(pts, lc)
    truth = np.where(proj.index >= 0, ids[np.maximum(proj.index, 0)], -1)
    labels = np.maximum(range_clusters(proj.range, lc), 0)
    of = {o: int(np.bincount(labels[truth == o]).argmax()) for o in (1, 2, 3)}
    assert len(set(of.values())) == 3 and min(of.values()) > 0
    f = cluster_features(proj.range, labels, lc)
    assert f.shape == (labels.max(), len(FEATURES)) and np.isfinite(f).all()
    col = {name: i for i, name in enumerate(FEATURES)}
    car, seam, wall = (f[of[o] - 1] for o in (1, 2, 3))
    for box in (car, seam):
        assert 1.2 <= box[col['top_m']] <= 1.6 and box[col['bottom_m']] <= 0.5       # stands on the road, 1.5 m
        assert box[col['beside_ground']] > 0.5 > box[col['beside_cluster']]          # ringed by the road
    assert 1.5 < seam[col['length_m']] < 2.5 and 3.5 < car[col['length_m']] < 6.0    # the long side seen
    assert seam[col['columns']] < 60                                                 # not the whole sweep wide
    assert wall[col['length_m']] > 15 and wall[col['height_m']] > 2 and wall[col['range_m']] > 19
    car_points = range_points(proj.range, lc)[labels == of[1]]
    assert car[col['range_m']] == pytest.approx(np.linalg.norm(car_points, axis=-1).mean(), rel=1e-3)
    truth_of = cluster_truth(labels, truth)
    assert truth_of[[of[1] - 1, of[2] - 1, of[3] - 1]].all() and truth_of.sum() == 3
    assert not cluster_truth(labels, np.where(truth == 3, 0, truth))[of[3] - 1]


def test_a_hand_made_tree_reads_thresholds_and_missing_values():
    arrays = {'feature': np.array([[0, 0, 0]]), 'threshold': np.array([[1.0, 0, 0]]), 'left': np.array([[1, 0, 0]]),
              'right': np.array([[2, 0, 0]]), 'leaf': np.array([[0, 1, 1]], np.uint8),
              'value': np.array([[0.0, -2.0, 3.0]]), 'missing_left': np.array([[0, 0, 0]], np.uint8),
              'baseline': np.array([0.5])}
    scorer = ClusterScorer(arrays, ('a', 'b'))
    p = scorer.probability(np.array([[0.5, 9.0], [1.0, 0.0], [1.5, 0.0], [np.nan, 0.0]]))
    expected = 1 / (1 + np.exp(-np.array([-1.5, -1.5, 3.5, 3.5])))
    np.testing.assert_allclose(p, expected)
    with pytest.raises(ValueError, match='reads 2 features'):
        scorer.probability(np.zeros((2, 3)))
    with pytest.raises(ValueError, match='points outside'):
        ClusterScorer({**arrays, 'left': np.array([[7, 0, 0]])}, ('a', 'b'))


@pytest.fixture(scope='module')
def city(tmp_path_factory):
    root = tmp_path_factory.mktemp('city') / 'data'
    generate(SimConfig.preset('city', frames=4), root, seed=3, counts={'train': 3, 'val': 2}, progress=False)
    return root


def test_the_scorer_is_trained_into_a_bundle_and_its_slots_take_the_likeliest_objects(tmp_path, city, capsys):
    bundle = tmp_path / 'bundle'
    shutil.copytree(BUNDLE, bundle)
    assert objectness_main(['scorer', '--bundle', str(bundle), '--data', f'{city}:train:1']) == 0
    entry = Bundle.open(bundle).objectness
    assert entry['order'] == 'scorer' and entry['scorer']['features'] == list(FEATURES)
    assert entry['scorer']['parity_max_abs_diff'] < 1e-6 and entry['scorer']['trained_on'][0]['objects'] > 10
    # On clips it never saw, the clusters the scorer ranks first are objects far more often than clusters are.
    from video_object_node.runtime.objectness import objectness_for
    from video_object_node.sensing.sensors import sensor_for_bundle
    opened = Bundle.open(bundle)
    clusters = objectness_for(opened, sensor_for_bundle(opened.doc))
    ds = ClipDataset(city, 'val')
    first, base = [], []
    for i in range(len(ds)):
        clip = ds.raw(i)
        for rng, ids in zip(clip['lidar_range'], clip['lidar_ids']):
            ranked = clusters.range_regions(rng)
            raw = np.maximum(range_clusters(rng, clusters.lidar), 0)
            assert ranked.max() <= raw.max() and ((ranked > 0) <= (raw > 0)).all()
            truth = cluster_truth(ranked, ids)
            first += list(truth[:5])
            base.append(cluster_truth(raw, ids).mean())
    assert np.mean(first) > max(0.5, 1.5 * np.mean(base))
    # The node's segments: K slots each take one of the likeliest clusters, whole.
    masks = np.full((16, *rng.shape), 1 / 16, np.float32)
    segments = clusters.segments(masks, rng).argmax(0)
    ranked = clusters.range_regions(rng)
    for label in range(1, min(16, ranked.max()) + 1):
        assert len(np.unique(segments[ranked == label])) == 1
    # Each cluster's probability, best first, is the score of the slot that took it (~/detections); 0 for the rest.
    regions, probability = clusters.ranked_regions(rng)
    assert (regions == ranked).all() and len(probability) == ranked.max() + 1 and probability[0] == 0.0
    assert (np.diff(probability[1:]) <= 0).all()
    from types import SimpleNamespace
    from video_object_node.runtime.config import NodeConfig
    from video_object_node.runtime.pipeline import LatentPipeline
    pipeline = LatentPipeline(NodeConfig(model_path=str(bundle), backend='onnxruntime'))
    pipeline._foreground = (5, ranked, probability)
    given = clusters.segments(masks, rng)
    result = SimpleNamespace(last_masks=lambda: given, latents=SimpleNamespace(index=5))
    scores = pipeline.slot_scores(result)
    for slot in range(16):
        held = np.unique(ranked[segments == slot])
        assert scores[slot] == (probability[held[0]] if len(held) == 1 and held[0] > 0 else 0.0)
    # A reach (max_range): the clusters beyond it take no slot, the rest keep their order.
    from video_object_node.runtime.objectness import LidarClusters
    reach = LidarClusters({**Bundle.open(bundle).objectness, 'max_range': 15.0}, clusters.sensor, bundle)
    near = reach.range_regions(rng)
    assert 0 < near.max() < ranked.max()
    inside = [k for k in range(1, ranked.max() + 1) if rng[ranked == k].mean() <= 15.0]
    assert [int(np.unique(ranked[near == k])[0]) for k in range(1, near.max() + 1)] == inside
    with pytest.raises(BundleError, match='max_range'):
        LidarClusters({**Bundle.open(bundle).objectness, 'max_range': 0}, clusters.sensor, bundle)
    # A damaged scorer file is one line naming it; bad arguments are refused.
    (bundle / SCORER_FILE).write_bytes(b'\0' * 16)
    with pytest.raises(BundleError, match='does not match its sha256'):
        objectness_for(Bundle.open(bundle), sensor_for_bundle(opened.doc))
    capsys.readouterr()
    assert objectness_main(['scorer', '--bundle', str(bundle), '--data', f'{city}:train:0']) == 2
    assert objectness_main(['scorer', '--bundle', str(bundle), '--data', f'{city}:train:x']) == 2
    assert objectness_main(['scorer', '--bundle', str(REPO / 'models' / 'default'), '--data', str(city)]) == 2
    assert objectness_main(['attach', '--bundle', str(bundle), '--lidar-clusters', '--max-range', '0']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and 'max-range' in err[3] and all(line.startswith('error: ') for line in err)
    assert 'weight must be > 0' in err[0] and 'is not a number' in err[1] and 'lidar-clusters' in err[2]


def test_placement_masks_put_each_slot_where_it_was_placed_and_wrap_the_seam():
    from video_object_node.runtime.objectness import placement_masks
    placement = np.array([[-0.5, 0.0, 0.2, 0.5], [0.5, 0.0, 0.2, 0.5], [0.95, 0.0, 0.05, 0.5]])
    masks = placement_masks(placement, (8, 40))
    assert masks.shape == (3, 8, 40) and np.allclose(masks.sum(axis=0), 1, atol=1e-5) and masks.min() > 0
    top = masks.argmax(axis=0)
    assert (top[:, 10] == 0).all() and (top[:, 30] == 1).all() and (top[:, 39] == 2).all()
    # The seam: column 0 (x = -0.975) lies 0.075 round the wrap from the slot at 0.95, 1.45 from the slot at -0.5.
    assert (placement_masks(placement, (8, 40), wrap=True).argmax(axis=0)[:, 0] == 2).all()
    assert (top[:, 0] == 0).all()


def test_clusters_go_to_the_slots_placed_over_them_without_the_mask_decoder(tmp_path, city):
    from types import SimpleNamespace
    from video_object_node.runtime.config import NodeConfig
    from video_object_node.runtime.pipeline import LatentPipeline
    from video_object_node.sensing.lidar import range_image_input
    bundle = tmp_path / 'bundle'
    shutil.copytree(BUNDLE, bundle)
    assert objectness_main(['attach', '--bundle', str(bundle), '--lidar-clusters', '--max-extent', '8',
                            '--slots-by', 'placement']) == 0
    assert objectness_main(['scorer', '--bundle', str(bundle), '--data', f'{city}:train:1']) == 0
    assert Bundle.open(bundle).objectness['slots_by'] == 'placement'
    pipeline = LatentPipeline(NodeConfig(model_path=str(bundle), backend='onnxruntime'))
    k = pipeline.backend.cfg.num_slots

    def no_decoder(*_args):
        raise AssertionError('the mask decoder ran')
    pipeline.backend.decode_masks = no_decoder
    rng = ClipDataset(city, 'val').raw(0)['lidar_range'][-1]
    frame = range_image_input(rng, pipeline.sensor.lidar)
    placement = np.zeros((k, 4, 4))
    placement[:, :, 0] = np.linspace(-1, 1, k, endpoint=False)[:, None]                 # slots spread round the sweep
    placement[:, :, 2:] = 0.1
    latents = SimpleNamespace(object_mean=np.zeros((k, 16)), frame_mean=np.zeros((4, 8)), placement=placement,
                              last_input=frame, index=1)
    segments = pipeline.decode_masks(latents).argmax(axis=0)
    ranked = pipeline.objectness.range_regions(pipeline.sensor.geometry(frame))
    n = min(k, int(ranked.max()))
    assert n >= 10
    taken = [np.unique(segments[ranked == label]) for label in range(1, n + 1)]
    assert all(len(t) == 1 for t in taken) and len({int(t[0]) for t in taken}) == n       # a slot each
    for label, slot in zip(range(1, n + 1), taken):
        assert ((segments == slot[0]) == (ranked == label)).all()                 # the cluster whole, nothing else
    weights = pipeline.objectness.placed(placement[:, -1], rng.shape)
    assert int(taken[0][0]) == int(weights[:, ranked == 1].sum(axis=1).argmax())    # the likeliest: the slot over it
    # Through the decoder's masks the same clusters are the same segments (only which slot holds which differs).
    seen = pipeline.sensor.geometry(frame)                                     # the range image the node reads
    rng_masks = np.random.default_rng(0).dirichlet(np.ones(k), size=rng.shape).transpose(2, 0, 1).astype(np.float32)
    decoded = pipeline.objectness.segments(rng_masks, seen).argmax(axis=0)
    for label in range(1, n + 1):
        slot = np.unique(decoded[ranked == label])
        assert len(slot) == 1 and ((decoded == slot[0]) == (ranked == label)).all()


def test_more_slots_start_from_a_bundle_with_fewer():
    import torch
    from video_object_node.model.config import SimoneConfig
    from video_object_node.model.simone import Simone
    from video_object_node.model.transfer import transfer_state
    small = SimoneConfig.preset('small-objects', num_slots=4, slot_grid=(2, 2), slot_reduction='slot_attention')
    big = SimoneConfig.preset('small-objects', num_slots=8, slot_grid=(2, 4), slot_reduction='slot_attention')
    torch.manual_seed(0)
    source, target = Simone(small), Simone(big)
    state, adapted = transfer_state(source.state_dict(), small, target.state_dict(), big)
    assert adapted == ['window_encoder.slot_attention.init']
    old, new = source.state_dict()['window_encoder.slot_attention.init'], state['window_encoder.slot_attention.init']
    assert torch.equal(new[:4], old) and not torch.equal(new[4:], old)
    assert (new[4:] - old).abs().max() < 0.5 * old.std()                 # near copies, not new random starts
    target.load_state_dict(state)                                        # every tensor fits the larger model
