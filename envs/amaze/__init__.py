"""AMaze: a fast numpy grid maze at feature parity with minimax's AMaze (itself dcd's MiniGrid maze).

Public API: list_amaze_envs(), make_amaze(name, seed, render_mode, **overrides) -> gymnasium.Env,
make_amaze_batch(name, num_envs, seed, **overrides) -> AMazeBatch (auto-resetting, vectorised).
"""
from .config import AMazeConfig
from .core import AMazeBatch
from .env import AMazeEnv
from .layouts import Layouts
from .registry import list_amaze_envs, make_amaze, make_amaze_batch, resolve

__all__ = ["AMazeBatch", "AMazeConfig", "AMazeEnv", "Layouts", "list_amaze_envs", "make_amaze", "make_amaze_batch",
           "resolve"]
