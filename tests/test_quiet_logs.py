"""A real short `sf_maze.train` (learner, inference and rollout worker processes, as `make train`
starts them) and a `dreamer.train` debug run print none of the warnings every run used to print,
keep Sample Factory's profiler trees off the terminal, and end with next-steps lines that name the
run folder and checkpoint on disk and commands that exist."""
import glob
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = "quiet"
# As small as a parallel run gets (tests/test_run_lifecycle.py); enough frames for learner steps,
# where Sample Factory's float(actor_loss) used to warn.
PARALLEL_RUN = [
    "--env=memory_9x9", f"--experiment={EXPERIMENT}", "--num_workers=1", "--num_envs_per_worker=2",
    "--worker_num_splits=1", "--rollout=16", "--batch_size=32", "--seed=1", "--device=cpu",
    "--decorrelate_envs_on_one_worker=False", "--save_every_sec=5", "--train_for_env_steps=256",
]
# Each was printed by every run before (issue 44): one per env reset, one per env built, one per learner.
KNOWN_NOISE = (
    "Cannot set velocity on Entity with no free joint",
    "env.num_agents to get variables from other wrappers",
    "env.is_multiagent to get variables from other wrappers",
    "Converting a tensor with requires_grad=True to a scalar",
    "Conversion of an array with ndim > 0 to a scalar",
)
PYTHON_WARNING = re.compile(r"^\S+:\d+: \w*Warning: ", re.MULTILINE)  # warnings.showwarning's format


def noise_in(output: str) -> list:
    """The lines of `output` that are a known noisy warning or any Python warning."""
    return [line for line in output.splitlines() if any(text in line for text in KNOWN_NOISE)
            or PYTHON_WARNING.match(line)]


def test_noise_in_finds_the_warnings_runs_printed_before():
    before = """\
WARNING:absl:Cannot set velocity on Entity with no free joint.
/x/site-packages/gymnasium/core.py:311: UserWarning: \x1b[33mWARN: env.num_agents to get variables from other wrappers is deprecated
  logger.warn(
/x/site-packages/sample_factory/algo/learning/learner.py:739: UserWarning: Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.
/x/site-packages/other/module.py:12: FutureWarning: something else
[2026-12-07 15:50:07,685][04070] Collected {0: 6400}, FPS: 14.7"""
    assert len(noise_in(before)) == 4
    assert noise_in("[2026-12-07 15:50:07,685][04070] Collected {0: 6400}, FPS: 14.7\nwarnings are fine in words") == []


def next_steps(output: str, header: str) -> dict:
    """{label: text} of the block after the last line starting with `header`, which must end the output."""
    lines = output.rstrip("\n").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    assert starts, output[-3000:]
    block = lines[starts[-1] + 1:]
    assert block and all(line.startswith("  ") for line in block), lines[starts[-1]:]
    return {line[2:13].strip(): line[13:].strip() for line in block}


def command_module(command: str) -> str:
    words = shlex.split(command)
    assert words[:2] == ["python", "-m"], command
    return words[2]


@pytest.fixture(scope="module")
def sf_run(tmp_path_factory):
    train_dir = str(tmp_path_factory.mktemp("quiet_train"))
    command = [sys.executable, "-m", "sf_maze.train", f"--train_dir={train_dir}", *PARALLEL_RUN]
    result = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-5000:]
    return train_dir, result.stdout


@pytest.mark.slow
def test_training_prints_no_known_warning(sf_run):
    train_dir, output = sf_run
    checkpoints = sorted(glob.glob(os.path.join(train_dir, EXPERIMENT, "checkpoint_p0", "checkpoint_*.pth")))
    assert checkpoints and int(checkpoints[-1].rsplit("_", 1)[1].split(".")[0]) >= 256  # the learner trained
    assert noise_in(output) == [], noise_in(output)


@pytest.mark.slow
def test_profiler_trees_go_to_the_log_file_only(sf_run):
    train_dir, output = sf_run
    assert "profile tree view" not in output
    with open(os.path.join(train_dir, EXPERIMENT, "sf_log.txt")) as f:
        assert "Runner profile tree view" in f.read()


@pytest.mark.slow
def test_training_ends_with_next_steps_that_exist(sf_run):
    train_dir, output = sf_run
    rows = next_steps(output, f"sf_maze.train: {EXPERIMENT} ended")
    run_dir = rows["run folder"].split("  ")[0]
    assert os.path.samefile(run_dir, os.path.join(train_dir, EXPERIMENT))
    newest = sorted(glob.glob(os.path.join(run_dir, "checkpoint_p0", "checkpoint_*.pth")))[-1]
    checkpoint = rows["checkpoint"].split("  ")[0]
    assert os.path.isfile(checkpoint) and os.path.samefile(checkpoint, newest), (rows, newest)
    # The budget was reached, so the line asks for as many frames again; otherwise it is the same command.
    reached = int(os.path.basename(newest).rsplit("_", 1)[1].split(".")[0])
    assert f"({reached} env steps of 256)" in rows["checkpoint"]
    resume = shlex.split(rows["train more"])
    assert resume[:3] == ["python", "-m", "sf_maze.train"]
    assert set(resume[3:]) ^ set(PARALLEL_RUN) == {f"--train_dir={train_dir}", "--train_for_env_steps=256",
                                                   f"--train_for_env_steps={reached + 256}"}
    for label in ("score", "watch (mp4)", "plot"):
        module = command_module(rows[label])
        assert importlib.util.find_spec(module) is not None, (label, module)
        assert f"--train_dir={train_dir}" in shlex.split(rows[label])
    assert command_module(rows["score"]) == "sf_maze.evaluate" and f"--experiment={EXPERIMENT}" in rows["score"]


@pytest.mark.slow
def test_dreamer_run_is_quiet_and_ends_with_next_steps(tmp_path):
    logdir = str(tmp_path / "run")
    command = [sys.executable, "-m", "dreamer.train", "--env=amaze_7x7", "--preset=debug", f"--logdir={logdir}",
               "--steps=300"]
    result = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-5000:]
    assert noise_in(result.stdout) == [], noise_in(result.stdout)
    rows = next_steps(result.stdout, "dreamer.train: next steps")
    assert os.path.samefile(rows["run folder"].split("  ")[0], logdir)
    assert os.path.isfile(rows["checkpoint"].split("  ")[0]) and "(300 env steps of 300)" in rows["checkpoint"]
    assert shlex.split(rows["train more"]) == ["python", "-m", "dreamer.train", "--env=amaze_7x7", "--preset=debug",
                                               f"--logdir={logdir}", "--steps=600"]
    assert command_module(rows["watch (mp4)"]) == "dreamer.enjoy"
    # The score and plot lines work as printed (episodes cut to 2 for time): the one report, the one plotter.
    score = shlex.split(rows["score"])
    assert score[:3] == ["python", "-m", "dreamer.evaluate"] and f"--logdir={logdir}" in score
    scored = subprocess.run([sys.executable, *score[1:], "--episodes=2"], cwd=REPO, capture_output=True, text=True,
                            timeout=600)
    assert scored.returncode == 0, scored.stderr[-3000:]
    [report] = glob.glob(os.path.join(logdir, "eval", "*.json"))
    assert len(json.load(open(report))["scores"]["agent"]["reward_windows"]["mean"]) == 10
    plot = shlex.split(rows["plot"])
    assert plot[:3] == ["python", "-m", "evaluation.plot"]
    plotted = subprocess.run([sys.executable, *plot[1:], f"--out={tmp_path / 'curves.png'}"], cwd=REPO,
                             capture_output=True, text=True, timeout=600)
    assert plotted.returncode == 0, plotted.stderr[-3000:]
    assert (tmp_path / "curves.png").stat().st_size > 10_000
