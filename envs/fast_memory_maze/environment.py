"""The composer environment whose substep loop skips no-op hooks and observation updates."""
import ctypes
import functools
import logging
from typing import Iterable, List, Optional

import dm_env
import mujoco
from dm_control import composer
from dm_control.composer import environment as composer_environment
from dm_control.locomotion.walkers import legacy_base
from dm_control.locomotion.props import target_sphere
from dm_control.rl import control

from envs.fast_memory_maze.physics import FastPhysics
from envs.fast_memory_maze.targets import FastTargetSphere, TargetContacts

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=None)
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release_freed_heap() -> None:
    """Returns freed heap pages to the OS (glibc's malloc_trim); a no-op elsewhere."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _is_trivial(hook) -> bool:
    return composer_environment._callable_is_trivial(hook)


class FastComposerEnvironment(composer.Environment):
    """composer.Environment with a tight substep loop; instances are made by `convert`."""

    @classmethod
    def convert(cls, env: composer.Environment, needed: Optional[Iterable[str]]) -> None:
        """Turns one built package env into a fast one, in place."""
        env.__class__ = cls
        env._target_contacts = TargetContacts([])
        if needed is not None:
            needed = set(needed)
            observables = env._task.observables
            disabled = [name for name, obs in observables.items() if obs.enabled and name not in needed]
            for name in disabled:
                observables[name].enabled = False
            log.debug("Observables nobody reads, disabled: %s", disabled)
        env._adopt_targets()
        env._hooks.refresh_entity_hooks()

    def _adopt_targets(self) -> List[FastTargetSphere]:
        # With randomize_colors the task builds new TargetSphere objects every episode.
        targets = []
        for entity in self._task.root_entity.iter_entities():
            if type(entity) is target_sphere.TargetSphere:
                entity.__class__ = FastTargetSphere
            if type(entity) is FastTargetSphere:
                targets.append(entity)
        return targets

    def _recompile_physics(self):
        # Runs just before composer rescans entity hooks, so new targets are adopted in time.
        self._adopt_targets()
        previous = getattr(self, "_physics", None)
        gl = previous.release_gl_context() if isinstance(previous, FastPhysics) else None
        if previous:
            previous.free()
        self._physics = FastPhysics.from_mjcf_model_without_unused_textures(self._task.root_entity.mjcf_model)
        self._physics.adopt_gl_context(gl)
        self._physics.legacy_step = self._legacy_step

    def reset(self) -> dm_env.TimeStep:
        time_step = super().reset()
        # Geom ids are known only after the targets' initialize_episode of this episode.
        self._target_contacts = TargetContacts(self._adopt_targets())
        # Each episode compiles a new model and frees the old one (~0.2 GiB with its textures); glibc
        # keeps such freed heap mapped, so without a trim every env would hold its worst episode.
        release_freed_heap()
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
        n = self._n_sub_steps
        next_update = _next_scheduled_update(updater)
        # Observables due before the last substep could read mid-step state.
        mid_step_reads = task_after is not None or bool(after_extra) or next_update <= updater._step_counter + n - 1
        after_entity, deferred_subtree_vel = _defer_subtree_velocity(after_entity, mid_step_reads)
        real_physics, contacts = self._physics, self._target_contacts
        raw_model, raw_data = real_physics._raw_model, real_physics._raw_data
        plain_step = real_physics.can_step_inline()
        step1, step2, warnings = mujoco.mj_step1, mujoco.mj_step2, real_physics._warnings
        for i in range(n):
            if run_before:
                hooks.before_substep(physics, action, rng)
            if plain_step:  # FastPhysics.step inlined: ~1 us of Python per substep is ~7% of a step
                warnings_before = warnings.tolist()
                step2(raw_model, raw_data)
                step1(raw_model, raw_data)
                if warnings.tolist() != warnings_before:
                    real_physics._report_new_warnings(warnings_before)
            else:
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
        if deferred_subtree_vel:
            mujoco.mj_subtreeVel(raw_model, raw_data)


def _defer_subtree_velocity(entity_hooks, mid_step_reads: bool):
    """(hooks to run every substep, whether mj_subtreeVel runs once after the last substep instead).

    dm_control walkers call mj_subtreeVel after every substep only so that observables can read
    subtree_linvel; MuJoCo itself never reads it between substeps (mj_step1 clears flg_subtreevel and
    sensors recompute it), and it is a function of the current state alone. So when nothing else
    (another hook, an observable due mid-step) could read it mid-step, one call after the last
    substep leaves mjData as the package leaves it (except after a physics divergence mid-step,
    which the package reports as an error or an episode end).
    """
    walker_hooks = [h for h in entity_hooks if getattr(h, "__func__", None) is legacy_base.Walker.after_substep]
    others = [h for h in entity_hooks if h not in walker_hooks]
    if not walker_hooks or others or mid_step_reads:
        return entity_hooks, False
    return [], True


def _next_scheduled_update(updater) -> float:
    """Updater step count at which the next observable is due (inf if none is scheduled)."""
    return min((enabled.update_schedule[0][0] for enabled in updater._enabled_list if enabled.update_schedule),
               default=float("inf"))
