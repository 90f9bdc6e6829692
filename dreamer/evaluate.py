"""Score a Dreamer checkpoint: `evaluate(logdir, env, episodes, seed)` -> the evaluation report
(evaluation.report, the format sf_maze.evaluate writes) plus {"mean", "std", "returns"}.

Episode k plays the maze of seed `seed + k` (env.reset(seed=seed + k)), the same mazes sf_maze's
AMaze evaluation draws for those seeds, so the two agents can be scored on identical layouts.
"""
import functools
import os
from typing import Dict, List, Optional, Sequence, Union

import gymnasium as gym
import numpy as np
import torch

from dreamer.agent import Actor
from dreamer.behavior import ActorCritic
from dreamer.checkpoint import load_agent
from dreamer.observations import ObsSpec
from dreamer.world_model import WorldModel
from evaluation.score import Agent


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


class DreamerAgent(Agent):
    """A Dreamer world model and actor as an evaluation.score Agent: one Actor per slot, made afresh
    (seeded with the episode's maze seed) at each episode start, so an episode plays the same whichever
    slot takes it and however many slots play."""

    def __init__(self, world_model: WorldModel, behavior: ActorCritic, greedy: bool = False):
        self.world_model, self.behavior, self.greedy = world_model, behavior, greedy
        self.actors: List[Optional[Actor]] = []
        self.first: List[bool] = []

    def reset(self, num_envs: int) -> None:
        self.actors, self.first = [None] * num_envs, [True] * num_envs

    def start(self, slot: int, seed: int) -> None:
        self.actors[slot] = Actor(self.world_model, self.behavior, num_envs=1, greedy=self.greedy, seed=seed)
        self.first[slot] = True

    def act(self, observations: Sequence, slots: Sequence[int]) -> np.ndarray:
        spec = self.world_model.spec
        actions = []
        for raw, slot in zip(observations, slots):
            obs = spec.from_env_obs(raw)
            actions.append(int(self.actors[slot].act({key: value[None] for key, value in obs.items()},
                                                     np.array([self.first[slot]]))[0]))
            self.first[slot] = False
        return np.asarray(actions, dtype=np.int64)


class _KeepOpen(gym.Wrapper):
    """An env the caller passed in: the evaluation's pool must not close it."""

    def close(self) -> None:
        pass


def _make_env(name: str, index: int) -> gym.Env:
    from envs import make_env

    return make_env(name)


def evaluate(logdir: str, env: Union[str, gym.Env], episodes: int = 10, seed: int = 1_000_000,
             greedy: Optional[bool] = None, device: str = "cpu", out: Optional[str] = None) -> Dict[str, object]:
    """The evaluation report (evaluation.report's keys: scores["agent"] with returns, half_split,
    reward_windows, ...) of the run in `logdir` (or a checkpoint file) on `env` (a name or env), plus
    "mean", "std" (population std, as before) and "returns" (list). With `out`, the report's JSON and
    CSVs are written there as sf_maze.evaluate writes them.

    greedy: None uses the run's eval_greedy setting.
    """
    from dreamer.checkpoint import checkpoint_path
    from evaluation.report import build_report, episode_rows, write_report
    from evaluation.score import play_episodes, score

    world_model, behavior, cfg = load_agent(logdir, device)
    name = env if isinstance(env, str) else cfg["env"]
    if isinstance(env, str):
        make = functools.partial(_make_env, env)
        probe = make(0)
        space = probe.observation_space
        probe.close()
    else:
        make, space = (lambda index, kept=_KeepOpen(env): kept), env.observation_space
    spec = ObsSpec.from_env(name, space)
    if spec != world_model.spec:
        raise ValueError(f"The checkpoint's world model takes {world_model.spec}, this env gives {spec}")
    greedy = cfg.get("eval_greedy", False) if greedy is None else greedy
    torch.manual_seed(seed)
    seeds = [seed + k for k in range(episodes)]
    played = play_episodes(make, DreamerAgent(world_model, behavior, greedy), seeds, num_envs=1, desc="dreamer",
                           progress=False)
    path = checkpoint_path(logdir)
    run_dir = os.path.dirname(path)
    report = build_report(trainer="dreamer", env=name, label="agent", scores={"agent": score(played)},
                          episodes=episodes, eval_seed=seed, experiment=os.path.basename(os.path.abspath(run_dir)),
                          checkpoint=path, run_dir=run_dir, deterministic=bool(greedy))
    # checkpoint_env_steps stays None: load_agent does not return it, and reading the checkpoint again
    # would load its replay buffer too.
    rows = episode_rows("agent", played)
    if out is not None:
        write_report(out, f"{name}_dreamer_{episodes}ep_seed{seed}", report, rows)
    returns = [row["episode_return"] for row in rows]
    return dict(report, mean=float(np.mean(returns)), std=float(np.std(returns)), returns=returns)


def main(argv: Optional[List[str]] = None) -> int:
    """python -m dreamer.evaluate --logdir=RUN [--env=NAME] [--episodes=30] [--eval_seed=1000000] [--out=DIR]:
    the one evaluation report of a dreamer.train run, written under <logdir>/eval by default."""
    import argparse

    from common.cli import InputError, check_at_least, input_errors_exit_2
    from envs import check_env_name
    from evaluation.runs import require_folder

    @input_errors_exit_2("dreamer.evaluate")
    def run(argv):
        parser = argparse.ArgumentParser(prog="dreamer.evaluate", description=main.__doc__.splitlines()[0])
        parser.add_argument("--logdir", required=True, help="The dreamer.train run folder (holds checkpoint.pt)")
        parser.add_argument("--env", default=None, help="Env to score on (default: the run's own)")
        parser.add_argument("--episodes", type=int, default=30, help="Full episodes, on seeds eval_seed + i")
        parser.add_argument("--eval_seed", type=int, default=1_000_000, help="Episode i plays the maze of seed eval_seed + i")
        parser.add_argument("--greedy", choices=("True", "False"), default=None,
                            help="Argmax actions (default: the run's eval_greedy setting)")
        parser.add_argument("--out", default=None, help="Folder for the report (default: <logdir>/eval)")
        parser.add_argument("--device", default="cpu")
        args = parser.parse_args(argv)
        require_folder(args.logdir, "--logdir")
        check_at_least(2, episodes=args.episodes)  # a standard deviation needs two
        if args.env is not None:
            check_env_name(args.env, trainable=True)
        from dreamer.checkpoint import checkpoint_path

        if not os.path.isfile(checkpoint_path(args.logdir)):
            raise InputError(f"--logdir={args.logdir} holds no {os.path.basename(checkpoint_path(args.logdir))}: "
                             "pass the folder a dreamer.train run wrote")
        env = args.env or _run_env(args.logdir)
        try:
            report = evaluate(args.logdir, env, episodes=args.episodes, seed=args.eval_seed, device=args.device,
                              greedy=None if args.greedy is None else args.greedy == "True",
                              out=args.out or os.path.join(args.logdir, "eval"))
        except ValueError as error:  # the world model takes other observations than the env gives
            raise InputError(f"{error} (--env={env}, --logdir={args.logdir})") from None
        returns = report["scores"]["agent"]["returns"]
        print(f"dreamer.evaluate: {env}, {args.episodes} episodes: return {returns['mean']:.2f} "
              f"[{returns['ci_low']:.2f}, {returns['ci_high']:.2f}] (95% interval); report in "
              f"{args.out or os.path.join(args.logdir, 'eval')}")
        return 0

    return run(argv)


def _run_env(logdir: str) -> str:
    """The env a run trained on, from the config.json dreamer.train keeps beside its checkpoint."""
    from common.cli import InputError
    from evaluation.runs import read_saved_config

    env = (read_saved_config(logdir) or {}).get("env")
    if not isinstance(env, str):
        raise InputError(f"--logdir={logdir} has no config.json naming its env (a run older than that file): pass --env")
    return env


if __name__ == "__main__":
    import sys

    sys.exit(main())
