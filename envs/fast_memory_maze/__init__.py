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
import importlib
import logging
from typing import Callable, Optional, Set

import dm_env
from dm_control import composer

from envs.fast_memory_maze.environment import FastComposerEnvironment

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
