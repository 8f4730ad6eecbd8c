"""Simulated data: PyBullet scenes (``sim``, imported on demand) and clip data sets on disk."""
from .dataset import ClipDataset, DatasetError, read_index, resize_clip, video_tensor

__all__ = ['ClipDataset', 'DatasetError', 'read_index', 'resize_clip', 'video_tensor']
