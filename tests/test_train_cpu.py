"""benchmarks/train_cpu.py: names a run's processes from its sf_log.txt and measures a real run's CPU per frame."""
import importlib.util
import os
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TWO_LAUNCHES = """\
[2026-12-02 06:56:10,000][02492] Starting all processes...
[2026-12-02 06:56:11,000][02558] Initializing actor-critic model on device cpu
[2026-12-02 06:56:11,100][02566] Worker 0 uses CPU cores [0]
[2026-12-02 06:56:15,584][02492] Fps is (10 sec: nan, 60 sec: nan, 300 sec: nan). Total num frames: 1129600. Throughput: 0: nan. Samples: 0. Policy #0 lag: (min: -1.0, avg: -1.0, max: -1.0)
[2026-12-02 07:03:12,239][03083] Saving configuration to /runs/x/config.json...
[2026-12-02 07:03:12,350][03083] InferenceWorker_p0-w0: min num requests: 1
[2026-12-02 07:03:12,358][03083] Starting all processes...
[2026-12-02 07:03:15,317][03111] Setting fixed seed 1
[2026-12-02 07:03:15,319][03111] Initializing actor-critic model on device cpu
[2026-12-02 07:03:15,332][03121] Worker 1 uses CPU cores [1]
[2026-12-02 07:03:15,409][03119] Worker 0 uses CPU cores [0]
[2026-12-02 07:04:28,533][03118] InferenceWorker_p0-w0: stopping experience collection
[2026-12-02 07:06:20,000][03083] Fps is (10 sec: 320.0, 60 sec: 58.2, 300 sec: 58.2). Total num frames: 1136000. Throughput: 0: 149.8. Samples: 6742. Policy #0 lag: (min: 0.0, avg: 0.0, max: 0.0)
[2026-12-02 07:06:25,000][03111] Saving /runs/x/checkpoint_p0/checkpoint_000000355_1136000.pth...
"""


def load_benchmark():
    spec = importlib.util.spec_from_file_location("train_cpu", os.path.join(REPO, "benchmarks", "train_cpu.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roles_come_from_the_last_launch_and_the_runner_wins_over_inference_lines():
    bench = load_benchmark()
    assert bench.process_roles(TWO_LAUNCHES) == {
        3083: "runner (main process)", 3111: "learner", 3121: "rollout worker 1", 3119: "rollout worker 0",
        3118: "inference (policy 0)"}
    line, samples = bench.last_samples_report(TWO_LAUNCHES)
    assert samples == 6742 and "07:06:20" in line


@pytest.mark.slow
def test_measures_a_real_run(tmp_path):
    """A real asynchronous AMaze run (runner, learner, inference, one rollout worker), measured for 10 s."""
    bench = load_benchmark()
    command = [sys.executable, "-m", "sf_maze.train", "--env=amaze_7x7", "--experiment=cpu", f"--train_dir={tmp_path}",
               "--train_for_env_steps=100000000", "--device=cpu", "--with_wandb=False", "--serial_mode=False", "--async_rl=True"]
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log_path = os.path.join(tmp_path, "cpu", "sf_log.txt")
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            report = bench.last_samples_report(open(log_path).read()) if os.path.exists(log_path) else None
            if report and report[1] > 0:
                break
            assert run.poll() is None, "the training run exited early"
            time.sleep(1)
        result = bench.measure(log_path, 10)
    finally:
        run.terminate()
        run.wait(timeout=60)
    roles = {row["role"] for row in result["rows"]}
    assert {"runner (main process)", "learner", "rollout worker 0"} <= roles, roles
    assert any(role.startswith("inference") for role in roles), roles
    assert result["frames"] > 0 and 8 <= result["wall"] <= 25
    assert all(row["cpu"] >= 0 for row in result["rows"]) and sum(row["cpu"] for row in result["rows"]) > 1.0
    lines = bench.table(result)
    assert lines[-1].startswith("| all |") and len(lines) == 2 + len(result["rows"]) + 1
