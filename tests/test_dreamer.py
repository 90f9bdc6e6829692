"""Dreamer: lambda-returns and KL by hand, RSSM shapes and resets, replay, and the real CLI on a debug run
(world-model loss falls, checkpoint + resume, enjoy video, evaluate, probing features)."""
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from common.cli import InputError
from dreamer.config import build
from dreamer.replay import Replay, SequenceSampler
from dreamer.behavior import ActorCritic
from dreamer.returns import lambda_returns
from dreamer.rssm import RSSM, State, balanced_kl_loss, categorical_kl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = "amaze_7x7"


# ---- returns and KL by hand --------------------------------------------------------------------
def test_lambda_returns_by_hand():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])  # r_0, r_1, r_2
    discounts = torch.tensor([[0.9], [0.9], [0.5]])  # d_0, d_1, d_2
    values = torch.tensor([[0.5], [1.0], [2.0], [4.0]])  # v_0 .. v_3 (v_3 bootstraps)
    # lambda = 0.5: R_3 = v_3 = 4
    #   R_2 = 2 + 0.5 * (0.5 * 4 + 0.5 * 4)     = 4.0
    #   R_1 = 0 + 0.9 * (0.5 * 2 + 0.5 * 4.0)   = 2.7
    #   R_0 = 1 + 0.9 * (0.5 * 1 + 0.5 * 2.7)   = 2.665
    got = lambda_returns(rewards, values, discounts, 0.5)
    assert torch.allclose(got, torch.tensor([[2.665], [2.7], [4.0]]))
    # lambda = 0 is one-step TD: r_t + d_t * v_{t+1} = [1 + 0.9, 0 + 0.9 * 2, 2 + 0.5 * 4]
    assert torch.allclose(lambda_returns(rewards, values, discounts, 0.0), torch.tensor([[1.9], [1.8], [4.0]]))
    # lambda = 1 is the discounted Monte-Carlo return bootstrapped at the end:
    #   R_2 = 2 + 0.5 * 4 = 4, R_1 = 0.9 * 4 = 3.6, R_0 = 1 + 0.9 * 3.6 = 4.24
    assert torch.allclose(lambda_returns(rewards, values, discounts, 1.0), torch.tensor([[4.24], [3.6], [4.0]]))
    with pytest.raises(AssertionError, match="bootstrap"):
        lambda_returns(rewards, values[:3], discounts, 0.5)


def test_categorical_kl_by_hand_and_balancing():
    p = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5]]))  # 2 variables, 2 classes
    q = torch.log(torch.tensor([[0.25, 0.75], [0.25, 0.75]]))
    # per variable: 0.5 ln(0.5 / 0.25) + 0.5 ln(0.5 / 0.75) = 0.5 ln(4/3); summed over 2 variables: ln(4/3)
    assert categorical_kl(p, q).item() == pytest.approx(math.log(4 / 3), rel=1e-6)
    assert categorical_kl(q, q).item() == pytest.approx(0.0, abs=1e-7)

    post = torch.randn(3, 4, 5, requires_grad=True)
    prior = torch.randn(3, 4, 5, requires_grad=True)
    loss, value = balanced_kl_loss(post, prior, balance=0.8)
    plain = categorical_kl(post, prior).mean()
    assert loss.item() == pytest.approx(plain.item(), rel=1e-5) and value.item() == pytest.approx(plain.item(), rel=1e-5)
    g_post, g_prior = torch.autograd.grad(loss, (post, prior))
    p_post, p_prior = torch.autograd.grad(plain, (post, prior))
    assert torch.allclose(g_prior, 0.8 * p_prior, atol=1e-6)  # 80 % of the gradient trains the prior
    assert torch.allclose(g_post, 0.2 * p_post, atol=1e-6)
    same, _ = balanced_kl_loss(prior.detach(), prior.detach())
    assert same.item() == pytest.approx(0.0, abs=1e-6)


# ---- RSSM ---------------------------------------------------------------------------------------
def test_rssm_shapes_and_episode_reset():
    torch.manual_seed(0)
    T, B, E, A = 6, 2, 10, 3
    rssm = RSSM(embed_size=E, num_actions=A, deter=16, stoch=4, classes=5, hidden=8)
    embed = torch.randn(T, B, E)
    actions = torch.nn.functional.one_hot(torch.randint(0, A, (T, B)), A).float()
    first = torch.zeros(T, B, dtype=torch.bool)
    first[3, 0] = True
    embed_before, actions_before = embed.clone(), actions.clone()
    posts, priors = rssm.observe(embed, actions, first, rssm.initial(B), sample=False)
    assert posts.deter.shape == (T, B, 16) and posts.stoch.shape == (T, B, 4, 5) and priors.logits.shape == (T, B, 4, 5)
    assert rssm.features(posts).shape == (T, B, 16 + 4 * 5) == (T, B, rssm.feature_size)
    assert torch.allclose(posts.stoch.sum(-1), torch.ones(T, B, 4))  # one-hot per latent
    assert torch.equal(embed, embed_before) and torch.equal(actions, actions_before)  # inputs untouched
    # An episode start forgets everything before it: env 0 from step 3 on == a fresh run from step 3.
    fresh_first = torch.zeros(T - 3, 1, dtype=torch.bool)
    fresh_first[0] = True
    fresh, _ = rssm.observe(embed[3:, :1], actions[3:, :1], fresh_first, rssm.initial(1), sample=False)
    assert torch.allclose(posts.deter[3:, 0], fresh.deter[:, 0], atol=1e-6)
    assert not torch.allclose(posts.deter[3:, 1], fresh.deter[:, 0], atol=1e-3)
    with pytest.raises(AssertionError, match="actions must be"):
        rssm.observe(embed, actions[..., :2], first, rssm.initial(B))


# ---- actor-critic in imagination ------------------------------------------------------------------
class _ToyRSSM:
    """Imagined state = one-hot of the last action; reward 1 for action 0 (read off by the toy reward head)."""

    @staticmethod
    def features(state):
        return state.deter

    @staticmethod
    def img_step(state, action, sample=True):
        return State(action.clone(), state.stoch, state.logits)


class _ToyWorldModel:
    rssm = _ToyRSSM()

    @staticmethod
    def reward_head(features):
        return features[..., :1]

    @staticmethod
    def discount_head(features):
        return torch.full((*features.shape[:-1], 1), 20.0)  # the episode always goes on


@pytest.mark.slow
def test_actor_learns_the_rewarded_action_in_imagination():
    torch.manual_seed(0)
    loss_kwargs = dict(horizon=3, gamma=0.9, return_lambda=0.95, actor_entropy=1e-3)
    behavior = ActorCritic(feature_size=3, num_actions=3, mlp_units=32, mlp_layers=1, layer_norm=False)
    actor_opt = torch.optim.Adam(behavior.actor.parameters(), lr=3e-3)
    critic_opt = torch.optim.Adam(behavior.critic.parameters(), lr=3e-3)
    start = State(torch.zeros(64, 3), torch.zeros(64, 1, 1), torch.zeros(64, 1, 1))
    for step in range(150):
        losses = behavior.loss(_ToyWorldModel(), start, torch.zeros(64, dtype=torch.bool), **loss_kwargs)
        for opt, key in ((actor_opt, "actor_loss"), (critic_opt, "critic_loss")):
            opt.zero_grad()
            losses[key].backward()
            opt.step()
        if step % 10 == 0:
            behavior.update_slow_critic()
    probs = behavior.policy(torch.zeros(1, 3)).probs[0]
    assert probs[0] > 0.8, probs  # REINFORCE with the slow-critic baseline pushes towards the reward
    # The critic learned the value of always taking it: 1 + 0.9 + 0.81 (+ bootstrap) > 2.
    assert behavior.critic(torch.zeros(1, 3)).item() > 2.0


# ---- replay -------------------------------------------------------------------------------------
def test_replay_ring_and_tbtt_continuation(tmp_path):
    replay = Replay(str(tmp_path), capacity=40, num_envs=2, obs_shapes={"image": (2, 2, 3)})
    for step in range(30):  # env 0 wraps its 20-step ring; episodes of 10 steps
        for env in range(2):
            replay.add(env, {"image": np.full((2, 2, 3), step, np.uint8)}, step % 7, float(step), step % 10 == 0, False)
    assert replay.size(0) == 20 and replay.oldest(0) == 10 and len(replay) == 40
    seq = replay.gather(0, 15, 5)
    assert seq["image"][:, 0, 0, 0].tolist() == [15, 16, 17, 18, 19] and seq["reward"].tolist() == [15, 16, 17, 18, 19]
    assert sorted(replay.episode_starts(0, 5).tolist()) == [10, 20]
    sampler = SequenceSampler(replay, batch_size=3, length=4, tbtt=True, seed=0)
    first_batch, fresh = sampler.sample()
    assert fresh.all() and first_batch["first"][0].all()  # jumps land on episode starts
    second_batch, fresh = sampler.sample()
    assert not fresh.any()
    assert np.array_equal(second_batch["reward"][0], first_batch["reward"][-1] + 1)  # continues where it stopped
    # Resuming from the state dict sees the same data.
    again = Replay(str(tmp_path), capacity=40, num_envs=2, obs_shapes={"image": (2, 2, 3)}, state=replay.state_dict())
    assert again.gather(1, 25, 3)["reward"].tolist() == [25, 26, 27]


def test_config_errors_name_what_is_allowed():
    with pytest.raises(InputError, match="allowed: .*--batch_size"):
        build({"batch_sise": "3"})
    with pytest.raises(InputError, match="presets: memory_maze, dreamerv2_atari, amaze, debug"):
        build({"env": ENV}, preset="nope")
    with pytest.raises(InputError, match="(?i)valid names: .*amaze_7x7"):
        build({"env": "amaze_8x8"})
    assert build({"env": ENV, "steps": "1e3"}, preset="debug")["steps"] == 1000


# ---- the real CLI on a debug run ------------------------------------------------------------------
def run(module, *args, timeout=300):
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def metrics(logdir):
    with open(os.path.join(logdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def debug_run(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("dreamer") / "run")
    common = [f"--env={ENV}", "--preset=debug", f"--logdir={logdir}"]
    first_out = run("dreamer.train", *common, "--steps=600")
    first_metrics = metrics(logdir)
    second_out = run("dreamer.train", *common, "--steps=1000")
    return logdir, first_out, first_metrics, second_out


@pytest.mark.slow
def test_world_model_loss_falls(debug_run):
    _, _, first_metrics, _ = debug_run
    losses = [m["world_model/loss"] for m in first_metrics if "world_model/loss" in m]
    assert len(losses) >= 3, first_metrics
    assert losses[-1] < 0.6 * losses[0], losses
    assert any("reward/reward" in m for m in first_metrics) and all("perf/_fps" in m for m in first_metrics)


@pytest.mark.slow
def test_checkpoint_and_resume_continue_env_steps(debug_run):
    logdir, first_out, first_metrics, second_out = debug_run
    assert first_metrics[-1]["env_steps"] == 600
    assert "Resuming" in second_out and "from env step 600" in second_out, second_out
    resumed = metrics(logdir)[len(first_metrics):]
    assert resumed and resumed[0]["env_steps"] > 600 and resumed[-1]["env_steps"] == 1000
    assert resumed[0]["stats/grad_steps"] > first_metrics[-1]["stats/grad_steps"]  # optimizer state went on too
    checkpoint = torch.load(os.path.join(logdir, "checkpoint.pt"), map_location="cpu", weights_only=False)
    assert checkpoint["env_steps"] == 1000
    assert sum(checkpoint["replay"]["total"]) >= 1000  # replay kept the first run's steps
    assert not [name for name in os.listdir(logdir) if ".tmp" in name]  # atomic writes leave no temp file


@pytest.mark.slow
def test_enjoy_writes_readable_mp4(debug_run, tmp_path):
    import imageio.v3 as iio

    logdir = debug_run[0]
    out = str(tmp_path / "enjoy.mp4")
    stdout = run("dreamer.enjoy", f"--env={ENV}", f"--logdir={logdir}", "--episodes=2", f"--out={out}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    lengths = [int(line.rsplit("length ", 1)[1]) for line in stdout.splitlines() if line.startswith("episode ")]
    assert len(summary["returns"]) == 2 and len(lengths) == 2
    frames = iio.imread(out)
    assert frames.shape == (sum(lengths) + 2, 272, 768, 3)  # every step plus each episode's first frame
    assert frames.std() > 10  # not a blank video


@pytest.mark.slow
def test_features_and_evaluate_from_checkpoint(debug_run, tmp_path):
    from dreamer.checkpoint import load_world_model
    from dreamer.evaluate import evaluate

    logdir = debug_run[0]
    model = load_world_model(logdir)
    T, B = 7, 3
    frames = torch.randint(0, 3, (T, B, 5, 5, 3), dtype=torch.uint8)
    actions = torch.nn.functional.one_hot(torch.randint(0, 7, (T, B)), 7).float()
    first = torch.zeros(T, B, dtype=torch.bool)
    first[0] = True
    agent_dir = torch.randint(0, 4, (T, B))
    frames_before = frames.clone()
    features = model.features(frames, actions, first, agent_dir=agent_dir)
    assert features.shape == (T, B, 32 + 4 * 4)
    assert torch.equal(features, model.features(frames, actions, first, agent_dir=agent_dir))  # deterministic
    assert torch.equal(frames, frames_before)
    result = evaluate(logdir, ENV, episodes=2, seed=5, out=str(tmp_path))
    assert set(result) >= {"mean", "std", "returns"} and len(result["returns"]) == 2
    assert result["mean"] == pytest.approx(np.mean(result["returns"]))
    # The one report format sf_maze.evaluate and the AMaze evaluation write (tests/test_report.py).
    from test_report import check_report_files

    [json_path] = [str(p) for p in tmp_path.glob("*.json")]
    report = check_report_files(json_path, "dreamer")
    assert report["checkpoint"] == "checkpoint.pt" and report["episode_returns"]["agent"] == result["returns"]
    assert [int(row["seed"]) for row in csv.DictReader(open(json_path[:-5] + ".csv"))] == [5, 6]
    # Same seeds, same episodes.
    assert evaluate(logdir, ENV, episodes=2, seed=5)["returns"] == result["returns"]
