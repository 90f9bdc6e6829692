"""AMaze: a fast numpy grid maze at feature parity with minimax's AMaze (itself dcd's MiniGrid maze),
student and teacher side.

Public API: list_amaze_envs(), make_amaze(name, seed, render_mode, **overrides) -> gymnasium.Env,
make_amaze_batch(name, num_envs, seed, **overrides) -> AMazeBatch (auto-resetting, vectorised);
the teacher (minimax's UEDMaze): make_amaze("amaze_teacher_13x13") -> AMazeTeacherEnv,
make_amaze_teacher_batch(name, num_envs, seed) -> AMazeTeacherBatch, and make_student_batch(levels)
to play designed levels; ACCEL's mutators flip_wall / move_goal / mutate and level_metrics.

Where we differ from minimax, and why:
Student env
- Random numbers come from numpy, so maze distributions match minimax but individual mazes do not.
- FourRooms never places the agent on the goal (minimax's masking bug allows it).
- PerfectMaze is a depth-first maze from a uniformly random start (minimax reuses one key, so its
  start falls on the diagonal).
- `singleton_seed` works (minimax's Maze.__init__ drops it).
- `agent_pos` is int64 with high max(H, W) - 1 (minimax: uint32, high max(H, W)); `agent_dir` is
  int64 (minimax: uint8 agent_dir_idx, int32 after a turn).
- The reward 1 - 0.9 * (t + 1) / T is computed in float64 then cast to float32 (minimax computes in
  float32): the two can differ in the last bit.
- Observations are uint8 unless `normalize_obs=True` (minimax's training configs set it); with it
  the image space is Box(0, 1, float32) (minimax declares Box(0, 255) either way).
- No `see_through_walls`: minimax accepts it but never uses it (views always see through walls).
- Even `agent_view_size` is refused (the agent must sit in the middle column of its view).
- Crossing always draws minimax's default n_crossings=5 (not a parameter here).
- Sample Factory's adapter (sf_maze.amaze) embeds the integer codes (normalize_obs views are
  multiplied back by 10) where minimax's student convolves the /10 floats.
Teacher env (UEDMaze)
- Its noise, start direction and collision redraws come from numpy (same distributions).
- `time` is Discrete(T + 1): without auto-reset the last observation shows time = T (minimax's
  space says Discrete(T), its auto-reset hides that observation). Rewards are always 0, as minimax's.
- No `use_seq_actions` (minimax forces it off) and no `singleton_seed` (UEDMaze never sets it).
- minimax resolves repeated cells in the action record by scatter order; we take the order its
  `flip` intends (earlier steps win). Kept on purpose, as minimax does them: under the default
  budget schedule cell 0 always counts as used (its window of used cells is one slot ahead), and
  under first_wall_pos_sets_budget with a budget of 0 and replace_wall_pos the agent may land on
  the goal (the designed level then starts on the goal, drawn over the agent in the teacher's image;
  our student plays it as any level, seeing the goal under itself where minimax's view blanks it).
Level metrics and mutators
- shortest_path_length is 0 for an unreachable goal; minimax's Seidel APSP reports 1 + the distance
  to the first cell (row-major) of the agent's region instead, so its `passable` can be True for an
  unreachable goal. `minimax_unreachable=True` reproduces minimax's value.
- Mutators draw from a numpy Generator; flip_wall never flips goal or distractor cells (minimax's
  maze has no distractors); move_goal leaves the goal in place when no free cell exists (minimax
  samples from all-zero probabilities there).
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
           "make_amaze_teacher_batch", "make_student_batch", "move_goal", "mutate", "resolve",
           "resolve_teacher", "shortest_path_length"]
