"""AMaze: a fast numpy grid maze at feature parity with minimax's AMaze (itself dcd's MiniGrid maze).

Public API: list_amaze_envs(), make_amaze(name, seed, render_mode, **overrides) -> gymnasium.Env,
make_amaze_batch(name, num_envs, seed, **overrides) -> AMazeBatch (auto-resetting, vectorised).

Where we differ from minimax, and why:
- Random numbers come from numpy, so maze distributions match minimax but individual mazes do not.
- FourRooms never places the agent on the goal (minimax's masking bug allows it).
- PerfectMaze is a depth-first maze from a uniformly random start (minimax reuses one key, so its
  start falls on the diagonal).
- `singleton_seed` works (minimax's Maze.__init__ drops it).
- `agent_pos` is int64 with high max(H, W) - 1 (minimax: uint32, high max(H, W)).
- Observations are uint8 unless `normalize_obs=True` (minimax's training configs set it).
Kept on purpose: unset start directions face right, the Memory maze uses view 5, Crossing's wall-line
sampling - all as minimax does.
"""
from .config import AMazeConfig
from .core import AMazeBatch
from .env import AMazeEnv
from .layouts import Layouts
from .metrics import level_metrics, shortest_path_length
from .mutators import flip_wall, move_goal, mutate
from .registry import (
    list_amaze_envs, make_amaze, make_amaze_batch, make_amaze_teacher_batch, make_student_batch, resolve,
    resolve_teacher,
)
from .teacher import AMazeTeacherBatch
from .teacher_config import TeacherConfig
from .teacher_env import AMazeTeacherEnv

__all__ = ["AMazeBatch", "AMazeConfig", "AMazeEnv", "AMazeTeacherBatch", "AMazeTeacherEnv", "Layouts", "TeacherConfig",
           "flip_wall", "level_metrics", "list_amaze_envs", "make_amaze", "make_amaze_batch",
           "make_amaze_teacher_batch", "make_student_batch", "move_goal", "mutate", "resolve", "resolve_teacher",
           "shortest_path_length"]
