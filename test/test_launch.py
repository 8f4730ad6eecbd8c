"""The launch files, checked without `ros2 launch` (launch, launch_xml and launch_ros have no wheels here).

What is checked: the XML against the entity rules launch_ros's XML frontend applies (which tags, which
attributes, which are required, param: name+value or from), every ``$(var ...)`` against the file's declared
arguments, every include argument against the included file, every node parameter against the node's
declarations; and then each file is *resolved* the way ``ros2 launch`` would resolve it (arguments, includes,
substitutions) into the node's command line, which starts the real node: every launch argument reaches it
(parameters read back over the parameter service, remapped topics seen in the graph).
What is not: the launch process itself (event handlers, output capture, the `ros2 launch` CLI).
"""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from ros_env import REPO, RosClient, ros_env
from video_object_node.config import node_parameters

LAUNCH = REPO / 'launch'
# tag -> (required attributes, optional attributes, allowed children): launch_ros's XML frontend names.
CONDITIONS = {'if', 'unless'}
ENTITIES = {
    'launch': (set(), {'version'}, {'arg', 'let', 'node', 'include', 'group', 'set_env', 'unset_env',
                                    'executable', 'push_ros_namespace', 'set_parameter', 'set_remap'}),
    'arg': ({'name'}, {'default', 'value', 'description', 'choices'} | CONDITIONS, set()),
    'let': ({'name', 'value'}, CONDITIONS, set()),
    'node': ({'pkg', 'exec'}, {'name', 'namespace', 'args', 'ros_args', 'output', 'launch-prefix', 'respawn',
                               'respawn_delay', 'exec_name', 'emulate_tty', 'cwd'} | CONDITIONS,
             {'param', 'remap', 'env'}),
    'param': (set(), {'name', 'value', 'from', 'sep', 'value-sep'}, {'param'}),
    'remap': ({'from', 'to'}, set(), set()),
    'include': ({'file'}, CONDITIONS, {'arg'}),
}
VAR = re.compile(r'\$\(var ([A-Za-z0-9_]+)\)')
FIND_SHARE = re.compile(r'\$\(find-pkg-share ([A-Za-z0-9_]+)\)')
LAUNCH_FILES = sorted(LAUNCH.glob('*.launch.xml'))


def check_entity(element, parent=None, errors=None):
    errors = [] if errors is None else errors
    tag = element.tag
    if tag not in ENTITIES:
        errors.append(f'<{tag}> is not a launch entity')
        return errors
    required, optional, children = ENTITIES[tag]
    if parent == 'include' and tag == 'arg':        # an include's argument provision: name and value
        required, optional = {'name', 'value'}, set()
    attrs = set(element.attrib)
    errors += [f'<{tag}> lacks {a!r}' for a in sorted(required - attrs)]
    errors += [f'<{tag}> has unknown attribute {a!r}' for a in sorted(attrs - required - optional)]
    if tag == 'param' and ('name' in attrs) == ('from' in attrs):
        errors.append('<param> needs either name (with value) or from')
    for child in element:
        if child.tag not in children:
            errors.append(f'<{child.tag}> is not allowed in <{tag}>')
        check_entity(child, tag, errors)
    return errors


def declared_args(root) -> dict:
    return {a.get('name'): a.get('default', a.get('value')) for a in root.findall('arg')}


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_follows_the_entity_rules_and_uses_only_declared_names(path):
    root = ET.parse(path).getroot()
    assert root.tag == 'launch' and check_entity(root) == []
    args = declared_args(root)
    text = path.read_text()
    assert set(VAR.findall(text)) <= set(args), set(VAR.findall(text)) - set(args)
    assert set(FIND_SHARE.findall(text)) <= {'video_object_node'}
    assert all(a.get('description') for a in root.findall('arg')), 'every argument is documented'
    for node in root.iter('node'):
        assert (node.get('pkg'), node.get('exec')) == ('video_object_node', 'video_object_node')
        names = {p.get('name') for p in node.findall('param') if p.get('name')}
        assert names <= set(node_parameters()) | {'use_sim_time'}, names - set(node_parameters())
    for include in root.iter('include'):
        target = ET.parse(LAUNCH / FIND_SHARE.sub('', include.get('file')).split('/')[-1]).getroot()
        assert {a.get('name') for a in include.findall('arg')} <= set(declared_args(target))
    # Every argument is used: it reaches the node (or the included file that starts it).
    used = set(VAR.findall(''.join(ET.tostring(e, 'unicode') for e in root if e.tag != 'arg')))
    assert set(args) <= used, set(args) - used


def resolve(path, given: dict, tmp_path) -> list:
    """What ``ros2 launch`` would run: the node's ROS arguments for ``path`` with arguments ``given``. As
    launch_ros does, ``<param name value>`` go into a parameters file of their own, keyed by the node's fully
    qualified name, after the ``<param from>`` file (values typed as YAML)."""
    import yaml
    root = ET.parse(path).getroot()
    values = {**declared_args(root), **given}

    def sub(text):
        return FIND_SHARE.sub(str(REPO), VAR.sub(lambda m: values[m.group(1)], text))

    for include in root.iter('include'):
        inner = {a.get('name'): sub(a.get('value')) for a in include.findall('arg')}
        return resolve(LAUNCH / sub(include.get('file')).split('/')[-1], inner, tmp_path)
    node = root.find('node')
    namespace = sub(node.get('namespace', '')).strip('/')
    ros_args = sub(node.get('ros_args', '')).split()
    named = {}
    for child in node:
        if child.tag == 'param' and child.get('from'):
            ros_args += ['--params-file', sub(child.get('from'))]
        elif child.tag == 'param':
            text = sub(child.get('value'))
            named[child.get('name')] = yaml.safe_load(text) if text else ''
        elif child.tag == 'remap':
            ros_args += ['-r', f'{sub(child.get("from"))}:={sub(child.get("to"))}']
    fqn = '/' + '/'.join(filter(None, [namespace, node.get('name')]))
    params = tmp_path / 'launch_params.yaml'
    params.write_text(yaml.safe_dump({fqn: {'ros__parameters': named}}))
    ros_args += ['--params-file', str(params)]
    if namespace:
        ros_args += ['-r', f'__ns:=/{namespace}']
    return ros_args


@pytest.mark.parametrize('path, given, expected_params, expected_subscription', [
    ('video_object.launch.xml', {'image_topic': '/cam/front', 'input_transport': 'compressed', 'backend': 'torch',
                                 'decode_masses': 'true', 'log_level': 'debug', 'namespace': 'robot1'},
     {'input_transport': 'compressed', 'backend': 'torch', 'decode_masses': True, 'model_path': '',
      'use_sim_time': False}, '/cam/front/compressed'),
    ('video_object_lidar.launch.xml', {'points_topic': '/lidar/points', 'backend': 'torch', 'use_sim_time': 'false'},
     {'model_path': 'default-lidar', 'decode_masses': True, 'input_transport': 'raw'}, '/lidar/points'),
])
def test_every_launch_argument_reaches_the_node(tmp_path, path, given, expected_params, expected_subscription):
    from rcl_interfaces.srv import GetParameters
    env = ros_env(tmp_path)
    args = resolve(LAUNCH / path, given, tmp_path)
    proc = subprocess.Popen([sys.executable, '-m', 'video_object_node.ros.node', '--ros-args', *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = RosClient(env)
    try:
        namespace = '/' + given['namespace'] if 'namespace' in given else ''
        service = f'{namespace}/video_object_node/get_parameters'
        getp = client.node.create_client(GetParameters, service)
        names = list(expected_params)
        values = client.call(getp, GetParameters.Request(names=names), 60).values

        def value(v):
            return {1: v.bool_value, 2: v.integer_value, 3: v.double_value, 4: v.string_value}[v.type]
        assert {n: value(v) for n, v in zip(names, values)} == expected_params

        def subscribed():
            return any(name == expected_subscription for name, _ in client.node.get_topic_names_and_types()
                       if client.node.count_subscribers(name) > 0)
        assert client.spin_until(subscribed, 30), client.node.get_topic_names_and_types()
    finally:
        client.close()
        proc.send_signal(subprocess.signal.SIGINT)
        try:
            out = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
    if given.get('log_level') == 'debug':
        assert '[DEBUG]' in out or 'DEBUG' in out, out[-2000:]


def test_rviz_layout_shows_topics_the_node_really_has():
    """config/video_object.rviz parses, and each display's topic is the node's input or one of its outputs."""
    import yaml

    from video_object_node.ros.inputs import INPUTS
    from video_object_node.ros.outputs import OUTPUTS
    layout = yaml.safe_load((REPO / 'config' / 'video_object.rviz').read_text())
    displays = layout['Visualization Manager']['Displays']
    topics = {d['Topic']['Value']: d['Class'] for d in displays if 'Topic' in d}
    known = {f'/video_object_node/{o.name}': o.msg_type for o in OUTPUTS}
    known.update({f'/{i.topic}': i.msg_type for i in INPUTS.values()})
    kinds = {'rviz_default_plugins/Image': 'sensor_msgs/msg/Image',
             'rviz_default_plugins/PointCloud2': 'sensor_msgs/msg/PointCloud2',
             'rviz_default_plugins/MarkerArray': 'visualization_msgs/msg/MarkerArray'}
    assert {'/video_object_node/debug_image', '/video_object_node/markers', '/image'} <= set(topics)
    for topic, display in topics.items():
        assert known.get(topic) == kinds[display], (topic, display)
