"""Env-only sampling frames/s vs Sample Factory training frames/s, for the same workers x envs.

    python benchmarks/train_fps.py --env=memory_9x9 --num_workers=2 --num_envs_per_worker=4 \
        --env_steps=20000 [--impl fast reference]

Env-only: each worker process steps its envs with random actions, as a rollout worker would
without the policy. Training: a real `python -m sf_maze.train` run; its steady-state FPS is the mean
of Sample Factory's 10-second FPS reports after warm-up. The ratio says how much the learner and
policy inference cost on top of the env.
"""
import argparse
import multiprocessing as mp
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def _sample_worker(env_name, num_envs, seconds, worker_index, reference_impl, queue):
    import numpy as np

    from envs import make_env

    overrides = {"reference_impl": reference_impl} if env_name.startswith("memory_") else {}
    envs = [make_env(env_name, seed=worker_index * 1000 + i, **overrides) for i in range(num_envs)]
    for env in envs:
        env.reset()
    rng = np.random.default_rng(worker_index)
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for env in envs:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            if terminated or truncated:
                env.reset()
            frames += 1
    queue.put(frames / (time.perf_counter() - start))
    for env in envs:
        env.close()


def env_only_fps(env_name, num_workers, num_envs, seconds, reference_impl) -> float:
    context = mp.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_sample_worker, args=(env_name, num_envs, seconds, i, reference_impl, queue))
               for i in range(num_workers)]
    for worker in workers:
        worker.start()
    total = sum(queue.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total


def training_fps(env_name, num_workers, num_envs, env_steps, reference_impl, extra=()) -> float:
    with tempfile.TemporaryDirectory() as train_dir:
        command = [
            sys.executable, "-m", "sf_maze.train", f"--env={env_name}", "--experiment=fps", f"--train_dir={train_dir}",
            f"--num_workers={num_workers}", f"--num_envs_per_worker={num_envs}", f"--train_for_env_steps={env_steps}",
            f"--maze_reference_impl={reference_impl}", "--seed=0", *extra,
        ]
        if num_envs == 1:
            command.append("--worker_num_splits=1")
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        log = result.stdout + result.stderr
        if result.returncode != 0:
            raise RuntimeError(f"training run failed:\n{log[-3000:]}")
    reports = [float(x) for x in re.findall(r"Fps is \(10 sec: ([0-9.]+)", log)]
    reports = [x for x in reports[2:] if x > 0]  # the first reports cover env construction
    if not reports:
        raise RuntimeError("run too short for a steady-state FPS report: raise --env_steps")
    return sum(reports) / len(reports)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9")
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument("--num_envs_per_worker", type=int, default=4)
    parser.add_argument("--env_steps", type=int, default=20000, help="frames of the training run")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of the env-only sampling")
    parser.add_argument("--impl", nargs="+", default=["fast"], choices=["fast", "reference"])
    parser.add_argument("--train_args", default="", help="more sf_maze.train flags for the training runs, e.g. "
                        "'--maze_learner_bf16=True'")
    parser.add_argument("--skip_env_only", action="store_true", help="only the training runs")
    args = parser.parse_args(argv)
    extra = shlex.split(args.train_args)

    rows = []
    for impl in args.impl:
        reference = impl == "reference"
        sampling = float("nan") if args.skip_env_only else env_only_fps(
            args.env, args.num_workers, args.num_envs_per_worker, args.seconds, reference)
        training = training_fps(args.env, args.num_workers, args.num_envs_per_worker, args.env_steps, reference, extra)
        rows.append((impl, sampling, training))
        print(f"{impl}: env-only {sampling:.1f} frames/s, training {training:.1f} frames/s", file=sys.stderr, flush=True)

    print(f"\n{args.env}, {args.num_workers} workers x {args.num_envs_per_worker} envs, {os.cpu_count()} CPUs, "
          f"train args {extra or 'default'}, load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| env impl | env-only frames/s | training frames/s | training / env-only |")
    print("|---|---:|---:|---:|")
    for impl, sampling, training in rows:
        print(f"| {impl} | {sampling:.1f} | {training:.1f} | {training / sampling:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
