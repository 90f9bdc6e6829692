"""One AMaze teacher behind the gymnasium API (no auto-reset): a batch-of-one AMazeTeacherBatch."""
from typing import Any, Dict, Optional

import numpy as np

from .layouts import Layouts
from .single_env import BatchOfOneEnv
from .teacher import AMazeTeacherBatch
from .teacher_config import TeacherConfig


class AMazeTeacherEnv(BatchOfOneEnv):
    """minimax's UEDMaze for one designer; see AMazeTeacherBatch for the dynamics.

    An action is a cell index y * W + x. The episode ends `terminated` after
    cfg.max_episode_steps steps, with info["level"] the designed maze (Layouts, K=1) that
    `make_amaze(...).reset(options={"layout": info["level"]})` plays. Rewards are 0.
    """

    metadata = {"render_modes": [], "render_fps": 10}

    def __init__(self, cfg: TeacherConfig, name: str = "amaze_teacher", seed: Optional[int] = None,
                 render_mode: Optional[str] = None):
        if render_mode is not None:
            raise ValueError(f"The teacher env has no render modes, got render_mode={render_mode!r}")
        self.cfg, self.name, self.render_mode = cfg, name, None
        self._attach(AMazeTeacherBatch(cfg, num_envs=1, auto_reset=False), seed)

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        self._seed_reset(seed)
        self._core.generators = [self.np_random]
        obs, info = self._core.reset()
        return self._single(obs), info

    def step(self, action):
        obs, _, terminated, _, _ = self._core.step(np.asarray([self._checked_action(action)]))
        info = {"level": self._core.levels()} if terminated[0] else {}
        return self._single(obs), 0.0, bool(terminated[0]), False, info

    @staticmethod
    def _single(obs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        out = {key: value[0] for key, value in obs.items()}
        out["time"] = np.int64(out["time"])
        return out

    @property
    def level(self) -> Layouts:
        """The design so far as a Layouts of one maze (needs the goal and agent placed)."""
        return self._core.levels()

    @property
    def state(self) -> Dict[str, Any]:
        """minimax's EnvState fields: encoding (E,) cell indices, time."""
        return dict(encoding=self._core.encoding[0].copy(), time=int(self._core.time[0]))
