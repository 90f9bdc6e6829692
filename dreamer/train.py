"""Train DreamerV2: `python -m dreamer.train --env=memory_9x9 [--preset=memory_maze|amaze|debug] [--logdir=DIR]
[--steps=N] [--key=value ...]` (`--help` lists every key).

Running the same command again resumes from <logdir>/checkpoint.pt: env steps, replay, weights,
optimizers. Keys given on the command line override the saved config, except those that fix
shapes (config.ARCHITECTURE_KEYS).
"""
import os
import sys
import time
from typing import List, Optional, Tuple

import numpy as np
import torch

from dreamer import checkpoint as ckpt
from dreamer.agent import Actor, Dreamer, batch_to_tensors
from dreamer.config import ARCHITECTURE_KEYS, ConfigError, coerce, build, defaults, help_text, parse_argv
from dreamer.logger import Logger
from dreamer.observations import ObsSpec
from dreamer.replay import Replay, SequenceSampler


def resolve_config(argv: List[str]) -> Tuple[dict, Optional[dict]]:
    """-> (config, checkpoint to resume from or None)."""
    overrides = parse_argv(argv)
    config = build(overrides, preset=overrides.get("preset"))
    path = os.path.join(config["logdir"], ckpt.FILENAME)
    if not os.path.exists(path):
        return config, None
    checkpoint = ckpt.load(path)
    saved, typed = checkpoint["config"], defaults()
    for key in (*ARCHITECTURE_KEYS, "preset"):
        if key in overrides and (coerce(key, overrides[key], typed[key]) if key in typed else overrides[key]) != saved.get(key):
            raise ConfigError(f"--{key}={overrides[key]} differs from the run in {config['logdir']} "
                              f"({key}={saved.get(key)!r}); use another --logdir to start a new run")
    return build({k: v for k, v in overrides.items() if k != "preset"}, base=saved), checkpoint


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def env_seed(seed: int, env_index: int, env_steps: int) -> int:
    """A fresh maze sequence per (run seed, env, resume point): a resumed run does not replay old mazes."""
    return int(np.random.SeedSequence([seed, env_index, env_steps]).generate_state(1)[0] % 2**31)


class Trainer:
    def __init__(self, cfg: dict, checkpoint: Optional[dict]):
        from envs import make_env

        self.cfg = cfg
        if cfg["threads"] > 0:
            torch.set_num_threads(cfg["threads"])
        os.makedirs(cfg["logdir"], exist_ok=True)
        self.env_steps = checkpoint["env_steps"] if checkpoint else 0
        self.episodes = checkpoint["episodes"] if checkpoint else 0
        torch.manual_seed(cfg["seed"] + self.env_steps)
        self.rng = np.random.default_rng([cfg["seed"], self.env_steps])
        self.envs = [make_env(cfg["env"], seed=env_seed(cfg["seed"], i, self.env_steps)) for i in range(cfg["envs"])]
        self.spec = ObsSpec.from_env(cfg["env"], self.envs[0].observation_space)
        self.num_actions = int(self.envs[0].action_space.n)
        self.device = pick_device(cfg["device"])
        self.agent = Dreamer(cfg, self.spec, self.num_actions, self.device)
        if checkpoint:
            self.agent.load_state_dict(checkpoint["agent"])
        replay_dir = os.path.join(cfg["logdir"], "replay")
        self.replay = Replay(replay_dir, cfg["replay_capacity"], cfg["envs"], self.spec.shapes(),
                             state=checkpoint["replay"] if checkpoint else None)
        self.sampler = SequenceSampler(self.replay, cfg["batch_size"], cfg["batch_length"], cfg["tbtt"],
                                       seed=int(self.rng.integers(2**31)))
        self.actor = Actor(self.agent.world_model, self.agent.behavior, cfg["envs"], seed=int(self.rng.integers(2**31)))
        self.logger = Logger(cfg["logdir"], cfg, cfg["wandb"])

    def save(self) -> None:
        self.replay.flush()  # replay steps first: the checkpoint must never count steps not on disk
        ckpt.save(os.path.join(self.cfg["logdir"], ckpt.FILENAME), {
            "config": self.cfg, "world_model_args": self.agent.world_model.init_args(),
            "agent": self.agent.state_dict(), "env_steps": self.env_steps, "episodes": self.episodes,
            "replay": self.replay.state_dict()})

    def grad_steps_due(self) -> int:
        cfg = self.cfg
        if self.env_steps < cfg["prefill"] or not self.sampler.ready():
            return 0
        return cfg["pretrain"] + cfg["train_steps"] * ((self.env_steps - cfg["prefill"]) // cfg["train_every"])

    def train(self) -> None:
        while self.agent.grad_steps < self.grad_steps_due():
            batch, fresh = self.sampler.sample()
            tensors = batch_to_tensors(batch, self.num_actions, self.device)
            self.logger.add(self.agent.train_step(tensors, fresh if self.cfg["tbtt"] else None))

    def run(self) -> None:
        from tqdm import tqdm

        cfg, n = self.cfg, len(self.envs)
        obs = [self.spec.from_env_obs(env.reset()[0]) for env in self.envs]
        for i in range(n):
            self.replay.add(i, obs[i], -1, 0.0, True, False)
        first = np.ones(n, dtype=bool)
        returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
        next_log = (self.env_steps // cfg["log_every"] + 1) * cfg["log_every"]
        next_save = (self.env_steps // cfg["checkpoint_every"] + 1) * cfg["checkpoint_every"]
        last_time, last_steps, last_grads = time.time(), self.env_steps, self.agent.grad_steps
        bar = tqdm(total=cfg["steps"], initial=self.env_steps, unit="step", mininterval=1.0, dynamic_ncols=True)
        try:
            while self.env_steps < cfg["steps"]:
                if self.env_steps < cfg["prefill"]:
                    actions = self.rng.integers(0, self.num_actions, size=n)
                else:
                    stacked = {key: np.stack([o[key] for o in obs]) for key in obs[0]}
                    actions = self.actor.act(stacked, first)
                for i, env in enumerate(self.envs):
                    new_obs, reward, terminated, truncated, _ = env.step(int(actions[i]))
                    obs[i] = self.spec.from_env_obs(new_obs)
                    self.replay.add(i, obs[i], int(actions[i]), reward, False, terminated)
                    returns[i] += reward
                    lengths[i] += 1
                    first[i] = terminated or truncated
                    if first[i]:
                        self.logger.add({"reward/reward": returns[i], "len/len": lengths[i]})
                        self.episodes += 1
                        bar.set_postfix(reward=f"{returns[i]:.2f}", refresh=False)
                        returns[i], lengths[i] = 0.0, 0
                        obs[i] = self.spec.from_env_obs(env.reset()[0])
                        self.replay.add(i, obs[i], -1, 0.0, True, False)
                self.env_steps += n
                bar.update(n)
                self.train()
                if self.env_steps >= next_log:
                    now = time.time()
                    self.logger.write(self.env_steps, {
                        "perf/_fps": (self.env_steps - last_steps) / max(now - last_time, 1e-9),
                        "perf/train_steps_per_sec": (self.agent.grad_steps - last_grads) / max(now - last_time, 1e-9),
                        "stats/grad_steps": self.agent.grad_steps, "stats/episodes": self.episodes,
                        "stats/replay_steps": len(self.replay)})
                    last_time, last_steps, last_grads = now, self.env_steps, self.agent.grad_steps
                    next_log += cfg["log_every"]
                if self.env_steps >= next_save:
                    self.save()
                    next_save += cfg["checkpoint_every"]
        except KeyboardInterrupt:
            print("\nInterrupted: saving a checkpoint", file=sys.stderr)
        finally:
            bar.close()
        self.save()
        self.logger.close()
        for env in self.envs:
            env.close()


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__.strip() + "\n\n" + help_text())
        return 0
    try:
        cfg, checkpoint = resolve_config(argv)
    except (ConfigError, ValueError, FileNotFoundError) as error:
        print(f"dreamer.train: error: {error}", file=sys.stderr)
        return 2
    if checkpoint:
        print(f"Resuming {cfg['logdir']} from env step {checkpoint['env_steps']} "
              f"(grad step {checkpoint['agent']['grad_steps']})", flush=True)
    else:
        print(f"Starting {cfg['logdir']}: env {cfg['env']}, preset {cfg.get('preset')}", flush=True)
    trainer = Trainer(cfg, checkpoint)
    trainer.run()
    print(f"Done: {trainer.env_steps} env steps, {trainer.agent.grad_steps} grad steps, "
          f"{trainer.episodes} episodes; checkpoint in {cfg['logdir']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
