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

"""Image and PointCloud2 <-> numpy, with cv_bridge's semantics; and model input fitting."""
import numpy as np
import pytest
from sensor_msgs.msg import Image, PointCloud2, PointField

from video_object_node.sensing.conversions import (ConversionError, array_to_cloud, array_to_image, cloud_to_array,
                                                   image_to_rgb)
from video_object_node.sensing.preprocess import fit_frame

RGB = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


def image(encoding, arr, step_pad=0, big=False):
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    row = arr.reshape(h, -1).view(np.uint8) if arr.dtype == np.uint8 else \
        arr.astype(arr.dtype.newbyteorder('>' if big else '<')).reshape(h, -1).view(np.uint8)
    rows = np.concatenate([row, np.full((h, step_pad), 0xEE, np.uint8)], axis=1)
    msg = Image(height=h, width=w, encoding=encoding, is_bigendian=int(big), step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


@pytest.mark.parametrize('pad', [0, 3])
def test_colour_encodings_give_rgb(pad):
    np.testing.assert_array_equal(image_to_rgb(image('rgb8', RGB, pad)), RGB)
    np.testing.assert_array_equal(image_to_rgb(image('bgr8', RGB[:, :, ::-1], pad)), RGB)
    rgba = np.concatenate([RGB, np.full((4, 5, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(image_to_rgb(image('rgba8', rgba, pad)), RGB)
    np.testing.assert_array_equal(image_to_rgb(image('bgra8', rgba[:, :, [2, 1, 0, 3]], pad)), RGB)


@pytest.mark.parametrize('big', [False, True])
def test_mono_encodings_and_endianness(big):
    mono = np.arange(20, dtype=np.uint8).reshape(4, 5)
    np.testing.assert_array_equal(image_to_rgb(image('mono8', mono, 2)), mono)
    deep = (np.arange(20, dtype=np.uint16) * 3000).reshape(4, 5)
    out = image_to_rgb(image('mono16', deep, 4, big=big))
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, deep)


@pytest.mark.parametrize('msg,reason,text', [
    (Image(height=2, width=2, encoding='32FC1', step=8, data=b'\x00' * 16), 'unsupported_encoding', "'32FC1'"),
    (Image(height=2, width=4, encoding='rgb8', step=6, data=b'\x00' * 12), 'bad_step', 'step 6 is smaller'),
    (Image(height=4, width=4, encoding='rgb8', step=12, data=b'\x00' * 20), 'truncated', 'has 20 bytes'),
    (Image(height=0, width=0, encoding='rgb8', step=0, data=b''), 'empty', 'empty'),
])
def test_bad_images(msg, reason, text):
    with pytest.raises(ConversionError, match=text) as info:
        image_to_rgb(msg)
    assert info.value.reason == reason and '\n' not in str(info.value)


def test_image_round_trip():
    msg = array_to_image(RGB, 'rgb8', 'cam')
    assert msg.step == 15 and msg.header.frame_id == 'cam'
    np.testing.assert_array_equal(image_to_rgb(msg), RGB)


def cloud(points, dtype_x=np.float32, intensity=False, pad=0, big=False, organised=False):
    fields = [('x', dtype_x), ('y', dtype_x), ('z', dtype_x)] + ([('intensity', np.float32)] if intensity else [])
    order = '>' if big else '<'
    dt = np.dtype({'names': [n for n, _ in fields], 'formats': [np.dtype(t).newbyteorder(order) for _, t in fields],
                   'offsets': list(np.cumsum([0] + [np.dtype(t).itemsize for _, t in fields])[:-1]),
                   'itemsize': sum(np.dtype(t).itemsize for _, t in fields) + pad})
    arr = np.zeros(len(points), dt)
    for i, n in enumerate('xyz'):
        arr[n] = points[:, i]
    code = {np.float32: PointField.FLOAT32, np.float64: PointField.FLOAT64}
    msg = PointCloud2(height=2 if organised else 1, width=len(points) // 2 if organised else len(points),
                      is_bigendian=big, point_step=dt.itemsize, is_dense=False,
                      fields=[PointField(name=n, offset=dt.fields[n][1], datatype=code[t], count=1) for n, t in fields])
    msg.row_step = msg.point_step * msg.width
    msg.data = arr.tobytes()
    return msg


@pytest.mark.parametrize('dtype_x', [np.float32, np.float64])
@pytest.mark.parametrize('big', [False, True])
@pytest.mark.parametrize('organised', [False, True])
def test_cloud_variants(dtype_x, big, organised):
    pts = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [np.nan, 0, 0], [7.0, 8.0, 9.0]])
    arr = cloud_to_array(cloud(pts, dtype_x, intensity=True, pad=4, big=big, organised=organised))
    assert len(arr) == 4 and set(arr.dtype.names) == {'x', 'y', 'z', 'intensity'}
    got = np.stack([arr[n].astype(np.float64) for n in 'xyz'], 1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(pts))
    np.testing.assert_allclose(got[~np.isnan(pts).any(1)], pts[~np.isnan(pts).any(1)])


def test_bad_clouds_and_round_trip():
    msg = cloud(np.ones((3, 3)))
    msg.data = msg.data[:20]
    with pytest.raises(ConversionError, match='needs 36') as info:
        cloud_to_array(msg)
    assert info.value.reason == 'truncated'
    with pytest.raises(ConversionError, match='no points'):
        cloud_to_array(cloud(np.zeros((0, 3))))
    table = np.zeros(3, np.dtype([('id', '<u4'), ('mean', '<f4', (4,))]))
    table['id'], table['mean'] = [5, 6, 7], np.arange(12).reshape(3, 4)
    back = cloud_to_array(array_to_cloud(table, 'f'))
    np.testing.assert_array_equal(back['id'], [5, 6, 7])
    np.testing.assert_array_equal(back['mean'], table['mean'])


def test_fit_frame_crop_and_letterbox():
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, 20:60] = 255                      # the centre square is white
    crop = fit_frame(img, 8, 8, mode='crop')
    assert crop.shape == (3, 8, 8) and crop.dtype == np.float32 and np.allclose(crop, 1.0)
    box = fit_frame(img, 8, 8, mode='letterbox')
    assert np.allclose(box[:, :2], 0) and np.allclose(box[:, 6:], 0) and box[:, 3, 4].min() == 1.0
    mono = fit_frame(np.full((8, 8), 65535, np.uint16), 4, 4)
    assert mono.shape == (3, 4, 4) and np.allclose(mono, 1.0)


def test_fit_frame_matches_the_training_clips_preprocessing():
    """
    Check that the node's resize matches the training clips'.

    The node resizes as the training clips were resized (crop, area average, rounded to 8 bits), for
    crops that are whole multiples of the model's size (OpenCV and torch weigh fractional areas differently).
    """
    from video_object_node.data.dataset import resize_clip
    rng = np.random.default_rng(0)
    for shape in ((64, 64), (480, 640), (96, 128)):
        img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        ref = resize_clip(img[None], np.zeros((1, *shape), np.uint8), np.zeros((1, *shape), np.float32),
                          np.eye(3), (32, 32))['video'][0]
        got = fit_frame(img, 32, 32)
        assert got.dtype == np.float32 and got.shape == (3, 32, 32)
        assert np.abs(got * 255 - ref.transpose(2, 0, 1)).max() <= 1.0 + 1e-4, shape   # rounding ties only
