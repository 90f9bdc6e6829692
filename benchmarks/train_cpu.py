"""Where a training run's CPU goes: CPU time per frame of each Sample Factory process of a run in progress.

    python benchmarks/train_cpu.py --train_dir=DIR --experiment=NAME [--seconds=300]

Attaches to a running `python -m sf_maze.train` (it starts nothing and only reads /proc through
psutil, so the run is measured as it trains), names each process from the run's sf_log.txt (the
learner, the inference worker, rollout worker N, the runner) and, over --seconds, divides each
process's CPU time by the frames its rollout workers stepped. Frames come from Sample Factory's
"Samples" count in its 5-second reports, which moves with every env step (the trained-frames count
moves a whole batch at a time); the window starts and ends on a report, so both sides are aligned.
A serial-mode run (AMaze's default) is one process, so it gets one row.
"""
import argparse
import os
import re
import sys
import time
from typing import Dict, List, Optional, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from common.processes import load_average, usable_cpus  # noqa: E402

# Sample Factory 2.1.1's log lines: "[2026-12-02 07:03:15,332][03121] Worker 1 uses CPU cores [1]".
LINE = re.compile(r"^\[[^\]]+\]\[(\d+)\] (.*)$")
# In priority order: the runner also logs lines that name the inference worker.
ROLE_PATTERNS = [
    (re.compile(r"Fps is \(|Starting all processes"), "runner (main process)"),
    (re.compile(r"Initializing actor-critic model"), "learner"),
    (re.compile(r"Worker (\d+) uses CPU cores"), "rollout worker {}"),
    (re.compile(r"InferenceWorker_p(\d+)|Updated weights for policy (\d+)"), "inference (policy {})"),
]
SAMPLES = re.compile(r"Samples: (\d+)")
GIB = 1024 ** 3


def process_roles(log_text: str) -> Dict[int, str]:
    """pid -> role for every process of the log's last launch (a resumed run appends to the same log)."""
    parsed = [(int(m.group(1)), m.group(2)) for m in map(LINE.match, log_text.splitlines()) if m]
    runners = [pid for pid, message in parsed if "Starting all processes" in message]
    if runners:
        parsed = parsed[next(i for i, (pid, _) in enumerate(parsed) if pid == runners[-1]):]
    best: Dict[int, Tuple[int, str]] = {}
    for pid, message in parsed:
        for rank, (pattern, role) in enumerate(ROLE_PATTERNS):
            found = pattern.search(message)
            if found and rank < best.get(pid, (len(ROLE_PATTERNS), ""))[0]:
                best[pid] = (rank, role.format(*[group for group in found.groups() if group is not None]))
                break
    return {pid: role for pid, (_, role) in best.items()}


def last_samples_report(log_text: str) -> Optional[Tuple[str, int]]:
    """(the report's line, its Samples count) of the last 'Fps is' report, or None."""
    for line in reversed(log_text.splitlines()):
        found = SAMPLES.search(line) if "Fps is (" in line else None
        if found:
            return line, int(found.group(1))
    return None


def _read(path: str) -> str:
    with open(path, errors="replace") as handle:
        return handle.read()


def _wait_for_new_report(log_path: str, after: Optional[str], timeout: float) -> Tuple[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = last_samples_report(_read(log_path))
        if report and (after is None or report[0] != after):
            return report
        time.sleep(0.2)
    raise SystemExit(f"no new Sample Factory report in {log_path} for {timeout:.0f} s: is the run training?")


def _next_report(log_path: str) -> Tuple[str, int]:
    current = last_samples_report(_read(log_path))
    return _wait_for_new_report(log_path, current[0] if current else None, 30)


def _cpu_seconds(processes) -> Dict[int, float]:
    import psutil

    times = {}
    for process in processes:
        try:
            cpu = process.cpu_times()
            times[process.pid] = cpu.user + cpu.system
        except psutil.NoSuchProcess:
            pass
    return times


def measure(log_path: str, seconds: float) -> dict:
    import psutil

    roles = process_roles(_read(log_path))
    processes = [psutil.Process(pid) for pid in roles if psutil.pid_exists(pid)]
    if not processes:
        raise SystemExit(f"none of the processes named in {log_path} is running: start or resume the run first")
    first = _next_report(log_path)  # the window starts as a report is written
    start_cpu, start = _cpu_seconds(processes), time.monotonic()
    time.sleep(max(0.0, seconds - 5))
    last = _next_report(log_path)
    end_cpu, wall = _cpu_seconds(processes), time.monotonic() - start
    frames = last[1] - first[1]
    if frames <= 0:
        raise SystemExit(f"the run stepped no frames in {wall:.0f} s (Samples {first[1]} -> {last[1]}): paused or restarted?")
    rows = []
    for process in processes:
        if process.pid not in end_cpu or process.pid not in start_cpu:
            continue
        cpu = end_cpu[process.pid] - start_cpu[process.pid]
        try:
            uss = process.memory_full_info().uss / GIB
        except psutil.Error:
            uss = float("nan")
        rows.append(dict(role=roles[process.pid], pid=process.pid, cpu=cpu, uss=uss))
    return dict(rows=rows, frames=frames, wall=wall)


def table(result: dict) -> List[str]:
    total = sum(row["cpu"] for row in result["rows"])
    frames, wall = result["frames"], result["wall"]
    lines = ["| process | pid | CPU (% of one core) | CPU ms per frame | share of the run's CPU | USS GiB |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in sorted(result["rows"], key=lambda r: r["role"]):
        lines.append(f"| {row['role']} | {row['pid']} | {100 * row['cpu'] / wall:.1f} | {1000 * row['cpu'] / frames:.2f} "
                     f"| {100 * row['cpu'] / total:.0f}% | {row['uss']:.2f} |")
    lines.append(f"| all | | {100 * total / wall:.1f} | {1000 * total / frames:.2f} | 100% | "
                 f"{sum(row['uss'] for row in result['rows']):.2f} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train_dir", required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--seconds", type=float, default=300.0, help="measurement window (>= 10)")
    args = parser.parse_args(argv)
    if args.seconds < 10:
        parser.error(f"--seconds={args.seconds:g}: the window must hold two of Sample Factory's 5-s reports (>= 10)")
    log_path = os.path.join(args.train_dir, args.experiment, "sf_log.txt")
    if not os.path.isfile(log_path):
        parser.error(f"no {log_path}: --train_dir/--experiment must name a Sample Factory run")
    load_before = load_average()
    result = measure(log_path, args.seconds)
    print(f"{args.experiment}: {result['frames']} frames stepped in {result['wall']:.0f} s = "
          f"{result['frames'] / result['wall']:.1f} frames/s; {usable_cpus()} usable CPUs, load average "
          f"{load_before} before / {load_average()} after\n")
    print("\n".join(table(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
