"""
Latents -> the node's output messages (the topic contract), and back to numpy for subscribers.

``~/object_latents`` (PointCloud2 table): one row per slot, fields ``id`` uint32, ``mean`` float32[D],
``stddev`` float32[D], ``placement`` float32[T*4] for bundles that place their slots per frame, and ``mass``
float32 when masses were decoded; LIDAR bundles that decode also give
``x``, ``y``, ``z`` float32: the centroid (metres, sensor frame) of the returns in the slot's segment of
the window's last sweep, NaN when the slot holds no return, so RViz can draw the objects.
``~/frame_latents`` (PointCloud2 table): one row per frame, ``stamp_sec`` int32, ``stamp_nanosec`` uint32,
``mean`` float32[Df], ``stddev`` float32[Df].
``~/viewpoint`` (PoseWithCovarianceStamped): the pose of the window's last camera in the coordinates of
its first camera (OpenCV axes), from the bundle's pose head (or older bundles' probe); covariance from
validation residuals.
``~/debug_image`` (Image, rgb8): the window's last frame with its segments, ids and the query answer.
``~/markers`` (MarkerArray, LIDAR bundles): a sphere and an id label at each object's centroid.
"""
from __future__ import annotations

import numpy as np

from ..runtime.streaming import Latents
from ..sensing.conversions import array_to_cloud, cloud_to_array, ns_to_stamp


def object_table_dtype(dim: int, with_mass: bool, with_centroid: bool = False,
                       placement_frames: int = 0) -> np.dtype:
    fields = [('id', '<u4'), ('mean', '<f4', (dim,)), ('stddev', '<f4', (dim,))]
    fields += [('mass', '<f4')] if with_mass else []
    fields += [('x', '<f4'), ('y', '<f4'), ('z', '<f4')] if with_centroid else []
    fields += [('placement', '<f4', (placement_frames * 4,))] if placement_frames else []
    return np.dtype(fields)


def object_latents_msg(latents: Latents, ids: np.ndarray, frame_id: str, masses: np.ndarray | None = None,
                       centroids: np.ndarray | None = None):
    """
    Return the ~/object_latents table of a window.

    ``centroids``: [K, 3] metres in the sensor frame (NaN rows for slots without returns), or None. Bundles that place
    their slots per frame add ``placement`` (T x (x, y, sx, sy), flattened): with it a subscriber can decode the window
    from the published latents alone.
    """
    k, d = latents.object_mean.shape
    frames = 0 if latents.placement is None else latents.placement.shape[1]
    table = np.zeros(k, object_table_dtype(d, masses is not None, centroids is not None, frames))
    table['id'], table['mean'], table['stddev'] = ids, latents.object_mean, latents.object_std
    if frames:
        table['placement'] = latents.placement.reshape(k, -1)
    if masses is not None:
        table['mass'] = masses
    if centroids is not None:
        table['x'], table['y'], table['z'] = centroids[:, 0], centroids[:, 1], centroids[:, 2]
    return array_to_cloud(table, frame_id=frame_id, stamp=ns_to_stamp(latents.stamp))


def frame_latents_msg(latents: Latents, frame_id: str):
    t, d = latents.frame_mean.shape
    table = np.zeros(t, np.dtype([('stamp_sec', '<i4'), ('stamp_nanosec', '<u4'), ('mean', '<f4', (d,)),
                                  ('stddev', '<f4', (d,))]))
    stamps = np.array(latents.stamps, np.int64)
    table['stamp_sec'], table['stamp_nanosec'] = stamps // 1_000_000_000, stamps % 1_000_000_000
    table['mean'], table['stddev'] = latents.frame_mean, latents.frame_std
    return array_to_cloud(table, frame_id=frame_id, stamp=ns_to_stamp(latents.stamp))


def rotation_to_quaternion(r: np.ndarray) -> tuple[float, float, float, float]:
    """3x3 rotation -> (x, y, z, w)."""
    w = np.sqrt(max(0.0, 1.0 + r[0, 0] + r[1, 1] + r[2, 2])) / 2.0
    x = np.copysign(np.sqrt(max(0.0, 1.0 + r[0, 0] - r[1, 1] - r[2, 2])) / 2.0, r[2, 1] - r[1, 2])
    y = np.copysign(np.sqrt(max(0.0, 1.0 - r[0, 0] + r[1, 1] - r[2, 2])) / 2.0, r[0, 2] - r[2, 0])
    z = np.copysign(np.sqrt(max(0.0, 1.0 - r[0, 0] - r[1, 1] + r[2, 2])) / 2.0, r[1, 0] - r[0, 1])
    return float(x), float(y), float(z), float(w)


def viewpoint_msg(pose: np.ndarray, residual_std: np.ndarray, stamp_ns: int, frame_id: str):
    """4x4 pose + the probe's residual std per target -> PoseWithCovarianceStamped."""
    from geometry_msgs.msg import PoseWithCovarianceStamped
    msg = PoseWithCovarianceStamped()
    msg.header.frame_id = frame_id
    msg.header.stamp = ns_to_stamp(stamp_ns)
    p = msg.pose.pose
    p.position.x, p.position.y, p.position.z = (float(v) for v in pose[:3, 3])
    p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = rotation_to_quaternion(pose[:3, :3])
    cov = np.zeros((6, 6))
    cov[[0, 1, 2], [0, 1, 2]] = residual_std[:3] ** 2
    # Rotation variance (rad^2) ~ the variance of the unit axis vectors' components.
    cov[[3, 4, 5], [3, 4, 5]] = float(np.mean(residual_std[3:9] ** 2))
    msg.pose.covariance = [float(v) for v in cov.ravel()]
    return msg


def table_from_msg(msg) -> np.ndarray:
    """
    Decode a table (``object_latents``, ``frame_latents``, ``query_result``) into a numpy structured array.

    A table with no rows (a query nothing answers) decodes to an empty array of its fields.
    """
    if msg.width * msg.height == 0:
        from ..sensing.conversions import cloud_dtype
        return np.zeros(0, cloud_dtype(msg))
    return cloud_to_array(msg)


def debug_image_msg(image: np.ndarray, stamp_ns: int, frame_id: str):
    """uint8 RGB [H, W, 3] -> sensor_msgs/Image rgb8, stamped like the window's other outputs."""
    from ..sensing.conversions import array_to_image
    return array_to_image(image, 'rgb8', frame_id, ns_to_stamp(stamp_ns))


def debug_image_compressed_msg(image: np.ndarray, stamp_ns: int, frame_id: str):
    """uint8 RGB [H, W, 3] -> sensor_msgs/CompressedImage (JPEG, as the compressed image transport writes it)."""
    from ..sensing.conversions import rgb_to_compressed
    return rgb_to_compressed(image, 'jpeg', frame_id, ns_to_stamp(stamp_ns))


MARKER_LIFETIME_S = 1.0     # a marker not refreshed within a second (its object gone) vanishes
MARKER_DIAMETER_M = 0.3


def markers_msg(ids: np.ndarray, centroids: np.ndarray, stamp_ns: int, frame_id: str):
    """
    Return RViz markers for the objects' centroids.

    A sphere (namespace 'objects') and a text label (namespace 'ids') at each finite centroid [K, 3], in a
    colour fixed per stable id; marker ids are the stable ids, so RViz updates each object in place.
    """
    from builtin_interfaces.msg import Duration
    from visualization_msgs.msg import Marker, MarkerArray

    from ..runtime.overlay import id_colours
    out = MarkerArray()
    colours = id_colours(ids) / 255.0
    lifetime = Duration(sec=int(MARKER_LIFETIME_S), nanosec=int(MARKER_LIFETIME_S % 1 * 1e9))
    for oid, centre, colour in zip(ids, centroids, colours):
        if not np.isfinite(centre).all():
            continue
        for ns, kind in (('objects', Marker.SPHERE), ('ids', Marker.TEXT_VIEW_FACING)):
            m = Marker(ns=ns, id=int(oid), type=kind, action=Marker.ADD, lifetime=lifetime, frame_locked=False)
            m.header.frame_id, m.header.stamp = frame_id, ns_to_stamp(stamp_ns)
            m.pose.position.x, m.pose.position.y = float(centre[0]), float(centre[1])
            m.pose.position.z = float(centre[2]) + (0.0 if kind == Marker.SPHERE else MARKER_DIAMETER_M)
            m.pose.orientation.w = 1.0
            size = MARKER_DIAMETER_M if kind == Marker.SPHERE else MARKER_DIAMETER_M * 0.8
            m.scale.x = m.scale.y = m.scale.z = size
            m.color.r, m.color.g, m.color.b, m.color.a = (float(colour[0]), float(colour[1]), float(colour[2]),
                                                          0.8 if kind == Marker.SPHERE else 1.0)
            if kind == Marker.TEXT_VIEW_FACING:
                m.text = str(int(oid))
            out.markers.append(m)
    return out


def query_result_msg(rows: list, with_xyz: bool, stamp_ns: int, frame_id: str):
    """
    Return an object query's answer, best match first.

    PointCloud2 table ``id`` uint32, ``score``, ``u``, ``v`` (input pixels), ``area`` (share of the image) float32, and
    ``x``, ``y``, ``z`` (metres) for LIDAR bundles; no rows when nothing matches.
    """
    fields = [('id', '<u4'), ('score', '<f4'), ('u', '<f4'), ('v', '<f4'), ('area', '<f4')]
    fields += [('x', '<f4'), ('y', '<f4'), ('z', '<f4')] if with_xyz else []
    table = np.zeros(len(rows), np.dtype(fields))
    for i, row in enumerate(rows):
        for name in table.dtype.names:
            table[name][i] = row[name]
    return array_to_cloud(table, frame_id=frame_id, stamp=ns_to_stamp(stamp_ns))


def query_mask_msg(mask: np.ndarray, stamp_ns: int, frame_id: str):
    """uint8 [H, W] -> sensor_msgs/Image mono8."""
    from ..sensing.conversions import array_to_image
    return array_to_image(mask, 'mono8', frame_id, ns_to_stamp(stamp_ns))
