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
The configuration machinery every config shares: a frozen dataclass <-> a YAML/JSON mapping, and ROS parameters.

Each config lives beside the code that owns it (``model/config.py`` SimoneConfig, ``sensing/config.py`` LidarConfig,
``data/config.py`` SimConfig, ``learn/config.py`` TrainConfig, ``runtime/config.py`` NodeConfig): a frozen dataclass
with named presets, checked on construction, built from a mapping with ``coerce`` so that files, bundles and
command-line overrides all go through the same checks. A config module is data: it imports only this module, the
ground floor and other configs, so that every floor may read it (test_layout).

A config whose fields are ROS parameters declares them with ``param`` (default, description, read-only, choices or
range); ``check_params`` checks the values, ``parameters`` lists them, ``parameters_from_file`` reads a ROS params
file and ``params_yaml`` writes one.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Mapping

import yaml


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type, or out of range."""


def check(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless ``condition``."""
    if not condition:
        raise ConfigError(message)


def coerce(cls, data: Mapping[str, Any]):
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and turning lists into tuples."""
    if not isinstance(data, Mapping):
        raise ConfigError(f'{cls.__name__}: expected a mapping, got {type(data).__name__}')
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    check(not unknown, f'{cls.__name__}: unknown key(s) {unknown}; known keys: {sorted(names)}')
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**kwargs)


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, with a one-line error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f'config file not found: {path}')
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f'{path}: not valid YAML ({str(exc).splitlines()[0]})') from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected a mapping at the top level, got {type(data).__name__}')
    return data


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``section.key=value`` overrides (values parsed as YAML) to a nested mapping."""
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for item in overrides:
        if '=' not in item:
            raise ConfigError(f'override {item!r} is not of the form key=value')
        key, raw = item.split('=', 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f'override {item!r}: value is not valid YAML') from None
        node = data
        parts = key.split('.')
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f'override {item!r}: {part!r} is not a section')
        node[parts[-1]] = value
    return data


# ROS parameters ------------------------------------------------------------------------------------------------
def param(default, description: str, *, read_only: bool = False, choices: tuple = (), range: tuple = ()):
    """
    Return a dataclass field that is a ROS parameter, its metadata beside it.

    Description, read-only (needs a reconfigure), the allowed values or the (low, high) range.
    """
    return dataclasses.field(default=default, metadata={'description': description, 'read_only': read_only,
                                                        'choices': choices, 'range': range})


def check_params(config) -> None:
    """Check every ``param`` field of a config instance against its type, choices and range (ConfigError)."""
    for f in dataclasses.fields(config):
        value, meta = getattr(config, f.name), f.metadata
        if meta['choices']:
            check(value in meta['choices'], f'{f.name} must be one of {meta["choices"]}, got {value!r}')
        elif isinstance(f.default, bool):
            check(isinstance(value, bool), f'{f.name} must be true or false, got {value!r}')
        elif isinstance(f.default, int):
            lo, hi = meta['range']
            check(isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi,
                  f'{f.name} must be an integer in [{lo}, {hi}], got {value!r}')
        elif isinstance(f.default, float):
            lo, hi = meta['range']
            check(isinstance(value, (int, float)) and not isinstance(value, bool) and lo <= value <= hi,
                  f'{f.name} must be in [{lo:g}, {hi:g}], got {value!r}')
        else:
            check(isinstance(value, str), f'{f.name} must be a string, got {value!r}')


def parameters(cls) -> dict:
    """Every ROS parameter of a config class: name -> (default, metadata: description, read_only, choices, range)."""
    return {f.name: (f.default, dict(f.metadata)) for f in dataclasses.fields(cls)}


def parameters_from_file(doc: Mapping[str, Any], node_name: str) -> dict:
    """
    Return a node's parameters from a ROS parameters file's mapping.

    As ROS applies them to a node of that name in any namespace: the wildcard key ``/**`` first, then keys naming the
    node (``NAME``, ``/NAME``, ``/ns/NAME``, ``/**/NAME``), each under ``ros__parameters``.
    """
    out: dict = {}
    keys = sorted(doc, key=lambda k: str(k).strip('/') != '**')            # the wildcard first, then the node
    for key in keys:
        name = str(key).strip('/')
        if name == '**' or name == node_name or name.endswith('/' + node_name):
            section = doc[key] or {}
            if not isinstance(section, Mapping) or not isinstance(section.get('ros__parameters', {}), Mapping):
                raise ConfigError(f'parameters file: {key!r} must hold a ros__parameters mapping')
            out.update(section.get('ros__parameters') or {})
    return out


def params_yaml(cls, header: list[str]) -> str:
    """Return a ROS params file (keyed ``/**``) of every parameter of ``cls``: its description, then its default."""
    lines = [f'# {line}' if line else '#' for line in header] + ['/**:', '  ros__parameters:']
    for name, (default, meta) in parameters(cls).items():
        value = "''" if default == '' else yaml.safe_dump(default).splitlines()[0]
        lines += [f'    # {meta["description"]}', f'    {name}: {value}']
    return '\n'.join(lines) + '\n'
