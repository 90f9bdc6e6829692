"""Env-only sampling frames/s vs Sample Factory training frames/s, for the same workers x envs.

    python benchmarks/train_fps.py --env=memory_9x9 --num_workers=2 --num_envs_per_worker=8 \
        --env_steps=20000 [--impl fast reference]
    python benchmarks/train_fps.py --skip_env_only --repeats 2 \
        --train_args='' --train_args='--num_workers=1 --num_envs_per_worker=8'     # settings side by side

Env-only: each worker process steps its envs with random actions, as a rollout worker would
without the policy. Training: a real `python -m sf_maze.train` run per `--train_args` variant (the
variants taken in turn, `--repeats` times), two steady-state figures each: the mean of Sample
Factory's 10-second FPS reports after warm-up (trained frames, which move a batch at a time) and the
rate of frames stepped (its "Samples" count against the reports' clock, which moves every step). The
ratio to env-only says how much the learner and policy inference cost on top of the env.
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


def env_only_fps(env_name, num_workers, num_envs, seconds, reference_impl, timeout=None) -> float:
    """Total frames/s of `num_workers` processes; RuntimeError if one dies or, with `timeout`, if
    they have not all reported within `timeout` s (env construction included), the rest killed."""
    import queue as queues

    context = mp.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_sample_worker, args=(env_name, num_envs, seconds, i, reference_impl, queue))
               for i in range(num_workers)]
    for worker in workers:
        worker.start()
    rates, start = [], time.monotonic()
    try:
        while len(rates) < len(workers):
            try:
                rates.append(queue.get(timeout=0.5))
                continue
            except queues.Empty:
                pass
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead:  # a worker that raised never reports: do not wait for it
                raise RuntimeError(f"an env worker exited with status {dead[0]} (its traceback is above)")
            if timeout is not None and time.monotonic() - start > timeout:
                raise RuntimeError(f"{len(workers) - len(rates)} of {len(workers)} env workers did not report "
                                   f"within {timeout:.0f} s")
    finally:
        for worker in workers:
            worker.join(5)
            if worker.is_alive():
                worker.kill()
                worker.join()
    return sum(rates)


def training_command(env_name, num_workers, num_envs, env_steps, reference_impl, train_dir, device=None, extra=()):
    command = [
        sys.executable, "-m", "sf_maze.train", f"--env={env_name}", "--experiment=fps", f"--train_dir={train_dir}",
        f"--num_workers={num_workers}", f"--num_envs_per_worker={num_envs}", f"--train_for_env_steps={env_steps}",
        f"--maze_reference_impl={reference_impl}", "--seed=0", *extra,
    ]
    if num_envs == 1:
        command.append("--worker_num_splits=1")
    if device is not None:
        command.append(f"--device={device}")
    return command


def steady_state_fps(log: str):
    """Mean of Sample Factory's 10-second FPS reports once training runs; None if too few.

    The reports (every 5 s) count trained frames, which arrive a whole batch at a time (3200 with
    the paper's recipe): on a slow machine most 10-s windows hold no batch and read 0, and each batch
    shows in two of them. So the zeros between batches stay in the mean (dropping them overstated the
    rate by the ratio of batch interval to window), the two reports holding the first batch go (it
    was collected during start-up), and the rest must see at least two more batches."""
    reports = [(float(fps), int(total)) for fps, total in
               re.findall(r"Fps is \(10 sec: ([0-9.]+).*?Total num frames: (\d+)", log)]
    first = next((i for i, (fps, _) in enumerate(reports) if fps > 0), None)
    if first is None:
        return None
    totals = [total for _, total in reports[first:]]
    batches = sum(1 for a, b in zip(totals, totals[1:]) if b > a)
    steady = [fps for fps, _ in reports[first + 2:]]
    return sum(steady) / len(steady) if batches >= 2 and steady else None


_REPORT = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]\[\d+\] Fps is .*?Total num frames: (\d+)\..*?Samples: (\d+)")


def stepped_fps(log: str, skip_batches: int = 2):
    """Frames stepped per second in steady state: the change in Sample Factory's "Samples" count
    over the reports' timestamps, from the report where the `skip_batches`-th trained batch shows
    (start-up and the first batches, whose frames were collected while the learner started, left
    out) to the last. Continuous where the FPS reports move in whole batches; None if the window
    is under 20 s. A log that holds several sessions of a run (resumed) is read from the last."""
    from datetime import datetime

    reports = [(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f"), int(total), int(samples))
               for stamp, total, samples in _REPORT.findall(log)]
    restarts = [i for i in range(1, len(reports)) if reports[i][2] < reports[i - 1][2]]
    reports = reports[restarts[-1]:] if restarts else reports
    batches, start = 0, None
    for i in range(1, len(reports)):
        batches += reports[i][1] > reports[i - 1][1]
        if batches == skip_batches:
            start = i
            break
    if start is None:
        return None
    seconds = (reports[-1][0] - reports[start][0]).total_seconds()
    return (reports[-1][2] - reports[start][2]) / seconds if seconds >= 20 else None


def training_fps(env_name, num_workers, num_envs, env_steps, reference_impl, device=None, extra=(), code_dir=REPO,
                 with_stepped=False):
    """Steady-state trained frames/s of one run (and frames stepped/s with `with_stepped`)."""
    with tempfile.TemporaryDirectory() as train_dir:
        command = training_command(env_name, num_workers, num_envs, env_steps, reference_impl, train_dir, device, extra)
        result = subprocess.run(command, cwd=code_dir, capture_output=True, text=True)
        log = result.stdout + result.stderr
        if result.returncode != 0:
            raise RuntimeError(f"training run failed:\n{log[-3000:]}")
    fps, stepped = steady_state_fps(log), stepped_fps(log)
    if fps is None or (with_stepped and stepped is None):
        raise RuntimeError("run too short for a steady-state FPS report: raise --env_steps")
    return (fps, stepped) if with_stepped else fps


def main(argv=None) -> int:
    from sf_maze.params import ENVS_PER_WORKER

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9")
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument("--num_envs_per_worker", type=int, default=ENVS_PER_WORKER, help="sf_maze's default")
    parser.add_argument("--env_steps", type=int, default=20000, help="frames of each training run")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of the env-only sampling")
    parser.add_argument("--impl", nargs="+", default=["fast"], choices=["fast", "reference"])
    parser.add_argument("--train_args", action="append", help="a variant: a string of sf_maze.train flags added to its "
                        "runs, given with '=' (--train_args='--maze_learner_bf16=True'); repeat for more, '' for the "
                        "defaults (the only variant when none is given)")
    parser.add_argument("--repeats", type=int, default=1, help="training runs per variant, the variants taken in turn")
    parser.add_argument("--skip_env_only", action="store_true", help="only the training runs")
    parser.add_argument("--code_dir", default=REPO, help="checkout whose sf_maze.train runs (e.g. a git worktree of an "
                        "older commit, for a before/after of the same agent)")
    args = parser.parse_args(argv)
    args.train_args = args.train_args or [""]
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    load_start = os.getloadavg()[0]

    rows = []
    for impl in args.impl:
        reference = impl == "reference"
        sampling = float("nan") if args.skip_env_only else env_only_fps(
            args.env, args.num_workers, args.num_envs_per_worker, args.seconds, reference)
        runs = {variant: [] for variant in args.train_args}
        for repeat in range(args.repeats):
            for variant in args.train_args:
                runs[variant].append(training_fps(
                    args.env, args.num_workers, args.num_envs_per_worker, args.env_steps, reference,
                    extra=shlex.split(variant), code_dir=os.path.abspath(args.code_dir), with_stepped=True))
                fps, stepped = runs[variant][-1]
                print(f"{impl} [{variant or 'defaults'}] run {repeat + 1}: env-only {sampling:.1f} frames/s, training "
                      f"{fps:.1f} trained / {stepped:.1f} stepped frames/s", file=sys.stderr, flush=True)
        rows += [(impl, variant, sampling, values) for variant, values in runs.items()]

    print(f"\n{args.env}, {args.num_workers} workers x {args.num_envs_per_worker} envs unless a variant says otherwise, "
          f"{args.env_steps} frames per run, {os.cpu_count()} CPUs, code {args.code_dir}, load average "
          f"{load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end\n")
    print("| env impl | train args | env-only frames/s | training frames/s (trained) | training frames/s (stepped) "
          "| stepped, each run | stepped / first variant's | training / env-only |")
    print("|---|---|---:|---:|---:|---|---:|---:|")
    first = {}
    for impl, variant, sampling, values in rows:
        fps = sum(v[0] for v in values) / len(values)
        stepped = sum(v[1] for v in values) / len(values)
        first.setdefault(impl, stepped)
        each = " / ".join(f"{v[1]:.1f}" for v in values)
        print(f"| {impl} | {variant or 'defaults'} | {sampling:.1f} | {fps:.1f} | {stepped:.1f} | {each} "
              f"| {stepped / first[impl]:.2f}x | {stepped / sampling:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
