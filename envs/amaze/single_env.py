"""What AMazeEnv and AMazeTeacherEnv share: a gymnasium env over a batch-of-one core."""
from typing import Optional

import gymnasium as gym

from envs.actions import checked_action, checked_seed


class BatchOfOneEnv(gym.Env):
    def _attach(self, core, seed: Optional[int]) -> None:
        self._core = core
        self._was_reset = False
        seed = checked_seed(seed)
        self.observation_space, self.action_space = core.observation_space, core.action_space
        self._first_seed = seed  # applied by the first reset that gets no seed of its own
        if seed is not None:
            self.action_space.seed(seed)

    def _seed_reset(self, seed: Optional[int]) -> None:
        """gymnasium's reset seeding; the core then draws from self.np_random."""
        if seed is None and self._first_seed is not None:
            seed = self._first_seed
        self._first_seed = None
        super().reset(seed=seed)
        self._was_reset = True

    def _checked_action(self, action) -> int:
        if not self._was_reset:
            raise RuntimeError(f"{self.name}: step() called before reset(); call env.reset() first")
        return checked_action(action, self.action_space)
