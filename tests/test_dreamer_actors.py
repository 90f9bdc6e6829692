"""Dreamer with actor processes, through the real CLI: the replay ratio holds, SIGTERM saves a checkpoint
and the run resumes from it, a `kill -9` of the learner leaves no actor behind, and a killed actor
fails the run in one line instead of hanging it."""
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = "amaze_7x7"
ACTORS = 2


def command(logdir, *extra):
    return [sys.executable, "-m", "dreamer.train", f"--env={ENV}", "--preset=debug", f"--logdir={logdir}",
            f"--actors={ACTORS}", "--train_ratio=8", *extra]


def environment():
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)


def metrics(logdir):
    path = os.path.join(logdir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


def start_and_wait_for_training(logdir, grad_steps=1):
    """Popen of a long run, returned once it logged `grad_steps` gradient steps, with its child processes."""
    process = subprocess.Popen(command(logdir, "--steps=1000000", "--checkpoint_every=1000000"), cwd=REPO,
                               env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        assert process.poll() is None, process.stdout.read()[-3000:]
        logged = metrics(logdir)
        if logged and logged[-1].get("stats/grad_steps", 0) >= grad_steps:
            break
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the run logged no gradient step within 120 s")
    actors = [p for p in psutil.Process(process.pid).children(recursive=True)
              if "actor_main" in " ".join(p.cmdline()) or "spawn_main" in " ".join(p.cmdline())]
    assert len(actors) >= ACTORS, [p.cmdline() for p in psutil.Process(process.pid).children(recursive=True)]
    return process, psutil.Process(process.pid).children(recursive=True)


def wait_gone(processes, timeout):
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.slow
def test_kill_9_of_the_learner_leaves_no_actor(tmp_path):
    process, children = start_and_wait_for_training(str(tmp_path / "run"))
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    left = wait_gone(children, timeout=15)
    for child in left:  # do not leak them into the rest of the suite
        child.kill()
    assert not left, [child.cmdline() for child in left]


@pytest.mark.slow
def test_a_killed_actor_fails_the_run_in_one_line_and_keeps_a_checkpoint(tmp_path):
    logdir = str(tmp_path / "run")
    process, children = start_and_wait_for_training(logdir)
    actor = next(p for p in children if "spawn_main" in " ".join(p.cmdline()))
    actor.kill()
    try:
        out, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the run still runs 90 s after an actor died") from None
    left = wait_gone(children, timeout=10)
    for child in left:
        child.kill()
    assert process.returncode == 1, out[-3000:]
    assert "dreamer.train: error: actor process dreamer-actor-" in out and "exited with code -9 (SIGKILL)" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert not left, [child.cmdline() for child in left]
    saved = torch.load(os.path.join(logdir, "checkpoint.pt"), map_location="cpu", weights_only=False)
    assert saved["agent"]["grad_steps"] >= 1


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_the_run_resumes_from_it(tmp_path):
    logdir = str(tmp_path / "run")
    process, children = start_and_wait_for_training(logdir, grad_steps=40)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out[-3000:]
    assert not wait_gone(children, timeout=10), "actors outlived a SIGTERM"
    saved = torch.load(os.path.join(logdir, "checkpoint.pt"), map_location="cpu", weights_only=False)
    steps, grads = saved["env_steps"], saved["agent"]["grad_steps"]
    assert steps > 0 and grads > 0 and sum(saved["replay"]["total"]) >= steps
    first = metrics(logdir)
    # Measured replay ratio near the asked 8 (replayed steps per env step) once training runs.
    ratios = [m["perf/replay_ratio"] for m in first if m.get("stats/grad_steps", 0) > 20]
    assert ratios and 4 <= ratios[-1] <= 12, ratios
    assert all("perf/_fps" in m and "perf/train_steps_per_sec" in m for m in first)

    result = subprocess.run(command(logdir, f"--steps={steps + 400}"), cwd=REPO, env=environment(),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"from env step {steps}" in result.stdout, result.stdout
    resumed = metrics(logdir)[len(first):]
    assert resumed and resumed[0]["env_steps"] > steps and resumed[-1]["stats/grad_steps"] > grads
    final = torch.load(os.path.join(logdir, "checkpoint.pt"), map_location="cpu", weights_only=False)
    assert final["env_steps"] >= steps + 400 and sum(final["replay"]["total"]) > sum(saved["replay"]["total"])


def _hold_forever(lock, holding) -> None:
    lock.acquire()
    holding.set()
    time.sleep(600)


def test_an_actor_killed_while_it_loads_weights_fails_the_learner_instead_of_hanging_it():
    """An actor holds the policy lock while it copies new weights in; killed there (the OOM killer),
    it never releases it, and the learner's next publish used to wait for it forever."""
    import multiprocessing
    import threading
    from types import SimpleNamespace

    from dreamer.actors import ActorPool, SharedPolicy

    context = multiprocessing.get_context("fork")  # the child only takes the lock
    module = torch.nn.Linear(3, 2)
    policy = SharedPolicy(context, sum(p.numel() for p in module.parameters()))
    holding = context.Event()
    actor = context.Process(target=_hold_forever, args=(policy.lock, holding), name="dreamer-actor-0")
    actor.start()
    assert holding.wait(30)
    actor.kill()
    outcome = []

    def publish():
        try:
            policy.publish([module], lambda: ActorPool.check_alive(SimpleNamespace(processes=[actor])))
            outcome.append("published")
        except RuntimeError as error:
            outcome.append(str(error))

    learner = threading.Thread(target=publish, daemon=True)
    learner.start()
    learner.join(30)
    assert not learner.is_alive(), "publish still waits on the lock the killed actor held"
    assert outcome == ["actor process dreamer-actor-0 exited with code -9 (SIGKILL); see its log above"], outcome
