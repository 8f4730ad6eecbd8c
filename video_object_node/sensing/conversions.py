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
sensor_msgs ⇄ numpy, with cv_bridge's semantics (and the real cv_bridge when it is importable).

Images: encodings rgb8, bgr8, rgba8, bgra8, mono8, mono16; any ``step`` (row padding); either
endianness for 16-bit data. ``image_to_rgb`` returns H x W x 3 uint8 RGB or H x W uint16 (mono16).
PointCloud2: fields read by name through a structured dtype built from the message's own field table,
honouring ``point_step``, ``row_step`` padding and ``is_bigendian``.

Every problem raises ``ConversionError`` with one line naming it; the node counts them by ``reason``.
"""
from __future__ import annotations

import numpy as np

from .sensors import ConversionError

try:  # the real cv_bridge where a ROS install provides it
    from cv_bridge import CvBridge as _CvBridge  # type: ignore
except Exception:  # noqa: BLE001 - absent or broken (the PyPI copy fails on numpy 2)
    _CvBridge = None

# encoding -> (channels, dtype, RGB order as indices into the stored channels)
IMAGE_ENCODINGS = {
    'rgb8': (3, np.uint8, (0, 1, 2)),
    'bgr8': (3, np.uint8, (2, 1, 0)),
    'rgba8': (4, np.uint8, (0, 1, 2)),
    'bgra8': (4, np.uint8, (2, 1, 0)),
    'mono8': (1, np.uint8, (0,)),
    'mono16': (1, np.uint16, (0,)),
}
# sensor_msgs/PointField datatypes
POINT_FIELD_DTYPES = {1: np.int8, 2: np.uint8, 3: np.int16, 4: np.uint16, 5: np.int32, 6: np.uint32,
                      7: np.float32, 8: np.float64}


def image_to_array(msg) -> np.ndarray:
    """sensor_msgs/Image -> H x W x C array in the message's own channel order and dtype (C=1 squeezed)."""
    if msg.encoding not in IMAGE_ENCODINGS:
        raise ConversionError('unsupported_encoding', f'unsupported image encoding {msg.encoding!r}; supported: '
                              f'{", ".join(IMAGE_ENCODINGS)}')
    channels, dtype, _ = IMAGE_ENCODINGS[msg.encoding]
    h, w = int(msg.height), int(msg.width)
    if h == 0 or w == 0:
        raise ConversionError('empty', f'image is empty ({w}x{h})')
    item = np.dtype(dtype).itemsize
    row = w * channels * item
    if msg.step < row:
        raise ConversionError('bad_step', f'image step {msg.step} is smaller than width x channels x bytes = {row}')
    data = msg.data if isinstance(msg.data, (bytes, bytearray, memoryview)) else bytes(msg.data)
    buf = np.frombuffer(data, np.uint8)
    if buf.size < msg.step * (h - 1) + row:
        raise ConversionError('truncated', f'image data has {buf.size} bytes, needs {msg.step * (h - 1) + row} '
                              f'for {w}x{h} {msg.encoding} with step {msg.step}')
    if buf.size < msg.step * h:
        buf = np.concatenate([buf, np.zeros(msg.step * h - buf.size, np.uint8)])  # last row's padding may be cut
    rows = buf[:msg.step * h].reshape(h, msg.step)[:, :row]
    big = bool(msg.is_bigendian)
    typed = np.dtype(dtype).newbyteorder('>' if big else '<') if item > 1 else np.dtype(dtype)
    arr = rows.copy().view(typed).reshape(h, w, channels)
    if item > 1:
        arr = arr.astype(dtype)  # native byte order
    return arr[:, :, 0] if channels == 1 else arr


def image_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/Image -> H x W x 3 uint8 RGB, or H x W uint16 for mono16 (cv_bridge when importable)."""
    if _CvBridge is not None and msg.encoding in IMAGE_ENCODINGS:
        try:
            arr = _CvBridge().imgmsg_to_cv2(msg, desired_encoding='passthrough')
        except Exception as exc:  # noqa: BLE001 - cv_bridge raises its own error type
            raise ConversionError('conversion_failed', f'cv_bridge: {str(exc).splitlines()[0]}') from exc
    else:
        arr = image_to_array(msg)
    _, _, order = IMAGE_ENCODINGS[msg.encoding]
    if arr.ndim == 3 and tuple(order) != tuple(range(arr.shape[2])):
        arr = arr[:, :, list(order)]
    return np.ascontiguousarray(arr)


COMPRESSED_FORMATS = ('jpeg', 'jpg', 'png')


def compressed_to_rgb(msg) -> np.ndarray:
    """
    Decode a sensor_msgs/CompressedImage to an image array.

    sensor_msgs/CompressedImage (JPEG or PNG, ``format`` as ROS's compressed image transport writes it:
    'jpeg', 'png', 'rgb8; jpeg compressed bgr8', ...) -> H x W x 3 uint8 RGB, H x W uint8 or uint16 (mono).
    """
    import cv2
    fmt = str(msg.format).strip().lower()
    codec = fmt.split(';')[-1].split()[0] if ';' in fmt else fmt.split()[0] if fmt else ''
    if 'compresseddepth' in fmt.replace(' ', ''):
        raise ConversionError('unsupported_format', f'compressed depth images ({msg.format!r}) are not camera input')
    if codec not in COMPRESSED_FORMATS:
        raise ConversionError('unsupported_format', f'unsupported compressed format {msg.format!r}; supported: '
                              f'{", ".join(COMPRESSED_FORMATS)} (as written by the compressed image transport)')
    data = msg.data if isinstance(msg.data, (bytes, bytearray, memoryview)) else bytes(msg.data)
    if len(data) == 0:
        raise ConversionError('empty', 'compressed image has no data')
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.size == 0:
        raise ConversionError('undecodable', f'compressed image ({len(data)} bytes, {msg.format!r}) does not decode '
                              '(corrupt or truncated)')
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB)
    elif arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(arr)


def rgb_to_compressed(rgb: np.ndarray, fmt: str = 'jpeg', frame_id: str = '', stamp=None, quality: int = 90):
    """H x W x 3 uint8 RGB -> sensor_msgs/CompressedImage as the compressed image transport writes it."""
    import cv2
    from sensor_msgs.msg import CompressedImage
    ext = {'jpeg': '.jpg', 'png': '.png'}[fmt]
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == 'jpeg' else []
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(rgb[:, :, ::-1]), params)
    if not ok:
        raise ConversionError('encode_failed', f'OpenCV could not encode a {rgb.shape} image as {fmt}')
    msg = CompressedImage()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.format = f'rgb8; {fmt} compressed bgr8'
    msg.data = buf.tobytes()
    return msg


def array_to_image(arr: np.ndarray, encoding: str = 'rgb8', frame_id: str = '', stamp=None):
    """H x W x C (or H x W) array -> sensor_msgs/Image (no padding, little endian)."""
    from sensor_msgs.msg import Image
    if encoding not in IMAGE_ENCODINGS:
        raise ConversionError('unsupported_encoding', f'unsupported image encoding {encoding!r}')
    channels, dtype, _ = IMAGE_ENCODINGS[encoding]
    arr = np.ascontiguousarray(arr, dtype=dtype)
    h, w = arr.shape[:2]
    msg = Image(height=h, width=w, encoding=encoding, is_bigendian=0, step=w * channels * arr.itemsize)
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.data = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
    return msg


def cloud_dtype(msg) -> np.dtype:
    """Return a structured dtype for one point of a PointCloud2, from its field table."""
    names, formats, offsets = [], [], []
    for f in msg.fields:
        if f.datatype not in POINT_FIELD_DTYPES:
            raise ConversionError('bad_field', f'point field {f.name!r} has unknown datatype {f.datatype}')
        base = np.dtype(POINT_FIELD_DTYPES[f.datatype]).newbyteorder('>' if msg.is_bigendian else '<')
        names.append(f.name)
        formats.append(base if f.count <= 1 else (base, (f.count,)))
        offsets.append(f.offset)
    try:
        return np.dtype({'names': names, 'formats': formats, 'offsets': offsets, 'itemsize': msg.point_step})
    except ValueError as exc:
        raise ConversionError('bad_field', f'point fields do not fit point_step {msg.point_step}: {exc}') from None


def cloud_to_array(msg) -> np.ndarray:
    """sensor_msgs/PointCloud2 -> structured array of height*width points (row padding removed)."""
    n_rows, n_cols = int(msg.height), int(msg.width)
    if n_rows * n_cols == 0:
        raise ConversionError('empty', 'point cloud has no points')
    dtype = cloud_dtype(msg)
    if msg.row_step < n_cols * msg.point_step:
        raise ConversionError('bad_step', f'row_step {msg.row_step} is smaller than width x point_step '
                              f'= {n_cols * msg.point_step}')
    data = msg.data if isinstance(msg.data, (bytes, bytearray, memoryview)) else bytes(msg.data)
    buf = np.frombuffer(data, np.uint8)
    need = msg.row_step * (n_rows - 1) + n_cols * msg.point_step
    if buf.size < need:
        raise ConversionError('truncated', f'point cloud data has {buf.size} bytes, needs {need}')
    if buf.size < msg.row_step * n_rows:
        buf = np.concatenate([buf, np.zeros(msg.row_step * n_rows - buf.size, np.uint8)])
    rows = buf[:msg.row_step * n_rows].reshape(n_rows, msg.row_step)[:, :n_cols * msg.point_step]
    return np.ascontiguousarray(rows).view(dtype).reshape(-1)


def cloud_points(msg) -> np.ndarray:
    """
    sensor_msgs/PointCloud2 -> points [N, 3] float64 (x, y, z), or [N, 4] with the driver's ``ring`` (beam number).

    Organised or not, any other fields (intensity, time, ...) ignored; ConversionError without x, y, z or with a
    ``ring`` that is not an integer field.
    """
    points = cloud_to_array(msg)
    names = points.dtype.names or ()
    missing = [n for n in ('x', 'y', 'z') if n not in names]
    if missing:
        raise ConversionError('missing_xyz', f'point cloud has no {"/".join(missing)} field(s); fields: '
                              f'{", ".join(names) or "none"}')
    columns = [points[n].astype(np.float64).ravel() for n in ('x', 'y', 'z')]
    if 'ring' in names:
        if points.dtype['ring'].kind not in 'iu':
            raise ConversionError('bad_ring', f'point cloud field ring is {points.dtype["ring"]}, not an integer '
                                  'type (the beam number)')
        columns.append(points['ring'].astype(np.float64).ravel())
    return np.stack(columns, axis=1)


def array_to_cloud(points: np.ndarray, frame_id: str = '', stamp=None, height: int = 1):
    """Structured numpy array (fields of the PointField types, optional count) -> PointCloud2."""
    from sensor_msgs.msg import PointCloud2, PointField
    codes = {np.dtype(v): k for k, v in POINT_FIELD_DTYPES.items()}
    fields = []
    for name in points.dtype.names:
        base, offset = points.dtype.fields[name][:2]
        count = int(np.prod(base.shape)) if base.shape else 1
        sub = base.base if base.shape else base
        fields.append(PointField(name=name, offset=offset, datatype=codes[np.dtype(sub.newbyteorder('='))],
                                 count=count))
    n = len(points)
    msg = PointCloud2(height=height, width=n // height, fields=fields, is_bigendian=False,
                      point_step=points.dtype.itemsize, row_step=points.dtype.itemsize * (n // height),
                      is_dense=True)
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.data = points.tobytes()
    return msg


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int):
    from builtin_interfaces.msg import Time
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))
