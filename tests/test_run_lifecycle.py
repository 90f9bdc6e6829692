"""Real runs ended the ways real runs end: SIGTERM (preemption), kill -9 (OOM killer), Slurm's
time-limit signal through the sbatch template, each followed by a relaunch that resumes."""
import glob
import json
import os
import re
import signal
import string
import subprocess
import sys
import threading
import time

import psutil
import pytest

from networks.checkpoint import read_sf_checkpoint
from sf_maze.lifecycle import still_running

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A real parallel run (learner, inference and rollout worker processes), as small as it gets.
PARALLEL_RUN = [
    "--env=memory_9x9", "--experiment=lifecycle", "--num_workers=1", "--num_envs_per_worker=2",
    "--worker_num_splits=1", "--rollout=16", "--batch_size=32", "--seed=1", "--device=cpu",
    "--decorrelate_envs_on_one_worker=False",
]


class Run:
    """A training process in its own session, its output collected by a thread."""

    def __init__(self, command, env=None):
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True, env=env)
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, predicate, what: str, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"run exited ({self.process.returncode}) before {what}:\n{self.output[-3000:]}")
            time.sleep(0.5)
        raise AssertionError(f"no {what} within {timeout} s:\n{self.output[-3000:]}")

    def descendants(self):
        return psutil.Process(self.process.pid).children(recursive=True)

    def kill_everything(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def frames_trained(output: str) -> int:
    """The last 'Total num frames' Sample Factory reported (0 before the first report)."""
    found = re.findall(r"Total num frames: (\d+)", output)
    return int(found[-1]) if found else 0


def train_command(train_dir, *extra):
    return [sys.executable, "-m", "sf_maze.train", f"--train_dir={train_dir}", *PARALLEL_RUN, *extra]


def latest_checkpoint(run_dir):
    paths = sorted(glob.glob(os.path.join(run_dir, "checkpoint_p0", "checkpoint_*.pth")))
    return paths[-1] if paths else None


def saved_env_steps(run_dir) -> int:
    path = latest_checkpoint(run_dir)
    return read_sf_checkpoint(path)["env_steps"] if path else 0


def assert_relaunch_resumes(train_dir, saved_steps: int) -> None:
    """The same command, relaunched with a budget just past the checkpoint, resumes from it."""
    relaunch = Run(train_command(train_dir, f"--train_for_env_steps={saved_steps + 64}"))
    try:
        relaunch.process.wait(timeout=300)
        assert relaunch.process.returncode == 0, relaunch.output[-3000:]
        assert f"self.env_steps={saved_steps}" in relaunch.output, "the relaunch did not resume from the checkpoint"
    finally:
        relaunch.kill_everything()


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path, os.path.join(tmp_path, "lifecycle")


@pytest.mark.slow
def test_sigterm_saves_marks_interrupted_and_the_relaunch_resumes(run_dir):
    train_dir, experiment_dir = run_dir
    # No periodic saves: a checkpoint can only come from the stop.
    run = Run(train_command(train_dir, "--train_for_env_steps=1000000", "--save_every_sec=100000"))
    try:
        run.wait_for(lambda: frames_trained(run.output) > 0 and len(run.descendants()) >= 3, "training with workers")
        workers = run.descendants()
        run.wait_for(lambda: read_status_of(experiment_dir) == "running", "a running status")
        run.process.send_signal(signal.SIGTERM)
        run.process.wait(timeout=120)
        assert run.process.returncode == 128 + signal.SIGTERM, run.output[-3000:]
        checkpoint = latest_checkpoint(experiment_dir)
        assert checkpoint is not None, "SIGTERM did not save a checkpoint"
        saved_steps = read_sf_checkpoint(checkpoint)["env_steps"]
        assert saved_steps > 0
        with open(os.path.join(experiment_dir, "run_status.json")) as f:
            record = json.load(f)
        assert record["status"] == "interrupted" and record["signal"] == "SIGTERM", record
        deadline = time.time() + 15
        while still_running(workers) and time.time() < deadline:
            time.sleep(0.5)
        assert not still_running(workers), f"workers left after a clean stop: {still_running(workers)}"
    finally:
        run.kill_everything()

    assert_relaunch_resumes(train_dir, saved_steps)


def read_status_of(experiment_dir):
    from evaluation.run_status import read_status

    record = read_status(experiment_dir)
    return record and record["status"]


@pytest.mark.slow
def test_kill_9_of_the_main_process_leaves_no_worker_and_the_relaunch_resumes(run_dir):
    train_dir, experiment_dir = run_dir
    run = Run(train_command(train_dir, "--train_for_env_steps=1000000", "--save_every_sec=5"))
    try:
        run.wait_for(lambda: saved_env_steps(experiment_dir) > 0 and len(run.descendants()) >= 3,
                     "a checkpoint of some training, workers running")
        workers = run.descendants()
        names = {p.pid: " ".join(p.cmdline()[-2:]) for p in workers}
        run.process.kill()  # SIGKILL to the main process only, as the OOM killer does
        run.process.wait(timeout=10)
        deadline = time.time() + 15
        while still_running(workers) and time.time() < deadline:
            time.sleep(0.5)
        left = still_running(workers)
        assert not left, f"still running 15 s after kill -9 of the main process: {[names[p.pid] for p in left]}"
        assert read_status_of(experiment_dir) == "died"
        saved_steps = saved_env_steps(experiment_dir)
    finally:
        run.kill_everything()

    assert_relaunch_resumes(train_dir, saved_steps)
    assert read_status_of(experiment_dir) == "finished"


@pytest.mark.slow
def test_a_dead_learner_stops_the_run_instead_of_hanging_it(run_dir):
    """Sample Factory's main process waits forever on a learner that died (OOM killer on a worker),
    and on a worker blocked on a lock the learner died holding (the policy lock, held around every
    optimizer step, which the inference worker takes to load weights): a suspended inference worker
    stands in for that one, as it never stops by itself either."""
    train_dir, experiment_dir = run_dir
    run = Run(train_command(train_dir, "--train_for_env_steps=1000000", "--save_every_sec=100000"))
    try:
        run.wait_for(lambda: frames_trained(run.output) > 0 and len(run.descendants()) >= 3, "training with workers")
        workers = run.descendants()
        [learner] = [p for p in workers if "LearnerWorker_p0\tpid " + str(p.pid) in run.output]
        [inference] = [p for p in workers if "InferenceWorker_p0-w0\tpid " + str(p.pid) in run.output]
        inference.suspend()
        learner.kill()
        try:
            run.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the run still runs 120 s after its learner died:\n{run.output[-3000:]}") from None
        assert run.process.returncode == 1, run.output[-3000:]
        # Killed after the grace period, or with the main process when the learner died holding the
        # lock of a queue the main process reads (rare, and up to the moment of the kill).
        assert ("killed the workers that did not stop: inference_proc0-0" in run.output
                or "the main process did not stop within" in run.output), run.output[-3000:]
        with open(os.path.join(experiment_dir, "run_status.json")) as f:
            record = json.load(f)
        assert record["status"] == "failed" and "died" in record["error"], record
        deadline = time.time() + 15
        while still_running(workers) and time.time() < deadline:
            time.sleep(0.5)
        assert not still_running(workers)
    finally:
        run.kill_everything()


BLOCKED_MAIN_THREAD = """
import multiprocessing, sys, time
from signal_slot.signal_slot import EventLoop
from sf_maze.lifecycle import GracefulStop


class Worker:  # what GracefulStop reads of Sample Factory's EventLoopProcess
    def __init__(self, process):
        self._process, self.name = process, "learner_proc0"


class Runner:  # a runner whose event loop never turns again
    stopped = False

    def __init__(self, processes):
        self.event_loop, self.processes = EventLoop("runner_evt_loop"), processes


if __name__ == "__main__":
    worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(1,))
    worker.start()
    GracefulStop.hard_exit_after_s = float(sys.argv[1])
    with GracefulStop(Runner([Worker(worker)]), on_hard_exit=lambda name: print("hard exit:", name, "died", flush=True)):
        time.sleep(120)  # the main thread blocked on a lock the dead worker held
    print("the main thread went on", flush=True)
"""


def test_a_blocked_main_thread_still_exits_after_a_worker_died(tmp_path):
    """The main process may itself block on a queue lock the dead process held; then no event-loop
    timer runs, and only GracefulStop's thread can end the run."""
    script = tmp_path / "blocked_main.py"
    script.write_text(BLOCKED_MAIN_THREAD)
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script), "2"], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "hard exit: learner_proc0 died" in done.stdout, done.stdout + done.stderr
    assert time.monotonic() - started < 30


@pytest.mark.slow
def test_sbatch_template_checkpoints_and_requeues_on_the_time_limit_signal(tmp_path):
    """The job script as Slurm runs it: USR1 to the batch shell -> checkpoint, `scontrol requeue`,
    and the requeued script resumes. `scontrol` is a stand-in that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "scontrol_calls"
    (bin_dir / "scontrol").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    (bin_dir / "scontrol").chmod(0o755)
    train_dir, experiment = tmp_path / "runs", "slurm_run"
    command = (f"python -m sf_maze.train --env=amaze_7x7 --experiment={experiment} --train_dir={train_dir} "
               "--train_for_env_steps=10000000 --save_every_sec=100000 --seed=3")
    with open(os.path.join(REPO, "launcher", "sbatch_template.sh")) as f:
        script = string.Template(f.read()).substitute(CMD=command, FILENAME="job.sh", PARTITION="", GPU=1, CPU=2,
                                                      TIMEOUT="1:00:00")
    assert "#SBATCH --signal=B:USR1@" in script and "#SBATCH --requeue" in script
    (tmp_path / "job.sh").write_text(script)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", SLURM_JOB_ID="4242", SF_MAZE_ROOT=REPO,
               SF_MAZE_VENV=sys.prefix)
    job = Run(["bash", str(tmp_path / "job.sh")], env=env)
    run_dir = os.path.join(train_dir, experiment)
    try:
        job.wait_for(lambda: frames_trained(job.output) > 0 and read_status_of(run_dir) == "running", "training in the job")
        job.process.send_signal(signal.SIGUSR1)  # Slurm's B:USR1 goes to the batch shell only
        job.process.wait(timeout=120)
        assert job.process.returncode == 0, job.output[-3000:]
        assert calls.read_text().split() == ["requeue", "4242"]
        with open(os.path.join(run_dir, "run_status.json")) as f:
            assert json.load(f)["signal"] == "SIGUSR1"
        saved_steps = read_sf_checkpoint(latest_checkpoint(run_dir))["env_steps"]
    finally:
        job.kill_everything()

    requeued = Run(["bash", str(tmp_path / "job.sh")], env=env)
    try:
        requeued.wait_for(lambda: f"self.env_steps={saved_steps}" in requeued.output, "the requeued job resuming",
                          timeout=120)
    finally:
        requeued.kill_everything()


@pytest.mark.slow
def test_relaunch_after_a_best_checkpoint_resumes(tmp_path):
    """Past --save_best_after Sample Factory stores best_performance as a numpy scalar; relaunching,
    the sweep report and the loader must all read such checkpoints (they crashed on it before)."""
    from launcher.report import _run_state
    from networks import load_sf_checkpoint
    from evaluation.runs import reached_env_steps

    common = [sys.executable, "-m", "sf_maze.train", "--env=amaze_7x7", "--experiment=best", f"--train_dir={tmp_path}",
              "--seed=2", "--save_best_after=1000", "--save_best_every_sec=1", "--save_every_sec=1"]
    first = subprocess.run(common + ["--train_for_env_steps=40000"], cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    run_dir = os.path.join(tmp_path, "best")
    best = glob.glob(os.path.join(run_dir, "checkpoint_p0", "best_*.pth"))
    assert best, "no best checkpoint: the run did not cross --save_best_after"
    latest = read_sf_checkpoint(latest_checkpoint(run_dir))
    assert type(latest["best_performance"]).__module__ == "numpy"  # what weights_only loading used to refuse
    reached = reached_env_steps(run_dir)
    assert reached >= 40000
    assert _run_state(dict(run_dir=run_dir, budget=40000))["status"] == "finished"
    assert load_sf_checkpoint(best[0]).heads.num_actions == 7

    second = subprocess.run(common + [f"--train_for_env_steps={reached + 4096}"], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert f"self.env_steps={reached}" in second.stdout + second.stderr


def test_config_json_is_never_half_written(tmp_path):
    # Sample Factory rewrites config.json at every start; a write that dies midway (here: a value
    # json cannot encode, as a kill would) must leave the previous file whole for the relaunch and
    # for a report polling the run.
    from types import SimpleNamespace

    from sample_factory.algo.runners.runner import Runner

    from sf_maze.patches import install_sf_patches

    install_sf_patches()
    cfg = SimpleNamespace(train_dir=str(tmp_path), experiment="run", env="memory_9x9", train_for_env_steps=1000)
    os.makedirs(tmp_path / "run")
    Runner._save_cfg(SimpleNamespace(cfg=cfg))
    cfg.train_for_env_steps, cfg.unencodable = 2000, object()
    with pytest.raises(TypeError):
        Runner._save_cfg(SimpleNamespace(cfg=cfg))
    with open(tmp_path / "run" / "config.json") as f:
        assert json.load(f)["train_for_env_steps"] == 1000
    assert os.listdir(tmp_path / "run") == ["config.json"]  # no temporary file left behind
