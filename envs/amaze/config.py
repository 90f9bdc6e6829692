"""AMaze parameters, named as minimax's `EnvParams` so its configs translate key for key."""
import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class AMazeConfig:
    """Static parameters of one AMaze env (all mazes of a batch share them).

    height, width: inner grid size in tiles, excluding the 1-tile wall border (minimax's convention:
        a 15x15 MiniGrid maze is height=width=13).
    n_walls: walls placed per random maze (ignored by the OOD layouts).
    agent_view_size: side V of the square, forward-facing V x V view.
    replace_wall_pos: sample wall positions with replacement (so fewer distinct walls may appear).
    see_agent: show the agent's own tile (object 10) in the view instead of "empty".
    normalize_obs: image as float32 = uint8 encoding / 10.
    sample_n_walls: draw the wall count uniformly from [0, n_walls) per maze (at least 1 wall is placed,
        as in minimax); forces replace_wall_pos off.
    obs_agent_pos: add `agent_pos` (x, y) to the observation.
    max_episode_steps: time limit T; reaching the goal at step t (0-based) pays 1 - 0.9 * (t + 1) / T.
    singleton_seed: when >= 0 every reset draws its maze from this seed, i.e. always the same maze.
    """

    height: int = 13
    width: int = 13
    n_walls: int = 25
    agent_view_size: int = 5
    replace_wall_pos: bool = False
    see_agent: bool = False
    normalize_obs: bool = False
    sample_n_walls: bool = False
    obs_agent_pos: bool = False
    max_episode_steps: int = 250
    singleton_seed: int = -1

    def __post_init__(self):
        if self.height < 1 or self.width < 1:
            raise ValueError(f"height and width must be >= 1, got {self.height}x{self.width}")
        if self.agent_view_size < 1 or self.agent_view_size % 2 == 0:
            raise ValueError(f"agent_view_size must be odd and >= 1 (the agent sits in the middle column), "
                             f"got {self.agent_view_size}")
        if self.max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {self.max_episode_steps}")
        cells = self.height * self.width
        if not 0 <= self.n_walls or (not self.effective_replace_wall_pos and self.n_walls > cells - 2):
            raise ValueError(f"n_walls={self.n_walls} leaves no room for agent and goal in {cells} cells")

    @property
    def effective_replace_wall_pos(self) -> bool:
        # minimax: replace_wall_pos = replace_wall_pos and not sample_n_walls
        return self.replace_wall_pos and not self.sample_n_walls

    @property
    def padding(self) -> int:
        """Wall padding around the inner grid so every view window stays inside the array."""
        return max(self.agent_view_size - 1, 1)

    def replace(self, **changes) -> "AMazeConfig":
        return dataclasses.replace(self, **changes)


CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(AMazeConfig))
