"""Gymnasium spaces of one AMaze agent (the batched env reports the same, per agent)."""
import numpy as np
from gymnasium import spaces

from .config import AMazeConfig
from .constants import NUM_ACTIONS


def observation_space(cfg: AMazeConfig) -> spaces.Dict:
    """image: (V, V, 3) uint8 MiniGrid encoding (float32 in [0, 1] if normalize_obs);
    agent_dir: Discrete(4); agent_pos: (x, y) int64, only if obs_agent_pos."""
    v = cfg.agent_view_size
    if cfg.normalize_obs:
        # Largest encoded value is 10 (agent), so /10 stays within [0, 1].
        image = spaces.Box(0.0, 1.0, (v, v, 3), dtype=np.float32)
    else:
        image = spaces.Box(0, 255, (v, v, 3), dtype=np.uint8)
    obs = {"image": image, "agent_dir": spaces.Discrete(4)}
    if cfg.obs_agent_pos:
        obs["agent_pos"] = spaces.Box(0, max(cfg.height, cfg.width) - 1, (2,), dtype=np.int64)
    return spaces.Dict(obs)


def action_space() -> spaces.Discrete:
    """The 7 MiniGrid actions; 0 left, 1 right, 2 forward act, the rest are no-ops."""
    return spaces.Discrete(NUM_ACTIONS)
