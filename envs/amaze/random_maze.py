"""minimax's domain-randomised maze: n_walls random walls, random agent pose and goal.

Vectorised over the mazes being reset: each generator draws one flat vector of uniforms (a single
call, the only per-maze Python work), and everything else runs on the (K, ...) stack.
"""
from typing import Sequence

import numpy as np

from .config import AMazeConfig
from .constants import EMPTY, GOAL, WALL
from .layouts import Layouts, pick_cells


def num_uniforms(cfg: AMazeConfig) -> int:
    """Uniforms one maze consumes: wall draws, [wall count], agent cell, direction, goal cell."""
    cells = cfg.height * cfg.width
    wall_draws = cfg.n_walls if cfg.effective_replace_wall_pos else cells
    return wall_draws + int(cfg.sample_n_walls) + 3


def wall_masks(cfg: AMazeConfig, u: np.ndarray) -> np.ndarray:
    """(K, H*W) bool wall masks from the leading uniforms of u (K, num_uniforms(cfg))."""
    k, cells, n = len(u), cfg.height * cfg.width, cfg.n_walls
    if n == 0:
        return np.zeros((k, cells), dtype=bool)
    if cfg.effective_replace_wall_pos:
        # n independent cell draws, duplicates collapse (minimax's choice(..., replace=True)).
        walls = np.zeros((k, cells), dtype=bool)
        walls[np.arange(k)[:, None], (u[:, :n] * cells).astype(np.int64)] = True
        return walls
    # Without replacement: the cells holding the `count` smallest keys are a uniform random subset,
    # and the first `count` of a random ordering, which is what sample_n_walls truncates.
    keys = u[:, :cells]
    if cfg.sample_n_walls:
        # minimax draws randint(0, n_walls) and pads with the first wall, so at least one wall stays.
        count = np.maximum((u[:, cells] * n).astype(np.int64), 1)
        threshold = np.sort(keys, axis=1)[np.arange(k), count - 1]
    else:
        threshold = np.partition(keys, n - 1, axis=1)[:, n - 1]
    return keys <= threshold[:, None]


def sample_random_mazes(cfg: AMazeConfig, rngs: Sequence[np.random.Generator]) -> Layouts:
    """One random maze per generator (see module docstring); same generator state -> same maze."""
    u = np.stack([rng.random(num_uniforms(cfg)) for rng in rngs])
    k, h, w = len(u), cfg.height, cfg.width
    walls = wall_masks(cfg, u)
    u_agent, u_dir, u_goal = u[:, -3], u[:, -2], u[:, -1]
    free = ~walls
    agent = pick_cells(free, u_agent)
    free[np.arange(k), agent] = False
    goal = pick_cells(free, u_goal)
    grid = np.where(walls, WALL, EMPTY).astype(np.uint8)
    grid[np.arange(k), goal] = GOAL
    return Layouts(
        grid=grid.reshape(k, h, w),
        agent_pos=np.stack([agent % w, agent // w], axis=1),
        agent_dir=(u_dir * 4).astype(np.int64),
        goal_pos=np.stack([goal % w, goal // w], axis=1),
        distractor_pos=np.full((k, 2), -1, dtype=np.int64),
    )
