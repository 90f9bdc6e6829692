"""AMaze throughput on one CPU core: env steps per second of the vectorised core, per batch size.

Usage: python benchmarks/amaze_speed.py [--env amaze_13x13] [--seconds 2] [--batch-sizes 1 16 256 1024 4096]
Prints a Markdown table. Actions are uniform over the 3 acting actions, drawn in advance, so the
timing is the env alone (resets included: episodes end by time limit or goal as they come).
"""
import os

# Pin BLAS/OpenMP pools to one thread before numpy loads: the figure is per core.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from envs.amaze import make_amaze_batch  # noqa: E402


def steps_per_second(env_name: str, batch: int, seconds: float, **overrides) -> float:
    env = make_amaze_batch(env_name, batch, seed=0, **overrides)
    env.reset()
    actions = np.random.default_rng(0).integers(0, 3, size=(64, batch))
    for k in range(5):  # warm caches
        env.step(actions[k])
    steps, start = 0, time.perf_counter()
    while True:
        for row in actions:
            env.step(row)
        steps += len(actions) * batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="amaze_13x13")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per batch size")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 256, 1024, 4096])
    parser.add_argument("--normalize-obs", action="store_true")
    args = parser.parse_args()
    overrides = {"normalize_obs": True} if args.normalize_obs else {}
    print(f"AMaze `{args.env}`{' normalize_obs' if args.normalize_obs else ''}, 1 thread, "
          f"numpy {np.__version__}, {platform.processor() or platform.machine()}\n")
    print("| batch size | steps/s |")
    print("|---:|---:|")
    for batch in args.batch_sizes:
        print(f"| {batch} | {steps_per_second(args.env, batch, args.seconds, **overrides):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
