"""The trained agents committed under pretrained/ load, score, replay and reproduce Sample Factory.

Every experiment folder there (Sample Factory's layout: config.json, checkpoint_p0/) is copied to a
temporary train_dir, so nothing is written into the checkout, and used as a user would from a fresh
clone: `sf_maze.evaluate`, `sf_maze.enjoy` and `networks.load_sf_checkpoint`. Their checkpoints are
weights only (sf_maze.export: the model and counters, no optimizer state). Episodes are cut short:
scoring full episodes is benchmarks/memory_learning.py's work (its score is kept beside the checkpoint).
"""
import glob
import json
import os
import shutil

import pytest
import torch

from networks import load_sf_checkpoint, read_sf_checkpoint
from test_loader_exact import _episode_starts, _observations, _sf_actor_critic, _sf_rollout

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = sorted(os.path.dirname(path) for path in glob.glob(os.path.join(REPO, "pretrained", "**", "config.json"),
                                                                   recursive=True))


def test_pretrained_holds_a_trained_memory_maze_agent():
    assert EXPERIMENTS, "no pretrained/<experiment>/config.json in the checkout"
    for folder in EXPERIMENTS:
        assert glob.glob(os.path.join(folder, "checkpoint_p0", "checkpoint_*.pth")), folder


MAX_SHIPPED_BYTES = 8_000_000


def test_no_file_under_pretrained_exceeds_8_mb():
    """Everything under pretrained/ is cloned by every user: a shipped agent is weights only
    (sf_maze.export, ~4.6 MB), never a 14 MB resume snapshot with Adam state. Exempt is
    pretrained/in_progress/: resumable snapshots of unfinished long runs, which need their optimizer
    state to continue as one run; each is deleted when its run finishes."""
    too_big = []
    for root, dirs, files in os.walk(os.path.join(REPO, "pretrained")):
        if os.path.relpath(root, REPO).split(os.sep)[:2] == ["pretrained", "in_progress"]:
            dirs.clear()
            continue
        too_big += [(os.path.relpath(os.path.join(root, name), REPO), os.path.getsize(os.path.join(root, name)))
                    for name in files if os.path.getsize(os.path.join(root, name)) > MAX_SHIPPED_BYTES]
    assert not too_big, f"over {MAX_SHIPPED_BYTES / 1e6:.0f} MB (export weights only: python -m sf_maze.export): {too_big}"


def test_shipped_checkpoints_are_weights_only():
    checkpoints = [path for folder in EXPERIMENTS for path in glob.glob(os.path.join(folder, "checkpoint_p*", "*.pth"))
                   if os.sep + "in_progress" + os.sep not in path]
    assert checkpoints
    for path in checkpoints:
        checkpoint = read_sf_checkpoint(path)
        assert "optimizer" not in checkpoint, path
        assert os.path.basename(path) == f"checkpoint_{checkpoint['train_step']:09d}_{checkpoint['env_steps']}.pth"


@pytest.fixture(scope="module", params=EXPERIMENTS, ids=[os.path.relpath(f, REPO) for f in EXPERIMENTS])
def experiment(request, tmp_path_factory):
    """(train_dir, experiment name, env, checkpoint path) of a temporary copy."""
    train_dir = tmp_path_factory.mktemp("pretrained")
    name = os.path.basename(request.param)
    shutil.copytree(request.param, train_dir / name, ignore=shutil.ignore_patterns("eval", ".summary"))
    config = json.load(open(train_dir / name / "config.json"))
    [checkpoint] = sorted(glob.glob(str(train_dir / name / "checkpoint_p0" / "checkpoint_*.pth")))[-1:]
    return str(train_dir), name, config["env"], checkpoint


def test_evaluate_scores_the_pretrained_agent(experiment, tmp_path, capsys):
    from sf_maze.evaluate import main

    train_dir, name, env, checkpoint = experiment
    argv = [f"--env={env}", f"--train_dir={train_dir}", f"--experiment={name}", "--episodes=2", "--num_envs=1",
            "--max_episode_steps=40", f"--out={tmp_path}", "--device=cpu"]
    assert main(argv) == 0, capsys.readouterr().err
    [report_path] = glob.glob(str(tmp_path / "*.json"))
    report = json.load(open(report_path))
    assert report["scores"]["agent"]["returns"]["n"] == 2
    assert checkpoint.endswith(os.sep + report["checkpoint"]) or checkpoint == report["checkpoint"], report["checkpoint"]
    assert report["checkpoint_env_steps"] == int(os.path.basename(checkpoint)[:-4].split("_")[-1])


def test_enjoy_replays_the_pretrained_agent(experiment, tmp_path, capsys):
    from sf_maze.enjoy import main
    from test_enjoy_evaluate import read_video

    train_dir, name, env, _ = experiment
    video = str(tmp_path / "replay.mp4")
    argv = [f"--env={env}", f"--train_dir={train_dir}", f"--experiment={name}", "--max_num_episodes=1",
            "--max_episode_steps=8", f"--video_name={video}", "--device=cpu"]
    assert main(argv) == 0, capsys.readouterr().err
    frames = read_video(video)
    assert len(frames) == 9 and frames[0].std() > 5


def test_load_sf_checkpoint_reproduces_sample_factory_on_the_pretrained_agent(experiment):
    train_dir, name, env, checkpoint = experiment
    agent = load_sf_checkpoint(checkpoint)
    config = json.load(open(os.path.join(train_dir, name, "config.json")))
    # The plain network is the one its config.json names (a run copied here to resume elsewhere may be
    # another recipe's); Sample Factory's model is built from the same two flags.
    encoders = {"resnet": "ResNetEncoder", "cnn": "ConvEncoder"}
    assert type(agent.encoder).__name__ == encoders[config["maze_encoder"]]
    assert agent.last_action_reward == bool(config["maze_last_action_reward"])
    if name == "memory_9x9":  # the shipped agent is the paper's: the defaults of sf_maze.train
        assert config["maze_encoder"] == "resnet" and config["maze_last_action_reward"]
    image_size = agent.encoder.image_size
    argv = [f"--env={env}", f"--train_dir={train_dir}", f"--experiment={name}",
            f"--maze_encoder={config['maze_encoder']}", f"--maze_last_action_reward={agent.last_action_reward}",
            f"--use_rnn={config.get('use_rnn', True)}"]  # the no-memory control under in_progress/ has no core
    actor_critic = _sf_actor_critic(argv, image_size, read_sf_checkpoint(checkpoint)["model"], agent.last_action_reward)
    agent_obs, sf_obs = _observations(image_size, agent.last_action_reward)
    first = _episode_starts()
    sf_logits, sf_values, _ = _sf_rollout(actor_critic, sf_obs, first)
    with torch.no_grad():
        logits, values, _, _ = agent(agent_obs, None, first)
    assert torch.equal(logits, sf_logits) and torch.equal(values, sf_values)
