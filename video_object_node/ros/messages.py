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
Latents -> the node's output messages (the topic contract), and back to numpy for subscribers.

Typed (``video_object_msgs``, built by ``make``; the fields are documented in its ``.msg`` files):
``~/object_latents`` ``ObjectLatents``, ``~/frame_latents`` ``FrameLatents``, ``~/query_result`` ``QueryResult``.
``table_from_msg`` reads them, and the PointCloud2 tables of the first release (published where the interface
package is not built, and found in bags recorded then), into the same numpy tables.

The tables: ``~/object_latents`` (PointCloud2 table): one row per slot, fields ``id`` uint32, ``mean`` float32[D],
``stddev`` float32[D], ``placement`` float32[T*4] for bundles that place their slots per frame, and ``mass``
float32 when masses were decoded; LIDAR bundles that decode also give
``x``, ``y``, ``z`` float32: the centroid (metres, sensor frame) of the returns in the slot's segment of
the window's last sweep, NaN when the slot holds no return, so RViz can draw the objects.
``~/frame_latents`` (PointCloud2 table): one row per frame, ``stamp_sec`` int32, ``stamp_nanosec`` uint32,
``mean`` float32[Df], ``stddev`` float32[Df].
``~/viewpoint`` (PoseWithCovarianceStamped): the pose of the window's last camera in the coordinates of
its first camera (OpenCV axes), from the bundle's pose head (or older bundles' probe); covariance from
validation residuals. A relative pose: stamped at the window's last frame (the pose's time), its header frame is the
input's (the first camera of the window is not a tf frame). tf2 users read ``~/odometry`` instead.
``~/odometry`` (nav_msgs/Odometry): the windows' poses chained (``runtime/odometry.py``) in ``odom_frame``, the
camera as ``child_frame``, stamped at the frame it describes; ``/tf`` the same with ``publish_tf``.
``~/debug_image`` (Image, rgb8): the window's last frame with its segments, ids and the query answer.
``~/markers`` (MarkerArray, LIDAR bundles): a sphere and an id label at each object's centroid.
"""
from __future__ import annotations

import array

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


def _floats(values) -> array.array:
    return array.array('f', np.ascontiguousarray(values, np.float32).tobytes())


def _uints(values) -> array.array:
    return array.array('I', np.ascontiguousarray(values, np.uint32).tobytes())


def object_latents_typed(latents: Latents, ids: np.ndarray, frame_id: str, masses: np.ndarray | None = None,
                         centroids: np.ndarray | None = None, model_id: str = ''):
    """Return the window's ``video_object_msgs/ObjectLatents`` (the same content as ``object_latents_msg``)."""
    from geometry_msgs.msg import Point
    from video_object_msgs.msg import ObjectLatents
    k, d = latents.object_mean.shape
    msg = ObjectLatents(model_id=model_id, num_slots=k, latent_dim=d)
    msg.header.frame_id, msg.header.stamp = frame_id, ns_to_stamp(latents.stamp)
    msg.window_start = ns_to_stamp(latents.stamps[0])
    msg.ids, msg.means, msg.std_devs = _uints(ids), _floats(latents.object_mean), _floats(latents.object_std)
    if latents.placement is not None:
        msg.placement_frames = latents.placement.shape[1]
        msg.placements = _floats(latents.placement)
    if masses is not None:
        msg.masses = _floats(masses)
    if centroids is not None:
        msg.centroids = [Point(x=float(c[0]), y=float(c[1]), z=float(c[2])) for c in centroids]
    return msg


def frame_latents_typed(latents: Latents, frame_id: str, model_id: str = ''):
    """Return the window's ``video_object_msgs/FrameLatents``."""
    from video_object_msgs.msg import FrameLatents
    t, d = latents.frame_mean.shape
    msg = FrameLatents(model_id=model_id, num_frames=t, latent_dim=d)
    msg.header.frame_id, msg.header.stamp = frame_id, ns_to_stamp(latents.stamp)
    msg.stamps = [ns_to_stamp(s) for s in latents.stamps]
    msg.means, msg.std_devs = _floats(latents.frame_mean), _floats(latents.frame_std)
    return msg


def query_result_typed(query: str, rows: list, stamp_ns: int, frame_id: str):
    """Return an object query's answer as ``video_object_msgs/QueryResult`` (best match first)."""
    from geometry_msgs.msg import Point
    from video_object_msgs.msg import QueryMatch, QueryResult
    msg = QueryResult(query=query)
    msg.header.frame_id, msg.header.stamp = frame_id, ns_to_stamp(stamp_ns)
    nan = float('nan')
    msg.matches = [QueryMatch(id=int(r['id']), score=float(r['score']), u=float(r['u']), v=float(r['v']),
                              area=float(r['area']),
                              position=Point(x=float(r.get('x', nan)), y=float(r.get('y', nan)),
                                             z=float(r.get('z', nan)))) for r in rows]
    return msg


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
    _set_pose(msg.pose.pose, pose)
    msg.pose.covariance = [float(v) for v in _pose_covariance(residual_std).ravel()]
    return msg


def _pose_covariance(residual_std: np.ndarray) -> np.ndarray:
    """Return a 6x6 covariance (x, y, z, then rotation) from the viewpoint targets' residual std."""
    cov = np.zeros((6, 6))
    cov[[0, 1, 2], [0, 1, 2]] = residual_std[:3] ** 2
    # Rotation variance (rad^2) ~ the variance of the unit axis vectors' components.
    cov[[3, 4, 5], [3, 4, 5]] = float(np.mean(residual_std[3:9] ** 2))
    return cov


def _set_pose(target, pose: np.ndarray) -> None:
    target.position.x, target.position.y, target.position.z = (float(v) for v in pose[:3, 3])
    target.orientation.x, target.orientation.y, target.orientation.z, target.orientation.w = \
        rotation_to_quaternion(pose[:3, :3])


def odometry_msg(odometry, residual_std: np.ndarray, odom_frame: str, child_frame: str):
    """
    Return the chained viewpoint as nav_msgs/Odometry: the camera (``child_frame``) in ``odom_frame``.

    Stamped at the frame it describes (the window's last). Pose covariance: one window's residuals (the chain's drift
    over many windows is not in it); twist covariance: two poses' residuals over the time between them (-1 on the
    diagonal when there is no velocity yet). Translation in the pose head's units (a camera without depth: up to scale).
    """
    from nav_msgs.msg import Odometry
    msg = Odometry(child_frame_id=child_frame)
    msg.header.frame_id, msg.header.stamp = odom_frame, ns_to_stamp(odometry.stamp_ns)
    _set_pose(msg.pose.pose, odometry.pose)
    cov = _pose_covariance(residual_std)
    msg.pose.covariance = [float(v) for v in cov.ravel()]
    t = msg.twist.twist
    t.linear.x, t.linear.y, t.linear.z = (float(v) for v in odometry.linear)
    t.angular.x, t.angular.y, t.angular.z = (float(v) for v in odometry.angular)
    twist_cov = 2.0 * cov / odometry.dt ** 2 if odometry.dt > 0 else -np.eye(6)
    msg.twist.covariance = [float(v) for v in twist_cov.ravel()]
    return msg


def tf_msg(odometry, odom_frame: str, child_frame: str):
    """Return the chained viewpoint as a tf2_msgs/TFMessage: odom_frame -> child_frame at the window's last frame."""
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage
    tf = TransformStamped(child_frame_id=child_frame)
    tf.header.frame_id, tf.header.stamp = odom_frame, ns_to_stamp(odometry.stamp_ns)
    pose = odometry.pose
    tf.transform.translation.x, tf.transform.translation.y, tf.transform.translation.z = (float(v) for v in pose[:3, 3])
    r = tf.transform.rotation
    r.x, r.y, r.z, r.w = rotation_to_quaternion(pose[:3, :3])
    return TFMessage(transforms=[tf])


OBJECT_CLASS = 'object'      # the class of every detection (SIMONe's slots have no categories)


def _hypotheses(score: float, query: str, query_score: float | None) -> list:
    from vision_msgs.msg import ObjectHypothesis, ObjectHypothesisWithPose
    out = [ObjectHypothesisWithPose(hypothesis=ObjectHypothesis(class_id=OBJECT_CLASS, score=float(score)))]
    if query_score is not None:
        out.append(ObjectHypothesisWithPose(hypothesis=ObjectHypothesis(class_id=query, score=float(query_score))))
    return out


def detections_2d_msg(boxes: np.ndarray, ids: np.ndarray, scores: np.ndarray, query: str, query_scores: dict,
                      stamp_ns: int, frame_id: str):
    """
    Return vision_msgs/Detection2DArray: a box per slot in ``scores`` order whose score is > 0.

    boxes [K, 5] (``overlay.segment_boxes``: centre x, y, width, height in input pixels, pixel count); ``id`` = the
    stable id; hypotheses: class 'object' with the slot's score, and the active query's text with its score when the
    object answers it (``query_scores``: stable id -> score).
    """
    from vision_msgs.msg import Detection2D, Detection2DArray
    out = Detection2DArray()
    out.header.frame_id, out.header.stamp = frame_id, ns_to_stamp(stamp_ns)
    for box, oid, score in zip(boxes, ids, scores):
        if not box[4] > 0 or not score > 0:
            continue
        d = Detection2D(id=str(int(oid)), header=out.header)
        d.bbox.center.position.x, d.bbox.center.position.y = float(box[0]), float(box[1])
        d.bbox.size_x, d.bbox.size_y = float(box[2]), float(box[3])
        d.results = _hypotheses(score, query, query_scores.get(int(oid)))
        out.detections.append(d)
    return out


def detections_3d_msg(centroids: np.ndarray, extents: np.ndarray, ids: np.ndarray, scores: np.ndarray, query: str,
                      query_scores: dict, stamp_ns: int, frame_id: str):
    """
    Return vision_msgs/Detection3DArray: a box per slot with returns whose score is > 0.

    Centre = the centroid, size = the extent (metres, the sensor frame); hypotheses: class 'object' with the slot's
    score (``LatentPipeline.slot_scores``), and the active query's text with its score when the object answers it.
    """
    from vision_msgs.msg import Detection3D, Detection3DArray
    out = Detection3DArray()
    out.header.frame_id, out.header.stamp = frame_id, ns_to_stamp(stamp_ns)
    for centre, size, oid, score in zip(centroids, extents, ids, scores):
        if not np.isfinite(centre).all() or not score > 0:
            continue
        d = Detection3D(id=str(int(oid)), header=out.header)
        p = d.bbox.center.position
        p.x, p.y, p.z = (float(v) for v in centre)
        d.bbox.center.orientation.w = 1.0
        d.bbox.size.x, d.bbox.size.y, d.bbox.size.z = (float(v) for v in np.nan_to_num(size))
        d.results = _hypotheses(score, query, query_scores.get(int(oid)))
        out.detections.append(d)
    return out


def vision_info_msg(model_id: str, frame_id: str = ''):
    """Return the latched vision_msgs/VisionInfo: what made the detections and where their classes are described."""
    from vision_msgs.msg import VisionInfo
    msg = VisionInfo(method=f'video_object_node SIMONe object slots, bundle {model_id}', database_version=1,
                     database_location=f'class_id "{OBJECT_CLASS}" for every object; the text of ~/query for '
                                       'objects that answer it')
    msg.header.frame_id = frame_id
    return msg


def table_from_msg(msg) -> np.ndarray:
    """
    Decode ``object_latents``, ``frame_latents`` or ``query_result`` into a numpy structured array.

    Typed messages (``video_object_msgs``) and the first release's PointCloud2 tables give the same table. A table
    with no rows (a query nothing answers) decodes to an empty array of its fields.
    """
    if hasattr(msg, 'num_slots'):
        return _object_table(msg)
    if hasattr(msg, 'num_frames'):
        t, d = msg.num_frames, msg.latent_dim
        table = np.zeros(t, np.dtype([('stamp_sec', '<i4'), ('stamp_nanosec', '<u4'), ('mean', '<f4', (d,)),
                                      ('stddev', '<f4', (d,))]))
        table['stamp_sec'] = [s.sec for s in msg.stamps]
        table['stamp_nanosec'] = [s.nanosec for s in msg.stamps]
        table['mean'] = np.asarray(msg.means, np.float32).reshape(t, d)
        table['stddev'] = np.asarray(msg.std_devs, np.float32).reshape(t, d)
        return table
    if hasattr(msg, 'matches'):
        xyz = np.array([[m.position.x, m.position.y, m.position.z] for m in msg.matches], np.float32).reshape(-1, 3)
        with_xyz = bool(np.isfinite(xyz).any())
        fields = [('id', '<u4'), ('score', '<f4'), ('u', '<f4'), ('v', '<f4'), ('area', '<f4')]
        table = np.zeros(len(msg.matches), np.dtype(fields + ([('x', '<f4'), ('y', '<f4'), ('z', '<f4')]
                                                              if with_xyz else [])))
        for name in ('id', 'score', 'u', 'v', 'area'):
            table[name] = [getattr(m, name) for m in msg.matches]
        if with_xyz:
            table['x'], table['y'], table['z'] = xyz.T
        return table
    if msg.width * msg.height == 0:
        from ..sensing.conversions import cloud_dtype
        return np.zeros(0, cloud_dtype(msg))
    return cloud_to_array(msg)


def _object_table(msg) -> np.ndarray:
    """Decode ObjectLatents into the object table of ``object_latents_msg``."""
    k, d = msg.num_slots, msg.latent_dim
    frames = msg.placement_frames if len(msg.placements) else 0
    table = np.zeros(k, object_table_dtype(d, len(msg.masses) > 0, len(msg.centroids) > 0, frames))
    table['id'] = np.asarray(msg.ids, np.uint32)
    table['mean'] = np.asarray(msg.means, np.float32).reshape(k, d)
    table['stddev'] = np.asarray(msg.std_devs, np.float32).reshape(k, d)
    if frames:
        table['placement'] = np.asarray(msg.placements, np.float32).reshape(k, frames * 4)
    if len(msg.masses):
        table['mass'] = np.asarray(msg.masses, np.float32)
    if len(msg.centroids):
        table['x'] = [c.x for c in msg.centroids]
        table['y'] = [c.y for c in msg.centroids]
        table['z'] = [c.z for c in msg.centroids]
    return table


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

    from ..palette import id_colours
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
