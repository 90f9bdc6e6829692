import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Tests import the repo's packages from a plain checkout too (make test installs them editable).
sys.path.insert(0, REPO)
os.environ.setdefault("WANDB_MODE", "offline")
# Torch's CPU thread pools and several env processes fight over CI's 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The short real Sample Factory run that several files only need one of (enjoy, evaluate, plot, export,
# the checkpoint and resume checks of test_training, probing's end-to-end test): the default agent on
# memory_9x9, serial, CPU, 2 envs, rollout 16, 256 env steps. Trained once per session (short_run), not
# once per file. Runs that truly differ (other flags, cores, envs, killed runs) keep their own fixtures.
SHORT_RUN_EXPERIMENT = "pytest_enjoy"
SHORT_RUN = [
    "--env=memory_9x9", f"--experiment={SHORT_RUN_EXPERIMENT}", "--serial_mode=True", "--async_rl=False",
    "--num_workers=1", "--num_envs_per_worker=2", "--worker_num_splits=1", "--rollout=16", "--recurrence=16",
    "--batch_size=32", "--decorrelate_envs_on_one_worker=False", "--seed=1", "--device=cpu",
    "--train_for_env_steps=256",
]


@pytest.fixture(scope="session")
def short_run(tmp_path_factory) -> str:
    """The train_dir holding SHORT_RUN_EXPERIMENT, shared by the whole session: read it, never write into
    it. A test that trains on, resumes, kills or edits a run works on its own copy (copy_run)."""
    train_dir = str(tmp_path_factory.mktemp("short_run"))
    command = [sys.executable, "-m", "sf_maze.train", f"--train_dir={train_dir}", *SHORT_RUN]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert glob.glob(os.path.join(train_dir, SHORT_RUN_EXPERIMENT, "checkpoint_p0", "checkpoint_*.pth"))
    return train_dir


def copy_run(source_train_dir: str, train_dir: str, experiment: str = SHORT_RUN_EXPERIMENT) -> str:
    """Copy the shared run into train_dir as `experiment`, with config.json's experiment and train_dir
    rewritten as if it had been trained there; returns the new experiment folder."""
    target = os.path.join(train_dir, experiment)
    shutil.copytree(os.path.join(source_train_dir, SHORT_RUN_EXPERIMENT), target)
    path = os.path.join(target, "config.json")
    with open(path) as f:
        config = json.load(f)
    config.update(experiment=experiment, train_dir=train_dir)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return target
