"""Time to score against the trainer a user would pick instead: sb3-contrib's RecurrentPPO beside sf-maze.

    python benchmarks/peer_learning.py [--env=memory_9x9] [--frames=3000000] [--save_every=1000000]
        [--score_at 1000000 2000000 3000000] [--seed=1] [--num_envs=16] [--run_dir=DIR]
        [--ours pretrained/memory_9x9 ...] [--out=docs/results/peer_learning] [--report_only]

Trains RecurrentPPO `CnnLstmPolicy` (PEER_CONFIG: rl-baselines3-zoo's recurrent-PPO settings for
Atari, the zoo's image task with discrete actions, each value's source beside it) on a SubprocVecEnv
of `envs.make_env` with as many envs as our default agent on 2 cores, saves the model at every
--save_every frames and at each --score_at budget, and scores the saves at --score_at and --frames
with the one evaluation function (evaluation.score.play_episodes through `RecurrentPPOAgent`, on
sf_maze.policy.make_eval_env, so episode i plays the very maze sf_maze.evaluate's episode i plays),
writing sf_maze.evaluate's report files (evaluation.report) to <run_dir>/eval/.

Killed, the same command continues from the last save: <run_dir>/peer_run.json (written atomically)
records the frames reached, the model file, the training seconds and each save's report; SIGTERM or
SIGINT stop at the next rollout, save, and exit with 128 + the signal (a shell's "interrupted"). A
save left unscored by a kill is scored by the next call before training goes on.

Then it prints and writes to --out (table.md, curve.png, peer_learning.json; no machine paths):
each trainer's scores at each budget and the frames and training hours at which each first reached a
mean return of 1, 3 and 5, with the ratio RecurrentPPO / sf-maze. Ours comes from the --ours run
folders: their eval/ reports with the same protocol, hours from their tensorboard summaries (each
stretch from the summary writer's start to the event at the checkpoint's frames; the gaps between
stretches and the scoring left out), else from frames / memory_learning_speed.json's fps.
Training hours of the peer: the time in learn() per stretch, start-up of its envs included, scoring
left out. Budgets are only as fine as the scored saves: "first reached at 2M" means between the save
before and 2M.
sb3-contrib comes with the `bench` extra (`pip install -e '.[bench]'`; the test lock has it); exit 2 when missing.
"""
import argparse
import datetime
import functools
import glob
import io
import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, "benchmarks")
sys.path[:0] = [REPO, BENCHMARKS]

from common.cli import InputError, check_at_least, check_writable_folder, input_errors_exit_2  # noqa: E402
from common.files import write_atomic  # noqa: E402
from evaluation.score import Agent  # noqa: E402
from sb3_recurrent_ppo import SETTINGS as FPS_BENCHMARK, missing_sb3  # noqa: E402
from sf_maze.evaluate import DEFAULT_EVAL_SEED, file_stem  # noqa: E402  (the same protocol and file names)

log = logging.getLogger("peer_learning")

TRAINER = "recurrent_ppo"
RUN_FILE = "peer_run.json"
OUT_FILE = "peer_learning.json"
THRESHOLDS = (1.0, 3.0, 5.0)
OURS = [os.path.join("pretrained", name) for name in ("memory_9x9", "memory_9x9_seed2", "memory_9x9_seed3")]

ZOO = "rl-baselines3-zoo hyperparams/ppo_lstm.yml `atari` (commit 038ab16)"
RPPO_DEFAULT = "RecurrentPPO's default (the zoo's `atari` entry leaves it)"
FPS_SCRIPT = "benchmarks/sb3_recurrent_ppo.py"
# value, source. The zoo's `atari` entry is its only recurrent-PPO image task with discrete actions
# (CarRacing-v0's is continuous, with gSDE). Not taken from it: AtariWrapper and frame_stack 4 (Atari
# preprocessing: the peer sees the 64x64 RGB frames our agent sees) and n_envs 8 (--num_envs: ours).
PEER_CONFIG = {
    "policy": ("CnnLstmPolicy", ZOO),                   # NatureCNN + LSTM, the choice
    "n_steps": (128, ZOO),                              # also the fps benchmark's
    "batch_size": (256, ZOO),                           # also the fps benchmark's
    "n_epochs": (4, ZOO),                               # the fps benchmark's 1 was for throughput only
    "learning_rate": ("lin_2.5e-4", ZOO),               # linear to 0 over the run's --frames
    "clip_range": ("lin_0.1", ZOO),                     # linear to 0 over the run's --frames
    "vf_coef": (0.5, ZOO),
    "ent_coef": (0.01, ZOO),
    "gamma": (0.99, RPPO_DEFAULT),
    "gae_lambda": (0.95, RPPO_DEFAULT),
    "max_grad_norm": (0.5, RPPO_DEFAULT),
    "lstm_hidden_size": (FPS_BENCHMARK["lstm_hidden_size"], FPS_SCRIPT + " (RecurrentPPO's default too)"),
    "enable_critic_lstm": (True, RPPO_DEFAULT),         # the critic has its own LSTM
    "device": (FPS_BENCHMARK["device"], FPS_SCRIPT),
    "torch_threads": (FPS_BENCHMARK["torch_threads"], FPS_SCRIPT),  # one thread, as each SF process has
}
# Tests only: the same trainer at a few frames per rollout.
PRESETS = {"zoo": {}, "debug": dict(n_steps=8, batch_size=16, n_epochs=1)}


def default_num_envs() -> int:
    """Our default agent's envs on 2 cores (benchmarks/peer_fps.py's number): 2 workers x ENVS_PER_WORKER."""
    from sf_maze.params import ENVS_PER_WORKER

    return 2 * ENVS_PER_WORKER


def peer_settings(preset: str) -> dict:
    """{name: value} of PEER_CONFIG with the preset's overrides."""
    return dict({name: value for name, (value, _) in PEER_CONFIG.items()}, **PRESETS[preset])


def schedule(value):
    """The zoo's 'lin_X' (X times the progress remaining) as SB3's LinearSchedule; numbers as they are."""
    from stable_baselines3.common.utils import LinearSchedule

    if isinstance(value, str) and value.startswith("lin_"):
        return LinearSchedule(start=float(value[4:]), end=0.0, end_fraction=1.0)
    return value


# ---- the policy adapter for the one evaluation function --------------------------------------------
class RecurrentPPOAgent(Agent):
    """An sb3-contrib recurrent policy as evaluation.score's Agent: each slot keeps its own LSTM state.

    start(slot) marks the slot's next step as an episode start and zeroes its state; act() calls
    model.predict on the playing slots' observations (N, C, H, W) with their states, sampling actions
    (deterministic=False, like sf_maze.evaluate) from torch's global generator.
    """

    def __init__(self, model, deterministic: bool = False):
        self.model = model
        self.deterministic = deterministic
        self.layers, _, self.hidden_size = model.policy.lstm_hidden_state_shape

    def reset(self, num_envs: int) -> None:
        self.hidden = np.zeros((self.layers, num_envs, self.hidden_size), np.float32)
        self.cell = np.zeros_like(self.hidden)
        self.episode_start = np.ones(num_envs, dtype=bool)

    def start(self, slot: int, seed: int) -> None:
        self.episode_start[slot] = True
        self.hidden[:, slot] = 0.0
        self.cell[:, slot] = 0.0

    def act(self, observations: Sequence, slots: Sequence[int]) -> np.ndarray:
        slots = list(slots)
        state = (self.hidden[:, slots], self.cell[:, slots])
        actions, (hidden, cell) = self.model.predict(np.stack(observations), state=state,
                                                     episode_start=self.episode_start[slots],
                                                     deterministic=self.deterministic)
        self.hidden[:, slots], self.cell[:, slots] = hidden, cell
        self.episode_start[slots] = False
        return np.asarray(actions).reshape(len(slots))


def make_eval_env(env_name: str, index: int, max_episode_steps: Optional[int] = None):
    """sf_maze.evaluate's evaluation env (its maze for each episode seed; (3, H, W) uint8 frames, which
    the peer's policy takes after SB3's VecTransposeImage in training)."""
    from sf_maze.policy import make_eval_env as sf_eval_env

    cfg = dict(env=env_name, maze_reference_impl=False, maze_last_action_reward=False)
    return sf_eval_env(cfg, index, max_episode_steps=max_episode_steps)


def score_model(model, run_dir: str, model_path: str, frames: int, args) -> str:
    """Scores one saved model with evaluation.score and writes sf_maze.evaluate's report files to
    <run_dir>/eval/; returns the JSON's path relative to run_dir."""
    import torch

    from evaluation.report import build_report, episode_rows, write_report
    from evaluation.score import play_episodes, score

    seeds = [args.eval_seed + i for i in range(args.episodes)]
    make = functools.partial(make_eval_env, args.env, max_episode_steps=args.max_episode_steps)
    training_rng = torch.get_rng_state()  # scoring mid-run leaves training's sampling as it was
    torch.manual_seed(args.eval_seed)  # sampled actions: the same model and seeds give the same scores
    try:
        episodes = play_episodes(make, RecurrentPPOAgent(model), seeds, num_envs=args.eval_envs, desc="recurrent_ppo",
                                 progress=False)
    finally:
        torch.set_rng_state(training_rng)
    label = model_label(frames)
    report = build_report(trainer=TRAINER, env=args.env, label=label, scores={"agent": score(episodes)},
                          episodes=args.episodes, eval_seed=args.eval_seed, experiment=os.path.basename(run_dir),
                          checkpoint=os.path.join(run_dir, model_path), run_dir=run_dir, checkpoint_env_steps=frames,
                          max_episode_steps=args.max_episode_steps, deterministic=False,
                          random_note="random: not measured in this run (sf_maze.evaluate --random scores it on these seeds)")
    paths = write_report(os.path.join(run_dir, "eval"), file_stem(args.env, label, args.episodes, args.eval_seed,
                                                                  args.max_episode_steps),
                         report, episode_rows("agent", episodes))
    mean = report["scores"]["agent"]["returns"]["mean"]
    log.info("scored %s: mean return %.2f over %d episodes", label, mean, args.episodes)
    return os.path.relpath(paths["json"], run_dir)


def model_label(frames: int) -> str:
    return f"model_{frames:09d}"


# ---- the run folder -------------------------------------------------------------------------------
def read_json(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_identity(args) -> dict:
    """What a resumed run must share with the command that continues it."""
    return dict(trainer=TRAINER, env=args.env, seed=args.seed, num_envs=args.num_envs, frames_budget=args.frames,
                preset=args.preset, config=peer_settings(args.preset))


def check_run_dir(run_dir: str, identity: dict) -> Optional[dict]:
    """The run's record when run_dir holds this run (None for a new or empty folder); InputError when it
    holds another trainer's or env's run, or this run with other settings."""
    if os.path.isfile(run_dir):
        raise InputError(f"--run_dir={run_dir} is a file; pass a folder")
    record = read_json(os.path.join(run_dir, RUN_FILE))
    if record is None:
        if os.path.isfile(os.path.join(run_dir, "config.json")):
            other = read_json(os.path.join(run_dir, "config.json")) or {}
            raise InputError(f"--run_dir={run_dir} holds a Sample Factory run (config.json, env {other.get('env')}); "
                             "pass a new --run_dir")
        if os.path.isdir(run_dir) and os.listdir(run_dir):
            raise InputError(f"--run_dir={run_dir} holds files but no {RUN_FILE}: another trainer's run? "
                             "pass a new --run_dir")
        return None
    for key in ("trainer", "env"):
        if record.get(key) != identity[key]:
            raise InputError(f"--run_dir={run_dir} holds a {record.get('trainer')} run on {record.get('env')}, "
                             f"not {identity['trainer']} on {identity['env']}; pass a new --run_dir")
    differ = [f"{key} {record.get(key)!r} (now {identity[key]!r})" for key in identity if record.get(key) != identity[key]]
    if differ:
        raise InputError(f"--run_dir={run_dir} holds this trainer's run with other settings: {'; '.join(differ)}; "
                         "pass the same flags (the schedules decay over its --frames) or a new --run_dir")
    return record


def check_out_dir(out: str, env: str) -> None:
    """InputError when --out holds another env's comparison (or another pair of trainers')."""
    check_writable_folder("--out", out)
    record = read_json(os.path.join(out, OUT_FILE))
    if record is not None and (record.get("env") != env or record.get("peer") != TRAINER):
        raise InputError(f"--out={out} holds the comparison of {record.get('peer')} on {record.get('env')}, "
                         f"not {TRAINER} on {env}; pass another --out")


def write_record(run_dir: str, record: dict) -> None:
    write_atomic(os.path.join(run_dir, RUN_FILE), json.dumps(record, indent=1))


# ---- training ------------------------------------------------------------------------------------
class Stop(Exception):
    """A stop signal arrived while scoring: the save is on disk, its score is redone by the next call."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


class StopSignals:
    """SIGTERM and SIGINT recorded while training (the run saves at the next rollout), raised as Stop
    while scoring (what was saved stays)."""

    def __init__(self):
        self.received: Optional[int] = None
        self.raise_now = False

    def __enter__(self):
        self.previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        return self

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)

    def _on_signal(self, signum, _frame):
        self.received = signum
        log.warning("signal %d: stopping after saving", signum)
        if self.raise_now:
            raise Stop(signum)


def training_env(env_name: str, seed: int, parent_pid: int):
    """One env of the peer's SubprocVecEnv, in its own process (spawned: its parent is the main
    process): stop signals are the main process's (it saves first), and the process ends with it
    (kill -9 included)."""
    from common.processes import exit_with_parent
    from envs import make_env

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    exit_with_parent(parent_pid)
    return make_env(env_name, seed=seed)


def save_points(args) -> List[int]:
    points = set(range(args.save_every, args.frames + 1, args.save_every)) | set(args.score_at) | {args.frames}
    return sorted(points)


def train(args, run_dir: str, record: dict, stop: StopSignals) -> dict:
    """Trains from the record's last save to --frames, saving (and scoring) at each save point passed;
    returns the updated record. A stop signal ends it after a save."""
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import SubprocVecEnv

    from envs import mix_seed
    from envs.rendering import ensure_gl_backend

    settings = peer_settings(args.preset)
    ensure_gl_backend()  # once here: the env processes inherit MUJOCO_GL instead of each probing
    torch.set_num_threads(settings["torch_threads"])
    start_frames, seconds_before = record["frames"], record["train_seconds"]
    stretch_start = time.perf_counter()
    # Fresh mazes after each resume (mixed from the frames reached, as Dreamer's envs are), never near
    # the evaluation seeds (those are mixed from 1,000,000 + i).
    env_seed = mix_seed(args.seed, start_frames)
    vec_env = SubprocVecEnv([functools.partial(training_env, args.env, mix_seed(args.seed, i, start_frames), os.getpid())
                             for i in range(args.num_envs)], start_method="spawn")
    try:
        if record.get("model"):
            model = RecurrentPPO.load(os.path.join(run_dir, record["model"]), env=vec_env, device=settings["device"])
            model.set_random_seed(env_seed)
        else:
            model = RecurrentPPO(
                settings["policy"], vec_env, n_steps=settings["n_steps"], batch_size=settings["batch_size"],
                n_epochs=settings["n_epochs"], learning_rate=schedule(settings["learning_rate"]),
                clip_range=schedule(settings["clip_range"]), vf_coef=settings["vf_coef"],
                ent_coef=settings["ent_coef"], gamma=settings["gamma"], gae_lambda=settings["gae_lambda"],
                max_grad_norm=settings["max_grad_norm"],
                policy_kwargs=dict(lstm_hidden_size=settings["lstm_hidden_size"],
                                   enable_critic_lstm=settings["enable_critic_lstm"]),
                device=settings["device"], seed=env_seed, verbose=0)
        points = [p for p in save_points(args) if p > start_frames]
        side_seconds = [0.0]  # saving and scoring: not training time

        def save(frames: int, budgets: Sequence[int], at_point: bool = True) -> None:
            """Saves the model (at_point False: at a stop, kept only until the next save) and scores it
            for `budgets`."""
            begun = time.perf_counter()
            stretch_seconds = begun - stretch_start - side_seconds[0]
            path = os.path.join("models", model_label(frames) + ".zip")
            model.num_timesteps = frames  # the frames the weights trained on (a stop cuts a rollout short)
            buffer = io.BytesIO()
            model.save(buffer)
            write_atomic(os.path.join(run_dir, path), buffer.getvalue())
            entry = dict(frames=frames, model=path, train_seconds=seconds_before + stretch_seconds,
                         score_for=sorted(budgets), report=None, at_save_point=at_point)
            # a stop's save (26 MB) goes once a later one exists; the saves at the save points stay
            dropped = [s for s in record["saves"] if s["frames"] != frames and not s.get("at_save_point", True)]
            record["saves"] = [s for s in record["saves"] if s["frames"] != frames and s not in dropped] + [entry]
            record.update(frames=frames, model=path, train_seconds=entry["train_seconds"])
            record["stretches"][-1].update(end_frames=frames, seconds=stretch_seconds)
            write_record(run_dir, record)
            for old in dropped:
                if os.path.exists(os.path.join(run_dir, old["model"])):
                    os.remove(os.path.join(run_dir, old["model"]))
            log.info("saved %s (%.2f training hours)", path, entry["train_seconds"] / 3600)
            if budgets and stop.received is None:  # after a stop signal the next call scores it
                stop.raise_now = True
                try:
                    entry["report"] = score_model(model, run_dir, path, frames, args)
                finally:
                    stop.raise_now = False
                write_record(run_dir, record)
            side_seconds[0] += time.perf_counter() - begun

        class SaveAtPoints(BaseCallback):
            """Saves at the first rollout start at or past each save point (the weights then trained on
            every frame counted), and stops the rollout at a stop signal."""

            def _on_rollout_start(self) -> None:
                self.trained = self.model.num_timesteps
                passed = [p for p in points if p <= self.trained]
                if passed:
                    for p in passed:
                        points.remove(p)
                    save(self.trained, [p for p in passed if p in args.score_at or p == args.frames])

            def _on_step(self) -> bool:
                self.stopped = stop.received is not None
                return not self.stopped

        record["stretches"].append(dict(start_frames=start_frames, end_frames=start_frames, seconds=0.0,
                                        load_average_start=list(os.getloadavg()), num_envs=args.num_envs))
        callback = SaveAtPoints()
        callback.stopped = False
        model.learn(total_timesteps=args.frames - start_frames, reset_num_timesteps=False, callback=callback)
        trained = callback.trained if callback.stopped else model.num_timesteps
        record["stretches"][-1]["load_average_end"] = list(os.getloadavg())
        if trained > record["frames"]:
            passed = [p for p in points if p <= trained]
            save(trained, [p for p in passed if p in args.score_at or p == args.frames], at_point=bool(passed))
        stretch = record["stretches"][-1]
        if stretch["seconds"] > 0:
            stretch["fps"] = (stretch["end_frames"] - stretch["start_frames"]) / stretch["seconds"]
            write_record(run_dir, record)
            log.info("stretch: %d -> %d frames at %.1f frames/s (training time, start-up included)",
                     stretch["start_frames"], stretch["end_frames"], stretch["fps"])
        return record
    finally:
        vec_env.close()


def score_missing(args, run_dir: str, record: dict, stop: StopSignals) -> None:
    """Scores saves a kill left unscored (their report missing), before training goes on."""
    from sb3_contrib import RecurrentPPO

    for entry in record["saves"]:
        if not entry.get("score_for") or (entry.get("report") and os.path.isfile(os.path.join(run_dir, entry["report"]))):
            continue
        log.info("scoring %s (a save an earlier call did not score)", entry["model"])
        model = RecurrentPPO.load(os.path.join(run_dir, entry["model"]), device=peer_settings(args.preset)["device"])
        stop.raise_now = True
        try:
            entry["report"] = score_model(model, run_dir, entry["model"], entry["frames"], args)
        finally:
            stop.raise_now = False
        write_record(run_dir, record)


# ---- time to score ---------------------------------------------------------------------------------
Point = Tuple[int, Optional[float], float]  # (frames, training hours or None, mean return)


def first_reach(points: Sequence[Point], threshold: float) -> Optional[Tuple[int, Optional[float]]]:
    """(frames, hours) of the first scored budget whose mean return reaches threshold; None if none does."""
    for frames, hours, mean in sorted(points, key=lambda p: p[0]):
        if mean >= threshold:
            return frames, hours
    return None


def mean_reach(runs: Sequence[Sequence[Point]], threshold: float, index: int) -> Optional[float]:
    """Mean over runs of first_reach's frames (index 0) or hours (1); None unless every run reached it."""
    values = [first_reach(points, threshold) for points in runs]
    if not values or any(v is None or v[index] is None for v in values):
        return None
    return float(np.mean([v[index] for v in values]))


def ratio(peer: Sequence[Point], ours: Sequence[Sequence[Point]], threshold: float, index: int
          ) -> Tuple[Optional[float], bool]:
    """(peer / ours, is_lower_bound) for frames (index 0) or hours (1) to the threshold; ours is the mean
    over our runs. A peer that never reached it gives its last scored budget over ours: a lower bound.
    (None, False) when ours did not reach it (in every run) or the peer has no point."""
    our_mean = mean_reach(ours, threshold, index)
    if our_mean is None or not peer or our_mean <= 0:
        return None, False
    reached = first_reach(peer, threshold)
    if reached is not None:
        return (None, False) if reached[index] is None else (reached[index] / our_mean, False)
    last = max(peer, key=lambda p: p[0])
    value = last[0] if index == 0 else last[1]
    return (None, False) if value is None else (value / our_mean, True)


# ---- our side: the shipped runs --------------------------------------------------------------------
def protocol_matches(report: dict, args) -> bool:
    return (report.get("env") == args.env and report.get("episodes") == args.episodes
            and report.get("eval_seed") == args.eval_seed and report.get("max_episode_steps") == args.max_episode_steps
            and not report.get("deterministic") and isinstance(report.get("checkpoint_env_steps"), int)
            and "agent" in report.get("scores", {}))


# A run's last summary comes up to one summary interval before its final checkpoint's frames.
SUMMARY_SLACK_FRAMES = 100_000


def summary_stretches(run_dir: str, max_frames: Optional[int] = None) -> Optional[list]:
    """[(start wall time, [(step, wall time), ...]), ...], one per tensorboard event file (one training
    stretch each) of a Sample Factory run, in order; files starting past max_frames are not read. None
    without summaries. A stretch starts when its summary writer opened (the file's header), else at its
    first event."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    paths = sorted(glob.glob(os.path.join(run_dir, ".summary", "0", "events.out.tfevents.*")))
    stretches = []
    for path in paths:
        opened, events = None, []
        for event in EventFileLoader(path).Load():
            if event.HasField("file_version"):
                opened = event.wall_time if opened is None else opened
            elif event.HasField("summary"):
                events.append((int(event.step), float(event.wall_time)))
                if max_frames is not None and len(events) == 1 and event.step > max_frames:
                    break
        if not events:
            continue
        if max_frames is not None and events[0][0] > max_frames:
            break
        events.sort(key=lambda e: e[1])
        # a header later than the file's events: written afterwards (a copy, a test), not at start-up
        start = opened if opened is not None and opened <= events[0][1] else events[0][1]
        stretches.append((start, events))
    return stretches or None


def hours_at(stretches, frames: int) -> Optional[float]:
    """Training hours until `frames`: the stretches before it whole, the one holding it up to its first
    event at or past `frames`; None when the summaries end more than SUMMARY_SLACK_FRAMES before it."""
    seconds = 0.0
    for start, events in stretches:
        if events[0][0] >= frames and seconds > 0:  # reached at the end of the stretch before
            return seconds / 3600
        at = next((wall for step, wall in events if step >= frames), None)
        seconds += (at if at is not None else events[-1][1]) - start
        if at is not None:
            return seconds / 3600
    last_step = stretches[-1][1][-1][0] if stretches else None
    return seconds / 3600 if last_step is not None and frames - last_step <= SUMMARY_SLACK_FRAMES else None


def read_our_run(run_dir: str, args) -> dict:
    """{'name', 'num_envs', 'points': [(frames, hours, mean)], 'reports': {frames: report}, 'hours_from',
    'random': random score or None} of one of our runs."""
    reports = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "eval", "*.json"))):
        report = read_json(path)
        if report and protocol_matches(report, args):
            reports[report["checkpoint_env_steps"]] = report
    config = read_json(os.path.join(run_dir, "config.json")) or {}
    num_envs = (config.get("num_workers") or 0) * (config.get("num_envs_per_worker") or 0) or None
    stretches = summary_stretches(run_dir, max(reports)) if reports else None
    speed = read_json(os.path.join(run_dir, "memory_learning_speed.json")) or {}
    points = []
    for frames, report in sorted(reports.items()):
        hours = hours_at(stretches, frames) if stretches else None
        if hours is None and speed.get("fps"):
            hours = frames / speed["fps"] / 3600
        points.append((frames, hours, report["scores"]["agent"]["returns"]["mean"]))
    hours_from = ("tensorboard summaries" if stretches else
                  "frames / memory_learning_speed.json's fps" if speed.get("fps") else "not recorded")
    random = next((r["scores"]["random"] for r in reports.values() if "random" in r["scores"]), None)
    return dict(name=os.path.basename(os.path.normpath(run_dir)), num_envs=num_envs, seed=config.get("seed"),
                points=points, reports=reports, hours_from=hours_from, random=random)


# ---- the comparison ------------------------------------------------------------------------------
def read_peer_run(run_dir: str, record: dict, args) -> dict:
    reports, points = {}, []
    for entry in sorted(record.get("saves", []), key=lambda s: s["frames"]):
        report = read_json(os.path.join(run_dir, entry["report"])) if entry.get("report") else None
        if report and protocol_matches(report, args):
            reports[entry["frames"]] = report
            points.append((entry["frames"], entry["train_seconds"] / 3600, report["scores"]["agent"]["returns"]["mean"]))
    return dict(name=os.path.basename(os.path.normpath(run_dir)), num_envs=record.get("num_envs"),
                seed=record.get("seed"), points=points, reports=reports, hours_from="time in learn()", random=None)


def _num(x: Optional[float], digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def reach_cells(points: Sequence[Point], threshold: float) -> str:
    reached = first_reach(points, threshold)
    if reached is None:
        last = max((p[0] for p in points), default=None)
        return f"not by {last:,} | -" if last is not None else "no score | -"
    return f"{reached[0]:,} | {_num(reached[1])}"


def ratio_cell(value: Optional[float], lower_bound: bool) -> str:
    return "n/a" if value is None else (">" if lower_bound else "") + f"{value:.2f}x"


def machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return dict(cpu=cpu, cpus=os.cpu_count(), commit=commit, load_average=[round(x, 2) for x in os.getloadavg()],
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def format_tables(peer: dict, ours: Sequence[dict], args, info: dict) -> str:
    ours_points = [run["points"] for run in ours]
    our_runs = ", ".join(f"{run['name']} ({run['num_envs']} envs)" for run in ours) or "no run given"
    lines = [f"**{args.env}**: sb3-contrib RecurrentPPO (`CnnLstmPolicy`, seed {peer['seed']}, {peer['num_envs']} envs) "
             f"beside sf-maze ({our_runs}). "
             f"Machine: {info['cpu']}, {info['cpus']} CPUs; {info['date']}; commit `{info['commit']}`; "
             f"load average (1/5/15 min) {' / '.join(f'{x:.2f}' for x in info['load_average'])} at the end, "
             "per peer stretch in peer_learning.json.", "",
             f"Scores: {args.episodes} episodes per save on maze seeds {args.eval_seed}..{args.eval_seed + args.episodes - 1} "
             f"(sf_maze.evaluate's protocol{'' if not args.max_episode_steps else f', SHORTENED to {args.max_episode_steps} steps'}); "
             "mean ± std of the episode return, 95% t-interval of the mean; hours: training time to that save.", "",
             "| trainer | run | frames | hours | return mean ± std | 95% CI |", "|---|---|---:|---:|---:|---|"]
    for trainer, runs in (("RecurrentPPO", [peer]), ("sf-maze", ours)):
        for run in runs:
            for frames, hours, _ in run["points"]:
                r = run["reports"][frames]["scores"]["agent"]["returns"]
                lines.append(f"| {trainer} | {run['name']} | {frames:,} | {_num(hours)} | {_num(r['mean'])} ± {_num(r['std'])} "
                             f"| [{_num(r['ci_low'])}, {_num(r['ci_high'])}] |")
    random = next((run["random"] for run in ours if run["random"]), None)
    if random:
        r = random["returns"]
        lines.append(f"| uniform random | same maze seeds | - | - | {_num(r['mean'])} ± {_num(r['std'])} "
                     f"| [{_num(r['ci_low'])}, {_num(r['ci_high'])}] |")
    header = " | ".join(f"return ≥ {t:g}: frames | hours" for t in THRESHOLDS)
    lines += ["", "Time to score: the first scored save whose mean return reaches each threshold (frames, training "
              "hours); sf-maze's mean is over its runs (n/a unless every run reached it); the ratio is "
              "RecurrentPPO / sf-maze (> : the peer had not reached it by its last save, a lower bound).", "",
              f"| trainer | run | {header} |", "|---|---|" + "---:|---:|" * len(THRESHOLDS)]
    for trainer, runs in (("RecurrentPPO", [peer]), ("sf-maze", ours)):
        for run in runs:
            lines.append(f"| {trainer} | {run['name']} | " + " | ".join(reach_cells(run["points"], t) for t in THRESHOLDS) + " |")
    if ours:
        cells = " | ".join(f"{_num(mean_reach(ours_points, t, 0), 0)} | {_num(mean_reach(ours_points, t, 1))}"
                           for t in THRESHOLDS)
        lines.append(f"| sf-maze | mean of {len(ours)} | {cells} |")
        cells = " | ".join(f"{ratio_cell(*ratio(peer['points'], ours_points, t, 0))} | "
                           f"{ratio_cell(*ratio(peer['points'], ours_points, t, 1))}" for t in THRESHOLDS)
        lines.append(f"| ratio | RecurrentPPO / sf-maze | {cells} |")
    lines += ["", "Hours from: " + "; ".join(f"{run['name']}: {run['hours_from']}" for run in [peer, *ours]) + ".",
              "", "RecurrentPPO settings (value: source):", ""]
    lines += [f"- {name}: {value if name not in PRESETS[args.preset] else PRESETS[args.preset][name]}: {source}"
              + (f" (preset {args.preset} overrides it)" if name in PRESETS[args.preset] else "")
              for name, (value, source) in PEER_CONFIG.items()]
    ours_default = default_num_envs()
    lines.append(f"- num_envs: {args.num_envs}: " + ("our default agent's on 2 cores (2 workers x sf_maze.params.ENVS_PER_WORKER)"
                                                   if args.num_envs == ours_default else
                                                   f"--num_envs (our default agent's on 2 cores: {ours_default})"))
    return "\n".join(lines)


def plot(peer: dict, ours: Sequence[dict], out_path: str, title: str) -> str:
    """Mean return (95% interval bars) at each scored save against frames and against training hours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.files import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for axis, index, xlabel in ((axes[0], 0, "env frames"), (axes[1], 1, "training hours")):
        for trainer, runs, style in (("RecurrentPPO", [peer], dict(color="tab:red", linewidth=2)),
                                     ("sf-maze", ours, dict(color="tab:blue", linewidth=1, alpha=0.8))):
            for k, run in enumerate(runs):
                points = [p for p in run["points"] if p[index] is not None]
                if not points:
                    continue
                xs = [p[index] for p in points]
                returns = [run["reports"][p[0]]["scores"]["agent"]["returns"] for p in points]
                means = [r["mean"] for r in returns]
                errors = [[r["mean"] - r["ci_low"] for r in returns], [r["ci_high"] - r["mean"] for r in returns]]
                axis.errorbar(xs, means, yerr=np.nan_to_num(errors), marker="o", capsize=3,
                              linestyle=["-", "--", ":"][k % 3], label=f"{trainer} {run['name']}", **style)
        random = next((run["random"] for run in ours if run["random"]), None)
        if random:
            axis.axhline(random["returns"]["mean"], color="black", linestyle=":", linewidth=1,
                         label=f"uniform random {random['returns']['mean']:.2f}")
        for threshold in THRESHOLDS:
            axis.axhline(threshold, color="grey", linewidth=0.5, alpha=0.5)
        axis.set_xlabel(xlabel)
        axis.set_ylabel("mean episode return (95% interval)")
        axis.grid(alpha=0.3)
        axis.legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return out_path


def compare(args, run_dir: str, record: dict) -> str:
    """Prints the tables and writes table.md, curve.png and peer_learning.json to --out."""
    peer = read_peer_run(run_dir, record, args)
    ours = [read_our_run(path, args) for path in args.ours]
    for run, path in zip(ours, args.ours):
        if not run["points"]:
            log.warning("%s has no report with this protocol (%s, %d episodes, seed %d)", path, args.env,
                        args.episodes, args.eval_seed)
    ours = [run for run in ours if run["points"]]
    info = machine()
    text = format_tables(peer, ours, args, info)
    os.makedirs(args.out, exist_ok=True)
    curve = None
    if peer["points"] or ours:
        curve = plot(peer, ours, os.path.join(args.out, "curve.png"),
                     f"{args.env}: RecurrentPPO vs sf-maze, {args.episodes} episodes per point, commit {info['commit']}")
        text += "\n\nFigure: curve.png (scores against frames and against training hours)."
    write_atomic(os.path.join(args.out, "table.md"), text + "\n")
    summary = dict(env=args.env, peer=TRAINER, ours="sample_factory", machine=info, episodes=args.episodes,
                   eval_seed=args.eval_seed, max_episode_steps=args.max_episode_steps, thresholds=list(THRESHOLDS),
                   peer_run=dict(name=peer["name"], num_envs=peer["num_envs"], seed=peer["seed"], points=peer["points"],
                                 stretches=record.get("stretches", []), preset=args.preset),
                   our_runs=[dict(name=r["name"], num_envs=r["num_envs"], seed=r["seed"], points=r["points"],
                                  hours_from=r["hours_from"]) for r in ours])
    write_atomic(os.path.join(args.out, OUT_FILE), json.dumps(summary, indent=1))
    print("\n" + text)
    return curve or ""


# ---- command line --------------------------------------------------------------------------------
def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9", help="Env to train and score (an image-only Memory Maze env)")
    parser.add_argument("--frames", type=int, default=3_000_000, help="Env frames to train the peer for")
    parser.add_argument("--save_every", type=int, default=1_000_000, help="Save the model every this many frames")
    parser.add_argument("--score_at", type=int, nargs="+", default=[1_000_000, 2_000_000, 3_000_000],
                        help="Budgets to save and score at (--frames is always scored)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--num_envs", type=int, default=None,
                        help="Training envs (default: our default agent's on 2 cores, 2 x ENVS_PER_WORKER)")
    parser.add_argument("--preset", default="zoo", choices=sorted(PRESETS), help="debug: tiny rollouts, tests only")
    parser.add_argument("--episodes", type=int, default=30, help="Episodes per score (sf_maze.evaluate's protocol: 30)")
    parser.add_argument("--eval_seed", type=int, default=DEFAULT_EVAL_SEED, help="Episode i runs on maze seed eval_seed + i")
    parser.add_argument("--eval_envs", type=int, default=min(os.cpu_count() or 1, 4), help="Envs stepped while scoring")
    parser.add_argument("--max_episode_steps", type=int, default=None, help="Cut episodes short (tests only)")
    parser.add_argument("--run_dir", default=None,
                        help="The peer's run folder (default train_dir/peer_learning/<env>_recurrent_ppo_seed<seed>)")
    parser.add_argument("--ours", nargs="*", default=[os.path.join(REPO, path) for path in OURS],
                        help="sf-maze run folders to compare with (their eval/ reports and .summary/)")
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "results", "peer_learning"),
                        help="Folder for table.md, curve.png and peer_learning.json")
    parser.add_argument("--report_only", action="store_true", help="Only the tables and figure from what the runs hold")
    args = parser.parse_args(argv)
    if args.num_envs is None:
        args.num_envs = default_num_envs()
    if args.run_dir is None:
        args.run_dir = os.path.join(REPO, "train_dir", "peer_learning", f"{args.env}_{TRAINER}_seed{args.seed}")
    return args


def check_args(args) -> None:
    """Every bad input as one InputError, before any env, process or folder is made."""
    check_at_least(1, frames=args.frames, save_every=args.save_every, num_envs=args.num_envs, episodes=args.episodes,
                   eval_envs=args.eval_envs, max_episode_steps=args.max_episode_steps)
    check_at_least(0, seed=args.seed)
    if missing_sb3():
        raise InputError(missing_sb3())
    from envs import check_env_name, env_family

    check_env_name(args.env, trainable=True)
    image_only = False
    if env_family(args.env) == "memory":
        from envs.memory_maze import VARIANTS, parse_name

        image_only = bool(VARIANTS[parse_name(args.env)[1]].get("image_only_obs"))
    if not image_only:
        raise InputError(f"--env={args.env} gives no image-only observation, which CnnLstmPolicy takes; "
                         "pass memory_9x9 or another image-only Memory Maze env")
    if args.frames < args.save_every:
        raise InputError(f"--frames={args.frames} is below one save interval (--save_every={args.save_every}); "
                         "pass a budget of at least one save interval")
    bad = [b for b in args.score_at if not 1 <= b <= args.frames]
    if bad:
        raise InputError(f"--score_at {' '.join(map(str, bad))}: each must lie in 1..--frames={args.frames}")
    for path in args.ours:
        if not os.path.isdir(path):
            raise InputError(f"--ours {path}: no such run folder")


@input_errors_exit_2("peer_learning.py")
def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("tensorboard").setLevel(logging.WARNING)
    args = parse_args(argv)
    check_args(args)
    record = check_run_dir(args.run_dir, run_identity(args))
    check_out_dir(args.out, args.env)
    if args.report_only:
        if record is None:
            raise InputError(f"--run_dir={args.run_dir} holds no peer run yet; run without --report_only first")
        compare(args, args.run_dir, record)
        return 0
    check_writable_folder("--run_dir", args.run_dir)
    if record is None:
        record = dict(run_identity(args), frames=0, model=None, train_seconds=0.0, saves=[], stretches=[])
        os.makedirs(args.run_dir, exist_ok=True)
        write_record(args.run_dir, record)
    with StopSignals() as stop:
        try:
            score_missing(args, args.run_dir, record, stop)
            if record["frames"] < args.frames and stop.received is None:
                record = train(args, args.run_dir, record, stop)
        except Stop:
            pass
        if stop.received is not None:
            log.warning("stopped at %d frames (saved); run the same command to continue", record["frames"])
            return 128 + stop.received
    compare(args, args.run_dir, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
