"""One env factory for every trainer: Memory Maze (all sizes and variants) and AMaze.

`make_env(name, seed=None, render_mode=None, **overrides)` returns a gymnasium.Env; the same name
and seed give the same maze. Heavy packages (memory_maze, dm_control) load only when asked for.
"""
from typing import Optional

import gymnasium as gym

from envs.names import check_env_name, env_family, is_amaze, list_envs  # noqa: F401  (every trainer's env-name questions)
from envs.seeding import maze_seeds, mix_seed  # noqa: F401  (every trainer's env seeds)


def _amaze():
    from envs import amaze

    return amaze


def make_env(name: str, seed: Optional[int] = None, render_mode: Optional[str] = None, **overrides) -> gym.Env:
    """Builds env `name`; unknown names raise ValueError listing the valid ones.

    Memory Maze overrides: the package's task keywords (e.g. `good_visibility=True`) and
    `reference_impl=True` for the unmodified package code instead of our fast one.
    """
    family = env_family(name) if name.startswith(("memory_", "amaze_")) else None
    if family == "memory":
        from envs.memory_maze import MemoryMazeEnv

        return MemoryMazeEnv(name, seed=seed, render_mode=render_mode, **overrides)
    if family in ("amaze", "amaze_teacher"):
        return _amaze().make_amaze(name, seed=seed, render_mode=render_mode, **overrides)
    raise ValueError(f"Unknown env {name!r}. Valid names: {', '.join(list_envs())}")
