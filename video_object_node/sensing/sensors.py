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
The sensor seam: everything that differs between input modalities, behind one interface.

A ``Sensor`` knows, for its modality (a bundle's ``modality``):

- how a raw reading becomes the model's input frame (``frame``: an RGB image, or a point cloud's x/y/z
  projected to a range image), with the reason when it cannot (``ConversionError``);
- what it adds to a model bundle (``bundle_entry``; read back by ``sensor_for_bundle``) and the check that
  the sensor's output fits the model's input;
- how a data set clip becomes training input and labels (``for_dataset``, given the data set's index;
  ``window_inputs``, ``pose_key``);
- the geometry a decoded segmentation maps back to (``geometry``, ``centroids``: LIDAR gives 3-D centroids).

A new modality (a depth camera, say) is one subclass registered in ``SENSORS`` plus its tests. ROS message
decoding stays in ``sensing/conversions.py``: this module is ROS-free.
"""
from __future__ import annotations

import numpy as np

from ..data.config import SimConfig
from ..model.config import SimoneConfig
from .config import LidarConfig


class ConversionError(ValueError):
    """A reading cannot become a model input; ``reason`` is a short key for the rejection counters."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class SensorError(ValueError):
    """A sensor does not fit a model or a data set (one line naming both sides)."""


class Sensor:
    """Base class; see the module doc. ``input_kind`` names what a reading is: 'image' or 'points'."""

    modality = ''
    input_kind = ''
    pose_key = 'extrinsics'        # the clip's world<-sensor poses [T, 4, 4]
    sees_colour = True             # whether object colour is observable (a label for the attribute heads)
    gives_3d = False               # whether segments map back to 3-D points (centroids, markers, query x/y/z)

    def __init__(self, model_cfg: SimoneConfig):
        self.model_cfg = model_cfg

    def bundle_entry(self) -> dict:
        """Return what a bundle's config.json records for this sensor, beside the model config."""
        return {}

    def dataset_size(self) -> tuple | None:
        """(H, W) the data set's clips are resized to, or None when they are used as stored."""
        return None

    @property
    def reads_motion(self) -> bool:
        """Whether the model's input carries each frame's motion (data sets then compute it per clip)."""
        return False

    def window_inputs(self, clip: dict) -> tuple[np.ndarray, np.ndarray | None]:
        """
        Return a clip's model input and its segmentation truth.

        A clip's model input uint8 [T, C, H, W] and its segmentation truth [T, H, W] (0 = background), or
        None where the clip has no masks.
        """
        raise NotImplementedError

    def frame(self, reading: np.ndarray, resize_mode: str = 'crop') -> np.ndarray:
        """One reading -> the model's input frame float32 [C, H, W]; ConversionError when it cannot."""
        raise NotImplementedError

    def geometry(self, frame: np.ndarray) -> np.ndarray | None:
        """Return what to keep of an input frame to map segments back to space (None: nothing)."""
        return None

    def view_image(self, reading: np.ndarray | None, frame: np.ndarray | None) -> np.ndarray | None:
        """Return the picture the debug view draws segments on (the camera's image; a LIDAR's range image)."""
        return reading

    def motion_image(self, reading: np.ndarray, resize_mode: str = 'crop') -> np.ndarray | None:
        """Return the image a motion-reading model's flow is estimated on (None: the model reads no motion)."""
        return None

    def centroids(self, geometry: np.ndarray, segments: np.ndarray, count: int) -> np.ndarray | None:
        """Per segment id < count, its centroid in the sensor frame [count, 3] (None when the sensor has no 3-D)."""
        return None

    def extents(self, geometry: np.ndarray, segments: np.ndarray, count: int) -> np.ndarray | None:
        """Per segment id < count, the size of its axis-aligned box [count, 3] (None when the sensor has no 3-D)."""
        return None

    def fit_mode(self, resize_mode: str) -> str:
        """
        Say how the model's frame sits in the view image.

        How the model's frame sits in the view image (the ``resize_mode`` parameter, or 'crop' where the
        frame is the view itself).
        """
        return 'crop'

    def view_size(self, reading: np.ndarray | None) -> tuple:
        """(height, width) of the image a window's positions refer to (the model's frame by default)."""
        return (self.model_cfg.height, self.model_cfg.width)


class CameraSensor(Sensor):
    """An RGB camera: frames are centre-cropped (or letterboxed) and area-resized to the model's size."""

    modality = 'camera'
    input_kind = 'image'

    def fit_mode(self, resize_mode: str) -> str:
        return resize_mode

    def view_size(self, reading: np.ndarray | None) -> tuple:
        return (self.model_cfg.height, self.model_cfg.width) if reading is None else tuple(reading.shape[:2])

    @classmethod
    def for_dataset(cls, root, index: dict, model_cfg: SimoneConfig) -> 'CameraSensor':
        return cls(model_cfg)

    def dataset_size(self) -> tuple:
        return (self.model_cfg.height, self.model_cfg.width)

    @property
    def reads_motion(self) -> bool:
        return self.model_cfg.motion_input

    def window_inputs(self, clip: dict):
        masks = clip.get('masks')
        video = clip['video'].transpose(0, 3, 1, 2)
        if self.reads_motion:
            from .motion import clip_motion
            motion = clip['motion'] if 'motion' in clip else clip_motion(clip['video'])
            video = np.concatenate([video, motion], axis=1)
        return video, None if masks is None else masks.astype(np.int64)

    def motion_image(self, reading: np.ndarray, resize_mode: str = 'crop') -> np.ndarray | None:
        """
        For a model that reads motion.

        The image its flow is estimated on (uint8 RGB, fitted like the frame at ``MOTION_RESOLUTION`` times the model's
        size); None for a model that does not.
        """
        if not self.reads_motion:
            return None
        from .motion import motion_source_size
        from .preprocess import fit_image
        c = self.model_cfg
        try:
            image = fit_image(reading, *motion_source_size((c.height, c.width)), c.image_channels, resize_mode)
        except ValueError as exc:
            raise ConversionError('bad_image', str(exc)) from None
        return (image >> 8).astype(np.uint8) if image.dtype == np.uint16 else image

    def frame(self, reading: np.ndarray, resize_mode: str = 'crop') -> np.ndarray:
        """
        Return the camera's image at the model's size [C_image, H, W].

        A model that reads motion gets its motion channels from the stream (``runtime/streaming.py``), which knows the
        previous frame.
        """
        from .preprocess import fit_frame
        c = self.model_cfg
        try:
            return fit_frame(reading, c.height, c.width, c.image_channels, resize_mode)
        except ValueError as exc:
            raise ConversionError('bad_image', str(exc)) from None


class LidarSensor(Sensor):
    """
    A LIDAR seen as a range image of its sensor model (``LidarConfig``).

    Channels range / max_range and height (z + 2.5 m) / 3.5 m, 0 where there is no return
    (``data.lidar.range_image_input``).
    """

    modality = 'lidar'
    input_kind = 'points'
    pose_key = 'lidar_pose'
    sees_colour = False
    gives_3d = True

    def __init__(self, model_cfg: SimoneConfig, lidar: LidarConfig):
        super().__init__(model_cfg)
        self.lidar = lidar
        if (lidar.channels, lidar.azimuth_bins, 2) != (model_cfg.height, model_cfg.width, model_cfg.channels):
            raise SensorError(f'the LIDAR gives 2x{lidar.channels}x{lidar.azimuth_bins} range images; the model '
                              f'takes {model_cfg.channels}x{model_cfg.height}x{model_cfg.width}')

    @classmethod
    def for_dataset(cls, root, index: dict, model_cfg: SimoneConfig) -> 'LidarSensor':
        lidar = SimConfig.from_dict(index['sim']).lidar
        if lidar is None:
            raise SensorError(f'{root} has no LIDAR returns; a LIDAR model needs a data set of the lidar preset')
        try:
            return cls(model_cfg, lidar)
        except SensorError as exc:
            raise SensorError(f'{root}: {exc}') from None

    def bundle_entry(self) -> dict:
        import dataclasses
        return {'lidar': dataclasses.asdict(self.lidar)}

    def window_inputs(self, clip: dict):
        from .lidar import range_image_input
        x = np.stack([range_image_input(r, self.lidar) for r in clip['lidar_range']])
        labels = clip['lidar_ids'].astype(np.int64)
        labels[labels < 0] = 0
        return (x * 255.0).round().astype(np.uint8), labels

    def frame(self, reading: np.ndarray, resize_mode: str = 'crop') -> np.ndarray:
        """
        Return the model input of ``reading``: points [N, 3] (x, y, z in the sensor frame, metres).

        A fourth column is the driver's ring (beam number): it gives each return its row.
        """
        from .lidar import project, range_image_input
        reading = np.asarray(reading, np.float64)
        ring = reading[:, 3].astype(np.int64) if reading.ndim == 2 and reading.shape[1] == 4 else None
        projection = project(reading[:, :3] if ring is not None else reading, self.lidar, ring)
        if not np.isfinite(projection.range).any():
            raise ConversionError('no_valid_points', f'point cloud has no usable return among {len(reading)} points '
                                  f'({", ".join(f"{k} {v}" for k, v in projection.dropped.items() if v)})')
        return range_image_input(projection.range, self.lidar)

    def view_image(self, reading, frame):
        from .lidar import range_view
        return None if frame is None else range_view(frame)

    def geometry(self, frame: np.ndarray) -> np.ndarray:
        """Return the frame's range image in metres (inf where there is no return)."""
        return np.where(frame[0] > 0, frame[0] * self.lidar.max_range, np.inf)

    def centroids(self, geometry: np.ndarray, segments: np.ndarray, count: int) -> np.ndarray:
        from .lidar import segment_centroids
        return segment_centroids(geometry, self.lidar, segments.reshape(geometry.shape), count)

    def extents(self, geometry: np.ndarray, segments: np.ndarray, count: int) -> np.ndarray:
        from .lidar import segment_extents
        return segment_extents(geometry, self.lidar, segments.reshape(geometry.shape), count)


SENSORS = {'camera': CameraSensor, 'lidar': LidarSensor}


def sensor_for_bundle(doc: dict, model_cfg: SimoneConfig | None = None) -> Sensor:
    """Return the sensor of a bundle's parsed config.json (``model_cfg``: its already-parsed model config)."""
    cfg = model_cfg or SimoneConfig.from_dict(doc['model'])
    if cfg.modality == 'lidar':
        if 'lidar' not in doc:
            raise SensorError('LIDAR bundle has no sensor model ("lidar" in config.json)')
        return LidarSensor(cfg, LidarConfig.from_dict(doc['lidar']))
    return SENSORS[cfg.modality](cfg)
