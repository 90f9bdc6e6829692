"""Sample Factory's view of the env factory: channel-first images and per-run seeds."""
import logging
from typing import Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs import make_env, mix_seed  # mix_seed: Sample Factory resets env i with seed=i alone
from sf_maze.lifecycle import die_with_parent

log = logging.getLogger(__name__)


class SampleFactoryObservation(gym.Wrapper):
    """(H, W, 3) uint8 image -> (3, H, W) uint8, the layout torch convolutions take.

    Dict observations (ExtraObs variants) keep only the image: the agent learns from pixels, and
    Sample Factory's normaliser scales only this key.
    """

    def __init__(self, env: gym.Env, run_seed: Optional[int]):
        super().__init__(env)
        space = env.observation_space
        self._dict_obs = isinstance(space, spaces.Dict)
        image_space = space["image"] if self._dict_obs else space
        h, w, c = image_space.shape
        self.observation_space = spaces.Box(0, 255, (c, h, w), dtype=np.uint8)
        self.run_seed = run_seed

    def _image(self, obs):
        image = obs["image"] if self._dict_obs else obs
        return np.ascontiguousarray(np.transpose(image, (2, 0, 1)))

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is not None:
            seed = mix_seed(self.run_seed, seed)  # None without --seed: a fresh maze sequence
        obs, info = self.env.reset(seed=seed, options=options)
        return self._image(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._image(obs), reward, terminated, truncated, info


def make_sf_env(full_env_name: str, cfg=None, env_config=None, render_mode: Optional[str] = None) -> gym.Env:
    """Sample Factory env function: top-level, so spawned workers can unpickle it."""
    die_with_parent()  # runs inside each rollout worker
    overrides = {}
    if full_env_name.startswith("memory_") and cfg is not None:
        overrides["reference_impl"] = bool(getattr(cfg, "maze_reference_impl", False))
    run_seed = getattr(cfg, "seed", None) if cfg is not None else None
    env_index = env_config.env_id if env_config is not None and hasattr(env_config, "env_id") else 0
    env = make_env(full_env_name, seed=mix_seed(run_seed, env_index), render_mode=render_mode, **overrides)
    return SampleFactoryObservation(env, run_seed)
