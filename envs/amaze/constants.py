"""MiniGrid encodings, directions and the cell codes the AMaze core stores.

Observations use the MiniGrid (object, colour, state) triple, as minimax's AMaze and dcd's MiniGrid
mazes do, so policies and analysis code written for those read ours unchanged.
"""
import numpy as np

OBJECT_TO_INDEX = {
    "unseen": 0, "empty": 1, "wall": 2, "floor": 3, "door": 4, "key": 5,
    "ball": 6, "box": 7, "goal": 8, "lava": 9, "agent": 10,
}
COLOR_TO_INDEX = {"red": 0, "green": 1, "blue": 2, "purple": 3, "yellow": 4, "grey": 5}

# Direction index -> (dx, dy) with y pointing down: 0 right, 1 down, 2 left, 3 up (minimax's DIR_TO_VEC).
# Turning right is +1, turning left is -1 (mod 4).
DIR_TO_VEC = np.array([(1, 0), (0, 1), (-1, 0), (0, -1)], dtype=np.int64)

# Actions: the 7 MiniGrid actions; only the first three act in a maze.
LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE, DONE = range(7)
NUM_ACTIONS = 7

# Cell codes in the core's grid. Every non-EMPTY cell blocks movement (goals too: reaching the goal
# means walking into it, as in minimax). The agent is not stored in the grid; see core.py.
EMPTY, WALL, GOAL, GOAL_RED = 0, 1, 2, 3

# Cell code -> observation triple.
CODE_TO_ENCODING = np.array(
    [
        (OBJECT_TO_INDEX["empty"], 0, 0),
        (OBJECT_TO_INDEX["wall"], COLOR_TO_INDEX["grey"], 0),
        (OBJECT_TO_INDEX["goal"], COLOR_TO_INDEX["green"], 0),
        (OBJECT_TO_INDEX["goal"], COLOR_TO_INDEX["red"], 0),
    ],
    dtype=np.uint8,
)
AGENT_OBJECT, AGENT_COLOR = OBJECT_TO_INDEX["agent"], COLOR_TO_INDEX["red"]

# minimax divides the uint8 encoding by 10 when normalize_obs is set (largest value is agent=10).
NORMALIZE_DIVISOR = 10.0
