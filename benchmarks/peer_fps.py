"""Frames per second of sf-maze against a peer trainer, sb3-contrib's RecurrentPPO, on the same env,
envs and frames, one after the other. Prints a Markdown table.

    python benchmarks/peer_fps.py [--frames=40960] [--num_envs=16] [--num_workers=2]
        [--trainers sf-maze recurrent-ppo]

sf-maze: `python -m sf_maze.train` with the project's default agent (the paper's IMPALA recipe),
--num_workers x (num_envs / num_workers) envs, --train_for_env_steps=frames, in a temporary
train_dir. RecurrentPPO: benchmarks/sb3_recurrent_ppo.py (CnnLstmPolicy, LSTM 256, a SubprocVecEnv
of the same envs, n_steps 128, minibatch 256, 1 epoch, CPU, one torch thread like each of Sample
Factory's learner and inference processes). Each runs as its own process and its
wall time counts everything from the process's start to its exit (imports, env start-up, training).
"frames" is what each trained, its own count: Sample Factory trains whole batches (3200 frames) and
also the ones in flight when it reaches the budget (a 1024-frame budget trained 6400),
RecurrentPPO whole rollouts (n_steps x num_envs).

Steady-state frames/s: for sf-maze Sample Factory's own 10-second FPS reports once training runs
(benchmarks/train_fps.py's steady_state_fps; n/a when the run held too few batches), for
RecurrentPPO frames / the seconds spent in learn(), i.e. without start-up.
sb3-contrib comes with the `bench` extra (`pip install -e '.[bench]'`; the test lock has it); exit 2 when missing.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, "benchmarks")
sys.path[:0] = [REPO, BENCHMARKS]

from common.cli import InputError, check_at_least, input_errors_exit_2  # noqa: E402  (after the path)
from common.processes import load_average  # noqa: E402

TRAINERS = ("sf-maze", "recurrent-ppo")


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-300:] if lines else "(no output)"


def run_sf_maze(env: str, num_workers: int, envs_per_worker: int, frames: int) -> dict:
    from train_fps import steady_state_fps, training_command

    with tempfile.TemporaryDirectory(prefix="peer_fps_") as train_dir:
        command = training_command(env, num_workers, envs_per_worker, frames, False, train_dir)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
    log = result.stdout + result.stderr
    if result.returncode != 0:
        return {"error": f"sf_maze.train exited {result.returncode}: {last_line(log)}", "wall_s": wall}
    # Sample Factory's last line, "Collected {0: N}, FPS: X": N is the frames it trained.
    collected = re.findall(r"Collected \{0: (\d+)\}", log)
    if not collected:
        return {"error": "no 'Collected {0: N}' line in Sample Factory's log", "wall_s": wall}
    return {"frames": int(collected[-1]), "wall_s": wall, "steady_fps": steady_state_fps(log)}


def run_recurrent_ppo(env: str, num_envs: int, frames: int) -> dict:
    command = [sys.executable, os.path.join(BENCHMARKS, "sb3_recurrent_ppo.py"), f"--env={env}",
               f"--num_envs={num_envs}", f"--frames={frames}"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        return {"error": f"sb3_recurrent_ppo.py exited {result.returncode}: {last_line(result.stderr or result.stdout)}",
                "wall_s": wall}
    row = json.loads(last_line(result.stdout))
    return {"frames": row["frames"], "wall_s": wall, "steady_fps": row["frames"] / row["learn_s"]}


def table(rows) -> str:
    lines = ["| trainer | frames | wall time s (incl. start-up) | frames/s (frames / wall) | steady-state frames/s |",
             "|---|---:|---:|---:|---:|"]
    for name, row in rows:
        if "error" in row:
            lines.append(f"| {name} | failed: {row['error']} | {row['wall_s']:.1f} | | |")
            continue
        steady = "n/a (too few batches)" if row["steady_fps"] is None else f"{row['steady_fps']:.1f}"
        lines.append(f"| {name} | {row['frames']:,} | {row['wall_s']:.1f} | {row['frames'] / row['wall_s']:.1f} | {steady} |")
    return "\n".join(lines)


def parse_args(argv=None):
    from sf_maze.params import ENVS_PER_WORKER

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9")
    parser.add_argument("--frames", type=int, default=40960, help="env steps each trainer trains for")
    parser.add_argument("--num_envs", type=int, default=2 * ENVS_PER_WORKER,
                        help="envs of each trainer (sf-maze: over --num_workers); default: sf-maze's on 2 cores")
    parser.add_argument("--num_workers", type=int, default=2, help="sf-maze rollout workers; must divide --num_envs")
    parser.add_argument("--trainers", nargs="+", default=list(TRAINERS), choices=TRAINERS, help="run in this order")
    return parser.parse_args(argv)


@input_errors_exit_2("peer_fps.py")
def main(argv=None) -> int:
    args = parse_args(argv)
    check_at_least(1, frames=args.frames, num_envs=args.num_envs, num_workers=args.num_workers)
    if args.num_envs % args.num_workers:
        raise InputError(f"--num_envs={args.num_envs} is not a multiple of --num_workers={args.num_workers}")
    from envs import check_env_name

    try:
        check_env_name(args.env, trainable=True)
    except ValueError as error:
        raise InputError(str(error))
    if "recurrent-ppo" in args.trainers:
        from sb3_recurrent_ppo import missing_sb3

        if missing_sb3():
            raise InputError(missing_sb3())

    load_start, rows = load_average(), []
    for name in args.trainers:
        print(f"{name}: training {args.frames} frames ...", file=sys.stderr, flush=True)
        if name == "sf-maze":
            row = run_sf_maze(args.env, args.num_workers, args.num_envs // args.num_workers, args.frames)
        else:
            row = run_recurrent_ppo(args.env, args.num_envs, args.frames)
        rows.append((name, row))
        print(f"{name}: {row}", file=sys.stderr, flush=True)
    print(f"\n{args.env}, {args.num_envs} envs (sf-maze: {args.num_workers} workers x "
          f"{args.num_envs // args.num_workers}), {os.cpu_count()} CPUs; load average (1/5/15 min) "
          f"at start {load_start}, at end {load_average()}\n")
    print(table(rows))
    return 1 if any("error" in row for _, row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
