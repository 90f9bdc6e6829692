"""Dreamer vs the Sample Factory agent on one AMaze setting and env-step budget (CPU), plus Dreamer's
gradient steps per second at the memory_maze preset on a synthetic batch. Prints Markdown tables.

Usage: python benchmarks/dreamer_learning.py [--env amaze_7x7] [--steps 4096] [--seeds 0 1]
       [--episodes 100] [--dreamer-args="--batch_length=16 --train_every=32 --prefill=1000"] [--grad-steps 1]
       [--skip-sf] [--skip-learning] [--out-dir DIR]

The defaults fit a ~10-minute run on a 2-core CPU: a small budget (SF's AMaze defaults collect 2048
steps per update, so a multiple of 2048 keeps both at the same count) and a cheaper Dreamer schedule
than the amaze preset's (shorter sequences, fewer gradient steps per env step).

Both agents train from scratch for --steps env steps per seed, then play the first episode of the
held-out mazes seeded 1_000_000 + k, k < --episodes (the same layouts for both: sf_maze's AMaze
evaluation and dreamer.evaluate seed mazes alike), sampling from their policies. A uniform random
policy on those mazes is the floor. The SF side runs `python -m sf_maze.train` and loads its
checkpoint with networks.load_sf_checkpoint; if that fails the row reads n/a with the reason.
"""
import argparse
import glob
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
EVAL_SEED = 1_000_000


def run(command, timeout):
    start = time.time()
    env = dict(os.environ, WANDB_MODE="offline", OMP_NUM_THREADS="1")
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed: {(result.stderr or result.stdout).strip().splitlines()[-1:]}")
    return time.time() - start


def dreamer_seed(env, steps, seed, out_dir, extra, episodes, timeout):
    from dreamer.evaluate import evaluate

    logdir = os.path.join(out_dir, f"dreamer_{env}_s{seed}")
    wall = run([sys.executable, "-m", "dreamer.train", f"--env={env}", "--preset=amaze", f"--logdir={logdir}",
                f"--steps={steps}", f"--seed={seed}", "--log_every=1000", *extra], timeout)
    result = evaluate(logdir, env, episodes=episodes, seed=EVAL_SEED, greedy=False)
    trained = torch.load(os.path.join(logdir, "checkpoint.pt"), map_location="cpu", weights_only=False)["env_steps"]
    return result["scores"]["agent"]["returns"], wall, trained


def sf_seed(env, steps, seed, out_dir, episodes, timeout):
    from networks import load_sf_checkpoint
    from evaluation.amaze import evaluate
    from sf_maze.amaze import agent_policy

    experiment = f"sf_{env}_s{seed}"
    wall = run([sys.executable, "-m", "sf_maze.train", f"--env={env}", f"--experiment={experiment}",
                f"--train_dir={out_dir}", f"--train_for_env_steps={steps}", f"--seed={seed}", "--device=cpu"], timeout)
    paths = sorted(glob.glob(os.path.join(out_dir, experiment, "checkpoint_p0", "checkpoint_*.pth")))
    if not paths:
        raise RuntimeError("sf_maze.train wrote no checkpoint")
    agent = load_sf_checkpoint(paths[-1])
    result = evaluate(agent_policy(agent, greedy=False), env, num_episodes=episodes, seed=EVAL_SEED)
    trained = int(os.path.basename(paths[-1]).split("_")[-1].split(".")[0])  # checkpoint_<version>_<env steps>.pth
    return result["returns"], wall, trained


def random_returns(env, episodes):
    from evaluation.amaze import evaluate, random_policy

    return evaluate(random_policy(0), env, num_episodes=episodes, seed=EVAL_SEED)["returns"]


def fmt(seed_scores):
    """One seed: its mean and 95% interval over the evaluation episodes (the one report's `returns`);
    several: the mean and std of the seeds' means."""
    if not seed_scores:
        return "n/a"
    if len(seed_scores) == 1:
        r = seed_scores[0]
        return f"{r['mean']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
    means = [r["mean"] for r in seed_scores]
    return f"{np.mean(means):.3f} ± {np.std(means):.3f} over seeds"


def learning_table(args, out_dir):
    torch.set_num_threads(1)  # evaluation here runs small models: one thread beats two contended ones
    extra = shlex.split(args.dreamer_args)
    rows = []
    dreamer_means, dreamer_wall, dreamer_steps = [], [], []
    for seed in args.seeds:
        returns, wall, trained = dreamer_seed(args.env, args.steps, seed, out_dir, extra, args.episodes, args.timeout)
        dreamer_means.append(returns)
        dreamer_wall.append(wall)
        dreamer_steps.append(trained)
    rows.append(("Dreamer (dreamer.train --preset=amaze " + " ".join(extra) + ")", dreamer_means, dreamer_wall,
                 dreamer_steps, ""))
    sf_means, sf_wall, sf_steps, note = [], [], [], ""
    if args.skip_sf:
        note = "skipped (--skip-sf)"
    else:
        try:
            for seed in args.seeds:
                returns, wall, trained = sf_seed(args.env, args.steps, seed, out_dir, args.episodes, args.timeout)
                sf_means.append(returns)
                sf_wall.append(wall)
                sf_steps.append(trained)
        except Exception as error:  # the SF path may not be ready: report, don't crash the benchmark
            note = f"n/a: {type(error).__name__}: {error}"
            sf_means, sf_wall, sf_steps = [], [], []
    rows.append(("Sample Factory APPO (sf_maze.train defaults)", sf_means, sf_wall, sf_steps, note))
    try:
        floor = fmt([random_returns(args.env, args.episodes)])
    except Exception as error:
        floor = f"n/a ({type(error).__name__})"

    print(f"\n### {args.env}, {args.steps} env steps per seed, CPU, eval on {args.episodes} held-out mazes "
          f"(seeds {EVAL_SEED}..{EVAL_SEED + args.episodes - 1}, sampled actions)\n")
    print("| agent | seeds | env steps trained | mean return [95% interval] (several seeds: mean ± std) | train wall-clock s/seed | note |")
    print("|---|---|---|---|---|---|")
    for name, means, wall, steps, row_note in rows:
        wall_text = f"{np.mean(wall):.0f}" if wall else "n/a"
        steps_text = "/".join(str(s) for s in sorted(set(steps))) if steps else "n/a"
        print(f"| {name} | {len(means)} | {steps_text} | {fmt(means)} | {wall_text} | {row_note} |")
    print(f"| uniform random policy | - | - | {floor} | - | floor |")


def grad_steps_table(args):
    from dreamer.agent import Dreamer, batch_to_tensors
    from dreamer.config import agent_kwargs, build
    from dreamer.observations import ObsSpec

    cfg = build({"env": "memory_9x9"}, preset="memory_maze")
    torch.set_num_threads(cfg["threads"] or os.cpu_count() or 1)  # what dreamer.train would use
    torch.manual_seed(0)
    agent = Dreamer(ObsSpec("image", (64, 64, 3)), 6, torch.device("cpu"), **agent_kwargs(cfg))
    T, B = cfg["batch_length"], cfg["batch_size"]
    rng = np.random.default_rng(0)
    first = np.zeros((T, B), bool)
    first[0] = True
    batch = {"image": rng.integers(0, 256, (T, B, 64, 64, 3), dtype=np.uint8),
             "action": rng.integers(0, 6, (T, B)).astype(np.int16), "reward": rng.random((T, B), dtype=np.float32),
             "first": first, "terminal": np.zeros((T, B), bool)}
    tensors = batch_to_tensors(batch, 6, torch.device("cpu"))
    fresh = np.ones(B, bool)
    agent.train_step(tensors, fresh)  # warm-up (allocations)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.grad_steps):
        agent.train_step(tensors, np.zeros(B, bool))  # TBTT on: carried state, as the preset trains
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    params = sum(p.numel() for p in agent.world_model.parameters()) + sum(p.numel() for p in agent.behavior.parameters())
    print(f"\n### Dreamer memory_maze preset, synthetic {B}x{T} batch of 64x64 frames, CPU "
          f"({torch.get_num_threads()} torch threads, {os.cpu_count()} cores, {platform.processor() or platform.machine()})\n")
    print("| deter | stoch x classes | params | grad steps timed | grad steps/s (wall) | CPU s per step |")
    print("|---|---|---|---|---|---|")
    print(f"| {cfg['deter']} | {cfg['stoch']}x{cfg['classes']} | {params / 1e6:.1f} M | {args.grad_steps} | "
          f"{args.grad_steps / wall:.3f} | {cpu / args.grad_steps:.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="amaze_7x7")
    parser.add_argument("--steps", type=int, default=4096, help="env steps per agent and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--episodes", type=int, default=100, help="held-out evaluation mazes")
    parser.add_argument("--dreamer-args", default="--batch_length=16 --train_every=32 --prefill=1000", help="extra dreamer.train overrides, e.g. '--batch_length=16'")
    parser.add_argument("--grad-steps", type=int, default=1, help="timed memory_maze gradient steps")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per training subprocess")
    parser.add_argument("--skip-sf", action="store_true")
    parser.add_argument("--skip-learning", action="store_true")
    parser.add_argument("--out-dir", default="", help="run directories (default: a temp dir)")
    args = parser.parse_args()
    print(f"python {' '.join(shlex.quote(a) for a in sys.argv)}")
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="dreamer_bench_")
    if not args.skip_learning:
        learning_table(args, out_dir)
    if args.grad_steps > 0:
        grad_steps_table(args)


if __name__ == "__main__":
    main()
