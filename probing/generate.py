"""Writes trajectories in the published offline-dataset format, one NPZ per episode.

    python -m probing.generate --env=memory_9x9 --episodes=30 --out=data/mm9 --workers=2 --seed=0
    python -m probing.generate --env=memory_9x9 --episodes=30 --out=data/mm9_agent --policy=sf:pretrained/memory_9x9

The default policy is scripted (probing.planner: shortest paths to random cells, --epsilon action
noise), as in the paper's dataset. `--policy=sf:CHECKPOINT_OR_RUN_FOLDER` lets a trained sf_maze agent
play instead (probing.agent_policy: loaded without Sample Factory, its actions sampled from its
policy), so its memory can be probed on the paths it takes itself; the files are the same.

Episode i uses a maze and policy seed derived from (--seed, i) alone, so reruns, worker counts and
resumed runs give identical files. A file appears only once complete (written aside, then renamed),
and a rerun skips episodes whose files exist: a killed run continues where it stopped.

The run ends by logging its throughput in episodes per hour per worker (env construction excluded
for one worker, included for a pool), the figure to size a larger dataset with: hours for E episodes
on W workers ~= E / (rate * W).
"""
import argparse
import json
import logging
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Dict, List, Optional

import numpy as np

from probing.format import DEFAULT_STEPS, EXTRA_KEYS, NUM_ACTIONS, README_KEYS, WRITE_DTYPES
from probing.planner import WaypointPolicy
from common.files import TMP_MARK, atomic_path, write_atomic
from common.cli import InputError, input_errors_exit_2  # the repo's one "one line, exit 2" helper

log = logging.getLogger(__name__)

META_FILE = "generation.json"
# Settings that change the content of a file; a rerun into the same folder must agree on them.
CONTENT_ARGS = ("env", "seed", "steps", "epsilon", "policy")
# What a folder written before a setting existed was made with.
CONTENT_DEFAULTS = {"policy": "scripted"}
DEFAULT_EPSILON = 0.2


class WorkerDied(RuntimeError):
    """A worker process ended mid-run; the message is one line."""


def episode_filename(index: int) -> str:
    return f"episode_{index:06d}.npz"


def episode_seed(base_seed: int, index: int) -> int:
    """Independent of the order and process episodes are made in."""
    return int(np.random.SeedSequence([base_seed, index]).generate_state(1)[0] % (2 ** 31))


def extraobs_name(env_name: str) -> str:
    """The ExtraObs variant of `env_name`: the probes' labels come from its global observables."""
    parts = env_name.split("_")
    if parts[0] != "memory" or len(parts) < 2:
        raise ValueError(f"{env_name!r} is not a Memory Maze env (memory_<size>[_vis])")
    if "extraobs" in parts:
        return env_name
    size, rest = parts[1], parts[2:]
    if rest not in ([], ["vis"]):
        raise ValueError(f"No ExtraObs variant for {env_name!r}; use memory_<size> or memory_<size>_vis")
    return "_".join(["memory", size, "extraobs", *rest])


def collect_episode(env, *, seed: int, steps: int, epsilon: Optional[float] = DEFAULT_EPSILON,
                    agent=None) -> Dict[str, np.ndarray]:
    """One trajectory of `steps` actions: every entry has steps + 1 rows, first action/reward zero.

    agent: a loaded sf_maze agent (probing.agent_policy) that plays instead of the scripted policy,
    whose action noise `epsilon` then does not apply. `seed` seeds the maze and the policy's draws.
    """
    limit = getattr(env, "max_episode_steps", None)
    if limit is not None and steps > limit:
        raise ValueError(f"--steps={steps} exceeds the env's episode length of {limit} steps")
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    if agent is None:
        waypoints = WaypointPolicy(layout=obs["maze_layout"], rng=rng, epsilon=epsilon)

        def policy(obs, last_action, last_reward):
            return waypoints(obs["agent_pos"], obs["agent_dir"])
    else:
        from probing.agent_policy import AgentPolicy

        waypoints, policy = None, AgentPolicy(agent, rng)  # a new one per episode: its memory starts at zero
    rows = {key: [] for key in (*README_KEYS, *EXTRA_KEYS)}

    def record(obs, action_onehot, reward, reset):
        for key in README_KEYS:
            if key not in ("action", "reward"):
                rows[key].append(obs[key])
        rows["action"].append(action_onehot)
        rows["reward"].append(reward)
        rows["terminal"].append(False)  # Memory Maze never terminates, it only times out
        rows["reset"].append(reset)

    record(obs, np.zeros(NUM_ACTIONS), 0.0, True)
    action, reward = None, 0.0
    for t in range(steps):
        action = policy(obs, action, reward)
        obs, reward, terminated, truncated, _ = env.step(action)
        onehot = np.zeros(NUM_ACTIONS)
        onehot[action] = 1.0
        record(obs, onehot, reward, False)
        if (terminated or truncated) and t + 1 < steps:
            raise ValueError(f"The env ended its episode after {t + 1} steps, before --steps={steps}")
    data = {key: np.asarray(values, dtype=WRITE_DTYPES[key]) for key, values in rows.items()}
    if waypoints is not None:
        log.debug("seed %d: %d waypoints reached, reward %.0f", seed, waypoints.waypoints_reached, data["reward"].sum())
    else:
        log.debug("seed %d: agent's reward %.0f", seed, data["reward"].sum())
    return data


def write_atomically(path: str, data: Dict[str, np.ndarray]) -> None:
    """Readers never see a half-written file: a killed writer leaves only a `.tmp-` file behind."""
    with atomic_path(path) as tmp, open(tmp, "wb") as file:  # a file object: numpy adds no .npz suffix
        np.savez_compressed(file, **data)


# ---- workers: one env each, built once (construction takes seconds and ~1 GB) --------------------
_envs: Dict[str, object] = {}


def worker_env(env_name: str):
    """This process's env for `env_name` (its ExtraObs variant), built on first use."""
    name = extraobs_name(env_name)
    if name not in _envs:
        from envs import make_env  # late: workers are spawned, and the GL backend is chosen in each

        _envs[name] = make_env(name)
    return _envs[name]


# ... and one agent each, loaded once (None: the scripted policy).
_agents: Dict[str, object] = {}


def worker_agent(checkpoint: Optional[str]):
    """This process's agent of `checkpoint` (already checked by check_args), loaded on first use."""
    if checkpoint is None:
        return None
    if checkpoint not in _agents:
        from networks import load_sf_checkpoint

        agent = load_sf_checkpoint(checkpoint)
        for parameter in agent.parameters():
            parameter.requires_grad_(False)
        _agents[checkpoint] = agent
    return _agents[checkpoint]


def _start_worker(env_name: str, checkpoint: Optional[str]) -> None:
    if checkpoint is not None:
        import torch

        torch.set_num_threads(1)  # one thread per worker process: the pool already fills the cores
    worker_env(env_name)
    worker_agent(checkpoint)


def _make_one(job) -> int:
    index, out_dir, env_name, base_seed, steps, epsilon, checkpoint = job
    data = collect_episode(worker_env(env_name), seed=episode_seed(base_seed, index), steps=steps, epsilon=epsilon,
                           agent=worker_agent(checkpoint))
    write_atomically(os.path.join(out_dir, episode_filename(index)), data)
    return index


def resolve_policy(args: argparse.Namespace) -> None:
    """Sets args.checkpoint (the agent's .pth, None for the scripted policy), args.agent_info and the
    scripted policy's default --epsilon, once; loads and checks the agent (InputError naming both envs)."""
    if getattr(args, "policy_resolved", False):
        return
    from probing.agent_policy import policy_path

    if policy_path(args.policy) is None:
        args.checkpoint, args.agent_info = None, {}
        args.epsilon = DEFAULT_EPSILON if args.epsilon is None else args.epsilon
    else:
        if args.epsilon is not None:
            raise InputError(f"--epsilon={args.epsilon} is the scripted policy's action noise; --policy={args.policy} "
                             "samples the agent's own actions: leave --epsilon out")
        from probing.agent_policy import load_agent

        agent, args.checkpoint, args.agent_info = load_agent(args.policy, args.env)
        _agents[args.checkpoint] = agent  # loaded once here; a pool's workers load their own
    args.policy_resolved = True


def content_settings(args: argparse.Namespace) -> Dict[str, object]:
    """The settings that decide a folder's files; the agent by its checkpoint's absolute path."""
    settings = {key: getattr(args, key) for key in CONTENT_ARGS}
    settings["policy"] = "scripted" if args.checkpoint is None else f"sf:{args.checkpoint}"
    return settings


def _check_meta(out_dir: str, args: argparse.Namespace) -> None:
    meta_path = os.path.join(out_dir, META_FILE)
    wanted = content_settings(args)
    if os.path.exists(meta_path):
        with open(meta_path) as file:
            meta = json.load(file)
        found = {key: meta.get(key, CONTENT_DEFAULTS.get(key)) for key in CONTENT_ARGS}
        if found != wanted:
            raise InputError(f"{out_dir} holds episodes made with {found}, not {wanted}: use another --out")
    else:
        write_atomic(meta_path, json.dumps(dict(wanted, format="memory-maze offline dataset NPZ", **args.agent_info),
                                           indent=1))


def missing_episodes(out_dir: str, episodes: int) -> List[int]:
    return [i for i in range(episodes) if not os.path.exists(os.path.join(out_dir, episode_filename(i)))]


def generate(args: argparse.Namespace) -> List[int]:
    """Makes the missing episodes of `args.out`; returns the indices it wrote."""
    from tqdm import tqdm

    resolve_policy(args)
    os.makedirs(args.out, exist_ok=True)
    _check_meta(args.out, args)
    for name in os.listdir(args.out):  # leftovers of killed writers; their episodes are redone
        if TMP_MARK in name:
            os.remove(os.path.join(args.out, name))
    todo = missing_episodes(args.out, args.episodes)
    log.info("%s: %d of %d episodes to make (%d steps each), policy %s", args.out, len(todo), args.episodes,
             args.steps, content_settings(args)["policy"])
    if not todo:
        return []
    jobs = [(i, args.out, args.env, args.seed, args.steps, args.epsilon, args.checkpoint) for i in todo]
    workers = max(1, min(args.workers, len(todo)))
    done = []
    progress = tqdm(total=len(todo), desc="episodes", unit="ep")
    if workers == 1:
        worker_env(args.env)  # built before the clock starts: a one-off cost, not a per-episode one
        worker_agent(args.checkpoint)
        start = time.time()
        for job in jobs:
            done.append(_make_one(job))
            progress.update()
            progress.set_postfix(ep_per_hour_per_worker=f"{episodes_per_hour(len(done), time.time() - start, 1):.0f}")
    else:
        log.info("%d workers, each holding its own env (~1 GB each)", workers)
        start = time.time()
        # spawn, not fork: a forked MuJoCo / GL context is not safe to reuse. An executor, not a
        # multiprocessing.Pool: a Pool replaces a killed worker (the OOM killer) and waits forever for
        # its episode; the executor raises BrokenProcessPool.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                                 initargs=(args.env, args.checkpoint)) as pool:
            try:
                for future in as_completed([pool.submit(_make_one, job) for job in jobs]):
                    done.append(future.result())
                    progress.update()
                    progress.set_postfix(
                        ep_per_hour_per_worker=f"{episodes_per_hour(len(done), time.time() - start, workers):.0f}")
            except BrokenProcessPool:
                progress.close()
                raise WorkerDied(f"a worker process died (the OOM killer? each holds ~1 GB); {len(done)} of "
                                 f"{len(todo)} episodes were written and are kept: rerun the same command to make "
                                 "the rest") from None
    progress.close()
    rate = episodes_per_hour(len(done), time.time() - start, workers)
    log.info("%d episodes of %d steps in %.0f s on %d worker(s): %.0f episodes/hour per worker",
             len(done), args.steps, time.time() - start, workers, rate)
    return done


def episodes_per_hour(episodes: int, seconds: float, workers: int) -> float:
    """Throughput per worker; divide a dataset's episode count by rate * workers for its hours."""
    return episodes / max(seconds, 1e-9) * 3600.0 / max(workers, 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9", help="Memory Maze name; its ExtraObs variant is used for labels")
    parser.add_argument("--episodes", type=int, required=True)
    parser.add_argument("--out", required=True, help="Folder of episode_XXXXXX.npz files")
    parser.add_argument("--workers", type=int, default=1, help="Processes, each with its own env (~1 GB each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="Actions per episode (entries: steps + 1)")
    parser.add_argument("--epsilon", type=float, default=None,
                        help=f"Scripted policy only: probability of a uniformly random action (default {DEFAULT_EPSILON})")
    parser.add_argument("--policy", default="scripted",
                        help="scripted (default: shortest paths to random cells, --epsilon noise) | "
                             "sf:CHECKPOINT_OR_RUN_FOLDER: a trained sf_maze agent plays (a .pth, or a run folder's "
                             "newest checkpoint), its actions sampled from its policy (not its argmax) as in "
                             "training and sf_maze.evaluate, seeded by --seed; it must have been trained on --env")
    return parser


# The package's episode lengths at its 4 Hz control rate (every ExtraObs variant runs at 4 Hz).
EPISODE_STEPS = {"9x9": 1000, "11x11": 2000, "13x13": 3000, "15x15": 4000}


def check_args(args: argparse.Namespace) -> None:
    """Every flag, before the output folder or a worker is made (InputError, one line)."""
    from envs.memory_maze import parse_name
    from common.cli import check_at_least, check_writable_folder

    check_at_least(1, episodes=args.episodes, workers=args.workers, steps=args.steps)
    check_at_least(0, seed=args.seed)
    if args.epsilon is not None and not 0 <= args.epsilon <= 1:
        raise InputError(f"--epsilon={args.epsilon}; pass a probability in [0, 1]")
    try:
        size, _ = parse_name(extraobs_name(args.env))
    except ValueError as error:
        raise InputError(f"--env={args.env}: {error}") from None
    if args.steps > EPISODE_STEPS[size]:
        raise InputError(f"--steps={args.steps} exceeds a memory_{size} episode ({EPISODE_STEPS[size]} steps)")
    check_writable_folder("--out", args.out)
    resolve_policy(args)  # last: loads the agent, after every cheap check


@input_errors_exit_2("probing.generate")
def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    check_args(args)
    start = time.time()
    try:
        written = generate(args)
    except WorkerDied as error:
        print(f"probing.generate: error: {error}", file=sys.stderr)
        return 1
    log.info("wrote %d episodes in %.0f s", len(written), time.time() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
