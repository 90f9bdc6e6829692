"""Dreamer with actor processes learns AMaze on CPU: a few-minute `python -m dreamer.train --env=amaze_7x7
--actors=2` run with a small model must beat a random policy on held-out mazes (the Dreamer twin of
tests/test_amaze_learning.py).

A broken learner or actor (no gradient, policy never refreshed in the actors, scrambled replay)
stays near random (~0.08 mean return on amaze_7x7) and fails the margin below.
"""
import os
import subprocess
import sys
import time

import pytest
import torch

# Every test here reads one real Dreamer training run on AMaze (minutes on 2 cores).
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = "amaze_7x7"
ENV_STEPS = 24_000
EVAL_EPISODES = 200
EVAL_SEED = 1_000_000  # maze k of the evaluation gets seed EVAL_SEED + k, as in test_amaze_learning.py
# A small model and schedule (the amaze preset shrunk): ~3 minutes on the earlier quiet 2-core machines,
# 890 s on a 2.2x slower AMD EPYC beside a training run (4 Dec 2026).
SETTINGS = ["--preset=amaze", "--actors=2", "--envs=2", "--train_ratio=32", "--deter=128", "--hidden=128",
            "--stoch=8", "--classes=8", "--grid_embed=64", "--mlp_units=128", "--mlp_layers=2", "--batch_size=16",
            "--batch_length=16", "--horizon=10", "--prefill=1000", "--pretrain=20", "--policy_every=20",
            "--replay_capacity=100000", "--log_every=2000", "--checkpoint_every=100000"]


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("dreamer_amaze") / "run")
    command = [sys.executable, "-m", "dreamer.train", f"--env={ENV}", f"--logdir={logdir}",
               f"--steps={ENV_STEPS}", "--seed=0", "--device=cpu", *SETTINGS]
    start = time.time()
    result = subprocess.run(command, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO),
                            capture_output=True, text=True, timeout=1800)  # a hang guard, not a speed target
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(f"\ntrained Dreamer on {ENV} for {ENV_STEPS} steps with 2 actors in {time.time() - start:.0f}s")
    return logdir


def test_dreamer_with_actors_beats_random_on_held_out_mazes(logdir):
    from dreamer.evaluate import evaluate
    from evaluation.amaze import evaluate as evaluate_policy
    from evaluation.amaze import random_policy

    checkpoint = torch.load(os.path.join(logdir, "checkpoint.pt"), map_location="cpu", weights_only=False)
    assert checkpoint["env_steps"] >= ENV_STEPS and checkpoint["agent"]["grad_steps"] > 0
    trained = evaluate(logdir, ENV, episodes=EVAL_EPISODES, seed=EVAL_SEED, greedy=False)
    rand = evaluate_policy(random_policy(seed=0), ENV, EVAL_EPISODES, seed=EVAL_SEED)
    print(f"Dreamer {trained['mean']:.3f} +/- {trained['std']:.3f}, random {rand['mean_return']:.3f} "
          f"(mean return over {EVAL_EPISODES} held-out mazes)")
    assert trained["mean"] >= 2 * rand["mean_return"], (trained["mean"], rand)
    assert trained["mean"] - rand["mean_return"] >= 0.1, (trained["mean"], rand)
