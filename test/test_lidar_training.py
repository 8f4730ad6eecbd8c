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

"""LIDAR models train and evaluate on range images of the lidar preset, with the camera's report keys."""
import json

import pytest

from video_object_node.data.config import SimConfig
from video_object_node.sensing.config import LidarConfig
from video_object_node.learn.evaluate import main as eval_main
from video_object_node.data.simulate import generate
from video_object_node.bundle.layout import Bundle
from video_object_node.learn.train import main as train_main

LC = LidarConfig(channels=16, azimuth_bins=64, vertical_fov=(-40.0, 5.0), max_range=15.0)


@pytest.fixture(scope='module')
def lidar_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('lidar') / 'data'
    cfg = SimConfig.preset('lidar', frames=8, height=16, width=16, lidar=LC)
    generate(cfg, root, seed=0, counts={'train': 4, 'val': 2, 'test': 2}, shard_size=4, progress=False)
    return root


def test_lidar_model_trains_and_evaluates(tmp_path, lidar_data):
    import yaml
    config = tmp_path / 'lidar.yaml'
    config.write_text(yaml.safe_dump({
        'model': {'preset': 'small', 'modality': 'lidar', 'channels': 2, 'height': 16, 'width': 64,
                  'conv_channels': [16, 16, 16], 'model_dim': 32, 'ff_dim': 64, 'decoder_hidden': 16},
        'train': {'data': str(lidar_data), 'steps': 4, 'batch_size': 2, 'eval_every': 4, 'eval_clips': 2,
                  'checkpoint_every': 4, 'num_threads': 1, 'amp': 'off', 'warmup_steps': 1}}))
    assert train_main(['--config', str(config), '--run-dir', str(tmp_path / 'run'), '--no-progress']) == 0
    bundle = tmp_path / 'run' / 'bundle'
    assert LidarConfig.from_dict(Bundle.open(bundle).doc['lidar']) == LC
    assert eval_main(['--model', str(bundle), '--data', str(lidar_data), '--out', str(tmp_path / 'eval'),
                      '--probe-clips', '4', '--no-progress']) == 0
    report = json.loads((tmp_path / 'eval' / 'report.json').read_text())
    for key in ('fg_ari', 'ari', 'mbo', 'psnr', 'kmeans_fg_ari', 'viewpoint_r2', 'num_clips'):
        assert key in report
    assert report['num_clips'] == 2
    # Matched slots map back to 3-D: a distance between centroids, within twice the sensor's range.
    assert report['matched_objects'] > 0
    assert report['centroid_error_m'] is not None and 0 <= report['centroid_error_m'] <= 2 * LC.max_range
    for key in ('grid_mbo', 'cluster_fg_ari', 'cluster_mbo', 'kmeans_mbo', 'cluster_centroid_error_m'):
        assert key in report                          # the LIDAR baselines beside the model, on the same sweeps
    # The geometric objectness: the node's segments (and so the evaluation's) follow the range image's clusters.
    from video_object_node.export.objectness import main as objectness_main
    assert objectness_main(['attach', '--bundle', str(bundle), '--lidar-clusters']) == 0
    assert Bundle.open(bundle).objectness == {'kind': 'lidar-clusters', 'distance': 0.5, 'spread': 2.0,
                                              'keep_share': 1.0, 'order': 'overlap', 'assign': 'one'}
    assert eval_main(['--model', str(bundle), '--data', str(lidar_data), '--out', str(tmp_path / 'eval2'),
                      '--probe-clips', '4', '--no-progress']) == 0
    clustered = json.loads((tmp_path / 'eval2' / 'report.json').read_text())
    assert clustered['mbo'] != report['mbo'] and clustered['num_sweeps'] == report['num_sweeps']
    from video_object_node.runtime.pipeline import LatentPipeline
    from video_object_node.runtime.config import NodeConfig
    pipe = LatentPipeline(NodeConfig(model_path=str(bundle), decode_masses=True, stride=1))
    assert pipe.objectness is not None and pipe.objectness.order == 'overlap'
    assert objectness_main(['attach', '--bundle', str(bundle), '--lidar-clusters', '--run', 'x']) == 2


def test_camera_data_is_refused_for_a_lidar_model(tmp_path):
    import yaml
    data = tmp_path / 'cam'
    generate(SimConfig.preset('tiny', frames=8), data, seed=0, counts={'train': 2, 'val': 1, 'test': 0},
             progress=False)
    config = tmp_path / 'l.yaml'
    config.write_text(yaml.safe_dump({'model': {'preset': 'small', 'modality': 'lidar', 'channels': 2, 'height': 16,
                                                'width': 64}, 'train': {'data': str(data), 'steps': 1}}))
    assert train_main(['--config', str(config), '--run-dir', str(tmp_path / 'run')]) == 2
