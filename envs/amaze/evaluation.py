"""Score any AMaze policy on held-out mazes, without a trainer: `evaluate(policy, env_name, episodes, seed)`.

Sample Factory's agents (sf_maze.amaze.agent_policy) and Dreamer's tests use it alike. A policy takes
torch tensors, so torch is imported when a function here runs, not when envs.amaze is imported.
"""
from typing import Callable, Dict, Tuple

import numpy as np

from .registry import make_amaze_batch

# policy(obs {image, agent_dir[, agent_pos]} of (N, ...) tensors, state) -> (actions (N,) tensor, state)
Policy = Callable[[Dict[str, "torch.Tensor"], object], Tuple["torch.Tensor", object]]


def random_policy(seed: int = 0) -> Policy:
    """Uniform over all 7 actions, as an untrained agent's initial policy roughly is."""
    import torch

    generator = torch.Generator().manual_seed(seed)

    def act(obs, state):
        return torch.randint(0, 7, (len(obs["agent_dir"]),), generator=generator), state

    return act


def evaluate(policy: Policy, env_name: str, num_episodes: int = 200, seed: int = 1_000_000,
             **overrides) -> Dict[str, float]:
    """First episode of mazes seeded seed, seed + 1, ...: mean return and solve rate.

    `overrides` go to the env (e.g. obs_agent_pos=True for an agent trained with --amaze_obs_agent_pos).

    The default seeds are small integers, while training mazes get 64-bit hashed seeds (envs.maze_seeds),
    so evaluation mazes are held out up to layout collisions that the maze family itself allows.
    """
    import torch

    batch = make_amaze_batch(env_name, num_episodes, seed=seed, **overrides)
    obs, _ = batch.reset()
    returns = np.zeros(num_episodes)
    done = np.zeros(num_episodes, dtype=bool)
    solved = np.zeros(num_episodes, dtype=bool)
    state = None
    with torch.no_grad():
        for _ in range(batch.cfg.max_episode_steps):
            actions, state = policy({key: torch.from_numpy(value) for key, value in obs.items()}, state)
            obs, rewards, terminated, truncated, _ = batch.step(actions.numpy())
            returns += np.where(done, 0.0, rewards)
            solved |= ~done & terminated & (rewards > 0)
            done |= terminated | truncated
            if done.all():
                break
    return {"mean_return": float(returns.mean()), "solve_rate": float(solved.mean()), "episodes": num_episodes}
