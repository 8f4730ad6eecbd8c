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
PyBullet scenes: objects thrown onto a ground plane, seen by a moving camera and a spinning LIDAR.

``render_clip(cfg, seed)`` simulates one clip and returns its ground truth as a dict of numpy arrays
(see ``CLIP_KEYS``). Every random choice comes from ``numpy.random.default_rng(seed)``, so a seed
gives the same bytes on every run. Each process keeps one headless PyBullet connection
(``SceneSimulator``); the TinyRenderer runs on the CPU.

Conventions: world z up; camera axes as OpenCV (x right, y down, z forward); ``extrinsics`` is
world<-camera; LIDAR sensor frame is REP 103 (x forward, y left, z up), mounted at the camera
position, level, facing the camera's heading.
"""
from __future__ import annotations

import ctypes
import importlib
import math
import os
import shutil
import sys
import tempfile

import numpy as np

from .config import SimConfig
from ..palette import COLOUR_RGB, SHAPE_IDS
from ..sensing.lidar import beam_angles

AGENT_IDS = {'car': 1, 'cyclist': 2, 'person': 3}                 # road agents (``SimConfig.agents``); 0 = a shape
GROUND_COLOUR = (0.55, 0.55, 0.52, 1.0)
PALETTE = tuple(tuple(float(c) for c in rgb) for rgb in COLOUR_RGB)     # palette.COLOUR_RGB, as pybullet takes it
TARGET_HEIGHT = 0.3   # the camera looks at this height above the scene centre
TEXTURE_PIXELS = 256  # side of a procedural ground texture (the whole ground: room_size metres)
WALL_HEIGHT = 3.0


def _import_quietly(name: str):
    """Import a module with C-level stdout/stderr sent to /dev/null (pybullet prints its build time)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, 'w') as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            module = importlib.import_module(name)
            ctypes.CDLL(None).fflush(None)  # flush C stdio while the fds still point at /dev/null
            return module
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


pybullet = _import_quietly('pybullet')
RAY_BATCH = 8192  # below pybullet's MAX_RAY_INTERSECTION_BATCH_SIZE


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """world<-camera 4x4 with OpenCV camera axes (x right, y down, z forward)."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    right = right / np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, eye
    return pose


def intrinsics_matrix(cfg: SimConfig) -> np.ndarray:
    """Pinhole intrinsics of the rendered images (OpenCV convention: pixel centres at integers)."""
    f = cfg.height / (2.0 * math.tan(math.radians(cfg.camera_fov) / 2.0))
    return np.array([[f, 0.0, cfg.width / 2.0 - 0.5], [0.0, f, cfg.height / 2.0 - 0.5], [0.0, 0.0, 1.0]])


def camera_path(cfg: SimConfig, rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """Return a trajectory name and the world<-camera poses [T, 4, 4] of one clip; the scene stays in view."""
    t = np.arange(cfg.frames) / cfg.frame_rate
    kind = cfg.trajectories[rng.integers(len(cfg.trajectories))]
    dist = rng.uniform(*cfg.camera_distance)
    height = rng.uniform(*cfg.camera_height)
    speed = rng.uniform(*cfg.camera_speed) * rng.choice([-1.0, 1.0])
    azimuth0 = rng.uniform(0, 2 * np.pi)
    azimuth = np.full_like(t, azimuth0)
    dists, heights = np.full_like(t, dist), np.full_like(t, height)
    targets = np.tile([0.0, 0.0, TARGET_HEIGHT], (cfg.frames, 1))
    if kind == 'drive':
        # Along the free lane (world +x) at a constant speed (m/s), level, through the scene centre at mid-clip.
        x = abs(speed) * (t - t.mean())
        eyes = np.stack([x, np.zeros_like(x), heights], axis=-1)
        return kind, np.stack([look_at(e, e + np.array([10.0, 0.0, 0.0])) for e in eyes])
    if kind == 'orbit':
        azimuth = azimuth0 + speed * t
    elif kind == 'pan':
        # Fixed camera, the view direction sweeps across the scene (a pan of up to ~ +-15 degrees).
        side = np.array([-np.sin(azimuth0), np.cos(azimuth0), 0.0])
        sweep = np.clip(speed * (t - t.mean()), -0.27, 0.27) * dist
        targets = targets + sweep[:, None] * side[None, :]
    elif kind == 'random_walk':
        # Smooth random walk: integrated, low-passed noise on azimuth, distance and height.
        steps = rng.normal(size=(cfg.frames, 3)) * abs(speed) / cfg.frame_rate
        smooth = np.cumsum(np.cumsum(steps, axis=0) * 0.5, axis=0)
        azimuth = azimuth0 + smooth[:, 0] * 2.0
        dists = np.clip(dist + smooth[:, 1] * dist, cfg.camera_distance[0], cfg.camera_distance[1])
        heights = np.clip(height + smooth[:, 2] * height, cfg.camera_height[0], cfg.camera_height[1])
    eyes = np.stack([dists * np.cos(azimuth), dists * np.sin(azimuth), heights], axis=-1)
    return kind, np.stack([look_at(e, g) for e, g in zip(eyes, targets)])


def lidar_directions(cfg: SimConfig) -> np.ndarray:
    """Return the unit ray directions in the sensor frame [channels, azimuth_bins, 3]."""
    elev, az = beam_angles(cfg.lidar)            # row 0 = top beam
    el, a = np.meshgrid(elev, az, indexing='ij')
    return np.stack([np.cos(el) * np.cos(a), np.cos(el) * np.sin(a), np.sin(el)], axis=-1)


def lidar_pose(camera_pose: np.ndarray) -> np.ndarray:
    """world<-lidar: at the camera position, level, x along the camera's horizontal heading."""
    forward = camera_pose[:3, 2].copy()
    forward[2] = 0.0
    forward /= np.linalg.norm(forward)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = forward, np.cross([0.0, 0.0, 1.0], forward), [0.0, 0.0, 1.0]
    pose[:3, 3] = camera_pose[:3, 3]
    return pose


def ground_texture(rng: np.random.Generator, room_size: float, pixels: int = TEXTURE_PIXELS) -> np.ndarray:
    """
    Return a procedural ground texture uint8 [pixels, pixels, 3] covering ``room_size`` metres.

    Tiles, a checker or smooth blotches in muted colours, with fine grain. Structure at 0.3-1 m makes the ground's
    motion (the camera's ego-motion) visible at 32x32, and its colours overlap the objects' so that colour alone does
    not separate them.
    """
    kind = ('tiles', 'checker', 'blotches')[rng.integers(3)]
    per_metre = pixels / room_size
    base = np.array(_hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.5), rng.uniform(0.35, 0.75)))
    other = np.array(_hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.6), rng.uniform(0.25, 0.85)))
    ys, xs = np.mgrid[0:pixels, 0:pixels] / per_metre                     # metres
    if kind == 'blotches':
        coarse = rng.uniform(size=(int(room_size / 0.6) + 2,) * 2)
        import cv2
        mix = cv2.resize(coarse.astype(np.float32), (pixels, pixels), interpolation=cv2.INTER_CUBIC).clip(0, 1)
        mix = (mix > 0.5).astype(np.float32) * 0.7 + mix * 0.3
    else:
        tile = rng.uniform(0.35, 1.0)
        iy, ix = (ys // tile).astype(int), (xs // tile).astype(int)
        if kind == 'checker':
            mix = ((iy + ix) % 2).astype(np.float32)
        else:  # tiles: every tile its own shade between the two colours, with dark grout lines
            shades = rng.uniform(size=(iy.max() + 1, ix.max() + 1))
            mix = shades[iy, ix].astype(np.float32)
            grout = (np.minimum(ys % tile, xs % tile) < 0.04)
            mix[grout] = 0.0
    rgb = base[None, None] * (1 - mix[..., None]) + other[None, None] * mix[..., None]
    rgb = rgb * rng.uniform(0.9, 1.1, size=(pixels, pixels, 1))           # grain
    return (rgb.clip(0, 1) * 255).round().astype(np.uint8)


def wall_texture(rng: np.random.Generator, length: float, pixels: int = 128) -> np.ndarray:
    """
    Return a wall's texture uint8 [pixels/4, pixels, 3].

    Panels of random width and colour under a band, so the background has structure (vertical edges to see rotation
    against, a horizon to see pitch against).
    """
    h, w = pixels // 4, pixels
    out = np.zeros((h, w, 3))
    x = 0
    while x < w:
        width = int(rng.integers(max(2, w // 24), max(3, w // 6)))
        out[:, x:x + width] = _hsv_to_rgb(rng.uniform(), rng.uniform(0.1, 0.7), rng.uniform(0.3, 0.95))
        x += width
    band = slice(int(h * 0.15), int(h * 0.3))
    out[band] = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.5), rng.uniform(0.2, 0.9))
    return (out * 255).round().astype(np.uint8)


class SceneSimulator:
    """One headless PyBullet connection that renders clips for a ``SimConfig``."""

    def __init__(self, cfg: SimConfig):
        self.cfg = cfg
        self.client = pybullet.connect(pybullet.DIRECT)
        self.intrinsics = intrinsics_matrix(cfg)
        near, far = 0.1, 100.0
        self.near, self.far = near, far
        self.projection = pybullet.computeProjectionMatrixFOV(cfg.camera_fov, cfg.width / cfg.height, near, far,
                                                              physicsClientId=self.client)
        self.lidar_dirs = lidar_directions(cfg) if cfg.lidar else None
        self._texture_dir = None

    def close(self) -> None:
        if self.client is not None and pybullet.isConnected(self.client):
            pybullet.disconnect(self.client)
        self.client = None
        if self._texture_dir is not None:
            shutil.rmtree(self._texture_dir, ignore_errors=True)
            self._texture_dir = None

    def _load_texture(self, image: np.ndarray) -> int:
        """Hand an RGB image to PyBullet (which reads textures from files only); the file is removed again."""
        import cv2
        if self._texture_dir is None:
            self._texture_dir = tempfile.mkdtemp(prefix='vo-textures-')
        # PyBullet caches textures by file name: every texture gets a name of its own.
        self._textures = getattr(self, '_textures', 0) + 1
        path = os.path.join(self._texture_dir, f'texture-{self._textures}.png')
        cv2.imwrite(path, np.ascontiguousarray(image[:, :, ::-1]))
        try:
            return pybullet.loadTexture(path, physicsClientId=self.client)
        finally:
            os.unlink(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Scene construction -----------------------------------------------------------------------
    def _body(self, shape: str, size: float, mass: float, colour, position, orientation) -> int:
        c, p = self.client, pybullet
        if shape == 'cube':
            kw = dict(shapeType=p.GEOM_BOX, halfExtents=[size / 2] * 3)
            col = p.createCollisionShape(physicsClientId=c, **kw)
            vis = p.createVisualShape(rgbaColor=colour, physicsClientId=c, **kw)
        elif shape == 'sphere':
            col = p.createCollisionShape(p.GEOM_SPHERE, radius=size / 2, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_SPHERE, radius=size / 2, rgbaColor=colour, physicsClientId=c)
        elif shape == 'cylinder':
            col = p.createCollisionShape(p.GEOM_CYLINDER, radius=size / 2, height=size, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_CYLINDER, radius=size / 2, length=size, rgbaColor=colour,
                                      physicsClientId=c)
        else:  # capsule: total length = size
            r = size / 4
            col = p.createCollisionShape(p.GEOM_CAPSULE, radius=r, height=size - 2 * r, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_CAPSULE, radius=r, length=size - 2 * r, rgbaColor=colour,
                                      physicsClientId=c)
        return p.createMultiBody(baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                                 basePosition=position, baseOrientation=orientation, physicsClientId=c)

    def _build_scene(self, rng: np.random.Generator) -> list[dict]:
        cfg, c, p = self.cfg, self.client, pybullet
        p.resetSimulation(physicsClientId=c)
        p.setGravity(0, 0, -9.81, physicsClientId=c)
        p.setTimeStep(1.0 / cfg.physics_rate, physicsClientId=c)
        textured = cfg.ground == 'textured'
        half = cfg.room_size / 2 if textured or cfg.walls else 200.0
        ground_col = p.createCollisionShape(p.GEOM_BOX, halfExtents=[half, half, 0.5], physicsClientId=c)
        ground_vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[half, half, 0.5],
                                         rgbaColor=[1, 1, 1, 1] if textured else GROUND_COLOUR, physicsClientId=c)
        self.ground = p.createMultiBody(0, ground_col, ground_vis, [0, 0, -0.5], physicsClientId=c)
        p.changeDynamics(self.ground, -1, lateralFriction=0.5, physicsClientId=c)
        if textured:
            p.changeVisualShape(self.ground, -1, textureUniqueId=self._load_texture(ground_texture(rng, cfg.room_size)),
                                physicsClientId=c)
        if cfg.walls:
            self._build_walls(rng)
        if cfg.agents:
            return self._build_road(rng)
        count = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
        objects, placed = [], []
        for _ in range(count):
            shape = cfg.shapes[rng.integers(len(cfg.shapes))]
            size = float(rng.uniform(*cfg.object_size))
            mass = float(rng.uniform(*cfg.object_mass))
            if cfg.colours == 'palette':
                colour = PALETTE[rng.integers(len(PALETTE))]
            else:
                colour = _hsv_to_rgb(rng.uniform(), rng.uniform(0.55, 1.0), rng.uniform(0.45, 1.0))
            for _attempt in range(50):  # rejection-sample a free spot
                r, a = cfg.spawn_radius * math.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
                xy = np.array([r * math.cos(a), r * math.sin(a)])
                if all(np.linalg.norm(xy - q) > (size + s) * 0.6 for q, s in placed):
                    break
            placed.append((xy, size))
            yaw = rng.uniform(0, 2 * np.pi)
            orientation = p.getQuaternionFromEuler([0, 0, yaw])
            body = self._body(shape, size, mass, list(colour) + [1.0], [xy[0], xy[1], size / 2 + 0.01], orientation)
            speed, heading = rng.uniform(*cfg.object_speed), rng.uniform(0, 2 * np.pi)
            p.resetBaseVelocity(body, [speed * math.cos(heading), speed * math.sin(heading), 0.0],
                                physicsClientId=c)
            p.changeDynamics(body, -1, lateralFriction=0.4, restitution=0.3, physicsClientId=c)
            objects.append(dict(body=body, shape=shape, size=size, mass=mass, colour=colour))
        return objects

    def _free_spot(self, rng, radius: float, footprint: float, placed: list, near: float = 0.0):
        """Rejection-sample a spot in the disc (beyond ``near``), off the lane and clear of ``placed`` footprints."""
        lane = self.cfg.lane_width / 2
        xy = None
        for _attempt in range(100):
            r, a = math.sqrt(rng.uniform(near ** 2, radius ** 2)), rng.uniform(0, 2 * np.pi)
            xy = np.array([r * math.cos(a), r * math.sin(a)])
            if abs(xy[1]) > lane + footprint and all(np.linalg.norm(xy - q) > footprint + f for q, f in placed):
                return xy
        return None

    def _box(self, extents, mass: float, colour, position, yaw: float) -> int:
        c, p = self.client, pybullet
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=list(extents), physicsClientId=c)
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=list(extents), rgbaColor=colour, physicsClientId=c)
        return p.createMultiBody(mass, col, vis, position, p.getQuaternionFromEuler([0, 0, yaw]), physicsClientId=c)

    def _build_road(self, rng: np.random.Generator) -> list[dict]:
        """
        Place road agents (boxes of a car's, cyclist's or person's size) moving along their heading, off the lane.

        Clutter (poles and buildings, static, not objects) goes further out, where no agent is.
        """
        cfg, c, p = self.cfg, self.client, pybullet
        objects, placed = [], []
        for _ in range(int(rng.integers(cfg.min_objects, cfg.max_objects + 1))):
            kind = cfg.agents[rng.integers(len(cfg.agents))]
            length, width, height, pace = cfg.AGENTS[kind]
            scale = float(rng.uniform(*cfg.object_size))
            extents = np.array([length, width, height]) * scale / 2
            xy = self._free_spot(rng, cfg.spawn_radius, float(np.hypot(*extents[:2])), placed, near=3.0)
            if xy is None:
                continue
            placed.append((xy, float(np.hypot(*extents[:2]))))
            # along the road (either way) or across it, as traffic does
            yaw = float(rng.choice([0.0, np.pi, np.pi / 2, -np.pi / 2]) + rng.normal(0, 0.15))
            colour = _hsv_to_rgb(rng.uniform(), rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0))
            mass = float(rng.uniform(*cfg.object_mass))
            body = self._box(extents, mass, list(colour) + [1.0], [xy[0], xy[1], extents[2] + 0.01], yaw)
            speed = float(rng.uniform(*cfg.object_speed)) * pace
            p.resetBaseVelocity(body, [speed * math.cos(yaw), speed * math.sin(yaw), 0.0], physicsClientId=c)
            p.changeDynamics(body, -1, lateralFriction=0.0, restitution=0.0, physicsClientId=c)
            objects.append(dict(body=body, shape=kind, size=scale, mass=mass, colour=colour))
        for _ in range(cfg.clutter):
            grey = float(rng.uniform(0.3, 0.8))
            if rng.uniform() < 0.5:                                                     # a pole or a post
                r, h = float(rng.uniform(0.08, 0.25)), float(rng.uniform(1.0, 6.0))
                xy = self._free_spot(rng, cfg.spawn_radius + 10, r, placed, near=4.0)
                if xy is None:
                    continue
                placed.append((xy, r))
                col = p.createCollisionShape(p.GEOM_CYLINDER, radius=r, height=h, physicsClientId=c)
                vis = p.createVisualShape(p.GEOM_CYLINDER, radius=r, length=h, rgbaColor=[grey] * 3 + [1],
                                          physicsClientId=c)
                p.createMultiBody(0, col, vis, [xy[0], xy[1], h / 2], physicsClientId=c)
            else:                                                                       # a building's wall
                extents = np.array([rng.uniform(2, 10), rng.uniform(1, 4), rng.uniform(2, 6)])
                xy = self._free_spot(rng, cfg.spawn_radius + 20, float(np.hypot(*extents[:2])), placed,
                                     near=cfg.spawn_radius * 0.6)
                if xy is None:
                    continue
                placed.append((xy, float(np.hypot(*extents[:2]))))
                self._box(extents, 0.0, [grey] * 3 + [1], [xy[0], xy[1], extents[2]], float(rng.uniform(0, np.pi)))
        return objects

    def _build_walls(self, rng: np.random.Generator) -> None:
        """Four textured walls on the edges of the ground, each with its own panels (static, background)."""
        cfg, c, p = self.cfg, self.client, pybullet
        half, thick = self.cfg.room_size / 2, 0.1
        for side in range(4):
            angle = side * np.pi / 2
            extents = [thick, half, WALL_HEIGHT / 2]
            col = p.createCollisionShape(p.GEOM_BOX, halfExtents=extents, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_BOX, halfExtents=extents, rgbaColor=[1, 1, 1, 1], physicsClientId=c)
            position = [(half + thick) * math.cos(angle), (half + thick) * math.sin(angle), WALL_HEIGHT / 2]
            wall = p.createMultiBody(0, col, vis, position, p.getQuaternionFromEuler([0, 0, angle]), physicsClientId=c)
            p.changeVisualShape(wall, -1, textureUniqueId=self._load_texture(wall_texture(rng, cfg.room_size)),
                                physicsClientId=c)

    # Sensors ------------------------------------------------------------------------------------
    def _render(self, pose: np.ndarray, light: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cfg, p = self.cfg, pybullet
        eye, forward, down = pose[:3, 3], pose[:3, 2], pose[:3, 1]
        view = p.computeViewMatrix(eye.tolist(), (eye + forward).tolist(), (-down).tolist(),
                                   physicsClientId=self.client)
        _, _, rgba, depth, seg = p.getCameraImage(cfg.width, cfg.height, view, self.projection,
                                                  lightDirection=light, shadow=int(cfg.shadows),
                                                  renderer=p.ER_TINY_RENDERER, physicsClientId=self.client)
        rgb = np.asarray(rgba, np.uint8).reshape(cfg.height, cfg.width, 4)[:, :, :3]
        z_buffer = np.asarray(depth, np.float32).reshape(cfg.height, cfg.width)
        metric = self.far * self.near / (self.far - (self.far - self.near) * z_buffer)
        return rgb, metric.astype(np.float32), np.asarray(seg, np.int32).reshape(cfg.height, cfg.width)

    def _cast_lidar(self, pose: np.ndarray, body_to_instance: dict) -> dict:
        lc, p = self.cfg.lidar, pybullet
        dirs = self.lidar_dirs.reshape(-1, 3)
        origin = pose[:3, 3]
        world_dirs = dirs @ pose[:3, :3].T
        starts = np.tile(origin, (len(dirs), 1))
        ends = starts + world_dirs * lc.max_range
        hits = []
        for i in range(0, len(dirs), RAY_BATCH):
            hits += p.rayTestBatch(starts[i:i + RAY_BATCH].tolist(), ends[i:i + RAY_BATCH].tolist(),
                                   numThreads=1, physicsClientId=self.client)
        fraction = np.array([h[2] for h in hits])
        body = np.array([h[0] for h in hits])
        hit = (body >= 0) & (fraction < 1.0)
        ranges = np.where(hit, fraction * lc.max_range, np.inf).astype(np.float32)
        points = (dirs * np.where(hit, ranges, np.nan)[:, None]).astype(np.float32)
        ids = np.array([body_to_instance.get(int(b), 0) if h else -1 for b, h in zip(body, hit)], np.int16)
        shape = (lc.channels, lc.azimuth_bins)
        return dict(range=ranges.reshape(shape), points=points.reshape(*shape, 3), ids=ids.reshape(shape))

    # One clip -------------------------------------------------------------------------------
    def clip(self, seed: int) -> dict:
        """Simulate and render one clip; see ``CLIP_KEYS`` for what it returns."""
        cfg, p = self.cfg, pybullet
        rng = np.random.default_rng(seed)
        objects = self._build_scene(rng)
        trajectory, poses = camera_path(cfg, rng)
        light = [float(v) for v in (rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.6, 1.5))]
        body_to_instance = {o['body']: i + 1 for i, o in enumerate(objects)}
        substeps = max(1, int(round(cfg.physics_rate / cfg.frame_rate)))
        n, t = len(objects), cfg.frames
        out = dict(video=np.zeros((t, cfg.height, cfg.width, 3), np.uint8),
                   masks=np.zeros((t, cfg.height, cfg.width), np.uint8),
                   depth=np.zeros((t, cfg.height, cfg.width), np.float32),
                   object_positions=np.zeros((n, t, 3), np.float32),
                   object_orientations=np.zeros((n, t, 4), np.float32),
                   object_velocities=np.zeros((n, t, 3), np.float32))
        lidar = [] if cfg.lidar else None
        lut = np.zeros(max(body_to_instance) + 2, np.uint8)
        for body, inst in body_to_instance.items():
            lut[body + 1] = inst
        for f in range(t):
            if f > 0:
                for _ in range(substeps):
                    p.stepSimulation(physicsClientId=self.client)
            for i, o in enumerate(objects):
                pos, orn = p.getBasePositionAndOrientation(o['body'], physicsClientId=self.client)
                vel, _ = p.getBaseVelocity(o['body'], physicsClientId=self.client)
                out['object_positions'][i, f], out['object_orientations'][i, f] = pos, orn
                out['object_velocities'][i, f] = vel
            rgb, depth, seg = self._render(poses[f], light)
            out['video'][f], out['depth'][f] = rgb, depth
            out['masks'][f] = lut[np.clip(seg, -1, len(lut) - 2) + 1]   # sky (-1) and ground -> 0
            if lidar is not None:
                lidar.append(self._cast_lidar(lidar_pose(poses[f]), body_to_instance))
        out.update(
            intrinsics=self.intrinsics.astype(np.float32),
            extrinsics=poses.astype(np.float32),
            object_ids=np.arange(1, n + 1, dtype=np.int32),
            object_shapes=np.array([SHAPE_IDS.get(o['shape'], 0) for o in objects], np.int32),   # 0: a road agent
            object_classes=np.array([AGENT_IDS.get(o['shape'], 0) for o in objects], np.int32),
            object_colours=np.array([o['colour'] for o in objects], np.float32),
            object_sizes=np.array([o['size'] for o in objects], np.float32),
            object_masses=np.array([o['mass'] for o in objects], np.float32),
            light_direction=np.array(light, np.float32),
            trajectory=np.array(cfg.trajectories.index(trajectory) if trajectory in cfg.trajectories else -1,
                                np.int32),
        )
        if lidar is not None:
            out['lidar_range'] = np.stack([r['range'] for r in lidar])     # [T, ch, az] metres, inf = no return
            out['lidar_points'] = np.stack([r['points'] for r in lidar])   # [T, ch, az, 3] sensor frame, NaN = none
            out['lidar_ids'] = np.stack([r['ids'] for r in lidar])         # [T, ch, az] 0 ground, -1 none
            out['lidar_pose'] = np.stack([lidar_pose(pose) for pose in poses]).astype(np.float32)  # world<-lidar
        return out


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def render_clip(cfg: SimConfig, seed: int) -> dict:
    """One clip with its own simulator (convenience; ``SceneSimulator`` reuses a connection)."""
    with SceneSimulator(cfg) as sim:
        return sim.clip(seed)
