"""
Simulated data: PyBullet scenes (``sim``, imported on demand), clip data sets on disk and their makers.

Names are loaded when first used, so that ``data.lidar`` (numpy, the node's LIDAR projection) does not bring the
data set code (torch) with it.
"""
__all__ = ['ClipDataset', 'DatasetError', 'read_index', 'resize_clip', 'video_tensor']


def __getattr__(name: str):
    if name in __all__:
        from . import dataset
        return getattr(dataset, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
