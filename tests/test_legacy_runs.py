"""A run folder written before the paper's recipe (no maze_encoder etc. in its config.json) keeps the
network its checkpoints hold: it resumes and evaluates with it, while new runs get the new defaults."""
import json
import os
import subprocess
import sys

import glob

import pytest
import torch

# Every test here trains or resumes a real Sample Factory run.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = "old_run"
SHORT_RUN = [
    "--env=memory_9x9", f"--experiment={EXPERIMENT}", "--serial_mode=True", "--async_rl=False",
    "--num_workers=1", "--num_envs_per_worker=2", "--worker_num_splits=1", "--rollout=16",
    "--batch_size=32", "--decorrelate_envs_on_one_worker=False", "--seed=1", "--device=cpu",
]
OLD_AGENT = ["--maze_encoder=cnn", "--maze_last_action_reward=False", "--maze_vtrace_lambda=1.0",
             "--maze_normalize_advantages=True"]


def _train(train_dir, *extra):
    command = [sys.executable, "-m", "sf_maze.train", f"--train_dir={train_dir}", *SHORT_RUN, *extra]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def old_run(tmp_path_factory):
    """A run as an earlier sf_maze wrote it: the old agent, and none of the new keys in config.json."""
    from sf_maze.params import LEGACY_DEFAULTS

    train_dir = str(tmp_path_factory.mktemp("old"))
    _train(train_dir, "--train_for_env_steps=64", *OLD_AGENT)
    path = os.path.join(train_dir, EXPERIMENT, "config.json")
    with open(path) as f:
        config = json.load(f)
    for key in LEGACY_DEFAULTS:
        del config[key]
    with open(path, "w") as f:
        json.dump(config, f)
    return train_dir


def test_parse_args_gives_an_old_config_its_old_values_and_the_command_line_wins(old_run):
    from sf_maze.params import LEGACY_DEFAULTS
    from sf_maze.train import parse_args

    cfg = parse_args([f"--train_dir={old_run}", f"--experiment={EXPERIMENT}", "--env=memory_9x9"])
    assert {key: getattr(cfg, key) for key in LEGACY_DEFAULTS} == LEGACY_DEFAULTS
    cfg = parse_args([f"--train_dir={old_run}", f"--experiment={EXPERIMENT}", "--env=memory_9x9",
                      "--maze_vtrace_lambda=0.5"])
    assert cfg.maze_vtrace_lambda == 0.5 and cfg.maze_encoder == "cnn"
    fresh = parse_args([f"--train_dir={old_run}", "--experiment=new_run", "--env=memory_9x9"])
    assert (fresh.maze_encoder, fresh.maze_last_action_reward, fresh.maze_vtrace_lambda) == ("resnet", True, 0.95)


def test_an_old_run_resumes_from_its_checkpoint_and_evaluates(old_run, tmp_path):
    from sf_maze.evaluate import main as evaluate

    last = sorted(glob.glob(os.path.join(old_run, EXPERIMENT, "checkpoint_p0", "checkpoint_*.pth")))[-1]
    steps = torch.load(last, weights_only=True)["env_steps"]
    log = _train(old_run, f"--train_for_env_steps={steps + 64}")
    assert f"self.env_steps={steps}" in log, "the old run did not resume from its checkpoint"
    argv = ["--env=memory_9x9", f"--experiment={EXPERIMENT}", f"--train_dir={old_run}", "--max_episode_steps=5",
            "--episodes=1", "--num_envs=1", f"--out={tmp_path}"]
    assert evaluate(argv) == 0
