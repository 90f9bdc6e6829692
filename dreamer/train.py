"""Train DreamerV2: `python -m dreamer.train --env=memory_9x9 [--preset=memory_maze|dreamerv2_atari|amaze|debug]
[--logdir=DIR] [--steps=N] [--actors=N] [--train_ratio=R] [--key=value ...]` (`--help` lists every key).

--actors=N runs N actor processes (dreamer.actors) that step the envs with a copy of the policy and
write into the replay, while this process only trains, at R replayed steps per env step
(--train_ratio; 0: as fast as it can). --actors=0 steps the envs in this process between updates.
SIGTERM and Ctrl-C stop the actors and save a checkpoint; if this process is killed outright, the
actors exit by themselves within a second.

Running the same command again resumes from <logdir>/checkpoint.pt: env steps, replay, weights,
optimizers. Keys given on the command line override the saved config, except those that fix
shapes (config.ARCHITECTURE_KEYS).
"""
import json
import multiprocessing
import os
import signal
import sys
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from dreamer import checkpoint as ckpt
from dreamer.actors import ActorDied, ActorPool, SharedState, acting_modules
from dreamer.agent import Actor, Dreamer, batch_to_tensors
from dreamer.collect import Collector, make_envs
from common.cli import InputError
from common.files import write_atomic
from dreamer.config import ARCHITECTURE_KEYS, agent_kwargs, build, coerce, defaults, help_text, parse_argv
from dreamer.logger import Logger
from dreamer.observations import ObsSpec
from dreamer.replay import Replay, SequenceSampler
from envs import check_env_name, make_env


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
            raise InputError(f"--{key}={overrides[key]} differs from the run in {config['logdir']} "
                              f"({key}={saved.get(key)!r}); use another --logdir to start a new run")
    return build({k: v for k, v in overrides.items() if k != "preset"}, base=saved), checkpoint


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """One run: the learner, and either the envs (actors=0) or the actor processes (dreamer.actors)."""

    def __init__(self, cfg: dict, checkpoint: Optional[dict]):
        self.cfg = cfg
        if cfg["threads"] > 0:
            torch.set_num_threads(cfg["threads"])
        os.makedirs(cfg["logdir"], exist_ok=True)
        # The run's settings beside its summaries, as Sample Factory keeps its config.json: evaluation.plot
        # groups and labels runs by them and reads the env for the paper's reference lines.
        write_atomic(os.path.join(cfg["logdir"], "config.json"), json.dumps(cfg, indent=1, default=str).encode())
        self.env_steps = checkpoint["env_steps"] if checkpoint else 0
        self.start_env_steps = self.env_steps
        self.episodes = checkpoint["episodes"] if checkpoint else 0
        torch.manual_seed(cfg["seed"] + self.env_steps)
        self.rng = np.random.default_rng([cfg["seed"], self.env_steps])
        if cfg["actors"] == 0:
            self.envs = make_envs(cfg["env"], cfg["seed"], cfg["envs"], 0, self.env_steps)
            probe = self.envs[0]
        else:  # the actors own the envs; one here only tells the spaces
            self.envs, probe = [], make_env(cfg["env"], seed=0)
        self.spec = ObsSpec.from_env(cfg["env"], probe.observation_space)
        self.num_actions = int(probe.action_space.n)
        if cfg["actors"] > 0:
            probe.close()
        self.device = pick_device(cfg["device"])
        self.agent = Dreamer(self.spec, self.num_actions, self.device, **agent_kwargs(cfg))
        if checkpoint:
            self.agent.load_state_dict(checkpoint["agent"])
        self.batch_steps = cfg["batch_size"] * cfg["batch_length"]  # replayed steps per gradient step
        rings = cfg["envs"] * max(cfg["actors"], 1)
        self.shared = None
        if cfg["actors"] > 0:
            self.context = multiprocessing.get_context("spawn")
            self.acting = acting_modules(self.agent.world_model, self.agent.behavior)
            num_params = sum(p.numel() for module in self.acting for p in module.parameters())
            self.shared = SharedState.create(self.context, rings, cfg["actors"], num_params)
        self.replay = Replay(os.path.join(cfg["logdir"], "replay"), cfg["replay_capacity"], rings, self.spec.shapes(),
                             state=checkpoint["replay"] if checkpoint else None,
                             shared_total=self.shared.totals() if self.shared else None)
        self.sampler = SequenceSampler(self.replay, cfg["batch_size"], cfg["batch_length"], cfg["tbtt"],
                                       seed=int(self.rng.integers(2**31)), reset_interval=cfg["reset_interval"])
        self.actor = Actor(self.agent.world_model, self.agent.behavior, cfg["envs"], seed=int(self.rng.integers(2**31)))
        self.logger = Logger(cfg["logdir"], cfg, cfg["wandb"])
        self.bar, self.last_return = None, None
        self.next_log = (self.env_steps // cfg["log_every"] + 1) * cfg["log_every"]
        self.next_save = (self.env_steps // cfg["checkpoint_every"] + 1) * cfg["checkpoint_every"]
        self.last = (time.time(), self.env_steps, self.agent.grad_steps)  # at the last log write
        self.recent = self.last  # at the last progress-bar update

    def save(self) -> None:
        self.replay.flush()  # replay steps first: the checkpoint must never count steps not on disk
        ckpt.save(os.path.join(self.cfg["logdir"], ckpt.FILENAME), {
            "config": self.cfg, "world_model_args": self.agent.world_model.init_args(),
            "agent": self.agent.state_dict(), "env_steps": self.env_steps, "episodes": self.episodes,
            "replay": self.replay.state_dict()})

    def grad_steps_due(self) -> float:
        """Gradient steps the run should have made by now (inf: as many as it can)."""
        cfg = self.cfg
        if self.env_steps < cfg["prefill"] or not self.sampler.ready():
            return 0
        if cfg["train_ratio"] > 0:
            return cfg["pretrain"] + int((self.env_steps - cfg["prefill"]) * cfg["train_ratio"] / self.batch_steps)
        if cfg["actors"] > 0:
            return float("inf")
        return cfg["pretrain"] + cfg["train_steps"] * ((self.env_steps - cfg["prefill"]) // cfg["train_every"])

    def train_step(self) -> None:
        batch, fresh = self.sampler.sample()
        tensors = batch_to_tensors(batch, self.num_actions, self.device)
        self.logger.add(self.agent.train_step(tensors, fresh if self.cfg["tbtt"] else None))

    def episode_done(self, episode_return: float, length: int) -> None:
        self.logger.add({"reward/reward": episode_return, "len/len": length})
        self.episodes += 1
        self.last_return = episode_return

    def rates(self, since: Tuple[float, int, int]) -> Dict[str, float]:
        """Env steps/s, gradient steps/s and replayed steps per env step since `since` = (time, env steps, grad steps)."""
        elapsed = max(time.time() - since[0], 1e-9)
        env_steps, grad_steps = self.env_steps - since[1], self.agent.grad_steps - since[2]
        return {"perf/_fps": env_steps / elapsed, "perf/train_steps_per_sec": grad_steps / elapsed,
                "perf/replay_ratio": grad_steps * self.batch_steps / max(env_steps, 1)}

    def report(self) -> None:
        """Progress bar, log writes and checkpoints, once per loop iteration."""
        cfg = self.cfg
        self.bar.update(self.env_steps - self.bar.n)
        if time.time() - self.recent[0] >= 2.0:
            rates = self.rates(self.recent)
            postfix = {"env/s": f"{rates['perf/_fps']:.0f}", "grad/s": f"{rates['perf/train_steps_per_sec']:.2f}",
                       "ratio": f"{rates['perf/replay_ratio']:.1f}"}
            if self.last_return is not None:
                postfix["reward"] = f"{self.last_return:.2f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.recent = (time.time(), self.env_steps, self.agent.grad_steps)
        if self.env_steps >= self.next_log:
            self.logger.write(self.env_steps, {
                **self.rates(self.last), "stats/grad_steps": self.agent.grad_steps, "stats/episodes": self.episodes,
                "stats/replay_steps": len(self.replay),
                "stats/replay_ratio": self.agent.grad_steps * self.batch_steps / max(self.env_steps, 1)})
            self.last = (time.time(), self.env_steps, self.agent.grad_steps)
            self.next_log = (self.env_steps // cfg["log_every"] + 1) * cfg["log_every"]
        if self.env_steps >= self.next_save:
            self.save()
            self.next_save = (self.env_steps // cfg["checkpoint_every"] + 1) * cfg["checkpoint_every"]

    def run(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=self.cfg["steps"], initial=self.env_steps, unit="step", mininterval=1.0, dynamic_ncols=True)
        pool, died = None, None
        try:
            if self.cfg["actors"] > 0:
                self.shared.policy.publish(self.acting)
                self.update_step_limit()
                pool = ActorPool(self.cfg, self.spec.to_dict(), self.num_actions, self.shared, self.context,
                                 self.start_env_steps)
                self.run_learner(pool)
            else:
                self.run_serial()
        except KeyboardInterrupt:
            print("\nInterrupted: saving a checkpoint", file=sys.stderr)
        except ActorDied as error:  # what the learner holds is sound: keep it, then fail
            died = error
            print(f"\n{error}: saving a checkpoint", file=sys.stderr)
        finally:
            self.bar.close()
            if pool is not None:
                pool.stop()  # no actor writes after this: the checkpoint sees a still replay
                self.env_steps = self.start_env_steps + int(self.shared.steps().sum())
                for episode in pool.drain_episodes():
                    self.episode_done(*episode)
        self.save()
        self.logger.close()
        for env in self.envs:
            env.close()
        if died is not None:
            raise died

    def update_step_limit(self) -> None:
        """With a replay ratio, actors wait once they are two gradient steps' worth ahead of the learner."""
        cfg = self.cfg
        if cfg["train_ratio"] <= 0:
            self.shared.step_limit.value = -1
            return
        if not self.sampler.ready():
            self.shared.step_limit.value = -1 if self.env_steps >= cfg["prefill"] else cfg["prefill"]
            return
        ahead = max(self.agent.grad_steps - cfg["pretrain"] + 2, 0) * self.batch_steps / cfg["train_ratio"]
        self.shared.step_limit.value = int(cfg["prefill"] + ahead)

    def run_learner(self, pool) -> None:
        cfg = self.cfg
        while True:
            pool.check_alive()
            self.env_steps = self.start_env_steps + int(self.shared.steps().sum())
            for episode in pool.drain_episodes():
                self.episode_done(*episode)
            if self.env_steps >= cfg["steps"]:
                break
            if self.agent.grad_steps < self.grad_steps_due():
                self.train_step()
                if self.agent.grad_steps % cfg["policy_every"] == 0:
                    self.shared.policy.publish(self.acting, pool.check_alive)
            else:
                time.sleep(0.002)
            self.update_step_limit()
            self.report()

    def run_serial(self) -> None:
        cfg = self.cfg
        collector = Collector(self.envs, self.spec, self.replay)
        while self.env_steps < cfg["steps"]:
            if self.env_steps < cfg["prefill"]:
                actions = self.rng.integers(0, self.num_actions, size=len(self.envs))
            else:
                actions = self.actor.act(collector.stacked_obs(), collector.first)
            for episode in collector.step(actions):
                self.episode_done(*episode)
            self.env_steps += len(self.envs)
            while self.agent.grad_steps < self.grad_steps_due():
                self.train_step()
            self.report()


def _interrupt(signum, frame):
    signal.signal(signum, signal.SIG_IGN)  # a second SIGTERM must not cut the checkpoint short
    raise KeyboardInterrupt(f"signal {signum}")


# Sizes and budgets the trainer divides by or loops over: at least 1 (0 would train nothing or
# divide by zero deep inside a run).
POSITIVE_KEYS = ("steps", "envs", "policy_every", "deter", "stoch", "classes", "hidden", "cnn_depth", "grid_embed",
                 "mlp_units", "horizon", "slow_critic_every", "replay_capacity", "batch_size", "batch_length",
                 "train_every", "train_steps", "log_every", "checkpoint_every")


def check_counts(cfg) -> None:
    """The env a Dreamer agent can play and the counts above; InputError (one line) otherwise."""
    from common.cli import check_at_least

    check_env_name(cfg["env"], trainable=True)  # refuses teacher envs, naming the student ones
    check_at_least(1, **{key: cfg[key] for key in POSITIVE_KEYS if key in cfg})
    check_at_least(0, seed=cfg.get("seed"), prefill=cfg.get("prefill"), pretrain=cfg.get("pretrain"),
                   threads=cfg.get("threads"), mlp_layers=cfg.get("mlp_layers"))
    for key in ("model_lr", "actor_lr", "critic_lr"):
        if key in cfg and not cfg[key] > 0:
            raise InputError(f"--{key}={cfg[key]}; pass a positive learning rate")
    if "gamma" in cfg and not 0 < cfg["gamma"] <= 1:
        raise InputError(f"--gamma={cfg['gamma']}; pass a discount in (0, 1]")


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__.strip() + "\n\n" + help_text())
        return 0
    try:
        cfg, checkpoint = resolve_config(argv)
        check_counts(cfg)
    except (InputError, ValueError, FileNotFoundError) as error:
        from common.cli import report_input_error  # the repo's one "one line, exit 2" helper

        return report_input_error("dreamer.train", error)
    if checkpoint:
        print(f"Resuming {cfg['logdir']} from env step {checkpoint['env_steps']} "
              f"(grad step {checkpoint['agent']['grad_steps']})", flush=True)
    else:
        print(f"Starting {cfg['logdir']}: env {cfg['env']}, preset {cfg.get('preset')}", flush=True)
    trainer = Trainer(cfg, checkpoint)
    # SIGTERM (a cluster's pre-emption, `kill`) stops like Ctrl-C: actors stopped, checkpoint saved.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        trainer.run()
    except ActorDied as error:
        print(f"dreamer.train: error: {error}; the checkpoint in {cfg['logdir']} is saved: relaunch the same "
              "command to resume", file=sys.stderr, flush=True)
        return 1
    print(f"Done: {trainer.env_steps} env steps, {trainer.agent.grad_steps} grad steps, "
          f"{trainer.episodes} episodes; checkpoint in {cfg['logdir']}", flush=True)
    print("\n".join(next_steps(cfg, argv, trainer.env_steps)), flush=True)
    return 0


def next_steps(cfg: dict, argv: List[str], env_steps: int) -> List[str]:
    """The lines a run ends with: where it is, how far it got, and one command each to continue,
    score and watch it, and where its curves are (paths as given, relative ones from the same folder)."""
    import shlex

    logdir, env = cfg["logdir"], cfg["env"]
    checkpoint = os.path.join(logdir, ckpt.FILENAME)
    if not os.path.exists(checkpoint):
        return [f"dreamer.train: no checkpoint was saved; the run folder is {logdir}"]
    overrides = parse_argv(argv)
    if env_steps >= cfg["steps"]:  # the same command would stop at once: ask for as many steps again
        overrides["steps"], continue_label = str(env_steps + cfg["steps"]), "train more"
    else:
        continue_label = "continue"
    rows = [
        ("run folder", f"{logdir}  (metrics.jsonl and tensorboard summaries)"),
        ("checkpoint", f"{checkpoint}  ({env_steps} env steps of {cfg['steps']})"),
        (continue_label, shlex.join(["python", "-m", "dreamer.train", *(f"--{k}={v}" for k, v in overrides.items())])),
        ("score", shlex.join(["python", "-m", "dreamer.evaluate", f"--env={env}", f"--logdir={logdir}"])),
        ("watch (mp4)", shlex.join(["python", "-m", "dreamer.enjoy", f"--env={env}", f"--logdir={logdir}"])),
        ("plot", shlex.join(["python", "-m", "evaluation.plot", f"--train_dir={os.path.dirname(os.path.abspath(logdir))}",
                             os.path.basename(os.path.abspath(logdir))])),
    ]
    return ["dreamer.train: next steps"] + [f"  {label:<11} {text}" for label, text in rows]


if __name__ == "__main__":
    sys.exit(main())
