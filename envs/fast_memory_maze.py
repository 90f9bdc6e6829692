"""A faster Memory Maze whose frames, rewards and observations are bit-identical to the package's.

`build_task(task_fn, **task_kwargs)` builds the package env with `task_fn` and then converts that
one instance in place (no class or module of dm_control / memory_maze is patched, so a reference
env built in the same process keeps the package code path). What the conversion removes, per
control step of 50 physics substeps (4 Hz control, 5 ms physics), and why results cannot change:

* Target touch checks: dm_control's TargetSphere loops in Python over every contact, per target,
  per substep (~60% of the package's step). One set test over the contact geom ids per substep
  activates the same targets at the same substeps, with the same side effects.
* Per-substep Python overhead: the warnings context manager around `mj_step2; mj_step1`, empty
  hook dispatch and the observation updater's no-op calls (observations are due only at the last
  substep). The loop calls the same MuJoCo functions and non-empty hooks in the same order.
* Camera set-up per frame: `Physics.render` allocates a fresh MjvScene (~3 ms) for every frame;
  we keep one `Camera` per (size, camera) for the lifetime of a compiled physics.
* Geoms outside the camera's view: the software rasteriser pays per drawn geom; geoms whose
  bounding sphere lies outside the view frustum produce no pixel and are left out of the scene.
* Observables no wrapper reads (joint/sensor features, the unused egocentric camera with
  `top_camera=True`) are disabled instead of computed and copied every step.
* Unused textures: the arena carries ~80 wall textures of 1024x1024 but its materials use ~15; the
  model is compiled without the others (faster compile and GL upload per episode, ~3x less RSS).
  Texture ids differ from the package's model, each material's image does not.
"""
import contextlib
import importlib
import logging
import weakref
import xml.etree.ElementTree as ET
from typing import Callable, Dict, Iterable, List, Optional, Set

import dm_env
import mujoco
import numpy as np
from dm_control import composer, mjcf
from dm_control.composer import environment as composer_environment
from dm_control.locomotion.props import target_sphere
from dm_control.mujoco import engine
from dm_control.rl import control

log = logging.getLogger(__name__)


def build_task(task_fn: Callable[..., dm_env.Environment], reference_impl: bool = False, **task_kwargs) -> dm_env.Environment:
    """task_fn is one of memory_maze.tasks.memory_maze_{9x9,11x11,13x13,15x15}; task_kwargs are its
    keyword args (seed, global_observables, image_only_obs, good_visibility, camera_resolution,
    top_camera, show_path, control_freq, randomize_colors, ...). reference_impl=True returns the
    unmodified package env (task_fn(**task_kwargs)); otherwise our fast env, bit-identical."""
    env = task_fn(**task_kwargs)
    if reference_impl:
        return env
    chain = _wrapper_chain(env)
    inner = chain[-1]
    if type(inner) is not composer.Environment:
        raise TypeError(f"Expected a dm_control composer.Environment under the wrappers, got {type(inner).__name__}")
    FastComposerEnvironment.convert(inner, needed_observables(chain))
    return env


def _wrapper_chain(env) -> list:
    """[outermost wrapper, ..., composer env]; memory_maze wrappers keep the wrapped env in `.env`."""
    chain = [env]
    while not isinstance(chain[-1], composer.Environment) and hasattr(chain[-1], "env"):
        chain.append(chain[-1].env)
    return chain


def needed_observables(chain: list) -> Optional[Set[str]]:
    """Composer observable names that the wrapper chain reads; None if unknown (then keep all).

    Wrappers outside RemapObservationWrapper only see its renamed keys, so what it maps plus what
    the wrappers between it and the composer env read is all that can reach the user.
    """
    wrappers = importlib.import_module("memory_maze.wrappers")
    remaps = [i for i, w in enumerate(chain) if type(w) is wrappers.RemapObservationWrapper]
    if not remaps:
        return None
    needed = set(chain[remaps[-1]].mapping.values())
    for wrapper in chain[remaps[-1] + 1:-1]:
        if type(wrapper) is wrappers.TargetsPositionWrapper:
            needed.add("target_index")
            for i in range(wrapper.n_targets):
                needed.update((f"walker/target_rel_{i}", f"walker/target_abs_{i}"))
        elif type(wrapper) is wrappers.AgentPositionWrapper:
            needed.update(("absolute_position", "absolute_orientation"))
        elif type(wrapper) is wrappers.MazeLayoutWrapper:
            needed.add("maze_layout")
        else:
            log.warning("Unknown observation wrapper %s under the remap: keeping every observable", type(wrapper).__name__)
            return None
    return needed


class _FastTargetSphere(target_sphere.TargetSphere):
    """A TargetSphere whose per-substep hook is empty, so composer skips it entirely.

    Its activation is done by `_TargetContacts` for all targets at once instead; everything else
    (reset, initialize_episode's own check, `activated`) is the inherited package code.
    """

    def after_substep(self, physics, random_state):
        """Empty on purpose: composer drops hooks whose bytecode is empty (see _callable_is_trivial)."""


class _TargetContacts:
    """Per-substep touch check for every target of one episode.

    Equivalent to each target's `_update_activation`: a not yet activated target whose geom id is
    in any current contact becomes activated and its material alpha is set to 0.
    """

    def __init__(self, targets: List[_FastTargetSphere]):
        # Targets that only count touches by specific geoms are rare; they keep the package loop.
        self._generic = {t._geom_id: t for t in targets if not t._specific_collision_geom_ids}
        self._specific = [t for t in targets if t._specific_collision_geom_ids]
        self._geom_ids = frozenset(self._generic)

    def __call__(self, physics, contact_geoms: np.ndarray) -> None:
        """contact_geoms: (ncon, 2) int array of geom ids of the current contacts."""
        for target in self._specific:
            target._update_activation(physics)
        touched = contact_geoms.ravel().tolist()
        if self._geom_ids.isdisjoint(touched):
            return
        for geom_id in self._geom_ids.intersection(touched):
            target = self._generic[geom_id]
            if not target._activated:
                target._activated = True
                physics.bind(target._material).rgba[-1] = 0


def _drop_unreferenced_textures(xml_string: str) -> str:
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
        xml = _drop_unreferenced_textures(mjcf_model.to_xml_string())
        return cls.from_xml_string(xml_string=xml, assets=mjcf_model.get_assets())

    def _reload_from_data(self, data):
        self._free_cameras()
        super()._reload_from_data(data)
        self._raw_model = self.model.ptr
        self._raw_data = self.data.ptr
        # The single-substep fast path below is dm_control's legacy step for non-RK4 integrators.
        self._plain_integrator = self.model.opt.integrator != mujoco.mjtIntegrator.mjINT_RK4.value

    def _free_cameras(self):
        for camera in getattr(self, "_cameras", {}).values():
            camera._scene.free()
        self._cameras: Dict[tuple, engine.Camera] = {}

    def free(self):
        self._free_cameras()
        super().free()

    def step(self, nstep: int = 1) -> None:
        if nstep != 1 or not self.legacy_step or not self._plain_integrator:
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
            return super().render(height, width, camera_id, overlays, depth, segmentation, scene_option,
                                  render_flag_overrides, scene_callback)
        key = (height, width, camera_id)
        camera = self._cameras.get(key)
        if camera is None:
            # Weak: a camera holding its physics would make a reference cycle, and the cyclic GC may
            # then free the GL context on the OSMesa render thread, which deadlocks waiting on itself.
            physics = weakref.proxy(self)
            camera = self._cameras[key] = engine.Camera(physics=physics, height=height, width=width, camera_id=camera_id)
            camera.culler = _FrustumCuller(physics, camera)
        with camera.culler.hide_invisible_geoms(scene_option or camera.option):
            pixels = camera.render(scene_option=scene_option, render_flag_overrides=render_flag_overrides)
        # The camera reuses its pixel buffer, so the frame is copied out (12 KiB at 64x64).
        return pixels.copy()


class _FrustumCuller:
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


def _is_trivial(hook) -> bool:
    return composer_environment._callable_is_trivial(hook)


class FastComposerEnvironment(composer.Environment):
    """composer.Environment with a tight substep loop; instances are made by `convert`."""

    @classmethod
    def convert(cls, env: composer.Environment, needed: Optional[Iterable[str]]) -> None:
        """Turns one built package env into a fast one, in place."""
        env.__class__ = cls
        env._target_contacts = _TargetContacts([])
        if needed is not None:
            needed = set(needed)
            observables = env._task.observables
            disabled = [name for name, obs in observables.items() if obs.enabled and name not in needed]
            for name in disabled:
                observables[name].enabled = False
            log.debug("Observables nobody reads, disabled: %s", disabled)
        env._adopt_targets()
        env._hooks.refresh_entity_hooks()

    def _adopt_targets(self) -> List[_FastTargetSphere]:
        # With randomize_colors the task builds new TargetSphere objects every episode.
        targets = []
        for entity in self._task.root_entity.iter_entities():
            if type(entity) is target_sphere.TargetSphere:
                entity.__class__ = _FastTargetSphere
            if type(entity) is _FastTargetSphere:
                targets.append(entity)
        return targets

    def _recompile_physics(self):
        # Runs just before composer rescans entity hooks, so new targets are adopted in time.
        self._adopt_targets()
        if getattr(self, "_physics", None):
            self._physics.free()
        self._physics = FastPhysics.from_mjcf_model_without_unused_textures(self._task.root_entity.mjcf_model)
        self._physics.legacy_step = self._legacy_step

    def reset(self) -> dm_env.TimeStep:
        time_step = super().reset()
        # Geom ids are known only after the targets' initialize_episode of this episode.
        self._target_contacts = _TargetContacts(self._adopt_targets())
        return time_step

    def step(self, action) -> dm_env.TimeStep:
        """composer.Environment.step with the same hook order and observation schedule."""
        if self._reset_next_step:
            self._reset_next_step = False
            return self.reset()
        physics, rng, hooks = self._physics_proxy, self._random_state, self._hooks
        hooks.before_step(physics, action, rng)
        updater = self._observation_updater
        updater.prepare_for_next_control_step()
        try:
            self._run_substeps(physics, action, rng, updater)
            physics_is_divergent = False
        except control.PhysicsError as e:
            if self._raise_exception_on_physics_error:
                raise
            log.warning(e)
            physics_is_divergent = True
        hooks.after_step(physics, rng)
        updater.update()
        if physics_is_divergent:
            reward, discount, terminating = 0.0, 0.0, True
        else:
            reward = self._task.get_reward(physics)
            discount = self._task.get_discount(physics)
            terminating = self._task.should_terminate_episode(physics) or self._physics.time() >= self._time_limit
        obs = updater.get_observation()
        if terminating:
            self._reset_next_step = True
            return dm_env.TimeStep(dm_env.StepType.LAST, reward, discount, obs)
        return dm_env.TimeStep(dm_env.StepType.MID, reward, discount, obs)

    def _run_substeps(self, physics, action, rng, updater) -> None:
        task, hooks = self._task, self._hooks
        before = hooks._before_substep
        run_before = not _is_trivial(task.before_substep) or before.entity_hooks or before.extra_hooks
        task_after = None if _is_trivial(task.after_substep) else task.after_substep
        after_entity, after_extra = hooks._after_substep.entity_hooks, hooks._after_substep.extra_hooks
        contacts, raw_data, real_physics = self._target_contacts, self._physics.data.ptr, self._physics
        n = self._n_sub_steps
        next_update = _next_scheduled_update(updater)
        for i in range(n):
            if run_before:
                hooks.before_substep(physics, action, rng)
            real_physics.step()
            # Same order as composer: task, entities (targets last, as they are attached last), extras.
            if task_after is not None:
                task_after(physics, rng)
            for hook in after_entity:
                hook(physics, rng)
            contacts(physics, raw_data.contact.geom)
            for hook in after_extra:
                hook(physics, rng)
            if i < n - 1:
                # Between scheduled observations an update only advances the updater's clock.
                if updater._step_counter + 1 >= next_update:
                    updater.update()
                    next_update = _next_scheduled_update(updater)
                else:
                    updater._step_counter += 1


def _next_scheduled_update(updater) -> float:
    """Updater step count at which the next observable is due (inf if none is scheduled)."""
    return min((enabled.update_schedule[0][0] for enabled in updater._enabled_list if enabled.update_schedule),
               default=float("inf"))
