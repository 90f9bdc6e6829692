"""The published Memory Maze offline-dataset trajectory format (memory-maze README, 'Offline Dataset').

One NPZ per trajectory; every entry has a leading time axis of length steps + 1: `image[0]` is the
observation before the first action, and `action[t]` / `reward[t]` are the action that led to
`image[t]` and the reward it earned, so their first rows are zeros (confirmed by the authors in
jurgisp/memory-maze#6, which also shows the files carry a `terminal` entry).

The README gives dtypes only as uint8 / binary / float. We write what the authors' collection code
(pydreamer's ActionRewardResetWrapper + the ExtraObs observation spec) produces: float64 one-hot
actions and rewards, bool terminal/reset flags, uint8 image and layout, float64 positions. Readers
accept any numeric dtype where the README says binary/float, so either choice loads.
"""
from typing import Dict, Tuple

import numpy as np

DEFAULT_STEPS = 1000  # every published trajectory: 1000 actions, 1001 entries
NUM_ACTIONS = 6
IMAGE_SHAPE = (64, 64, 3)

# Entries named in the README table, each with its per-step shape given the maze size N and the number
# of objects K, and the dtype we write.
def entry_shapes(maze_size: int, num_targets: int) -> Dict[str, Tuple[int, ...]]:
    return {
        "image": IMAGE_SHAPE,
        "action": (NUM_ACTIONS,),
        "reward": (),
        "maze_layout": (maze_size, maze_size),
        "agent_pos": (2,),
        "agent_dir": (2,),
        "targets_pos": (num_targets, 2),
        "targets_vec": (num_targets, 2),
        "target_pos": (2,),
        "target_vec": (2,),
        "target_color": (3,),
    }


README_KEYS = tuple(entry_shapes(9, 3))

WRITE_DTYPES: Dict[str, np.dtype] = {
    "image": np.dtype(np.uint8),
    "action": np.dtype(np.float64),
    "reward": np.dtype(np.float64),
    "maze_layout": np.dtype(np.uint8),
    "terminal": np.dtype(bool),
    "reset": np.dtype(bool),
    **{key: np.dtype(np.float64) for key in ("agent_pos", "agent_dir", "targets_pos", "targets_vec",
                                               "target_pos", "target_vec", "target_color")},
}

# Not in the README table but present in the authors' files (terminal) or their loader's (reset).
EXTRA_KEYS = ("terminal", "reset")

# Targets per maze size, as the package builds them (memory_maze.tasks).
NUM_TARGETS = {9: 3, 11: 4, 13: 5, 15: 6}
