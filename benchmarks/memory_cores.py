"""Memory cores side by side: LSTM, GRU, GTrXL, LRU and no memory, same trainer, same budget.

Usage: python benchmarks/memory_cores.py [--env amaze_ood_memory] [--env_steps 500000] [--seeds 0 1 2]
           [--variants lstm gru gtrxl lru none] [--episodes 200] [--train_dir /tmp/memory_cores] [--extra='--rnn_size=128 ...']

Each (variant, seed) trains with the real CLI (`python -m sf_maze.train --maze_core=...`), then its
final checkpoint plays the first episode of `--episodes` held-out mazes (sampled actions). Prints a
Markdown table: core parameters, training frames/s (Sample Factory's own end-of-run count), solve %
and mean return, mean ± std over seeds, beside a uniform random policy on the same mazes. Results of
finished runs are kept in <train_dir>/results.json (written atomically), so an interrupted benchmark
continues where it stopped and the table can be reprinted with --table_only.
"""
import argparse
import json
import logging
import os
import re
import shlex
import subprocess
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from common.cli import input_errors_exit_2  # noqa: E402
from common.files import write_atomic  # noqa: E402
from networks import load_sf_checkpoint  # noqa: E402
from evaluation.amaze import evaluate, random_policy  # noqa: E402
from sf_maze.amaze import agent_policy  # noqa: E402
from evaluation.runs import latest_checkpoints, require_folder  # noqa: E402

log = logging.getLogger("memory_cores")

VARIANTS = {
    "lstm": ["--maze_core=lstm"],
    "gru": ["--maze_core=gru"],
    "gtrxl": ["--maze_core=gtrxl"],
    "lru": ["--maze_core=lru"],
    "none": ["--use_rnn=False"],
}
LABELS = {"lstm": "LSTM", "gru": "GRU", "gtrxl": "GTrXL", "lru": "LRU", "none": "no memory (`--use_rnn=False`)"}
EVAL_SEED = 1_000_000  # training mazes get 64-bit hashed seeds (sf_maze.amaze.maze_seeds), these small ints


def _save(path: str, results: dict) -> None:
    write_atomic(path, json.dumps(results, indent=1))


def train(args, variant: str, seed: int) -> dict:
    experiment = f"{args.env}_{variant}_s{seed}_{args.env_steps}"
    command = [sys.executable, "-m", "sf_maze.train", f"--env={args.env}", f"--experiment={experiment}",
               f"--train_dir={args.train_dir}", f"--train_for_env_steps={args.env_steps}", f"--seed={seed}",
               "--device=cpu", "--save_every_sec=600", *VARIANTS[variant], *shlex.split(args.extra)]
    start = time.time()
    result = subprocess.run(command, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    seconds = time.time() - start
    fps = re.findall(r"Collected \{0: \d+\}, FPS: ([\d.]+)", result.stdout + result.stderr)
    checkpoints = [p for p in latest_checkpoints(os.path.join(args.train_dir, experiment))
                   if not os.path.basename(p).startswith("best")]
    log.info("%s seed %d: %d steps in %.0fs (%s frames/s)", variant, seed, args.env_steps, seconds, fps[-1] if fps else "?")
    return {"checkpoint": checkpoints[-1], "fps": float(fps[-1]) if fps else args.env_steps / seconds,
            "train_seconds": seconds, "command": " ".join(command[1:])}


def score(args, run: dict, seed: int) -> dict:
    agent = load_sf_checkpoint(run["checkpoint"])
    core_params = sum(p.numel() for p in agent.core.parameters()) if agent.core is not None else 0
    torch.manual_seed(seed)
    result = evaluate(agent_policy(agent, greedy=False), args.env, args.episodes, seed=EVAL_SEED)
    return dict(run, core_params=core_params, total_params=sum(p.numel() for p in agent.parameters()), **result)


def cell(values, scale=1.0, digits=2) -> str:
    values = np.asarray(values, dtype=float) * scale
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def print_table(args, results: dict) -> None:
    print(f"\n`{args.env}`, {args.env_steps:,} env steps per run, {args.episodes} held-out mazes per run "
          f"(seeds from {EVAL_SEED}), sampled actions; mean ± std over seeds.\n")
    print("| core | seeds | core params | total params | training frames/s | solve % | mean return |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for variant in args.variants:
        runs = [results[key] for key in sorted(results) if key.startswith(f"{variant}/")]
        if not runs:
            continue
        print(f"| {LABELS[variant]} | {len(runs)} | {runs[0]['core_params']:,} | {runs[0]['total_params']:,} | "
              f"{cell([r['fps'] for r in runs], digits=0)} | {cell([r['solve_rate'] for r in runs], 100, 0)} | "
              f"{cell([r['mean_return'] for r in runs])} |")
    if "random" in results:
        r = results["random"]
        print(f"| uniform random policy | - | - | - | - | {100 * r['solve_rate']:.0f} | {r['mean_return']:.2f} |")


@input_errors_exit_2("memory_cores")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="amaze_ood_memory")
    parser.add_argument("--env_steps", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--episodes", type=int, default=200, help="held-out mazes per run")
    parser.add_argument("--train_dir", default="/tmp/memory_cores")
    parser.add_argument("--extra", default="", help="more sf_maze.train flags for every run, one string: "
                                                    "--extra='--rnn_size=128 --maze_gtrxl_memory=32'")
    parser.add_argument("--table_only", action="store_true", help="print the table of the runs already finished")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)

    if args.table_only:  # it only reads the results: a missing --train_dir is a typo, never made here
        require_folder(args.train_dir, "--train_dir")
    os.makedirs(args.train_dir, exist_ok=True)
    results_path = os.path.join(args.train_dir, "results.json")
    results = json.load(open(results_path)) if os.path.isfile(results_path) else {}
    setup = {"env": args.env, "env_steps": args.env_steps, "episodes": args.episodes, "extra": args.extra}
    if results.setdefault("setup", setup) != setup:
        raise SystemExit(f"{results_path} holds runs of {results['setup']}, not {setup}: use another --train_dir")
    if not args.table_only:
        if "random" not in results:
            results["random"] = evaluate(random_policy(0), args.env, args.episodes, seed=EVAL_SEED)
            _save(results_path, results)
        # Seed-major order: an interrupted benchmark still has every variant at the seeds it finished.
        for seed in args.seeds:
            for variant in args.variants:
                key = f"{variant}/{seed}"
                if key in results:
                    continue
                results[key] = score(args, train(args, variant, seed), seed)
                _save(results_path, results)
    print_table(args, results)


if __name__ == "__main__":
    sys.exit(main())
