"""A real, short Sample Factory run on memory_9x9: checkpoint, resume, and weights in plain networks."""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import copy_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = "pytest_run"
SHORT_RUN = [
    "--env=memory_9x9", f"--experiment={EXPERIMENT}", "--serial_mode=True", "--async_rl=False",
    "--num_workers=1", "--num_envs_per_worker=2", "--worker_num_splits=1", "--rollout=16",  # recurrence follows
    "--batch_size=32", "--decorrelate_envs_on_one_worker=False", "--seed=1", "--device=cpu", "--save_every_sec=5",
]


def train(train_dir, *extra, timeout=600):
    command = [sys.executable, "-m", "sf_maze.train", f"--train_dir={train_dir}", *SHORT_RUN, *extra]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def checkpoints(train_dir):
    return sorted(glob.glob(os.path.join(train_dir, EXPERIMENT, "checkpoint_p0", "checkpoint_*.pth")))


@pytest.fixture(scope="module")
def trained(short_run, tmp_path_factory):
    """This file's own copy (as EXPERIMENT) of the session's short run, 256 env steps of the same agent
    and env (tests/conftest.py): the resume test trains on in it."""
    train_dir = str(tmp_path_factory.mktemp("train_dir"))
    copy_run(short_run, train_dir, EXPERIMENT)
    first_ckpt = torch.load(checkpoints(train_dir)[-1], map_location="cpu", weights_only=True)
    return train_dir, first_ckpt


@pytest.mark.slow
def test_first_run_writes_checkpoint_config_and_summaries(trained):
    train_dir, ckpt = trained
    experiment_dir = os.path.join(train_dir, EXPERIMENT)
    assert ckpt["env_steps"] >= 256
    assert os.path.isfile(os.path.join(experiment_dir, "config.json"))
    assert glob.glob(os.path.join(experiment_dir, ".summary", "0", "events.out.tfevents.*"))


@pytest.mark.slow
def test_checkpoint_weights_load_into_plain_networks_and_match_sample_factory(trained):
    from gymnasium import spaces
    from sample_factory.cfg.arguments import load_from_checkpoint
    from sample_factory.model.actor_critic import create_actor_critic

    from networks import load_sf_checkpoint
    from sf_maze.train import parse_args, register_components

    train_dir, _ = trained
    path = checkpoints(train_dir)[-1]
    agent = load_sf_checkpoint(path)
    assert agent.core is not None and agent.core.hidden_size == 256 and agent.heads.num_actions == 6

    register_components()
    cfg = load_from_checkpoint(parse_args([f"--train_dir={train_dir}", f"--experiment={EXPERIMENT}", "--env=memory_9x9"], evaluation=True))
    assert cfg.maze_last_action_reward and agent.last_action_reward  # the default agent
    obs_space = spaces.Dict({"obs": spaces.Box(0, 255, (3, 64, 64), np.uint8),
                             "last_action": spaces.Box(0.0, 1.0, (6,), np.float32),
                             "last_reward": spaces.Box(-np.inf, np.inf, (1,), np.float32)})
    actor_critic = create_actor_critic(cfg, obs_space, spaces.Discrete(6))
    actor_critic.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["model"])
    actor_critic.eval()

    frames = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    last_action = torch.nn.functional.one_hot(torch.tensor([0, 3, 5]), 6).float()
    last_reward = torch.tensor([0.0, 1.0, 0.0])
    rnn_states = torch.zeros(3, 512)
    with torch.no_grad():
        sf_obs = {"obs": frames.permute(0, 3, 1, 2), "last_action": last_action, "last_reward": last_reward[:, None]}
        sf_out = actor_critic(actor_critic.normalize_obs(sf_obs), rnn_states)
        obs = {"image": frames[None], "last_action": last_action[None], "last_reward": last_reward[None]}
        logits, values, _, (h, c) = agent(obs)
    assert torch.allclose(sf_out["action_logits"], logits[0], atol=1e-5)
    assert torch.allclose(sf_out["values"], values[0], atol=1e-5)
    assert torch.allclose(sf_out["new_rnn_states"], torch.cat([h, c], dim=1), atol=1e-5)


@pytest.mark.slow
def test_second_run_resumes_instead_of_restarting(trained):
    train_dir, first_ckpt = trained
    target = first_ckpt["env_steps"] + 128
    second = train(train_dir, f"--train_for_env_steps={target}")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    log = second.stdout + second.stderr
    assert f"self.env_steps={first_ckpt['env_steps']}" in log, "the second run did not load the first run's state"
    ckpt = torch.load(checkpoints(train_dir)[-1], map_location="cpu", weights_only=True)
    assert ckpt["env_steps"] >= target
    assert ckpt["train_step"] > first_ckpt["train_step"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "sf_maze.train", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_unknown_env_is_one_clear_line(tmp_path):
    result = run_cli("--env=memory_9x9_bogus", f"--train_dir={tmp_path}")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("sf_maze.train: error:")]
    assert len(errors) == 1 and "bogus" in errors[0] and "extraobs" in errors[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_non_integer_seed_is_rejected(tmp_path):
    result = run_cli("--env=memory_9x9", "--seed=abc", f"--train_dir={tmp_path}")
    assert result.returncode == 2 and "--seed" in result.stderr and "abc" in result.stderr


@pytest.mark.slow
def test_unwritable_train_dir_is_one_clear_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = run_cli("--env=memory_9x9", f"--train_dir={blocker}/runs")
    assert result.returncode == 2
    assert "train_dir" in result.stderr and str(blocker) in result.stderr
    assert blocker.read_text() == "not a directory"


@pytest.mark.slow
def test_corrupt_checkpoint_is_reported_and_kept(trained, tmp_path):
    train_dir, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(train_dir, copy)
    latest = sorted(glob.glob(str(copy / EXPERIMENT / "checkpoint_p0" / "checkpoint_*.pth")))[-1]
    with open(latest, "wb") as f:
        f.write(b"truncated garbage")
    result = run_cli("--env=memory_9x9", f"--experiment={EXPERIMENT}", f"--train_dir={copy}")
    assert result.returncode == 2
    assert os.path.basename(latest) in result.stderr and "move that file away" in result.stderr
    with open(latest, "rb") as f:
        assert f.read() == b"truncated garbage"


def test_help_shows_our_flags_beside_sample_factorys():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--maze_reference_impl" in result.stdout and "--num_workers" in result.stdout


@pytest.mark.slow
def test_corrupt_config_json_is_one_clear_line(trained, tmp_path):
    train_dir, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(train_dir, copy)
    config = copy / EXPERIMENT / "config.json"
    config.write_text('{"env": "memory_9x9", "train_for')
    result = run_cli("--env=memory_9x9", f"--experiment={EXPERIMENT}", f"--train_dir={copy}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("sf_maze.train: error:")]
    assert len(errors) == 1 and str(config) in errors[0], result.stderr
    assert config.read_text() == '{"env": "memory_9x9", "train_for'


@pytest.mark.parametrize("flags,named", [(["--rnn_type=gru"], "--rnn_type=gru"),
                                         (["--rnn_num_layers=2"], "--rnn_num_layers=2"),
                                         (["--rollout=64", "--recurrence=32"], "--recurrence=32")])
def test_unsupported_model_flags_are_refused_before_any_worker_starts(tmp_path, flags, named):
    result = run_cli("--env=memory_9x9", f"--train_dir={tmp_path}", *flags)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("sf_maze.train: error:")]
    assert len(errors) == 1 and named in errors[0], result.stderr
    assert not any(tmp_path.iterdir()), "nothing may be written for a refused run"


def test_defaults_follow_cores_and_memory():
    from sf_maze.params import ENV_GIB, LEARNER_GIB, WORKER_GIB, machine_defaults

    assert machine_defaults(2, 24.0) == dict(num_workers=2, num_envs_per_worker=8, worker_num_splits=2)
    assert machine_defaults(16, 120.0) == dict(num_workers=16, num_envs_per_worker=8, worker_num_splits=2)
    # 16 x 8 envs need 50.8 GiB by the sizing; 48 of 60 GiB hold 16 x 4.
    assert machine_defaults(16, 60.0) == dict(num_workers=16, num_envs_per_worker=4, worker_num_splits=2)
    # Too little memory for 16 x 2 envs: fewer envs per worker first, then fewer workers.
    small = machine_defaults(16, 20.0)
    assert small["num_envs_per_worker"] == 2 and small["num_workers"] < 16
    used = LEARNER_GIB + small["num_workers"] * (WORKER_GIB + 2 * ENV_GIB)
    assert used <= 0.8 * 20.0 < used + WORKER_GIB + 2 * ENV_GIB
    assert machine_defaults(1, 1.0)["num_workers"] == 1  # never zero


def test_value_bootstrap_and_recurrence_defaults_are_on_the_parsed_config():
    from sf_maze.train import parse_args, register_components

    register_components()
    cfg = parse_args(["--env=memory_9x9", "--rollout=64"])
    assert cfg.value_bootstrap is True and cfg.recurrence == 64
    # Without an RNN too: Sample Factory alone would make it 1, which V-trace's learner dies on.
    no_rnn = parse_args(["--env=memory_9x9", "--use_rnn=False"])
    assert no_rnn.recurrence == no_rnn.rollout == 100
