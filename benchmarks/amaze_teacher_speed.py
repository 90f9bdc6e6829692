"""AMaze teacher (UEDMaze designer) throughput next to the student's, on one CPU core.

Usage: python benchmarks/amaze_teacher_speed.py [--teacher amaze_teacher_13x13] [--student amaze_13x13]
       [--seconds 2] [--batch-sizes 1 16 256 1024]
Prints a Markdown table of batched env steps per second (a teacher step places one cell; designs
auto-reset every T steps, finished levels included). Actions are drawn in advance, uniformly over
the cells (teacher) or the 3 acting actions (student), so the timing is the env alone.
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
from envs.amaze import make_amaze_batch, make_amaze_teacher_batch  # noqa: E402


def steps_per_second(env, actions: np.ndarray, seconds: float) -> float:
    """actions: (64, N) rows stepped in a loop until `seconds` have passed; returns N * steps / s."""
    env.reset()
    for row in actions[:5]:  # warm caches
        env.step(row)
    steps, start = 0, time.perf_counter()
    while True:
        for row in actions:
            env.step(row)
        steps += actions.size
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="amaze_teacher_13x13")
    parser.add_argument("--student", default="amaze_13x13")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per env and batch size")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 256, 1024])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"Teacher `{args.teacher}` vs student `{args.student}`, 1 thread, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}\n")
    print("| batch size | teacher steps/s | student steps/s |")
    print("|---:|---:|---:|")
    for batch in args.batch_sizes:
        teacher = make_amaze_teacher_batch(args.teacher, batch, seed=0)
        student = make_amaze_batch(args.student, batch, seed=0)
        t = steps_per_second(teacher, rng.integers(0, teacher.cfg.cells, size=(64, batch)), args.seconds)
        s = steps_per_second(student, rng.integers(0, 3, size=(64, batch)), args.seconds)
        print(f"| {batch} | {t:,.0f} | {s:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
