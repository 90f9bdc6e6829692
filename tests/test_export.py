"""sf_maze.export: a weights-only run folder that the readers load and that sf_maze.train fine-tunes.

The source is the session's short real run (tests/conftest.py's `short_run`, through
test_enjoy_evaluate's fixture `trained`), a full Sample Factory checkpoint with Adam state.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from networks import load_sf_checkpoint, read_sf_checkpoint
from test_enjoy_evaluate import EXPERIMENT, SHORT_RUN, trained  # noqa: F401  trained: the fixture

# Every test here reads the session's short real run (tests/conftest.py) or trains on from its export.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def newest_checkpoint(run_dir):
    checkpoints = sorted(glob.glob(os.path.join(run_dir, "checkpoint_p0", "checkpoint_*.pth")))
    assert checkpoints, run_dir
    return checkpoints[-1]


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):  # noqa: F811  pytest passes the imported fixture
    """A train_dir holding the weights-only export of the short run, as EXPERIMENT."""
    train_dir = tmp_path_factory.mktemp("exported")
    command = [sys.executable, "-m", "sf_maze.export", os.path.join(trained, EXPERIMENT),
               f"--out={train_dir / EXPERIMENT}"]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "weights only" in run.stdout
    return str(train_dir)


def test_export_keeps_the_weights_and_counters_without_optimizer_state(trained, exported):  # noqa: F811
    source = newest_checkpoint(os.path.join(trained, EXPERIMENT))
    target = newest_checkpoint(os.path.join(exported, EXPERIMENT))
    assert os.path.basename(target) == os.path.basename(source)  # Sample Factory's name, same counters
    full, light = read_sf_checkpoint(source), read_sf_checkpoint(target)
    assert "optimizer" in full and "optimizer" not in light and "curr_lr" not in light
    assert (light["train_step"], light["env_steps"]) == (full["train_step"], full["env_steps"])
    assert os.path.getsize(target) < 0.5 * os.path.getsize(source)  # Adam keeps two moments per weight
    # The plain networks load it, weight for weight the same agent as the full checkpoint.
    full_state, light_state = load_sf_checkpoint(source).state_dict(), load_sf_checkpoint(target).state_dict()
    assert full_state.keys() == light_state.keys()
    assert all(torch.equal(full_state[key], light_state[key]) for key in full_state)
    configs = [json.load(open(os.path.join(train_dir, EXPERIMENT, "config.json"))) for train_dir in (trained, exported)]
    assert configs[0] == configs[1]


def test_evaluate_scores_the_exported_run(exported, tmp_path, capsys):
    from sf_maze.evaluate import main

    argv = ["--env=memory_9x9", f"--train_dir={exported}", f"--experiment={EXPERIMENT}", "--episodes=2",
            "--num_envs=1", "--max_episode_steps=5", f"--out={tmp_path}", "--device=cpu"]
    assert main(argv) == 0, capsys.readouterr().err
    [report_path] = glob.glob(str(tmp_path / "*.json"))
    report = json.load(open(report_path))
    # The report names the checkpoint relative to the run folder (or whole): either way, the exported file.
    checkpoint = newest_checkpoint(os.path.join(exported, EXPERIMENT))
    assert checkpoint.endswith(os.sep + report["checkpoint"]) or checkpoint == report["checkpoint"], report["checkpoint"]
    assert report["scores"]["agent"]["returns"]["n"] == 2


def test_train_fine_tunes_a_weights_only_run_with_a_fresh_optimizer(exported, tmp_path):
    """The behaviour sf_maze/export.py documents: weights and counters loaded, a fresh optimizer at
    --learning_rate, one log line saying so. Sample Factory alone dies on the missing "optimizer"."""
    from sf_maze.patches import FINE_TUNE_LINE

    shutil.copytree(os.path.join(exported, EXPERIMENT), tmp_path / EXPERIMENT)
    start = read_sf_checkpoint(newest_checkpoint(tmp_path / EXPERIMENT))
    # A rate too small to move any weight visibly: the checkpoint it writes then still holds the
    # exported weights if (and only if) they were loaded; from scratch they would differ by ~1e-3.
    argv = [arg for arg in SHORT_RUN if not arg.startswith("--train_for_env_steps=")]
    command = [sys.executable, "-m", "sf_maze.train", f"--train_dir={tmp_path}", *argv,
               f"--train_for_env_steps={start['env_steps'] + 128}", "--learning_rate=1e-12"]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    lines = [line for line in output.splitlines() if FINE_TUNE_LINE in line]
    assert len(lines) == 1 and f"env_steps={start['env_steps']}," in lines[0], lines
    end = read_sf_checkpoint(newest_checkpoint(tmp_path / EXPERIMENT))
    assert end["env_steps"] > start["env_steps"] and end["train_step"] > start["train_step"]  # counters continued
    assert "optimizer" in end and end["optimizer"]["state"]  # the fresh optimizer stepped and was saved
    assert all(group["lr"] == 1e-12 for group in end["optimizer"]["param_groups"])
    for key, value in start["model"].items():
        assert torch.allclose(end["model"][key].float(), value.float(), rtol=0, atol=1e-6), key


def test_export_takes_one_checkpoint_file_of_a_run(trained, tmp_path, capsys):  # noqa: F811
    from sf_maze.export import main

    source = newest_checkpoint(os.path.join(trained, EXPERIMENT))
    assert main([source, f"--out={tmp_path / 'run'}"]) == 0
    target = newest_checkpoint(tmp_path / "run")
    assert os.path.basename(target) == os.path.basename(source) and target in capsys.readouterr().out
    assert "optimizer" not in read_sf_checkpoint(target) and os.path.isfile(tmp_path / "run" / "config.json")


def test_bad_input_is_one_line_and_exit_2(trained, exported, tmp_path, capsys):  # noqa: F811
    from sf_maze.export import main

    source = os.path.join(trained, EXPERIMENT)
    truncated = tmp_path / "truncated"
    (truncated / "checkpoint_p0").mkdir(parents=True)
    shutil.copy(os.path.join(source, "config.json"), truncated)
    (truncated / "checkpoint_p0" / "checkpoint_000000001_16.pth").write_bytes(
        open(newest_checkpoint(source), "rb").read()[:1000])
    cases = {
        "no such file or folder": [str(tmp_path / "missing"), f"--out={tmp_path / 'a'}"],
        "holds no config.json": [str(tmp_path), f"--out={tmp_path / 'b'}"],
        "already holds checkpoints": [source, f"--out={os.path.join(exported, EXPERIMENT)}"],
        "is the run folder itself": [source, f"--out={source}"],
        "cannot be loaded": [str(truncated), f"--out={tmp_path / 'c'}"],
    }
    for message, argv in cases.items():
        assert main(argv) == 2, message
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("sf_maze.export: error:") and message in err, err
    assert not any(os.path.exists(tmp_path / name) for name in "abc")  # nothing written on refusal
