"""Action and seed checks every env runs as gymnasium's do (`action_space.contains`), kept cheap.

`step` is a hot path (Sample Factory hands a plain int): the common case costs one type check,
never a numpy allocation.
"""
from typing import Optional

import numpy as np
from gymnasium import spaces


def checked_action(action, space: spaces.Discrete) -> int:
    """`action` as an int, or ValueError naming it and the space (what gymnasium's contains refuses)."""
    if type(action) is int:
        value = action
    elif isinstance(action, (int, np.integer)):
        value = int(action)
    elif isinstance(action, np.ndarray) and action.shape == () and action.dtype.kind in "iu":
        value = int(action)
    else:
        raise ValueError(f"action {action!r} ({type(action).__name__}) is not in {space}: pass an int")
    if not space.start <= value < space.start + space.n:
        raise ValueError(f"action {action!r} is not in {space}: pass an int in "
                         f"[{space.start}, {space.start + space.n - 1}]")
    return value


def checked_seed(seed, below: Optional[int] = None) -> Optional[int]:
    """None or a non-negative python int, refused with gymnasium's own error as its reset(seed=) does.

    `below`: an env's own upper bound (Memory Maze seeds a numpy RandomState: under 2**32).
    """
    if seed is None:
        return None
    from gymnasium import error
    from gymnasium.utils import seeding

    seeding.np_random(seed)  # gymnasium.error.Error naming the bad seed
    if below is not None and seed >= below:
        raise error.Error(f"Seed must be below {below}, actual value: {seed}")
    return seed
