"""Dreamer's training speed at the memory_maze preset, per number of actor processes. Prints Markdown tables.

Usage: python benchmarks/dreamer_speed.py [--env memory_9x9] [--actors 0 1 2] [--seconds 240]
       [--device cpu] [--ratio 96] [--serial-ratio 96] [--extra="--key=value ..."] [--skip-policy]

Each row runs the real trainer (`python -m dreamer.train --preset=memory_maze --actors=N`) in a
temporary logdir for --seconds of wall time in steady state (with actors: once past prefill; without:
after its first gradient step), then stops it with SIGTERM: env steps/s and gradient steps/s are the
counts of the checkpoint it saves less those of the log line that opened the window, and the replay ratio is what was trained (batch_size x batch_length replayed steps per
gradient step) per env step. With actors the learner trains as fast as it can (--train_ratio=0)
while the actors step as fast as they can, both sharing the machine; --actors=0 steps and trains in
turn at --serial-ratio. "days / 100M" is 100M env steps at the measured env steps/s; "days / 100M
at ratio R" is the slower of the actors' 100M steps and the learner's 100M x R / 1536 gradient
steps (for --actors=0: the run itself, at its ratio). On a CPU a memory_maze gradient step takes
minutes, so a window holds only a few of them: the table says how many.

The second table measures how actors should get the policy: a weight copy from the learner
(what dreamer.actors does) against batched inference served by the learner over a pipe.
"""
import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
STEPS = 100_000_000


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def read_metrics(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


def measure_row(env: str, actors: int, seconds: float, device: str, serial_ratio: float, extra, timeout: float,
                stop_timeout: float = 600.0):
    """Run the trainer and time its log lines -> dict of rates (or an error string). After the window
    the trainer gets `stop_timeout` s to save its checkpoint (a CPU gradient step takes minutes)."""
    logdir = tempfile.mkdtemp(prefix=f"dreamer_speed_a{actors}_")
    ratio = serial_ratio if actors == 0 else 0
    command = [sys.executable, "-m", "dreamer.train", f"--env={env}", "--preset=memory_maze", f"--logdir={logdir}",
               f"--actors={actors}", f"--train_ratio={ratio}", f"--device={device}", "--prefill=200", "--pretrain=0",
               "--replay_capacity=40000", "--log_every=8", "--steps=1000000000", "--checkpoint_every=1000000000", *extra]
    process = subprocess.Popen(command, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # The window opens at the first log line in steady state (with actors: past prefill, the learner
    # busy; without: after the first gradient step) and closes with a SIGTERM, whose checkpoint holds
    # the final counts: the learner logs only between gradient steps, minutes apart on a CPU.
    path, seen, opened = os.path.join(logdir, "metrics.jsonl"), 0, None  # (time, env steps, grad steps)
    start = time.time()
    try:
        while time.time() - start < timeout:
            if process.poll() is not None:
                return {"error": f"trainer exited {process.returncode}: {process.stderr.read()[-300:]}"}
            lines = read_metrics(path)
            for line in lines[seen:]:
                steady = line.get("stats/grad_steps", 0) >= 1 if actors == 0 else line["env_steps"] >= 208
                if opened is None and steady:
                    opened = (time.time(), line["env_steps"], line["stats/grad_steps"])
            seen = len(lines)
            if opened and time.time() - opened[0] >= seconds:
                break
            time.sleep(0.5)
        closed_at = time.time()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return {"error": f"no checkpoint: the trainer did not stop within {stop_timeout:.0f} s of SIGTERM"}
        if opened is None:
            return {"error": f"not in steady state within {timeout:.0f} s"}
        import torch

        final = torch.load(os.path.join(logdir, "checkpoint.pt"), map_location="cpu", weights_only=False)
    finally:
        if process.poll() is None:
            process.kill()
        shutil.rmtree(logdir, ignore_errors=True)
    (t0, e0, g0), t1 = opened, closed_at
    e1, g1 = final["env_steps"], final["agent"]["grad_steps"]
    return {"env_per_s": (e1 - e0) / (t1 - t0), "grad_per_s": (g1 - g0) / (t1 - t0), "grads": g1 - g0,
            "window_s": t1 - t0, "replay_ratio": (g1 - g0) * 1536 / max(e1 - e0, 1), "load": load_average()}


def policy_refresh_vs_served(env: str, actors_list, repeats: int = 20):
    """Seconds per env step of acting (memory_maze model, CPU, 1 thread): local copy vs served batches."""
    import multiprocessing

    import numpy as np
    import torch

    from dreamer.actors import SharedPolicy, acting_modules
    from dreamer.agent import Actor
    from dreamer.behavior import ActorCritic
    from dreamer.config import build, group
    from dreamer.observations import ObsSpec
    from dreamer.world_model import WorldModel

    torch.set_num_threads(1)
    cfg = build({"env": env}, preset="memory_maze")
    spec = ObsSpec("image", (64, 64, 3))
    world_model, num_actions = WorldModel(spec, 6, **group(cfg, "world_model")).eval(), 6
    behavior = ActorCritic(world_model.feature_size, num_actions, **group(cfg, "behavior")).eval()
    modules = acting_modules(world_model, behavior)
    shared = SharedPolicy(multiprocessing.get_context("spawn"), sum(p.numel() for m in modules for p in m.parameters()))

    def act_seconds(batch):
        actor = Actor(world_model, behavior, batch, seed=0)
        obs = {"image": np.random.default_rng(0).integers(0, 255, (batch, 64, 64, 3), dtype=np.uint8)}
        first = np.zeros(batch, dtype=bool)
        actor.act(obs, first)
        start = time.perf_counter()
        for _ in range(repeats):
            actor.act(obs, first)
        return (time.perf_counter() - start) / repeats

    start = time.perf_counter()
    for _ in range(5):
        shared.publish(modules)
    publish = (time.perf_counter() - start) / 5
    start = time.perf_counter()
    for version in range(5):
        shared.load(modules, -1)
    load = (time.perf_counter() - start) / 5
    # A pipe round trip of one observation and one action between two processes.
    parent, child = multiprocessing.get_context("spawn").Pipe()
    echo = multiprocessing.get_context("spawn").Process(target=_echo, args=(child,), daemon=True)
    echo.start()
    frame = np.zeros((64, 64, 3), np.uint8)
    parent.send(frame)
    parent.recv()
    start = time.perf_counter()
    for _ in range(200):
        parent.send(frame)
        parent.recv()
    round_trip = (time.perf_counter() - start) / 200
    parent.send(None)
    echo.join(5)
    one = act_seconds(1)
    rows = []
    for actors in actors_list:
        if actors < 1:
            continue
        batched = act_seconds(actors)
        rows.append((actors, one, batched, round_trip))
    return rows, publish, load


def _echo(conn):
    while True:
        item = conn.recv()
        if item is None:
            return
        conn.send(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9")
    parser.add_argument("--actors", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seconds", type=float, default=240.0, help="measurement window per row after the first gradient step")
    parser.add_argument("--timeout", type=float, default=900.0, help="give a row up after this many seconds")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--ratio", type=float, default=96.0, help="replay ratio for the 'days at ratio' column")
    parser.add_argument("--serial-ratio", type=float, default=96.0, help="--train_ratio of the --actors=0 row")
    parser.add_argument("--extra", default="", help="more trainer flags, e.g. --extra='--envs=2'")
    parser.add_argument("--skip-policy", action="store_true")
    args = parser.parse_args()
    extra = shlex.split(args.extra)

    print(f"Dreamer memory_maze preset on {args.env}, device {args.device}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; load average before: {load_average()}\n")
    print(f"| actors | trainer --train_ratio | env steps/s | gradient steps/s | replay ratio | gradient steps in window "
          f"| days / 100M | days / 100M at ratio {args.ratio:g} | load avg (1/5/15 min) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for actors in args.actors:
        row = measure_row(args.env, actors, args.seconds, args.device, args.serial_ratio, extra, args.timeout)
        ratio = args.serial_ratio if actors == 0 else 0
        if "error" in row:
            print(f"| {actors} | {ratio:g} | n/a ({row['error']}) | | | | | | {load_average()} |", flush=True)
            continue
        days = STEPS / row["env_per_s"] / 86400
        # No step completed in the window: the learner's rate is below one per window (a bound, marked <).
        bound = "<" if row["grads"] == 0 else ""
        grad_per_s = row["grad_per_s"] or 1 / row["window_s"]
        if actors == 0:
            days_at = f"{days:,.0f}"
        else:
            learner_days = STEPS * args.ratio / 1536 / grad_per_s / 86400
            days_at = f"{'>' if bound else ''}{max(days, learner_days):,.0f}"
        print(f"| {actors} | {ratio:g} | {row['env_per_s']:.1f} | {bound}{grad_per_s:.4f} | {row['replay_ratio']:.1f} | "
              f"{row['grads']} in {row['window_s']:.0f} s | {days:,.0f} | {days_at} | {row['load']} |", flush=True)

    if not args.skip_policy:
        rows, publish, load = policy_refresh_vs_served(args.env, args.actors)
        print(f"\nPolicy for the actors (memory_maze model, CPU, 1 thread; load average {load_average()}): weight copy "
              f"publish {publish * 1e3:.0f} ms, load {load * 1e3:.0f} ms (every policy_every gradient steps)\n")
        print("| actors | own copy: act, batch 1 (ms/step) | served: act on a batch of all actors (ms) "
              "| served: pipe round trip (ms) | served ms per env step of each actor |")
        print("|---:|---:|---:|---:|---:|")
        for actors, one, batched, trip in rows:
            print(f"| {actors} | {one * 1e3:.1f} | {batched * 1e3:.1f} | {trip * 1e3:.2f} | {(batched + trip) * 1e3:.1f} |")


if __name__ == "__main__":
    main()
