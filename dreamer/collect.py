"""Stepping envs into the replay, for both of Dreamer's acting loops: the learner's own (--actors=0,
dreamer.train) and each actor process's (dreamer.actors)."""
from typing import Dict, List, Tuple

import gymnasium as gym
import numpy as np

from dreamer.observations import ObsSpec
from dreamer.replay import Replay
from envs import make_env, mix_seed


def make_envs(env_name: str, run_seed: int, num_envs: int, first_index: int, env_steps: int) -> List[gym.Env]:
    """Envs first_index ... first_index + num_envs - 1 of a run, seeded afresh per resume point (`env_steps`),
    so a resumed run does not replay the mazes it already saw."""
    return [make_env(env_name, seed=mix_seed(run_seed, first_index + i, env_steps)) for i in range(num_envs)]


class Collector:
    """Steps `envs` in turn, writing env i's steps into replay ring first_ring + i.

    Holds each env's last observation (stored format), `first` (N,) bool (the next step opens an
    episode; what the acting policy resets its state on) and each running episode's return and length.
    Resets every env when built, and an env again whenever its episode ends.
    """

    def __init__(self, envs: List[gym.Env], spec: ObsSpec, replay: Replay, first_ring: int = 0):
        self.envs, self.spec, self.replay, self.first_ring = envs, spec, replay, first_ring
        n = len(envs)
        self.obs = [spec.from_env_obs(env.reset()[0]) for env in envs]
        for i in range(n):
            replay.add(first_ring + i, self.obs[i], -1, 0.0, True, False)
        self.first = np.ones(n, dtype=bool)
        self.returns, self.lengths = np.zeros(n), np.zeros(n, dtype=np.int64)

    def stacked_obs(self) -> Dict[str, np.ndarray]:
        """The last observations as (N, ...) arrays, what dreamer.agent.Actor.act takes."""
        return {key: np.stack([obs[key] for obs in self.obs]) for key in self.obs[0]}

    def step(self, actions: np.ndarray) -> List[Tuple[float, int]]:
        """Env i takes actions[i], for every env in turn -> (return, length) of each episode that ended."""
        finished = []
        for i, env in enumerate(self.envs):
            ring = self.first_ring + i
            next_obs, reward, terminated, truncated, _ = env.step(int(actions[i]))
            self.obs[i] = self.spec.from_env_obs(next_obs)
            self.replay.add(ring, self.obs[i], int(actions[i]), reward, False, terminated)
            self.returns[i] += reward
            self.lengths[i] += 1
            self.first[i] = terminated or truncated
            if self.first[i]:
                finished.append((float(self.returns[i]), int(self.lengths[i])))
                self.returns[i], self.lengths[i] = 0.0, 0
                self.obs[i] = self.spec.from_env_obs(env.reset()[0])
                self.replay.add(ring, self.obs[i], -1, 0.0, True, False)
        return finished
