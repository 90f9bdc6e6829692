"""A run that is killed again and again, as real 100M-step runs are, and relaunched every time.

    python benchmarks/soak.py --minutes=10 --kills=6 [--env=memory_9x9] [--save_every_sec=20]

The same `python -m sf_maze.train` command is started, killed at a random moment after it has made
progress (SIGKILL and SIGTERM in turn, so at least half of each), and started again, until
`--kills` kills and `--minutes` of wall time are done; then one last run to its budget. Per kill:
env steps lost (progress Sample Factory reported before the kill minus where the relaunch resumed:
at most one save interval of steps for SIGKILL, none for SIGTERM) and processes left behind 15 s
after the kill. At the end: the last checkpoint loads with `networks.load_sf_checkpoint`, and
`sf_maze.evaluate` scores it.
"""
import argparse
import glob
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import psutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from sf_maze.lifecycle import still_running  # noqa: E402


class Launch:
    """One `sf_maze.train` process in its own session, its output read by a thread."""

    def __init__(self, command):
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()
        self.started = time.time()

    def output(self) -> str:
        return "".join(self.lines)

    def frames(self) -> int:
        found = re.findall(r"Total num frames: (\d+)", self.output())
        return int(found[-1]) if found else 0

    def resumed_from(self) -> int:
        found = re.findall(r"Loaded experiment state at self.train_step=\d+, self.env_steps=(\d+)", self.output())
        return int(found[0]) if found else 0


def kill(launch: Launch, signum: int) -> dict:
    """Kills the main process only (as the OOM killer or Slurm does); counts what is left after 15 s."""
    workers = psutil.Process(launch.process.pid).children(recursive=True)
    frames_before = launch.frames()
    os.kill(launch.process.pid, signum)
    try:
        launch.process.wait(timeout=180)
    except subprocess.TimeoutExpired:
        launch.process.kill()
        launch.process.wait()
    deadline = time.time() + 15
    while still_running(workers) and time.time() < deadline:
        time.sleep(0.5)
    left = still_running(workers)
    for process in left:  # leave the machine clean for the next launch, after counting
        process.kill()
    return dict(signal=signal.Signals(signum).name, frames_before=frames_before, left=len(left),
                exit=launch.process.returncode)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall time of the kill-and-relaunch phase")
    parser.add_argument("--kills", type=int, default=6, help="at least this many kills")
    parser.add_argument("--save_every_sec", type=int, default=20)
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument("--num_envs_per_worker", type=int, default=2)
    parser.add_argument("--final_steps", type=int, default=2048, help="steps the last, unkilled run adds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill schedule")
    parser.add_argument("--train_dir", default=None, help="default: a temporary folder")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    train_dir = args.train_dir or tempfile.mkdtemp(prefix="soak_")
    run_dir = os.path.join(train_dir, "soak")
    command = [sys.executable, "-m", "sf_maze.train", f"--env={args.env}", "--experiment=soak",
               f"--train_dir={train_dir}", f"--num_workers={args.num_workers}",
               f"--num_envs_per_worker={args.num_envs_per_worker}", "--worker_num_splits=1", "--seed=1",
               f"--save_every_sec={args.save_every_sec}", "--train_for_env_steps=1000000000"]
    kills, start = [], time.time()
    launch = Launch(command)
    while len(kills) < args.kills or time.time() - start < args.minutes * 60:
        # Kill once the launch has trained past where it resumed, at a random moment after that.
        while launch.frames() <= launch.resumed_from() and launch.process.poll() is None:
            time.sleep(0.5)
        if launch.process.poll() is not None:
            raise RuntimeError(f"training exited by itself ({launch.process.returncode}):\n{launch.output()[-3000:]}")
        time.sleep(rng.uniform(5, 2 * args.save_every_sec))
        record = kill(launch, signal.SIGKILL if len(kills) % 2 == 0 else signal.SIGTERM)
        launch = Launch(command)
        while "Loaded experiment state" not in launch.output() and launch.process.poll() is None:
            if "Did not load from checkpoint" in launch.output() or time.time() - launch.started > 300:
                break
            time.sleep(0.5)
        record["resumed"] = launch.resumed_from()
        record["lost"] = max(0, record["frames_before"] - record["resumed"])
        kills.append(record)
        print(f"kill {len(kills)}: {record}", flush=True)

    resumed = launch.resumed_from()
    launch.process.send_signal(signal.SIGTERM)  # end the open-ended launch cleanly, then finish to a budget
    launch.process.wait(timeout=180)
    final = subprocess.run(command[:-1] + [f"--train_for_env_steps={resumed + args.final_steps}"], cwd=REPO,
                           capture_output=True, text=True)
    from networks import load_sf_checkpoint, read_sf_checkpoint

    last = sorted(glob.glob(os.path.join(run_dir, "checkpoint_p0", "checkpoint_*.pth")))[-1]
    final_steps = read_sf_checkpoint(last)["env_steps"]
    agent = load_sf_checkpoint(last)
    evaluation = subprocess.run([sys.executable, "-m", "sf_maze.evaluate", f"--env={args.env}", "--experiment=soak",
                                 f"--train_dir={train_dir}", "--episodes=2", "--num_envs=2", "--max_episode_steps=100",
                                 f"--out={os.path.join(train_dir, 'eval')}"], cwd=REPO, capture_output=True, text=True)

    print(f"\n{args.env}: {len(kills)} kills in {(time.time() - start) / 60:.1f} min, save every "
          f"{args.save_every_sec} s, {args.num_workers} workers x {args.num_envs_per_worker} envs "
          f"(load average {os.getloadavg()[0]:.1f})\n")
    print("| signal | kills | env steps lost per kill (max / mean) | exit codes | processes left after 15 s |")
    print("|---|---:|---|---|---:|")
    for name in ("SIGKILL", "SIGTERM"):
        rows = [k for k in kills if k["signal"] == name]
        if rows:
            lost = [k["lost"] for k in rows]
            exits = sorted({k["exit"] for k in rows})
            print(f"| {name} | {len(rows)} | {max(lost)} / {sum(lost) / len(lost):.0f} | {exits} | "
                  f"{sum(k['left'] for k in rows)} |")
    print(f"\nfinal run exit {final.returncode}; last checkpoint {os.path.basename(last)}: {final_steps} env steps; "
          f"loads with networks ({type(agent).__name__}, {sum(p.numel() for p in agent.parameters())} params); "
          f"sf_maze.evaluate exit {evaluation.returncode}")
    fps = re.findall(r"FPS: ([\d.]+)", final.stdout + final.stderr)
    if fps:
        print(f"one save interval at the final run's {float(fps[-1]):.0f} FPS: ~{float(fps[-1]) * args.save_every_sec:.0f} env steps")
    ok = final.returncode == 0 and evaluation.returncode == 0 and all(k["left"] == 0 for k in kills)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
