"""Score a Dreamer checkpoint: `evaluate(logdir, env, episodes, seed) -> {"mean", "std", "returns"}`.

Episode k plays the maze of seed `seed + k` (env.reset(seed=seed + k)), the same mazes sf_maze's
AMaze evaluation draws for those seeds, so the two agents can be scored on identical layouts.
"""
from typing import Dict, List, Optional, Union

import gymnasium as gym
import numpy as np
import torch

from dreamer.agent import Actor
from dreamer.behavior import ActorCritic
from dreamer.checkpoint import load_agent
from dreamer.observations import ObsSpec
from dreamer.world_model import WorldModel


def play_episode(world_model: WorldModel, behavior: ActorCritic, env: gym.Env, seed: int, greedy: bool = False,
                 record: bool = False) -> Dict[str, object]:
    """One episode -> {"return", "length"} and, with record, "obs" (stored-format dict of (T+1, ...)),
    "actions" (T+1,) with -1 first (the action that led to each step), "frames" (env renders or None)."""
    spec = world_model.spec
    actor = Actor(world_model, behavior, num_envs=1, greedy=greedy, seed=seed)
    raw, _ = env.reset(seed=seed)
    obs = spec.from_env_obs(raw)
    steps, actions, frames = [obs], [-1], []
    if record:
        frames.append(env.render())
    total, first, done = 0.0, True, False
    while not done:
        action = int(actor.act({key: value[None] for key, value in obs.items()}, np.array([first]))[0])
        raw, reward, terminated, truncated, _ = env.step(action)
        obs, first, done = spec.from_env_obs(raw), False, terminated or truncated
        total += reward
        if record:
            steps.append(obs)
            actions.append(action)
            frames.append(env.render())
    out = {"return": total, "length": len(actions) - 1 if record else None}
    if record:
        out.update(obs={key: np.stack([s[key] for s in steps]) for key in steps[0]}, actions=np.array(actions),
                   frames=frames if frames[0] is not None else None)
    return out


def evaluate(logdir: str, env: Union[str, gym.Env], episodes: int = 10, seed: int = 1_000_000,
             greedy: Optional[bool] = None, device: str = "cpu") -> Dict[str, object]:
    """Mean, std and list of episode returns of the run in `logdir` (or a checkpoint file) on `env` (a name or env).

    greedy: None uses the run's eval_greedy setting.
    """
    from envs import make_env

    world_model, behavior, cfg = load_agent(logdir, device)
    name = env if isinstance(env, str) else cfg["env"]
    if isinstance(env, str):
        env = make_env(env)
    spec = ObsSpec.from_env(name, env.observation_space)
    if spec != world_model.spec:
        raise ValueError(f"The checkpoint's world model takes {world_model.spec}, this env gives {spec}")
    greedy = cfg.get("eval_greedy", False) if greedy is None else greedy
    torch.manual_seed(seed)
    returns: List[float] = [play_episode(world_model, behavior, env, seed + k, greedy)["return"] for k in range(episodes)]
    return {"mean": float(np.mean(returns)), "std": float(np.std(returns)), "returns": returns}
