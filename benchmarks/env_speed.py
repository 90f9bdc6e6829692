"""Memory Maze speed: the package env vs ours (envs/fast_memory_maze/), side by side in one process.

Usage: python benchmarks/env_speed.py [--sizes 9x9 15x15] [--steps 300] [--backend egl] [--extra-obs]
Prints a Markdown table. Both envs get the same seed and the same uniformly random actions and are
stepped alternately in this process, so load from other processes hits both alike; every step's
observation, reward and step type are also compared. steps/s counts env.step only (an episode end
inside the run includes its automatic reset).

Memory and set-up times come from a fresh subprocess per implementation and size that builds two
envs: the second one's build + first reset, its later resets (one per episode), and the growth of
resident memory (RSS) it caused; the first env absorbs one-time costs (GL driver, module loading),
and freed heap is handed back (malloc_trim) before each RSS reading.
"""
import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time


def rss_mib() -> float:
    """Resident set size of this process, MiB (Linux /proc), after handing freed heap back to the OS.

    Without the trim, memory freed by a finished build (e.g. the model compiled at construction and
    replaced at the first reset) would stay counted, or be reused by the next env and hide its cost.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: RSS then includes freed heap
        pass
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build(task_fn, reference_impl: bool, task_kwargs: dict):
    """(env, seconds to build and reset, RSS growth in MiB)."""
    from envs.fast_memory_maze import build_task

    rss, start = rss_mib(), time.perf_counter()
    env = build_task(task_fn, reference_impl=reference_impl, **task_kwargs)
    env.reset()
    return env, time.perf_counter() - start, rss_mib() - rss


def same(a, b) -> bool:
    import numpy as np

    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


def setup_costs(size: str, reference_impl: bool, task_kwargs: dict) -> dict:
    """In this (fresh) process: build + reset s, later reset s and RSS MiB of a second env."""
    from memory_maze import tasks

    task_fn = getattr(tasks, f"memory_maze_{size}")
    first = build(task_fn, reference_impl, task_kwargs)[0]
    first.step(0)
    rss = rss_mib()
    env, seconds, _ = build(task_fn, reference_impl, task_kwargs)
    for action in range(10):  # the rendering buffers of a few frames belong to the env's footprint
        env.step(action % 6)
    rss = rss_mib() - rss
    start = time.perf_counter()
    for _ in range(2):
        env.reset()
    env.close(), first.close()
    return dict(build=seconds, reset=(time.perf_counter() - start) / 2, rss=rss)


def setup_costs_in_subprocess(size: str, reference_impl: bool, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--sizes", size, "--backend", args.backend,
           "--setup-costs", "reference" if reference_impl else "ours"] + (["--extra-obs"] if args.extra_obs else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(size: str, steps: int, task_kwargs: dict) -> dict:
    """steps/s of both implementations, stepped alternately with the same actions."""
    import numpy as np

    from memory_maze import tasks

    task_fn = getattr(tasks, f"memory_maze_{size}")
    ref = build(task_fn, True, task_kwargs)[0]
    fast = build(task_fn, False, task_kwargs)[0]
    actions = np.random.RandomState(0).randint(6, size=steps)
    seconds = {"ref": 0.0, "fast": 0.0}
    identical = 0
    for action in actions:
        start = time.perf_counter()
        a = ref.step(action)
        middle = time.perf_counter()
        b = fast.step(action)
        seconds["ref"] += middle - start
        seconds["fast"] += time.perf_counter() - middle
        identical += int(a.step_type == b.step_type and a.reward == b.reward and same(a.observation, b.observation))
    ref.close(), fast.close()
    return dict(ref_sps=steps / seconds["ref"], fast_sps=steps / seconds["fast"], identical=identical)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["9x9", "15x15"], choices=["9x9", "11x11", "13x13", "15x15"])
    parser.add_argument("--steps", type=int, default=300, help="env steps per implementation and size")
    parser.add_argument("--backend", default=os.environ.get("MUJOCO_GL", "egl"), choices=["egl", "osmesa", "glfw"])
    parser.add_argument("--extra-obs", action="store_true", help="global_observables=True (else image only)")
    parser.add_argument("--setup-costs", choices=["reference", "ours"], help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    # MuJoCo and PyOpenGL read these once, at their first import.
    os.environ["MUJOCO_GL"] = args.backend
    os.environ["PYOPENGL_PLATFORM"] = args.backend
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import warnings

    from envs.memory_maze import import_memory_maze_tasks

    import_memory_maze_tasks()  # mounts the package without its gym-only __init__; dm_control resets warning filters

    warnings.simplefilter("ignore", DeprecationWarning)
    task_kwargs = dict(seed=0, global_observables=True) if args.extra_obs else dict(seed=0, image_only_obs=True)
    if args.setup_costs:
        print(json.dumps(setup_costs(args.sizes[0], args.setup_costs == "reference", task_kwargs)))
        return

    print(f"Memory Maze, MUJOCO_GL={args.backend}, {'ExtraObs' if args.extra_obs else 'image only'}, "
          f"{args.steps} steps of random actions, {os.cpu_count()} CPUs\n")
    print("| size | backend | steps/s reference | steps/s ours | ratio | build + first reset s (ref / ours) "
          "| reset s (ref / ours) | RSS MiB per env (ref / ours) | identical steps |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        r = measure(size, args.steps, task_kwargs)
        ref, ours = setup_costs_in_subprocess(size, True, args), setup_costs_in_subprocess(size, False, args)
        print(f"| {size} | {args.backend} | {r['ref_sps']:.1f} | {r['fast_sps']:.1f} | {r['fast_sps'] / r['ref_sps']:.1f}x "
              f"| {ref['build']:.2f} / {ours['build']:.2f} | {ref['reset']:.2f} / {ours['reset']:.2f} "
              f"| {ref['rss']:.0f} / {ours['rss']:.0f} | {r['identical']}/{args.steps} |", flush=True)


if __name__ == "__main__":
    main()
