"""Sample Factory's view of the env factory: channel-first images and per-run seeds."""
import logging
from typing import Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs import env_family, make_env, mix_seed  # mix_seed: Sample Factory resets env i with seed=i alone
from sf_maze.quiet import quiet_sample_factory_warnings

log = logging.getLogger(__name__)


class SampleFactoryObservation(gym.Wrapper):
    """(H, W, 3) uint8 image -> (3, H, W) uint8, the layout torch convolutions take.

    Dict observations (ExtraObs variants) keep only the image: the agent learns from pixels, and
    Sample Factory's normaliser scales only this key. With `last_action_reward` the observation is
    {"obs": image, "last_action": (A,) one-hot float32, "last_reward": (1,) float32}, both zero at an
    episode's first step (IMPALA's core input; the offline datasets store them the same way).
    """

    # One agent per env, said here: Sample Factory asks `hasattr(env, "num_agents")` of the env it is
    # given, and gymnasium's Wrapper answers a missing attribute by searching the wrapped envs with a
    # deprecation warning, once per env built.
    num_agents = 1
    is_multiagent = False

    def __init__(self, env: gym.Env, run_seed: Optional[int], last_action_reward: bool = False):
        super().__init__(env)
        space = env.observation_space
        self._dict_obs = isinstance(space, spaces.Dict)
        image_space = space["image"] if self._dict_obs else space
        h, w, c = image_space.shape
        image = spaces.Box(0, 255, (c, h, w), dtype=np.uint8)
        self.last_action_reward = last_action_reward
        self._num_actions = int(env.action_space.n)
        if last_action_reward:
            self.observation_space = spaces.Dict(dict(
                obs=image, last_action=spaces.Box(0.0, 1.0, (self._num_actions,), np.float32),
                last_reward=spaces.Box(-np.inf, np.inf, (1,), np.float32)))
        else:
            self.observation_space = image
        self.run_seed = run_seed

    def _observation(self, obs, action=None, reward=0.0):
        image = np.ascontiguousarray(np.transpose(obs["image"] if self._dict_obs else obs, (2, 0, 1)))
        if not self.last_action_reward:
            return image
        last_action = np.zeros(self._num_actions, np.float32)
        if action is not None:
            last_action[int(action)] = 1.0
        return dict(obs=image, last_action=last_action, last_reward=np.array([reward], np.float32))

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is not None:
            seed = mix_seed(self.run_seed, seed)  # None without --seed: a fresh maze sequence
        obs, info = self.env.reset(seed=seed, options=options)
        return self._observation(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._observation(obs, action, reward), reward, terminated, truncated, info


def make_sf_env(full_env_name: str, cfg=None, env_config=None, render_mode: Optional[str] = None) -> gym.Env:
    """Sample Factory env function: top-level, so spawned workers can unpickle it."""
    overrides = {}
    if env_family(full_env_name) == "memory" and cfg is not None:
        overrides["reference_impl"] = bool(getattr(cfg, "maze_reference_impl", False))
    run_seed = getattr(cfg, "seed", None) if cfg is not None else None
    env_index = env_config.env_id if env_config is not None and hasattr(env_config, "env_id") else 0
    env = make_env(full_env_name, seed=mix_seed(run_seed, env_index), render_mode=render_mode, **overrides)
    quiet_sample_factory_warnings()  # after the env: building it puts DeprecationWarnings back in front
    last_action_reward = bool(getattr(cfg, "maze_last_action_reward", False)) if cfg is not None else False
    return SampleFactoryObservation(env, run_seed, last_action_reward)
