"""Memory Maze speed and memory: the package, our fast env before, our fast env now, in one run.

    python benchmarks/env_speed.py [--sizes 9x9 15x15] [--envs 1 4] [--steps 400]
        [--before ba7a01d] [--impls package before ours] [--repeats 2] [--backend egl [osmesa]]

Every row is a fresh process (MuJoCo reads MUJOCO_GL and Mesa its LP_ settings once per process)
that builds N envs (N = 1, or 4 as a rollout worker holds them), steps them in turn with uniformly
random actions and reports:

* steps/s of the whole process (env.step only) and, per step, where it went: physics (the 50
  substeps with their hooks), render (Physics.render), other (wrappers, observation updates, the
  gymnasium layer), and resets (--resets per env, timed after stepping) amortised over the package's
  episode length; "steps/s with resets" is a whole episode's rate, its reset included;
* USS and RSS (psutil) of the process after its envs have stepped; "per env" is the growth from
  the 1-env process to the N-env one divided by N - 1, i.e. what one more env in a worker costs.

`before` is this project's fast env at git revision --before, checked out into a temporary
worktree and imported from there (so nothing of the old path stays in the code); `package` is
the unmodified memory-maze code (make_env(..., reference_impl=True)) from this checkout. The impls
(and, given several, the backends) run in turn, --repeats times, and the rows average the repeats,
so load from other processes hits them alike; the load average is printed. Frames, rewards and
states are the same in all three (tests/test_fast_env.py).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The fast env as it stood before the "twice the frames per core" work (issue 21).
DEFAULT_BEFORE = "ba7a01d"
EPISODE_STEPS = {"9x9": 1000, "11x11": 2000, "13x13": 3000, "15x15": 4000}  # the package's time limits at 4 Hz
MIB = 1024 ** 2


# ---- child: one impl, one size, N envs ------------------------------------------------------------
def _timed(owner, name: str, totals: dict, key: str) -> None:
    """Wraps owner.name so that its wall time accumulates in totals[key]."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def measure_child(root: str, impl: str, size: str, num_envs: int, steps: int, resets: int = 3) -> dict:
    sys.path.insert(0, root)
    import numpy as np
    import psutil

    from envs import make_env
    from envs.memory_maze import import_memory_maze_tasks

    import_memory_maze_tasks()
    from dm_control import composer
    from dm_control.mujoco import engine

    from envs.fast_memory_maze import environment, physics

    totals = dict(physics=0.0, render=0.0)
    # Substep loops (ours replaces composer's per-substep method with one loop) and renders; the
    # fast physics overrides render, the package's inherits it.
    _timed(composer.Environment, "_substep", totals, "physics")
    _timed(environment.FastComposerEnvironment, "_run_substeps", totals, "physics")
    _timed(engine.Physics, "render", totals, "render")
    _timed(physics.FastPhysics, "render", totals, "render")

    overrides = dict(reference_impl=True) if impl == "package" else {}
    start = time.perf_counter()
    envs = [make_env(f"memory_{size}", seed=i, **overrides) for i in range(num_envs)]
    for env in envs:
        env.reset()
    build = (time.perf_counter() - start) / num_envs
    rng = np.random.default_rng(0)
    for i in range(20 * num_envs):  # warm-up: first frames allocate the render buffers
        envs[i % num_envs].step(int(rng.integers(6)))
    for key in totals:
        totals[key] = 0.0
    actions = rng.integers(6, size=steps)
    start = time.perf_counter()
    for i, action in enumerate(actions):
        envs[i % num_envs].step(int(action))
    seconds = time.perf_counter() - start
    parts = dict(totals)
    start = time.perf_counter()
    for _ in range(resets):  # each compiles a new maze model; the first one after stepping included
        for env in envs:
            env.reset()
    reset = (time.perf_counter() - start) / (num_envs * resets)
    memory = psutil.Process().memory_full_info()
    result = dict(sps=steps / seconds, physics_ms=parts["physics"] / steps * 1e3, render_ms=parts["render"] / steps * 1e3,
                  reset_ms=reset / EPISODE_STEPS[size] * 1e3, build_s=build, uss_mib=memory.uss / MIB, rss_mib=memory.rss / MIB,
                  lp_num_threads=os.environ.get("LP_NUM_THREADS"))
    result["other_ms"] = 1e3 / result["sps"] - result["physics_ms"] - result["render_ms"]
    result["episode_sps"] = 1e3 / (1e3 / result["sps"] + result["reset_ms"])  # a whole episode, its reset included
    return result


# ---- parent ---------------------------------------------------------------------------------------
def run_child(root: str, impl: str, size: str, num_envs: int, steps: int, backend: str, args) -> dict:
    spec = dict(root=root, impl=impl, size=size, envs=num_envs, steps=steps, resets=args.resets)
    env = dict(os.environ, MUJOCO_GL=backend, PYOPENGL_PLATFORM=backend)
    if not args.keep_lp_env:
        env.pop("LP_NUM_THREADS", None)  # each revision's own env factory decides
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)], env=env, cwd=root,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} {size} x{num_envs} ({backend}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def checkout(revision: str, folder: str) -> str:
    subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", folder, revision], check=True,
                   capture_output=True, text=True)
    return folder


def mean_row(rows: list) -> dict:
    return {key: statistics.mean(r[key] for r in rows) if isinstance(rows[0][key], float) else rows[0][key]
            for key in rows[0]}


def print_tables(results: dict, args, load_before: float) -> None:
    print(f"Memory Maze, MUJOCO_GL={' / '.join(args.backend)}, image only, {args.steps} steps per process "
          f"({args.package_steps} for the package), mean of {args.repeats} runs per impl, {os.cpu_count()} CPUs, "
          f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after; before = {args.before}\n")
    print("| size | impl | MUJOCO_GL | envs / process | steps/s | steps/s with resets | physics ms | render ms | other ms | reset ms (amortised) "
          "| build + reset s per env | USS MiB | RSS MiB | USS MiB per extra env | RSS MiB per extra env | LP_NUM_THREADS |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for (size, impl, n, backend), r in results.items():
        one = results.get((size, impl, 1, backend))
        extra_uss = extra_rss = "-"
        if n > 1 and one:
            extra_uss = f"{(r['uss_mib'] - one['uss_mib']) / (n - 1):.0f}"
            extra_rss = f"{(r['rss_mib'] - one['rss_mib']) / (n - 1):.0f}"
        print(f"| {size} | {impl} | {backend} | {n} | {r['sps']:.1f} | {r['episode_sps']:.1f} | {r['physics_ms']:.2f} | {r['render_ms']:.2f} | {r['other_ms']:.2f} "
              f"| {r['reset_ms']:.2f} | {r['build_s']:.2f} | {r['uss_mib']:.0f} | {r['rss_mib']:.0f} | {extra_uss} | {extra_rss} "
              f"| {r['lp_num_threads'] or 'unset'} |")
    first = args.backend[0]
    # (impl, backend) pairs: ours against before and the package on the first backend, then each
    # impl on every other backend against itself on the first.
    pairs = [(("ours", first), ("before", first)), (("ours", first), ("package", first))]
    pairs += [((impl, other), (impl, first)) for impl in args.impls for other in args.backend[1:]]
    lines = []
    for size in args.sizes:
        for n in args.envs:
            for a, b in pairs:
                if (size, a[0], n, a[1]) in results and (size, b[0], n, b[1]) in results:
                    ra, rb = results[(size, a[0], n, a[1])], results[(size, b[0], n, b[1])]
                    lines.append(f"| {size} | {n} | {a[0]} {a[1]} / {b[0]} {b[1]} | {ra['sps'] / rb['sps']:.2f}x "
                                 f"| {ra['episode_sps'] / rb['episode_sps']:.2f}x |")
    if lines:
        print("\n| size | envs / process | impls | steps/s ratio | with resets ratio |\n|---|---:|---|---:|---:|")
        print("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["9x9", "15x15"], choices=sorted(EPISODE_STEPS))
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 4], help="envs per process (a row each)")
    parser.add_argument("--steps", type=int, default=400, help="env steps per process (all its envs together)")
    parser.add_argument("--package-steps", type=int, default=150, help="the same for the package env (~10x slower)")
    parser.add_argument("--impls", nargs="+", default=["package", "before", "ours"], choices=["package", "before", "ours"])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git revision of the 'before' fast env")
    parser.add_argument("--resets", type=int, default=3, help="resets per env after stepping, timed (amortised over an episode)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per impl, in turn (the package runs once)")
    parser.add_argument("--backend", nargs="+", default=[os.environ.get("MUJOCO_GL", "egl")], choices=["egl", "osmesa"],
                        help="MUJOCO_GL of every process; several: each row on each, in turn")
    parser.add_argument("--keep-lp-env", action="store_true",
                        help="pass this shell's LP_NUM_THREADS to every process (default: each revision decides)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(measure_child(spec["root"], spec["impl"], spec["size"], spec["envs"], spec["steps"], spec["resets"])))
        return 0
    if 1 not in args.envs:
        args.envs = [1] + args.envs  # the per-env growth is measured from the 1-env process
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        roots = {"package": REPO, "ours": REPO}
        if "before" in args.impls:
            roots["before"] = checkout(args.before, os.path.join(scratch, "before"))
        try:
            results = {}
            for size in args.sizes:
                for n in args.envs:
                    runs = {(impl, backend): [] for impl in args.impls for backend in args.backend}
                    for repeat in range(args.repeats):
                        for impl, backend in runs:
                            if impl == "package" and repeat:
                                continue
                            steps = args.package_steps if impl == "package" else args.steps
                            runs[impl, backend].append(run_child(roots[impl], impl, size, n, steps, backend, args))
                            print(f"{size} {impl} x{n} {backend}: {runs[impl, backend][-1]['sps']:.1f} steps/s",
                                  file=sys.stderr, flush=True)
                    for (impl, backend), rows in runs.items():
                        results[(size, impl, n, backend)] = mean_row(rows)
        finally:
            if "before" in roots:
                subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", roots["before"]], capture_output=True)
    print_tables(results, args, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
