"""A batch of maze layouts (what a reset produces) and how to build one by hand."""
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from .config import AMazeConfig
from .constants import EMPTY, GOAL, WALL


@dataclass
class Layouts:
    """K maze instances of one size H x W; positions are (x, y) with y pointing down.

    grid: (K, H, W) uint8 cell codes (constants.EMPTY/WALL/GOAL/GOAL_RED), goal cells included.
    agent_pos: (K, 2) int64 start positions.
    agent_dir: (K,) int64 start directions (0 right, 1 down, 2 left, 3 up).
    goal_pos: (K, 2) int64; walking into it pays the reward and terminates.
    distractor_pos: (K, 2) int64, (-1, -1) where there is none; walking into it terminates unpaid
        (only minimax's Memory maze has one).
    """

    grid: np.ndarray
    agent_pos: np.ndarray
    agent_dir: np.ndarray
    goal_pos: np.ndarray
    distractor_pos: np.ndarray

    def __len__(self) -> int:
        return len(self.grid)

    def take(self, indices) -> "Layouts":
        """The layouts at `indices` (a sequence of ints), as a new Layouts."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        return Layouts(*(getattr(self, f)[indices].copy() for f in Layouts.__dataclass_fields__))

    @staticmethod
    def concat(items: Sequence["Layouts"]) -> "Layouts":
        return Layouts(*(np.concatenate([getattr(it, f) for it in items]) for f in Layouts.__dataclass_fields__))

    @staticmethod
    def single(wall_map, agent_pos, agent_dir: int, goal_pos, distractor_pos=None, grid: Optional[np.ndarray] = None
               ) -> "Layouts":
        """One layout (K=1) from an (H, W) bool wall map, or a ready (H, W) code `grid` whose goal cell is set."""
        if grid is None:
            grid = np.where(np.asarray(wall_map, dtype=bool), WALL, EMPTY).astype(np.uint8)
            grid[goal_pos[1], goal_pos[0]] = GOAL
        grid = np.asarray(grid, dtype=np.uint8)
        ax, ay = agent_pos
        if grid[ay, ax] != EMPTY:
            raise ValueError(f"agent_pos {tuple(agent_pos)} is not an empty cell")
        if tuple(agent_pos) == tuple(goal_pos):
            raise ValueError("agent_pos and goal_pos coincide")
        return Layouts(
            grid=grid[None].copy(),
            agent_pos=np.asarray(agent_pos, dtype=np.int64).reshape(1, 2),
            agent_dir=np.asarray([agent_dir], dtype=np.int64) % 4,
            goal_pos=np.asarray(goal_pos, dtype=np.int64).reshape(1, 2),
            distractor_pos=np.asarray((-1, -1) if distractor_pos is None else distractor_pos,
                                      dtype=np.int64).reshape(1, 2),
        )


# A sampler draws one layout per generator, using only that generator, so a maze depends on its
# own seed alone (batched and single envs agree slot by slot).
Sampler = Callable[[AMazeConfig, Sequence[np.random.Generator]], Layouts]


def per_generator(sample_one: Callable[[AMazeConfig, np.random.Generator], Layouts]) -> Sampler:
    """Turns a one-maze sampler into a Sampler (a Python loop; fine for the evaluation mazes)."""

    def sample(cfg: AMazeConfig, rngs: Sequence[np.random.Generator]) -> Layouts:
        return Layouts.concat([sample_one(cfg, rng) for rng in rngs])

    sample.__name__ = sample_one.__name__
    sample.__doc__ = sample_one.__doc__
    return sample


def pick_cells(mask: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of a uniformly chosen True cell per row.

    mask: (K, C) bool with at least one True per row; u: (K,) uniforms in [0, 1).
    Returns (K,) int64 flat cell indices.
    """
    counts = mask.sum(axis=1)
    k = np.minimum((u * counts).astype(np.int64), counts - 1)
    return np.argmax(np.cumsum(mask, axis=1) > k[:, None], axis=1)
