"""One AMaze behind the gymnasium API (no auto-reset): a batch-of-one core."""
from typing import Any, Dict, Optional

import numpy as np

from .config import AMazeConfig
from .core import AMazeBatch
from .layouts import Layouts, Sampler
from .single_env import BatchOfOneEnv


class AMazeEnv(BatchOfOneEnv):
    """Single AMaze env; see AMazeConfig for parameters and AMazeBatch.step for the dynamics.

    reset(options=...) accepts a hand-built maze (minimax's set_env_instance):
    {"layout": Layouts} or {"wall_map": (H, W) bool, "agent_pos": (x, y), "agent_dir": int,
    "goal_pos": (x, y)}.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, cfg: AMazeConfig, sampler: Sampler, name: str = "amaze", seed: Optional[int] = None,
                 render_mode: Optional[str] = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.cfg, self.name, self.render_mode = cfg, name, render_mode
        self._attach(AMazeBatch(cfg, sampler, num_envs=1, auto_reset=False), seed)

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        self._seed_reset(seed)
        layout = self._layout_from(options)
        if layout is not None:
            self._core.load(layout)
        else:
            self._core.generators = [self.np_random]
            self._core.reset()
        return self._single(self._core.observe()), {}

    @staticmethod
    def _layout_from(options: Optional[Dict[str, Any]]) -> Optional[Layouts]:
        if not options:
            return None
        if "layout" in options:
            return options["layout"]
        if "wall_map" in options:
            return Layouts.single(options["wall_map"], options["agent_pos"], options.get("agent_dir", 0),
                                  options["goal_pos"])
        return None

    def step(self, action):
        obs, reward, terminated, truncated, info = self._core.step(np.asarray([self._checked_action(action)]))
        return self._single(obs), float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    @staticmethod
    def _single(obs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        out = {key: value[0] for key, value in obs.items()}
        out["agent_dir"] = np.int64(out["agent_dir"])
        return out

    @property
    def state(self) -> Dict[str, Any]:
        """minimax's EnvState fields for this maze: agent_pos (x, y), agent_dir, goal_pos, wall_map (H, W), time."""
        core = self._core
        return dict(agent_pos=core.agent_pos[0], agent_dir=int(core.dir[0]), goal_pos=core.goal_pos[0],
                    wall_map=core.wall_map[0], time=int(core.time[0]))

    def render(self):
        if self.render_mode == "rgb_array":
            return self._core.render(0)
        return None
