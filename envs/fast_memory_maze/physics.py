"""Physics that compiles without unused textures, reuses render cameras and culls off-screen geoms."""
import contextlib
import logging
import threading
import weakref
import xml.etree.ElementTree as ET
from typing import Dict, Optional, Tuple

import mujoco
import numpy as np
from dm_control import _render, mjcf
from dm_control.mujoco import engine, wrapper
from dm_control.rl import control

log = logging.getLogger(__name__)

# Per thread (a GL context is current in one thread at a time): the GL context its fast envs share,
# with its size. Weak, so the context is freed with the last physics that uses it, as dm_control's is.
_SHARED_GL: Dict[int, Tuple[weakref.ref, Tuple[int, int]]] = {}


def _fits(size: Tuple[int, int], held_size: Tuple[int, int]) -> bool:
    return size[0] <= held_size[0] and size[1] <= held_size[1]


def shared_gl_context(size: Tuple[int, int]) -> Tuple[object, Tuple[int, int]]:
    """This thread's GL context for fast envs (a new one if it has none that is large enough).

    Sharing one context between a rollout worker's envs saves 6-7 MiB USS per env against one context
    each, at the same speed (benchmarks/env_speed.py, 4 envs per process: 0.97-1.05x; training
    0.99x). Each env keeps its own MuJoCo render context (textures, offscreen framebuffer), selected
    before each frame (`_OwnBufferCamera`).
    """
    key = threading.get_ident()
    ref, held_size = _SHARED_GL.get(key, (None, (0, 0)))
    gl = ref() if ref else None
    if gl is not None and not gl.terminated and _fits(size, held_size):
        return gl, held_size
    gl = _render.Renderer(max_width=size[0], max_height=size[1])
    _SHARED_GL[key] = (weakref.ref(gl), size)
    return gl, size


def drop_unreferenced_textures(xml_string: str) -> str:
    """The MJCF without <texture>s that no material uses; skyboxes (used without material) stay.

    Texture ids change but each material keeps the same image, so rendered pixels are the same.
    """
    root = ET.fromstring(xml_string)
    used = set()
    for material in root.iter("material"):
        used.add(material.get("texture"))
        used.update(layer.get("texture") for layer in material.iter("layer"))
    dropped = 0
    for asset in root.iter("asset"):
        for texture in asset.findall("texture"):
            if texture.get("name") not in used and texture.get("type") != "skybox":
                asset.remove(texture)
                dropped += 1
    if not dropped:
        return xml_string
    return ET.tostring(root, encoding="unicode")


class FastPhysics(mjcf.Physics):
    """mjcf.Physics that reuses its render cameras and steps without per-call Python overhead."""

    @classmethod
    def from_mjcf_model_without_unused_textures(cls, mjcf_model) -> "FastPhysics":
        xml = drop_unreferenced_textures(mjcf_model.to_xml_string())
        return cls.from_xml_string(xml_string=xml, assets=mjcf_model.get_assets())

    def _reload_from_data(self, data):
        self._free_cameras()
        super()._reload_from_data(data)
        self._raw_model = self.model.ptr
        self._raw_data = self.data.ptr
        # The single-substep fast path below is dm_control's legacy step for non-RK4 integrators.
        self._plain_integrator = self.model.opt.integrator != mujoco.mjtIntegrator.mjINT_RK4.value
        self._largest_frame = (0, 0)

    def fit_offscreen_buffer(self, height: int, width: int) -> None:
        """Size the offscreen framebuffer to the largest frame asked for, not the model's 640x480.

        Each env's GL context holds its own 4x-multisampled buffer of that size: ~23 MiB less per env
        (benchmarks/env_speed.py; steps/s unchanged within noise). Pixels inside the viewport are the
        same at any buffer size (tests/test_fast_env.py compares frames with the package's). A larger
        frame later frees the contexts and cameras, which are then made again at the new size.
        """
        height, width = max(height, self._largest_frame[0]), max(width, self._largest_frame[1])
        if (height, width) == self._largest_frame:
            return
        self._largest_frame = (height, width)
        visual = self.model.vis.global_
        with self._contexts_lock:
            if self._contexts and height <= visual.offheight and width <= visual.offwidth:
                return  # made before this method saw a frame (another caller): large enough as is
            if self._contexts:
                self._free_cameras()
                self._free_rendering_contexts()
            visual.offheight, visual.offwidth = height, width

    def _free_cameras(self):
        for camera in getattr(self, "_cameras", {}).values():
            camera._scene.free()
        self._cameras: Dict[tuple, engine.Camera] = {}

    def release_gl_context(self) -> Optional[Tuple[object, Tuple[int, int]]]:
        """Frees this physics's MuJoCo render context but keeps its GL context for the next episode's
        physics (`adopt_gl_context`); None if it has none.

        On Mesa a fresh GL context costs ~110-160 ms more in mjr_makeContext and ~35 ms more in its first
        frame than one reused (llvmpipe compiles its shaders per GL context), once per episode since
        each episode compiles a new model (benchmarks/env_speed.py). Frames stay the package's
        (tests/test_fast_env.py crosses resets on EGL and OSMesa).
        """
        with self._contexts_lock:
            if not self._contexts:  # never rendered (a reset that compiled again): pass on what it was given
                held, self._inherited_gl = getattr(self, "_inherited_gl", None), None
                return held
            gl = self._contexts.gl
            gl.increment_refcount()  # held across the MjrContext's free, which frees a GL context at refcount 0
            self._free_cameras()
            self._contexts.mujoco.free()
            self._contexts = None
            return gl, self._context_size

    def adopt_gl_context(self, held: Optional[Tuple[object, Tuple[int, int]]]) -> None:
        self._inherited_gl = held

    def _make_rendering_contexts(self):
        visual = self.model.vis.global_
        size = (visual.offwidth, visual.offheight)
        inherited, self._inherited_gl = getattr(self, "_inherited_gl", None), None
        # OSMesa draws into a buffer of the size its context was made with; EGL ignores the size.
        if inherited and _fits(size, inherited[1]):
            gl, size = inherited
        else:
            self._release_inherited_gl(inherited)
            gl, size = shared_gl_context(size)
            gl.increment_refcount()  # balanced below, as for an inherited context
        self._contexts = engine.Contexts(gl=gl, mujoco=wrapper.MjrContext(self.model, gl))
        gl.decrement_refcount()
        self._context_size = size

    @staticmethod
    def _release_inherited_gl(inherited) -> None:
        if inherited:
            inherited[0].decrement_refcount()
            inherited[0].free()

    def free(self):
        self._free_cameras()
        self._release_inherited_gl(getattr(self, "_inherited_gl", None))
        self._inherited_gl = None
        super().free()

    def can_step_inline(self) -> bool:
        """Is one step exactly mj_step2 + mj_step1 plus the warnings check (what step() does below)?"""
        return self.legacy_step and self._plain_integrator

    def step(self, nstep: int = 1) -> None:
        if nstep != 1 or not self.can_step_inline():
            return super().step(nstep)
        warnings_before = self._warnings.tolist()
        mujoco.mj_step2(self._raw_model, self._raw_data)
        mujoco.mj_step1(self._raw_model, self._raw_data)
        if self._warnings.tolist() != warnings_before:
            self._report_new_warnings(warnings_before)

    def _report_new_warnings(self, warnings_before: list) -> None:
        """Same outcome as engine.Physics.check_invalid_state: PhysicsError or a logged warning."""
        new = self._warnings > np.asarray(warnings_before)
        names = ", ".join(np.compress(new, list(mujoco.mjtWarning.__members__)))
        message = engine._INVALID_PHYSICS_STATE.format(warning_names=names)
        if self._warnings_cause_exception:
            raise control.PhysicsError(message)
        log.warning(message)

    def render(self, height=240, width=320, camera_id=-1, overlays=(), depth=False, segmentation=False,
               scene_option=None, render_flag_overrides=None, scene_callback=None):
        """Like mujoco.Physics.render; returns a new (height, width, 3) uint8 array for RGB frames."""
        if overlays or depth or segmentation or scene_callback is not None:
            self.fit_offscreen_buffer(height, width)
            return super().render(height, width, camera_id, overlays, depth, segmentation, scene_option,
                                  render_flag_overrides, scene_callback)
        key = (height, width, camera_id)
        camera = self._cameras.get(key)
        if camera is None:  # a new frame size or camera: the only time the buffer may need to grow
            self.fit_offscreen_buffer(height, width)
            # Weak: a camera holding its physics would make a reference cycle, and the cyclic GC may
            # then free the GL context on the OSMesa render thread, which deadlocks waiting on itself.
            physics = weakref.proxy(self)
            camera = self._cameras[key] = _OwnBufferCamera(physics=physics, height=height, width=width, camera_id=camera_id)
            camera.culler = FrustumCuller(physics, camera)
        with camera.culler.hide_invisible_geoms(scene_option or camera.option):
            pixels = camera.render(scene_option=scene_option, render_flag_overrides=render_flag_overrides)
        # The camera reuses its pixel buffer, so the frame is copied out (12 KiB at 64x64).
        return pixels.copy()


class _OwnBufferCamera(engine.Camera):
    """A camera that selects its own MuJoCo context's offscreen framebuffer before each frame.

    dm_control selects it once, when a camera is made; in a GL context shared by several envs the
    framebuffer bound last would otherwise be another env's, and frames would differ.
    """

    def _render_on_gl_thread(self, depth, overlays):
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._physics.contexts.mujoco.ptr)
        super()._render_on_gl_thread(depth, overlays)


class FrustumCuller:
    """Leaves geoms that lie entirely outside a fixed camera's view out of its scene.

    The software rasteriser (llvmpipe under EGL and OSMesa) pays ~15 us per drawn geom, and the
    maze has ~190 visible ones of which the camera sees a fraction. A geom whose bounding sphere is
    outside the view frustum produces no fragment, so dropping it (keeping the others in order)
    leaves every pixel as is. Transparent geoms are always kept, since their draw order is sorted.
    Geoms are hidden by moving them, only while the scene is built, to a geom group that the scene
    option disables; nothing else reads geom groups during that call.
    """

    # Grow bounding spheres and the field of view a little, so that rounding can never cull a geom
    # that touches the image: the test is then conservative.
    _RADIUS_SCALE, _RADIUS_PAD, _FOV_SCALE = 1.05, 0.05, 1.05

    def __init__(self, physics: "FastPhysics", camera: engine.Camera):
        model = physics.model
        self._physics = physics
        self._camera_id = camera._render_camera.fixedcamid
        # Only a plain perspective camera has the pyramid frustum below, and only without shadows or
        # reflections do geoms outside it stay out of the image.
        self._enabled = (camera._render_camera.type == mujoco.mjtCamera.mjCAMERA_FIXED
                         and model.cam_projection[self._camera_id] == mujoco.mjtProjection.mjPROJ_PERSPECTIVE
                         and not np.any(model.cam_sensorsize[self._camera_id])
                         and not np.any(model.light_castshadow)
                         and not np.any(model.mat_reflectance > 0))
        if not self._enabled:
            return
        tan_y = np.tan(np.deg2rad(model.cam_fovy[self._camera_id]) / 2) * self._FOV_SCALE
        tan_x = tan_y * camera.width / camera.height
        # Inward unit normals of the four side planes, in camera coordinates (camera looks along -z).
        self._normals = np.array([[1, 0, -tan_x], [-1, 0, -tan_x], [0, 1, -tan_y], [0, -1, -tan_y]], dtype=np.float64)
        self._normals /= np.linalg.norm(self._normals, axis=1, keepdims=True)
        radius = model.geom_rbound.copy()
        planes = model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE
        radius[planes] = np.linalg.norm(model.geom_size[planes, :2], axis=1)
        infinite = planes & np.any(model.geom_size[:, :2] <= 0, axis=1)
        radius[infinite | (radius <= 0)] = np.inf  # unbounded: never culled
        self._radius = radius * self._RADIUS_SCALE + self._RADIUS_PAD
        self._group = model.geom_group  # live view into the model
        self._matid = model.geom_matid
        self._geom_alpha = model.geom_rgba[:, 3]
        self._mat_alpha = model.mat_rgba[:, 3]  # live view: targets change their alpha
        self._has_material = self._matid >= 0

    @contextlib.contextmanager
    def hide_invisible_geoms(self, scene_option):
        hidden_group = next((g for g, on in enumerate(scene_option.geomgroup) if not on), None)
        if not self._enabled or hidden_group is None:
            yield
            return
        original = self._group.copy()
        self._group[self._outside_view()] = hidden_group
        try:
            yield
        finally:
            self._group[:] = original

    def _outside_view(self) -> np.ndarray:
        """(ngeom,) bool: opaque geoms whose bounding sphere is entirely outside the frustum."""
        data = self._physics._raw_data
        offset = data.geom_xpos - data.cam_xpos[self._camera_id]
        local = offset @ data.cam_xmat[self._camera_id].reshape(3, 3)  # world -> camera frame
        # Signed distance to each side plane (>0 inside) and to the camera plane (>0 in front).
        side = local @ self._normals.T
        outside = (side.min(axis=1) < -self._radius) | (-local[:, 2] < -self._radius)
        alpha = np.where(self._has_material, self._mat_alpha[self._matid], self._geom_alpha)
        return outside & (alpha >= 1) & (self._geom_alpha >= 1)
