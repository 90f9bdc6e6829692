"""AMaze learning benchmark: the LSTM agent vs the same agent without memory (--use_rnn=False).

Usage: python benchmarks/amaze_learning.py [--env amaze_13x13] [--env_steps 250000] [--seeds 0 1]
           [--episodes 200] [--ood fourrooms smallcorridor ...] [--train_dir /tmp/amaze_learning]

Trains each (variant, seed) with the real CLI (`python -m sf_maze.train`), evaluates the final
checkpoint on held-out mazes of the training distribution and on minimax's OOD mazes, and prints a
Markdown table of solve rate and mean return (mean over seeds, ± std when there are several), next to
a uniform random policy on the same mazes. Actions are sampled from the policy (a greedy policy in a
partially observed maze tends to loop; --greedy switches).
"""
import argparse
import logging
import os
import subprocess
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from networks import load_sf_checkpoint  # noqa: E402
from evaluation.amaze import evaluate, random_policy  # noqa: E402
from sf_maze.amaze import agent_policy  # noqa: E402
from evaluation.runs import latest_checkpoints  # noqa: E402

log = logging.getLogger("amaze_learning")

# Default OOD set: minimax's 13x13 test mazes plus FourRooms (17x17), which keeps a CPU evaluation
# within a minute or two; largecorridor, crossing, perfectmazemedium, memory and perfectmazexl
# (101x101, 20k-step episodes: minutes of CPU) are available through --ood.
DEFAULT_OOD = ["sixteenrooms", "sixteenrooms2", "labyrinth", "labyrinthflipped", "labyrinth2", "standardmaze",
               "standardmaze2", "standardmaze3", "smallcorridor", "perfectmaze", "fourrooms"]
VARIANTS = {"LSTM": [], "no memory": ["--use_rnn=False"]}
EVAL_SEED = 1_000_000  # training mazes get 64-bit hashed seeds (sf_maze.amaze.maze_seeds), these small ints


def train(args, variant: str, seed: int) -> str:
    experiment = f"{args.env}_{'lstm' if variant == 'LSTM' else 'nornn'}_s{seed}_{args.env_steps}"
    command = [sys.executable, "-m", "sf_maze.train", f"--env={args.env}", f"--experiment={experiment}",
               f"--train_dir={args.train_dir}", f"--train_for_env_steps={args.env_steps}", f"--seed={seed}",
               "--device=cpu", "--save_every_sec=600", *VARIANTS[variant]]
    start = time.time()
    result = subprocess.run(command, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    checkpoints = [p for p in latest_checkpoints(os.path.join(args.train_dir, experiment))
                   if not os.path.basename(p).startswith("best")]
    log.info("%s seed %d: %d steps in %.0fs -> %s", variant, seed, args.env_steps, time.time() - start, checkpoints[-1])
    return checkpoints[-1]


def cell(values, scale=1.0, digits=2) -> str:
    values = np.asarray(values) * scale
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="amaze_13x13")
    parser.add_argument("--env_steps", type=int, default=250_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--episodes", type=int, default=200, help="evaluation mazes per env")
    parser.add_argument("--ood", nargs="*", default=DEFAULT_OOD, help="amaze_ood_* names without the prefix")
    parser.add_argument("--train_dir", default="/tmp/amaze_learning")
    parser.add_argument("--greedy", action="store_true", help="argmax actions instead of sampled ones")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)

    eval_envs = [args.env] + [f"amaze_ood_{name}" for name in args.ood]
    # results[variant][env] = list over seeds of evaluate() dicts
    results = {variant: {env: [] for env in eval_envs} for variant in VARIANTS}
    for variant in VARIANTS:
        for seed in args.seeds:
            agent = load_sf_checkpoint(train(args, variant, seed))
            for env in eval_envs:
                torch.manual_seed(seed)
                results[variant][env].append(evaluate(agent_policy(agent, greedy=args.greedy), env, args.episodes,
                                                      seed=EVAL_SEED))
    rand = {env: evaluate(random_policy(0), env, args.episodes, seed=EVAL_SEED) for env in eval_envs}

    print(f"\nTrained on `{args.env}` for {args.env_steps:,} env steps, {len(args.seeds)} seed(s) {args.seeds}; "
          f"{args.episodes} held-out mazes per env, {'greedy' if args.greedy else 'sampled'} actions. "
          f"Solve rate % / mean return{' (mean ± std over seeds)' if len(args.seeds) > 1 else ''}.\n")
    header = "| env | " + " | ".join(f"{v} solve % | {v} return" for v in VARIANTS) + " | random solve % | random return |"
    print(header)
    print("|---|" + "---:|" * (2 * len(VARIANTS) + 2))
    for env in eval_envs:
        row = [env + (" (train)" if env == args.env else "")]
        for variant in VARIANTS:
            runs = results[variant][env]
            row += [cell([r["solve_rate"] for r in runs], 100, 0), cell([r["mean_return"] for r in runs])]
        row += [f"{100 * rand[env]['solve_rate']:.0f}", f"{rand[env]['mean_return']:.2f}"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
