"""Parameters of minimax's UEDMaze designer env, and the step schedule they imply."""
import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TeacherConfig:
    """Static parameters of the AMaze teacher (designer) env, named as minimax's UEDMaze keywords.

    height, width: inner grid of the designed maze (as AMazeConfig); actions are cells 0..H*W-1
        (cell = y * W + x).
    n_walls: most walls a design can hold (N).
    noise_dim: length of the uniform noise vector added to each observation (0: no `noise` key).
    replace_wall_pos: a wall may land on a cell already used (no collision), except that the agent
        may not land on the goal; without it every used cell collides.
    fixed_n_wall_steps: exactly N wall steps, then goal, then agent. Otherwise the first action
        sets the wall budget round(N * action / (H*W)) and the walls follow it:
    first_wall_pos_sets_budget: ... the first action is also the first wall's cell (the goal's
        when the budget is 0; needs fixed_n_wall_steps off); otherwise the budget step places nothing.
    set_agent_dir: one more step at the end whose action picks the start direction
        floor(4 * action / (H*W)); otherwise the direction is drawn at reset.
    normalize_obs: image as float32 = uint8 encoding / 10.
    """

    height: int = 13
    width: int = 13
    n_walls: int = 25
    noise_dim: int = 16
    replace_wall_pos: bool = False
    fixed_n_wall_steps: bool = False
    first_wall_pos_sets_budget: bool = False
    set_agent_dir: bool = False
    normalize_obs: bool = False

    def __post_init__(self):
        if self.height < 1 or self.width < 1:
            raise ValueError(f"height and width must be >= 1, got {self.height}x{self.width}")
        if self.first_wall_pos_sets_budget and self.fixed_n_wall_steps:
            raise ValueError("first_wall_pos_sets_budget=True needs fixed_n_wall_steps=False (as in minimax)")
        if self.noise_dim < 0:
            raise ValueError(f"noise_dim must be >= 0, got {self.noise_dim}")
        # A collision redraws among unused cells, so one must be left after N walls and the goal
        # (and cell 0, which the budget schedule counts as used: AMazeTeacherBatch.used_cells).
        most = self.cells - 2 - int(self.budget_mode)
        if not 0 <= self.n_walls <= most:
            raise ValueError(f"n_walls={self.n_walls} must be in [0, {most}] for a {self.height}x{self.width} maze "
                             f"under this schedule")

    @property
    def cells(self) -> int:
        return self.height * self.width

    @property
    def budget_mode(self) -> bool:
        """The first step only sets the wall budget (minimax's default schedule)."""
        return not self.fixed_n_wall_steps and not self.first_wall_pos_sets_budget

    @property
    def max_episode_steps(self) -> int:
        """Design steps T: N walls + goal + agent, + the budget step, + the direction step."""
        steps = self.n_walls + 2 + int(self.budget_mode)
        return steps + int(self.set_agent_dir)

    @property
    def encoding_dim(self) -> int:
        """Length of the action record; its last slot always holds the direction."""
        return self.max_episode_steps + int(not self.set_agent_dir)

    def wall_budget(self, first_action: np.ndarray) -> np.ndarray:
        """round(N * a / (H*W)) in float32, half to even, as minimax computes it (int64, same shape)."""
        # minimax multiplies in uint32 (exact), then divides in float32.
        product = (self.n_walls * np.asarray(first_action, dtype=np.int64)).astype(np.float32)
        return np.round(product / np.float32(self.cells)).astype(np.int64)

    def replace(self, **changes) -> "TeacherConfig":
        return dataclasses.replace(self, **changes)


TEACHER_KEYS = tuple(f.name for f in dataclasses.fields(TeacherConfig))
