"""ACCEL's maze mutators (minimax maze_mutators.py) as functions on Layouts.

flip_wall toggles one cell that is neither the agent's nor the goal's; move_goal moves the goal to
a free cell other than the agent's and the goal's own; mutate applies n rounds in which each level
independently does nothing, flips a wall or moves the goal, each with probability 1/3
(minimax's move_goal_flip_walls, which ACCEL runs with n = 20 in minimax's maze configs).
Inputs are not modified; each function returns new Layouts.
"""
import numpy as np

from .constants import EMPTY, WALL
from .layouts import Layouts, pick_cells

NO_OP, FLIP_WALL, MOVE_GOAL = range(3)


def _flat(xy: np.ndarray, width: int) -> np.ndarray:
    return xy[:, 1] * width + xy[:, 0]


def _copy(levels: Layouts) -> Layouts:
    return levels.take(np.arange(len(levels)))


def flip_wall_at(levels: Layouts, cells: np.ndarray) -> Layouts:
    """Toggles wall/floor at flat cell index cells[i] (= y * W + x) of level i; -1 leaves it unchanged."""
    out = _copy(levels)
    k = np.flatnonzero(np.asarray(cells) >= 0)
    flat = out.grid.reshape(len(out), -1)
    c = np.asarray(cells)[k]
    flat[k, c] = np.where(flat[k, c] == WALL, EMPTY, WALL)
    return out


def move_goal_to(levels: Layouts, cells: np.ndarray) -> Layouts:
    """Moves level i's goal to flat cell cells[i] (cleared of any wall); -1 leaves it in place."""
    out = _copy(levels)
    k = np.flatnonzero(np.asarray(cells) >= 0)
    w = out.grid.shape[2]
    flat = out.grid.reshape(len(out), -1)
    old, new = _flat(out.goal_pos[k], w), np.asarray(cells)[k]
    code = flat[k, old].copy()
    flat[k, old] = EMPTY
    flat[k, new] = code
    out.goal_pos[k] = np.stack([new % w, new // w], axis=1)
    return out


def _flip_candidates(levels: Layouts) -> np.ndarray:
    """(K, H*W) bool: walls and floor, minus the agent's cell (goals and distractors never flip)."""
    flat = levels.grid.reshape(len(levels), -1)
    mask = (flat == WALL) | (flat == EMPTY)
    mask[np.arange(len(levels)), _flat(levels.agent_pos, levels.grid.shape[2])] = False
    return mask


def _goal_candidates(levels: Layouts) -> np.ndarray:
    """(K, H*W) bool: floor cells other than the agent's."""
    mask = levels.grid.reshape(len(levels), -1) == EMPTY
    mask[np.arange(len(levels)), _flat(levels.agent_pos, levels.grid.shape[2])] = False
    return mask


def _pick(mask: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A uniform True cell per row, -1 for rows without one."""
    has = mask.any(axis=1)
    out = np.full(len(mask), -1, dtype=np.int64)
    out[has] = pick_cells(mask[has], u[has])
    return out


def flip_wall(levels: Layouts, rng: np.random.Generator) -> Layouts:
    """One uniformly chosen cell per level toggled between wall and floor."""
    return flip_wall_at(levels, _pick(_flip_candidates(levels), rng.random(len(levels))))


def move_goal(levels: Layouts, rng: np.random.Generator) -> Layouts:
    """Each level's goal moved to a uniformly chosen floor cell (unchanged if there is none)."""
    return move_goal_to(levels, _pick(_goal_candidates(levels), rng.random(len(levels))))


def mutate(levels: Layouts, rng: np.random.Generator, n: int = 20) -> Layouts:
    """n rounds of (no-op | flip_wall | move_goal), drawn uniformly per level and round."""
    kinds = rng.integers(0, 3, size=(n, len(levels)))
    for kind in kinds:
        u = rng.random(len(levels))
        flips = np.where(kind == FLIP_WALL, _pick(_flip_candidates(levels), u), -1)
        levels = flip_wall_at(levels, flips)
        moves = np.where(kind == MOVE_GOAL, _pick(_goal_candidates(levels), u), -1)
        levels = move_goal_to(levels, moves)
    return levels
