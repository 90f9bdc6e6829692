"""Level metrics minimax logs for curricula (Maze.get_env_metrics): wall count, shortest path
length from the agent to the goal, and whether the goal is reachable at all.

Works on any Layouts (random, OOD, designed, mutated). As in minimax only WALL cells block the
path (the Memory maze's other goal and clue cells count as floor here).
"""
from typing import Dict

import numpy as np

from .constants import WALL
from .layouts import Layouts


def bfs_distances(wall_map: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Moves from `start` to every cell, -1 where unreachable.

    wall_map: (K, H, W) bool; start: (K, 2) int (x, y). Returns (K, H, W) int64. All K grids
    expand together one ring per iteration (at most H*W iterations).
    """
    k, h, w = wall_map.shape
    free = ~wall_map
    dist = np.full((k, h, w), -1, dtype=np.int64)
    frontier = np.zeros((k, h, w), dtype=bool)
    frontier[np.arange(k), start[:, 1], start[:, 0]] = True
    d = 0
    while frontier.any():
        dist[frontier] = d
        grown = np.zeros_like(frontier)
        grown[:, 1:, :] |= frontier[:, :-1, :]
        grown[:, :-1, :] |= frontier[:, 1:, :]
        grown[:, :, 1:] |= frontier[:, :, :-1]
        grown[:, :, :-1] |= frontier[:, :, 1:]
        frontier = grown & free & (dist < 0)
        d += 1
    return dist


def shortest_path_length(wall_map: np.ndarray, agent_pos: np.ndarray, goal_pos: np.ndarray,
                         minimax_unreachable: bool = False) -> np.ndarray:
    """Fewest forward moves from agent to goal (turns not counted); 0 when the goal is unreachable.

    wall_map: (K, H, W) or (H, W) bool; agent_pos, goal_pos: (K, 2) or (2,) (x, y).
    Returns (K,) int64, or an int64 scalar for one unbatched level.

    minimax_unreachable: return what minimax's shortest_path_len returns for an unreachable goal
    instead of 0. It links every cell outside the agent's region to the region's first cell in
    row-major order, so it reports 1 + the distance to that cell, which is 0 only when the agent
    stands on it (its `impossible` check catches d == 1 only).
    """
    single = np.ndim(wall_map) == 2
    walls = np.asarray(wall_map, dtype=bool).reshape((-1,) + np.shape(wall_map)[-2:])
    agent = np.asarray(agent_pos, dtype=np.int64).reshape(-1, 2)
    goal = np.asarray(goal_pos, dtype=np.int64).reshape(-1, 2)
    dist = bfs_distances(walls, agent)
    rows = np.arange(len(walls))
    length = dist[rows, goal[:, 1], goal[:, 0]]
    unreachable = length < 0
    if minimax_unreachable:
        flat = dist.reshape(len(walls), -1)
        first = np.argmax(flat >= 0, axis=1)
        via_first = np.where(flat[rows, first] == 0, 0, flat[rows, first] + 1)
        length = np.where(unreachable, via_first, length)
    else:
        length = np.where(unreachable, 0, length)
    return length[0] if single else length


def level_metrics(levels: Layouts, minimax_unreachable: bool = False) -> Dict[str, np.ndarray]:
    """n_walls, shortest_path_length, passable (shortest_path_length > 0), each (K,), of K levels."""
    walls = levels.grid == WALL
    length = shortest_path_length(walls, levels.agent_pos, levels.goal_pos, minimax_unreachable)
    return dict(n_walls=walls.sum(axis=(1, 2)), shortest_path_length=length, passable=length > 0)
