"""minimax's out-of-distribution test mazes: fixed layouts and procedural families.

Sizes and episode lengths follow minimax: fixed mazes and PerfectMaze* get 2 * (H+2) * (W+2) steps
(dcd's eval length), Crossing 4 * (H+2) * (W+2), FourRooms and Memory 250.
"""
from dataclasses import dataclass
from typing import Callable, Dict, Optional

import numpy as np

from . import ood_layouts as data
from .config import AMazeConfig
from .constants import DIR_TO_VEC, EMPTY, GOAL, GOAL_RED, WALL
from .layouts import Layouts, Sampler, per_generator


def _walls(rows) -> np.ndarray:
    return np.array([[c == "1" for c in row] for row in rows], dtype=bool)


def _random_free_cell(rng: np.random.Generator, free: np.ndarray) -> tuple:
    """(x, y) of a uniformly chosen True cell of the (H, W) mask."""
    y, x = np.nonzero(free)
    k = rng.integers(len(x))
    return int(x[k]), int(y[k])


def _random_pose_and_goal(rng: np.random.Generator, walls: np.ndarray, free: Optional[np.ndarray] = None) -> Layouts:
    """Goal, then agent (on another cell), then direction, all uniform; minimax's draw order."""
    free = ~walls if free is None else free.copy()
    goal = _random_free_cell(rng, free)
    free[goal[1], goal[0]] = False
    agent = _random_free_cell(rng, free)
    return Layouts.single(walls, agent, int(rng.integers(4)), goal)


def fixed_sampler(spec: dict) -> Sampler:
    walls = _walls(spec["rows"])

    def sample_fixed(cfg: AMazeConfig, rng: np.random.Generator) -> Layouts:
        goals = spec["goals"]
        goal = goals[rng.integers(len(goals))] if len(goals) > 1 else goals[0]
        return Layouts.single(walls, spec["agent"], spec["dir"], goal)

    return per_generator(sample_fixed)


def sample_four_rooms(cfg: AMazeConfig, rng: np.random.Generator) -> Layouts:
    """A wall cross splits the grid into 4 rooms; one random door in each of its 4 arms."""
    h, w = cfg.height, cfg.width
    rh, rw = h // 2, w // 2
    walls = np.zeros((h, w), dtype=bool)
    walls[rh, :] = True
    walls[:, rw] = True
    room_cells = ~walls  # goal and agent never start in a doorway, as in minimax
    walls[rh, rng.integers(0, rw, 2) + np.array([0, rw + 1])] = False
    walls[rng.integers(0, rh, 2) + np.array([0, rh + 1]), rw] = False
    return _random_pose_and_goal(rng, walls, room_cells)


def sample_crossing(cfg: AMazeConfig, rng: np.random.Generator, n_crossings: int = 5) -> Layouts:
    """Full-length wall lines on odd rows/columns, cut by one monotone right/down path from the
    top-left start to the bottom-right goal (dcd's SimpleCrossing), with minimax's line sampling."""
    h, w = cfg.height, cfg.width
    row_choices, col_choices = np.arange(1, h - 1, 2), np.arange(1, w - 1, 2)
    kinds = rng.permutation(np.r_[np.zeros(len(row_choices)), np.ones(len(col_choices))])[:n_crossings]
    n_rows = int(kinds.sum())
    n_cols = len(kinds) - n_rows

    def line_mask(n_lines: int, choices: np.ndarray, size: int) -> np.ndarray:
        # minimax permutes a doubled per-choice mask over all indices and keeps the odd ones, so the
        # number of lines drawn is random (at most n_lines); kept for parity of the maze distribution.
        mask = np.zeros(size, dtype=bool)
        shuffled = rng.permutation(np.repeat(np.arange(len(choices)) < n_lines, 2))
        mask[:len(shuffled)] = shuffled
        on_choice = np.zeros(size, dtype=bool)
        on_choice[choices] = True
        return mask & on_choice

    walls = line_mask(n_rows, row_choices, h)[:, None] | line_mask(n_cols, col_choices, w)[None, :]
    pos, heading, in_wall = np.zeros(2, dtype=np.int64), DIR_TO_VEC[0], False
    for _ in range(w + h - 2):
        d = int(rng.integers(2))  # 0 right, 1 down
        step = heading if in_wall else DIR_TO_VEC[d]  # go straight through a wall just opened
        if pos[0] + step[0] >= w or pos[1] + step[1] >= h:
            step = DIR_TO_VEC[1 - d]
        pos = pos + step
        in_wall = bool(walls[pos[1], pos[0]])
        walls[pos[1], pos[0]] = False
        heading = step
    return Layouts.single(walls, (0, 0), 0, (w - 1, h - 1))


def sample_perfect_maze(cfg: AMazeConfig, rng: np.random.Generator) -> Layouts:
    """Depth-first-search (recursive backtracker) maze on the even cells; odd-odd cells stay walls."""
    h, w = cfg.height, cfg.width
    lh, lw = h // 2 + 1, w // 2 + 1
    walls = np.ones((h, w), dtype=bool)
    visited = np.zeros((lh, lw), dtype=bool)
    start = (int(rng.integers(lw)), int(rng.integers(lh)))
    visited[start[1], start[0]] = True
    walls[2 * start[1], 2 * start[0]] = False
    stack = [start]
    while stack:
        cx, cy = stack[-1]
        options = [(cx + dx, cy + dy) for dx, dy in DIR_TO_VEC
                   if 0 <= cx + dx < lw and 0 <= cy + dy < lh and not visited[cy + dy, cx + dx]]
        if not options:
            stack.pop()
            continue
        nx, ny = options[rng.integers(len(options))]
        walls[cy + ny, cx + nx] = False  # the wall tile between the two cells
        walls[2 * ny, 2 * nx] = False
        visited[ny, nx] = True
        stack.append((nx, ny))
    return _random_pose_and_goal(rng, walls)


def sample_memory(cfg: AMazeConfig, rng: np.random.Generator) -> Layouts:
    """minimax's Memory maze: the clue's colour (red: top goal, green: bottom goal) names the goal."""
    spec = data.MEMORY
    grid = np.where(_walls(spec["rows"]), WALL, EMPTY).astype(np.uint8)
    top = bool(rng.integers(2))
    (tx, ty), (bx, by), (cx, cy) = spec["top_goal"], spec["bottom_goal"], spec["clue"]
    grid[ty, tx], grid[by, bx] = GOAL_RED, GOAL
    grid[cy, cx] = GOAL_RED if top else GOAL
    goal, distractor = (spec["top_goal"], spec["bottom_goal"]) if top else (spec["bottom_goal"], spec["top_goal"])
    return Layouts.single(None, spec["agent"], spec["dir"], goal, distractor, grid=grid)


def _dcd_eval_steps(h: int, w: int) -> int:
    return 2 * (h + 2) * (w + 2)


@dataclass(frozen=True)
class OODSpec:
    """An OOD maze: default size, its sampler and episode length as a function of size."""

    height: int
    width: int
    sampler: Sampler
    steps: Callable[[int, int], int]
    resizable: bool = False  # procedural families accept height/width overrides
    odd_size: bool = False  # layouts built on a lattice of even cells need odd sides

    def config(self, **overrides) -> AMazeConfig:
        h, w = overrides.pop("height", self.height), overrides.pop("width", self.width)
        if self.odd_size and (h % 2 == 0 or w % 2 == 0):
            raise ValueError(f"This maze needs odd height and width, got {h}x{w}")
        overrides.setdefault("max_episode_steps", self.steps(h, w))
        return AMazeConfig(height=h, width=w, n_walls=0, **overrides)


def _fixed(spec: dict) -> OODSpec:
    size = len(spec["rows"])
    return OODSpec(size, len(spec["rows"][0]), fixed_sampler(spec), _dcd_eval_steps)


def _perfect(size: int) -> OODSpec:
    return OODSpec(size, size, per_generator(sample_perfect_maze), _dcd_eval_steps, resizable=True, odd_size=True)


OOD_SPECS: Dict[str, OODSpec] = {
    "sixteenrooms": _fixed(data.SIXTEEN_ROOMS),
    "sixteenrooms2": _fixed(data.SIXTEEN_ROOMS2),
    "labyrinth": _fixed(data.LABYRINTH),
    "labyrinthflipped": _fixed(data.LABYRINTH_FLIPPED),
    "labyrinth2": _fixed(data.LABYRINTH2),
    "standardmaze": _fixed(data.STANDARD_MAZE),
    "standardmaze2": _fixed(data.STANDARD_MAZE2),
    "standardmaze3": _fixed(data.STANDARD_MAZE3),
    "smallcorridor": _fixed(data.SMALL_CORRIDOR),
    "largecorridor": _fixed(data.LARGE_CORRIDOR),
    "fourrooms": OODSpec(17, 17, per_generator(sample_four_rooms), lambda h, w: 250, resizable=True,
                         odd_size=True),
    "crossing": OODSpec(9, 9, per_generator(sample_crossing), lambda h, w: 4 * (h + 2) * (w + 2), resizable=True),
    "perfectmaze": _perfect(13),
    "perfectmazemedium": _perfect(19),
    "perfectmazexl": _perfect(101),
    "memory": OODSpec(15, 15, per_generator(sample_memory), lambda h, w: 250),
}
