"""Score any AMaze policy on held-out mazes, without a trainer: `evaluate(agent, env_name, episodes, seed)`.

Episode i plays the first episode of the maze of seed `seed + i` (AMazeEnv.reset(seed=seed + i), the
maze that make_amaze_batch(name, n, seed)[i] also draws), through evaluation.score like every other
agent, so the result holds the report's statistics (returns, half split, reward windows, solve rate)
plus the short keys the AMaze benchmarks print: mean_return, solve_rate, episodes.

The default seeds are small integers, while training mazes get 64-bit hashed seeds (envs.maze_seeds),
so evaluation mazes are held out up to layout collisions that the maze family itself allows.
"""
import functools
from typing import Optional, Sequence

import numpy as np

from evaluation.score import Agent, RandomAgent

AMAZE_ACTIONS = 7


def random_policy(seed: int = 0) -> Agent:
    """Uniform over all 7 actions, as an untrained agent's initial policy roughly is."""
    import gymnasium as gym

    return RandomAgent(gym.spaces.Discrete(AMAZE_ACTIONS), seed=seed)


class GridAgentPolicy(Agent):
    """A networks.GridAgent (networks.load_sf_checkpoint of an AMaze run) as an Agent; each slot's
    flat core state is kept here and zeroed when the slot starts an episode. greedy: argmax actions,
    else sampled with torch's global generator (seed it for repeatable scores)."""

    def __init__(self, agent, greedy: bool = True):
        self.agent, self.greedy = agent, greedy
        self.flat: Optional[object] = None

    def reset(self, num_envs: int) -> None:
        core = self.agent.core
        self.flat = None if core is None else core.flatten_state(core.initial_state(num_envs)).clone()

    def start(self, slot: int, seed: int) -> None:
        if self.flat is not None:
            self.flat[slot] = 0.0

    def act(self, observations: Sequence, slots: Sequence[int]) -> np.ndarray:
        import torch

        core = self.agent.core
        with torch.no_grad():
            obs = {key: torch.from_numpy(np.stack([o[key] for o in observations])) for key in observations[0]}
            index = torch.as_tensor(list(slots), dtype=torch.long)
            state = None if core is None else core.unflatten_state(self.flat[index])
            logits, _, _, state = self.agent.step(obs, state)
            if core is not None:
                self.flat[index] = core.flatten_state(state)
            actions = logits.argmax(-1) if self.greedy else torch.distributions.Categorical(logits=logits).sample()
        return actions.numpy()


def _make_env(env_name: str, overrides: dict, index: int):
    from envs.amaze import make_amaze

    return make_amaze(env_name, **overrides)


def evaluate(agent: Agent, env_name: str, num_episodes: int = 200, seed: int = 1_000_000, out: Optional[str] = None,
             label: str = "agent", **overrides) -> dict:
    """score() of `agent` on mazes seed, seed + 1, ... (all stepped together in this process), plus
    mean_return, solve_rate and episodes; with `out`, the report is also written there (trainer "amaze").

    `overrides` go to the env (e.g. obs_agent_pos=True for an agent trained with --amaze_obs_agent_pos).
    """
    from evaluation.score import play_episodes, score

    seeds = [seed + i for i in range(num_episodes)]
    make_env = functools.partial(_make_env, env_name, dict(overrides))
    episodes = play_episodes(make_env, agent, seeds, num_envs=num_episodes, processes=False, desc=label,
                             progress=False)
    result = score(episodes)
    if out is not None:
        from evaluation.report import build_report, episode_rows, write_report

        report = build_report(trainer="amaze", env=env_name, label=label, scores={label: result},
                              episodes=num_episodes, eval_seed=seed)
        write_report(out, f"{env_name}_{label}_{num_episodes}ep_seed{seed}", report, episode_rows(label, episodes))
    return dict(result, mean_return=result["returns"]["mean"], episodes=num_episodes)
