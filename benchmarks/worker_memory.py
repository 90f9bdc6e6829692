"""Memory of one Sample Factory rollout worker vs the number of fast Memory Maze envs it steps.

    python benchmarks/worker_memory.py --env=memory_9x9 --envs 1 2 4 --seconds=60

Each row is a real `python -m sf_maze.train` run with one rollout worker holding N envs; after
`--seconds` of training the worker's RSS (what `top` shows, shared trajectory buffers included) and
USS (memory only this process holds) are read with psutil. The slope of USS over N is what one more
env costs; sf_maze/params.py sizes its default workers x envs from it.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import psutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1024 ** 3


def measure(env: str, num_envs: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as train_dir:
        command = [sys.executable, "-m", "sf_maze.train", f"--env={env}", "--experiment=mem", f"--train_dir={train_dir}",
                   "--num_workers=1", f"--num_envs_per_worker={num_envs}", "--worker_num_splits=1", "--device=cpu",
                   "--train_for_env_steps=100000000", "--save_every_sec=100000", "--seed=0"]
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            time.sleep(seconds)
            workers = [p for p in psutil.Process(process.pid).children(recursive=True) if _steps_mujoco(p)]
            if len(workers) != 1:
                raise RuntimeError(f"expected one process with MuJoCo loaded, found {len(workers)}")
            rollout = workers[0]
            full = rollout.memory_full_info()
            total = sum(p.memory_full_info().uss for p in psutil.Process(process.pid).children(recursive=True))
            total += psutil.Process(process.pid).memory_full_info().uss
            return dict(envs=num_envs, rss=full.rss / GIB, uss=full.uss / GIB, run_uss=total / GIB)
        finally:
            os.killpg(process.pid, 9)
            process.wait()


def _steps_mujoco(process: psutil.Process) -> bool:
    # Spawned workers share one command line; the rollout worker is the only one that loads MuJoCo.
    return any("libmujoco" in m.path for m in process.memory_maps())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9")
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=60.0, help="training time before reading memory")
    args = parser.parse_args()
    rows = [measure(args.env, n, args.seconds) for n in args.envs]
    print(f"{args.env}, one rollout worker, after {args.seconds:.0f} s of training (load average "
          f"{os.getloadavg()[0]:.1f})\n")
    print("| envs per worker | worker RSS GiB | worker USS GiB | whole run USS GiB |")
    print("|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['envs']} | {row['rss']:.2f} | {row['uss']:.2f} | {row['run_uss']:.2f} |")
    if len(rows) >= 2:
        slope = (rows[-1]["uss"] - rows[0]["uss"]) / (rows[-1]["envs"] - rows[0]["envs"])
        base = rows[0]["uss"] - slope * rows[0]["envs"]
        print(f"\nper env: {slope:.2f} GiB USS; worker without envs: {base:.2f} GiB")


if __name__ == "__main__":
    main()
