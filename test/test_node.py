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

"""The ROS 2 node in a separate process: windows out, bad input, lifecycle, parameters, launch file."""
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from ros_env import REPO, RosClient, ros_env
from video_object_node.runtime.config import NodeConfig, node_parameters
from video_object_node.model import Simone, SimoneConfig, save_bundle

T, STRIDE = 8, 4


@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    torch.manual_seed(0)
    return save_bundle(Simone(SimoneConfig.preset('small')), tmp_path_factory.mktemp('node') / 'bundle')


class NodeProcess:
    def __init__(self, env, *ros_args):
        cmd = [sys.executable, '-m', 'video_object_node.ros.node', '--ros-args', *ros_args]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(subprocess.signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.stdout.read()


@pytest.fixture
def session(tmp_path):
    env = ros_env(tmp_path)
    client = RosClient(env)
    procs = []

    def start(*ros_args):
        p = NodeProcess(env, *ros_args)
        procs.append(p)
        return p
    yield env, client, start
    for p in procs:
        p.stop()
    client.close()


def image_msg(i, encoding='rgb8', height=48, width=64, step=None, data=None, sec=None):
    from sensor_msgs.msg import Image
    channels = {'rgb8': 3, 'bgr8': 3, 'mono8': 1, 'rgba8': 4, 'yuv422': 2}[encoding]
    msg = Image(height=height, width=width, encoding=encoding, step=step or width * channels)
    msg.header.frame_id = 'cam_optical'
    msg.header.stamp.sec = 1000 + i if sec is None else sec
    if data is None:
        rng = np.random.default_rng(i)
        data = rng.integers(0, 255, msg.step * height, dtype=np.uint8).tobytes()
    msg.data = data
    return msg


def subscribe(client, received):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from video_object_node.ros.outputs import output_class
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    for topic in ('object_latents', 'frame_latents'):
        client.node.create_subscription(output_class(topic), f'/video_object_node/{topic}',
                                        lambda m, t=topic: received[t].append(m), reliable)
    client.node.create_subscription(DiagnosticArray, '/diagnostics', lambda m: received['diag'].append(m), reliable)
    return client.node.create_publisher(Image, '/image', reliable)


def query_session(client, node):
    """Subscribe to the node's outputs and ~/query_result, publish to ~/query; wait until all are matched."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import String

    from video_object_node.ros.outputs import output_class
    reliable = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)
    received = {'object_latents': [], 'frame_latents': [], 'diag': [], 'answers': []}
    pub = subscribe(client, received)
    client.node.create_subscription(output_class('query_result'), '/video_object_node/query_result',
                                    received['answers'].append, reliable)
    query = client.node.create_publisher(String, '/video_object_node/query', reliable)
    assert client.spin_until(lambda: pub.get_subscription_count() > 0 and query.get_subscription_count() > 0
                             and received['diag'], 60), node.stop()
    return received, pub, query


def diag_values(received):
    return {kv.key: kv.value for kv in received['diag'][-1].status[0].values}


def test_frames_in_windows_out(session, bundle):
    from video_object_node.ros.messages import table_from_msg
    env, client, start = session
    node = start('-p', f'model_path:={bundle}', '-p', 'input_reliability:=reliable', '-p', f'stride:={STRIDE}',
                 '-p', 'backend:=torch')
    received = {'object_latents': [], 'frame_latents': [], 'diag': []}
    pub = subscribe(client, received)
    assert client.spin_until(lambda: pub.get_subscription_count() > 0 and received['diag'], 60), node.stop()
    frames = 20
    for i in range(frames):
        pub.publish(image_msg(i))
        client.spin_for(0.1)   # slower than the encoder, so no window is dropped
    expected = 1 + (frames - T) // STRIDE
    assert client.spin_until(lambda: len(received['frame_latents']) >= expected, 30)
    client.spin_for(1.5)
    assert len(received['object_latents']) == expected
    ids = []
    for k, (obj, frm) in enumerate(zip(received['object_latents'], received['frame_latents'])):
        last = T - 1 + k * STRIDE
        assert obj.header.stamp.sec == 1000 + last and obj.header.frame_id == 'cam_optical'
        from video_object_node.ros.interfaces import typed
        if typed():                          # the typed message's own fields: K ids, K x D means
            assert (type(obj).__name__, obj.num_slots, obj.latent_dim, len(obj.ids)) == ('ObjectLatents', 6, 16, 6)
            assert len(obj.means) == len(obj.std_devs) == 6 * 16 and obj.model_id == 'bundle'
            assert obj.window_start.sec == 1000 + last - T + 1
        table = table_from_msg(obj)
        assert table.shape == (6,) and table['mean'].shape == (6, 16) and np.all(table['stddev'] > 0)
        ids.append(sorted(table['id'].tolist()))
        ftable = table_from_msg(frm)
        assert ftable['stamp_sec'].tolist() == list(range(1000 + last - T + 1, 1000 + last + 1))
        assert ftable['mean'].shape == (T, 8)
    assert all(i == ids[0] for i in ids)     # the same ids survive from window to window
    values = diag_values(received)
    assert values['windows_dropped'] == '0' and values['frames_rejected'] == '0'


def test_bad_input_is_rejected_counted_and_survived(session, bundle):
    env, client, start = session
    node = start('-p', f'model_path:={bundle}', '-p', 'input_reliability:=reliable', '-p', 'backend:=torch',
                 '-p', 'max_frame_gap:=100.0')
    received = {'object_latents': [], 'frame_latents': [], 'diag': []}
    pub = subscribe(client, received)
    assert client.spin_until(lambda: pub.get_subscription_count() > 0 and received['diag'], 60), node.stop()
    bad = [image_msg(0, encoding='yuv422'),                       # unsupported encoding
           image_msg(1, step=10),                                 # step < width * channels
           image_msg(2, data=b'\x00' * 100),                      # truncated
           image_msg(3, height=0, width=0, data=b'')]             # empty
    good = [image_msg(10 + i) for i in range(T)]                  # good frames: a window
    for msg in bad + good + [image_msg(99, sec=5)]:               # ... then a stamp going backwards
        pub.publish(msg)
        client.spin_for(0.05)
    assert client.spin_until(lambda: received['object_latents'] and received['diag']
                             and diag_values(received).get('buffer_resets_stamp_not_increasing') == '1', 30)
    values = diag_values(received)
    assert values['rejected_unsupported_encoding'] == '1' and values['rejected_bad_step'] == '1'
    assert values.get('rejected_truncated') == '1' and values.get('rejected_empty') == '1', sorted(values.items())
    assert values['frames_rejected'] == '4'
    assert node.proc.poll() is None
    log = node.stop()
    assert "unsupported image encoding 'yuv422'" in log
    assert 'window buffer reset: stamp not increasing' in log


def test_lifecycle_from_another_process(session, bundle):
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    env, client, start = session
    node = start('-p', f'model_path:={bundle}', '-p', 'autostart:=false')
    get_state = client.node.create_client(GetState, '/video_object_node/get_state')
    change = client.node.create_client(ChangeState, '/video_object_node/change_state')

    def state():
        return client.call(get_state, GetState.Request()).current_state.label

    assert state() == 'unconfigured'
    for transition, label in ((Transition.TRANSITION_CONFIGURE, 'inactive'), (Transition.TRANSITION_ACTIVATE, 'active'),
                              (Transition.TRANSITION_DEACTIVATE, 'inactive'),
                              (Transition.TRANSITION_CLEANUP, 'unconfigured')):
        assert client.call(change, ChangeState.Request(transition=Transition(id=transition))).success
        assert state() == label
    assert 'active: listening on /image' in node.stop()


def test_parameters_validated(session, bundle):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    env, client, start = session
    start('-p', f'model_path:={bundle}')
    setp = client.node.create_client(SetParameters, '/video_object_node/set_parameters')

    def set_param(name, value):
        if isinstance(value, int):
            pv = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
        else:
            pv = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)
        return client.call(setp, SetParameters.Request(parameters=[Parameter(name=name, value=pv)]), 30).results[0]

    assert set_param('stride', 0).successful is False
    assert set_param('stride', 2).successful is True
    result = set_param('backend', 'torch')
    assert result.successful is False and 'read-only' in result.reason
    result = set_param('resize_mode', 'stretch')
    assert result.successful is False and 'resize_mode must be one of' in result.reason


def test_missing_model_fails_configure_clearly(tmp_path):
    env = ros_env(tmp_path)
    proc = subprocess.run([sys.executable, '-m', 'video_object_node.ros.node', '--ros-args', '-p',
                           f'model_path:={tmp_path / "nope"}'], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f'configure failed: model bundle not found: {tmp_path / "nope"} is not a folder' in proc.stderr + proc.stdout


def test_params_file_matches_the_node_and_loads(session, bundle):
    env, client, start = session
    doc = yaml.safe_load((REPO / 'config' / 'video_object.yaml').read_text())
    params = doc['/**']['ros__parameters']
    assert params == NodeConfig().to_dict() and set(params) == set(node_parameters())
    custom = dict(params, model_path=str(bundle), stride=3, autostart=False)
    path = env['ROS_LOG_DIR'] + '.yaml'
    with open(path, 'w') as f:
        yaml.safe_dump({'video_object_node': {'ros__parameters': custom}}, f)
    start('--params-file', path)
    from rcl_interfaces.srv import GetParameters
    getp = client.node.create_client(GetParameters, '/video_object_node/get_parameters')
    values = client.call(getp, GetParameters.Request(names=['stride', 'model_path']), 30).values
    assert values[0].integer_value == 3 and values[1].string_value == str(bundle)


def test_viewpoint_comes_from_the_shipped_pose_head_on_the_last_frame(tmp_path, bundle):
    """
    Check the node's viewpoint against the bundle's pose head.

    The default bundle's pose head (trained with it) gives the pose of the window's last frame relative to
    its first, with the covariance of its stored validation residuals; an older bundle's ridge probe still
    works, and one fitted on other features is refused at configure with one line.
    """
    import torch as _torch

    from video_object_node.bundle.layout import BundleError
    from video_object_node.model import load_bundle
    from video_object_node.bundle.layout import default_bundle_path
    from video_object_node.sensing.conversions import array_to_image, ns_to_stamp
    from video_object_node.ros.inputs import input_for
    from video_object_node.ros.window_path import WindowPath
    from video_object_node.runtime.pipeline import LatentPipeline
    from video_object_node.bundle.layout import PROBE_FILE
    from video_object_node.bundle.viewpoint_probe import RidgeProbe, pose_from_targets

    def feed(pipeline):
        rng = np.random.default_rng(0)
        path = WindowPath(pipeline, input_for(pipeline))
        for i in range(T):
            frame = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            encoded, messages = path.push(array_to_image(frame, 'rgb8', 'cam', ns_to_stamp(10**9 + i)))
        return encoded.result, messages

    pipeline = LatentPipeline(NodeConfig(backend='torch'))
    assert pipeline.probe is None and pipeline.model_cfg.pose_head
    result, out = feed(pipeline)
    model = load_bundle(default_bundle_path())
    with _torch.no_grad():
        want = model.pose_head(_torch.from_numpy(result.latents.frame_mean)[None])[0, -1].numpy()
    pose = pose_from_targets(want)
    p = out['viewpoint'].pose.pose.position
    np.testing.assert_allclose([p.x, p.y, p.z], pose[:3, 3], rtol=1e-4, atol=1e-5)
    residual = model.pose_head.residual_std.numpy()
    assert np.isfinite(residual).all()
    assert out['viewpoint'].pose.covariance[0] == pytest.approx(float(residual[0]) ** 2, rel=1e-5)
    assert out['viewpoint'].header.frame_id == 'cam'

    # An older bundle (no pose head) with a ridge probe of the current format is read; an old format refused.
    x = np.random.default_rng(1).normal(size=(40, 16))
    probe = RidgeProbe.fit(x, np.random.default_rng(2).normal(size=(40, 11)))
    probe.save(bundle / PROBE_FILE)
    try:
        assert LatentPipeline(NodeConfig(model_path=str(bundle), backend='torch')).probe is not None
        RidgeProbe(probe.mean[:8], probe.std[:8], probe.weight[:8], probe.bias, probe.residual_std).save(
            bundle / PROBE_FILE)
        with pytest.raises(BundleError, match='reads 8 features, the model gives 16'):
            LatentPipeline(NodeConfig(model_path=str(bundle), backend='torch'))
    finally:
        (bundle / PROBE_FILE).unlink()


def test_compressed_input_gives_the_latents_of_the_same_frames_raw(session, bundle):
    """
    Check compressed input against the same frames raw.

    input_transport:=compressed reads image/compressed (PNG: lossless, so the latents equal those of the raw
    frames through the same pipeline); a corrupt payload is one counted rejection and the node carries on.
    """
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage

    from video_object_node.sensing.conversions import array_to_image, ns_to_stamp, rgb_to_compressed
    from video_object_node.ros.messages import table_from_msg
    from video_object_node.ros.inputs import input_for
    from video_object_node.ros.window_path import WindowPath
    from video_object_node.runtime.pipeline import LatentPipeline
    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(T)]
    stamps = [ns_to_stamp(10**9 * (100 + i)) for i in range(T)]
    means = {}
    for transport in ('raw', 'compressed'):
        pipeline = LatentPipeline(NodeConfig(model_path=str(bundle), backend='torch', input_transport=transport))
        assert input_for(pipeline, transport).topic == ('image' if transport == 'raw' else 'image/compressed')
        path = WindowPath(pipeline, input_for(pipeline, transport))
        for frame, stamp in zip(frames, stamps):
            msg = (array_to_image(frame, 'rgb8', 'cam', stamp) if transport == 'raw'
                   else rgb_to_compressed(frame, 'png', 'cam', stamp))
            _encoded, messages = path.push(msg)
        means[transport] = table_from_msg(messages['object_latents'])['mean']
    assert np.array_equal(means['raw'], means['compressed'])

    env, client, start = session
    node = start('-p', f'model_path:={bundle}', '-p', 'input_reliability:=reliable', '-p', 'stride:=1',
                 '-p', 'backend:=torch', '-p', 'input_transport:=compressed')
    received = {'object_latents': [], 'frame_latents': [], 'diag': []}
    subscribe(client, received)
    pub = client.node.create_publisher(CompressedImage, '/image/compressed',
                                       QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    assert client.spin_until(lambda: pub.get_subscription_count() > 0 and received['diag'], 60), node.stop()
    for i, (frame, stamp) in enumerate(zip(frames, stamps)):
        msg = rgb_to_compressed(frame, 'png', 'cam', stamp)
        if i == 3:
            pub.publish(CompressedImage(format='jpeg', data=b'\xff\xd8 not a jpeg'))
        pub.publish(msg)
        client.spin_for(0.1)
    assert client.spin_until(lambda: len(received['object_latents']) >= 1, 30), node.stop()
    assert np.array_equal(table_from_msg(received['object_latents'][0])['mean'], means['compressed'])
    assert client.spin_until(lambda: diag_values(received).get('rejected_undecodable') == '1', 10)
    assert 'rejected frame (undecodable)' in node.stop()


def test_debug_image_per_window_only_while_subscribed(session, bundle):
    """
    Check that ~/debug_image comes once a window, only while subscribed.

    ~/debug_image: rgb8 at the input's size, stamped like ~/object_latents, one per window, and only built
    while someone subscribes (the node's own counter of built images stays at 0 before).
    """
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    env, client, start = session
    node = start('-p', f'model_path:={bundle}', '-p', 'input_reliability:=reliable', '-p', 'stride:=4',
                 '-p', 'backend:=torch')
    received = {'object_latents': [], 'frame_latents': [], 'diag': [], 'debug': []}
    pub = subscribe(client, received)
    assert client.spin_until(lambda: pub.get_subscription_count() > 0 and received['diag'], 60), node.stop()
    for i in range(T):
        pub.publish(image_msg(i))
        client.spin_for(0.1)
    assert client.spin_until(lambda: len(received['object_latents']) >= 1, 30)
    client.spin_for(1.2)
    assert diag_values(received)['debug_images_built'] == '0'
    client.node.create_subscription(Image, '/video_object_node/debug_image', received['debug'].append,
                                    QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE))
    client.spin_for(1.0)
    for i in range(T, T + 8):
        pub.publish(image_msg(i))
        client.spin_for(0.1)
    assert client.spin_until(lambda: len(received['debug']) >= 2, 30), node.stop()
    image = received['debug'][0]
    assert (image.encoding, image.height, image.width) == ('rgb8', 48, 64)
    stamps = {m.header.stamp.sec for m in received['object_latents']}
    assert {m.header.stamp.sec for m in received['debug']} <= stamps
    assert image.header.frame_id == 'cam_optical'
    # ~/debug_image/compressed: the same picture as JPEG, as the compressed image transport writes it.
    from sensor_msgs.msg import CompressedImage
    from video_object_node.sensing.conversions import compressed_to_rgb, image_to_rgb
    assert diag_values(received)['debug_image_compresseds_built'] == '0'
    client.node.create_subscription(CompressedImage, '/video_object_node/debug_image/compressed',
                                    received.setdefault('jpeg', []).append,
                                    QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE))
    client.spin_for(1.0)
    count = len(received['debug'])
    for i in range(T + 8, T + 16):
        pub.publish(image_msg(i))
        client.spin_for(0.1)
    assert client.spin_until(lambda: len(received['jpeg']) >= 2 and len(received['debug']) >= count + 2, 30), \
        node.stop()
    jpeg = received['jpeg'][-1]
    assert jpeg.format == 'rgb8; jpeg compressed bgr8' and jpeg.header.frame_id == 'cam_optical'
    raw = next(m for m in received['debug'] if m.header.stamp == jpeg.header.stamp)
    other = next(m for m in received['debug'] if m.header.stamp != jpeg.header.stamp)
    import cv2
    decoded = compressed_to_rgb(jpeg)
    assert decoded.shape == (48, 64, 3)

    def blurred(rgb):                                                   # JPEG keeps a noise frame's coarse content
        return cv2.blur(rgb.astype(np.float32), (5, 5))
    same, different = (np.abs(blurred(decoded) - blurred(image_to_rgb(m))).mean() for m in (raw, other))
    assert same < 0.5 * different                                       # the same picture as the raw one
    node.stop()


def test_queries_in_results_out_and_bad_queries_refused(session, tmp_path):
    """
    ~/query (std_msgs/String) stays active; each window answers it on ~/query_result (id, score, u, v, area).

    A malformed query is one log line, answers nothing, and the node carries on.
    """
    from std_msgs.msg import String

    from video_object_node.ros.messages import table_from_msg
    tiny = dict(conv_channels=(16, 16, 16), model_dim=32, ff_dim=64, spatial_layers=1, slot_layers=1, decoder_hidden=16)
    torch.manual_seed(0)
    model = Simone(SimoneConfig.preset('small-objects', **tiny))
    with torch.no_grad():
        model.attribute_heads.net[-1].bias[-1] = 5.0           # every slot says "an object is here"
    bundle = save_bundle(model, tmp_path / 'objects')
    env, client, start = session
    node = start('-p', f'model_path:={bundle}', '-p', 'input_reliability:=reliable', '-p', 'stride:=2',
                 '-p', 'backend:=torch', '-p', 'query_min_score:=0.0')
    received, pub, query = query_session(client, node)
    query.publish(String(data='red cube'))
    client.spin_for(0.3)
    for i in range(T + 2):
        pub.publish(image_msg(i))
        client.spin_for(0.1)
    assert client.spin_until(lambda: len(received['answers']) >= 2, 30), node.stop()
    table = table_from_msg(received['answers'][-1])
    assert table.dtype.names == ('id', 'score', 'u', 'v', 'area') and 1 <= len(table) <= 5
    assert np.all(np.diff(table['score']) <= 0) and set(table['id']) <= set(
        table_from_msg(received['object_latents'][-1])['id'])
    assert np.all((table['u'] >= 0) & (table['u'] <= 64) & (table['v'] >= 0) & (table['v'] <= 48))
    query.publish(String(data='red banana'))
    client.spin_for(0.3)
    before = len(received['answers'])
    for i in range(T + 2, T + 6):
        pub.publish(image_msg(i))
        client.spin_for(0.1)
    assert client.spin_until(lambda: len(received['answers']) >= before + 2, 30), node.stop()
    assert len(table_from_msg(received['answers'][-1])) == 0
    assert client.spin_until(lambda: diag_values(received).get('queries_refused') == '1', 10)
    assert "refused query: query 'red banana': unknown word 'banana'" in node.stop()


def test_shipped_model_answers_red_cube_on_a_scene_with_one(session):
    """
    Check the embedded model's answer to 'red cube' in a live node.

    The embedded model in a live node, fed a simulated scene (textured preset) with one red cube among other
    colours, answers 'red cube' with an id whose position lies on the cube.
    """
    from std_msgs.msg import String

    from video_object_node.data.config import SimConfig
    from video_object_node.data.sim import PALETTE, SceneSimulator
    from video_object_node.sensing.conversions import array_to_image, ns_to_stamp
    from video_object_node.ros.messages import table_from_msg
    with SceneSimulator(SimConfig.preset('textured', frames=8)) as sim:
        clip = sim.clip(1044)                  # one red object, a cube (checked below)
    red = [bool(np.allclose(c, PALETTE[1], atol=1e-3)) for c in clip['object_colours']]
    assert sum(red) == 1 and clip['object_shapes'][red.index(True)] == 1
    cube = clip['masks'][-1] == red.index(True) + 1
    env, client, start = session
    node = start('-p', 'input_reliability:=reliable', '-p', 'backend:=onnxruntime', '-p', 'query_min_score:=0.05')
    received, pub, query = query_session(client, node)
    query.publish(String(data='red cube'))
    client.spin_for(0.3)
    for t, frame in enumerate(clip['video']):
        pub.publish(array_to_image(frame, 'rgb8', 'camera', ns_to_stamp(10**9 + t * 10**8)))
        client.spin_for(0.1)
    assert client.spin_until(lambda: len(received['answers']) >= 1, 30), node.stop()
    best = table_from_msg(received['answers'][0])[0]
    assert best['id'] in table_from_msg(received['object_latents'][0])['id']
    assert cube[int(round(best['v'])), int(round(best['u']))], (best, np.argwhere(cube).mean(0))


def test_diagnostics_say_error_when_the_camera_stops_and_ok_when_it_resumes(session, bundle):
    """A stopped camera is an ERROR on /diagnostics within 2 s, OK again once frames come back; hardware_id is set."""
    env, client, start = session
    node = start('-p', f'model_path:={bundle}', '-p', 'input_reliability:=reliable', '-p', 'stride:=1',
                 '-p', 'backend:=torch', '-p', 'stale_input_s:=1.0')
    received = {'object_latents': [], 'frame_latents': [], 'diag': []}
    pub = subscribe(client, received)
    assert client.spin_until(lambda: pub.get_subscription_count() > 0 and received['diag'], 60), node.stop()

    def level():
        return received['diag'][-1].status[0].level

    def stream(first, count):
        for i in range(first, first + count):
            pub.publish(image_msg(i))
            client.spin_for(0.05)

    stream(0, 30)
    assert client.spin_until(lambda: level() == b'\x00', 5), (received['diag'][-1].status[0].message, node.stop())
    status = received['diag'][-1].status[0]
    assert status.hardware_id and status.message == 'ok'
    stopped = len(received['diag'])
    client.spin_for(2.0)                                                # the camera stops for 2 s
    after = [d.status[0] for d in received['diag'][stopped:]]
    assert after and after[-1].level == b'\x02', [(s.level, s.message) for s in after]
    assert 'no input frame' in after[-1].message
    stream(30, 30)                                                      # ... and resumes
    assert client.spin_until(lambda: level() == b'\x00', 5), (received['diag'][-1].status[0].message, node.stop())
    node.stop()


def test_odometry_follows_a_simulated_orbit_up_to_scale(session):
    """
    Check ~/odometry against the simulator's camera.

    The embedded model in a live node at stride 1, fed a simulated clip whose camera orbits the scene: the chained
    poses (odom = the first camera) follow the true camera up to one scale (translation error under a third of the
    distance travelled; rotation error under 0.6 of the turn, which a camera standing still would get in full),
    stamped at the frames they describe, in vo_odom with the camera as vo_camera.
    """
    from nav_msgs.msg import Odometry
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from video_object_node.data.config import SimConfig
    from video_object_node.data.sim import SceneSimulator
    from video_object_node.runtime.odometry import rotation_vector
    from video_object_node.sensing.conversions import array_to_image, ns_to_stamp, stamp_to_ns
    with SceneSimulator(SimConfig.preset('movi-a-like', frames=16, trajectories=('orbit',))) as sim:
        clip = sim.clip(3)
    env, client, start = session
    node = start('-p', 'input_reliability:=reliable', '-p', 'backend:=onnxruntime', '-p', 'stride:=1')
    received = []
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    client.node.create_subscription(Odometry, '/video_object_node/odometry', received.append, reliable)
    pub = client.node.create_publisher(type(array_to_image(clip['video'][0], 'rgb8', 'c', ns_to_stamp(0))), '/image',
                                       reliable)
    assert client.spin_until(lambda: pub.get_subscription_count() > 0, 60), node.stop()
    stamps = [10**9 + t * 10**8 for t in range(len(clip['video']))]
    for frame, stamp in zip(clip['video'], stamps):
        pub.publish(array_to_image(frame, 'rgb8', 'camera', ns_to_stamp(stamp)))
        client.spin_for(0.1)
    assert client.spin_until(lambda: len(received) >= len(stamps) - T + 1, 30), node.stop()
    first = np.linalg.inv(clip['extrinsics'][0])
    est, true = [], []
    for msg in received:
        n = stamps.index(stamp_to_ns(msg.header.stamp))            # stamped at the frame it describes
        assert (msg.header.frame_id, msg.child_frame_id) == ('vo_odom', 'vo_camera')
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        x, y, z, w = q.x, q.y, q.z, q.w
        rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = rot, [p.x, p.y, p.z]
        est.append(pose)
        true.append(first @ clip['extrinsics'][n])
    est, true = np.array(est), np.array(true)
    te, tt = est[:, :3, 3], true[:, :3, 3]
    scale = float((te * tt).sum() / (te * te).sum())
    travelled = np.linalg.norm(tt, axis=1).mean()
    assert scale > 0 and np.linalg.norm(scale * te - tt, axis=1).mean() < travelled / 3, (scale, te, tt)
    turn = [np.degrees(np.linalg.norm(rotation_vector(t[:3, :3]))) for t in true]
    error = [np.degrees(np.linalg.norm(rotation_vector(e[:3, :3].T @ t[:3, :3]))) for e, t in zip(est, true)]
    assert max(turn) > 20 and np.mean(error) < 0.6 * np.mean(turn), (turn, error)     # standing still: error = turn
