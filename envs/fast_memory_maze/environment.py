"""The composer environment whose substep loop skips no-op hooks and observation updates."""
import logging
from typing import Iterable, List, Optional

import dm_env
from dm_control import composer
from dm_control.composer import environment as composer_environment
from dm_control.locomotion.props import target_sphere
from dm_control.rl import control

from envs.fast_memory_maze.physics import FastPhysics
from envs.fast_memory_maze.targets import FastTargetSphere, TargetContacts

log = logging.getLogger(__name__)


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
        if getattr(self, "_physics", None):
            self._physics.free()
        self._physics = FastPhysics.from_mjcf_model_without_unused_textures(self._task.root_entity.mjcf_model)
        self._physics.legacy_step = self._legacy_step

    def reset(self) -> dm_env.TimeStep:
        time_step = super().reset()
        # Geom ids are known only after the targets' initialize_episode of this episode.
        self._target_contacts = TargetContacts(self._adopt_targets())
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
