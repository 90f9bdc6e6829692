"""The paper's IMPALA loss in Sample Factory's learner (sf_maze/patches.py): V-trace lambda and
optional advantage standardisation, checked on a hand-computed four-step case run through the
patched `Learner._calculate_losses` itself."""
import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

T = 4
GAMMA = 0.9
VALUE = 2.0  # the value head outputs this constant
REWARDS = [1.0, 0.0, 2.0, 3.0]
RATIOS = [1.0, 0.5, 2.0, 1.0]  # pi / pi_old per step; V-trace clips rho and c at 1


def learner_for(argv):
    from sample_factory.algo.learning.learner import Learner
    from sample_factory.model.actor_critic import create_actor_critic
    from sample_factory.utils.timing import Timing

    from sf_maze.train import parse_args, register_components

    register_components()  # installs sf_maze.patches in this process
    cfg = parse_args(["--env=memory_9x9", "--device=cpu", f"--rollout={T}", f"--gamma={GAMMA}",
                      "--maze_encoder=cnn", "--maze_cnn_depth=4", "--rnn_size=8", *argv])
    learner = Learner.__new__(Learner)  # only what _calculate_losses reads: no processes, no env
    learner.cfg, learner.device, learner.timing = cfg, torch.device("cpu"), Timing()
    learner.exploration_loss_func = lambda distribution, valids, num_invalids: 0.0
    learner.kl_loss_func = lambda space, logits, distribution, valids, num_invalids: (None, 0.0)
    obs_space = spaces.Dict({"obs": spaces.Box(0, 255, (3, 64, 64), np.uint8)})
    learner.actor_critic = create_actor_critic(cfg, obs_space, spaces.Discrete(6))
    with torch.no_grad():  # uniform policy, constant value: the numbers below are exact
        heads = learner.actor_critic.heads
        heads.policy.weight.zero_(), heads.policy.bias.zero_()
        heads.value.weight.zero_(), heads.value.bias.fill_(VALUE)
    return learner


def minibatch(learner):
    from sample_factory.utils.attr_dict import AttrDict

    log_uniform = -math.log(6)
    return AttrDict(
        normalized_obs={"obs": torch.rand(T, 3, 64, 64)},
        valids=torch.ones(T, dtype=torch.bool),
        dones_cpu=torch.zeros(T),
        rnn_states=torch.zeros(T, 2 * learner.cfg.rnn_size),
        actions=torch.zeros(T, 1, dtype=torch.long),
        log_prob_actions=torch.tensor([log_uniform - math.log(r) for r in RATIOS]),
        action_logits=torch.zeros(T, 6),
        rewards_cpu=torch.tensor(REWARDS),
        values=torch.full((T,), VALUE),
    )


def hand_vtrace(lam):
    """V-trace worked out by hand for V = 2, gamma 0.9, rewards (1, 0, 2, 3), ratios (1, 0.5, 2, 1):
    rho = c / lambda = (1, 0.5, 1, 1). Sample Factory bootstraps the step after the last with
    (V - r_last) / gamma, so the last step's delta is 3 + 0.9 * (2 - 3) / 0.9 - 2 = 0.
    deltas: 1 * (1 + 1.8 - 2) = 0.8, 0.5 * (0 + 1.8 - 2) = -0.1, 1 * (2 + 1.8 - 2) = 1.8, 0.
    vs3 = 2; vs2 = 2 + 1.8 + 0.9 lam (vs3 - 2) = 3.8; vs1 = 2 - 0.1 + 0.9 lam 0.5 (3.8 - 2) = 1.9 + 0.81 lam;
    vs0 = 2 + 0.8 + 0.9 lam (vs1 - 2). adv_s = rho_s (r_s + 0.9 vs_{s+1} - 2)."""
    vs1 = 1.9 + 0.81 * lam
    targets = [2.8 + 0.9 * lam * (vs1 - 2.0), vs1, 3.8, 2.0]
    adv = [1.0 + 0.9 * vs1 - 2.0, 0.5 * (0.9 * 3.8 - 2.0), 2.0 + 0.9 * 2.0 - 2.0, 0.0]
    return targets, adv


@pytest.mark.parametrize("lam", [0.95, 0.5, 1.0])
def test_vtrace_advantages_follow_lambda(lam):
    learner = learner_for([f"--maze_vtrace_lambda={lam}", "--maze_normalize_advantages=False"])
    *_, summaries = learner._calculate_losses(minibatch(learner), num_invalids=0)
    _, adv = hand_vtrace(lam)
    assert torch.allclose(summaries["adv"], torch.tensor(adv), atol=1e-5), (summaries["adv"], adv)


def test_value_targets_follow_lambda():
    """Sample Factory's value loss is value_loss_coeff * mean((V - vs)^2): with V constant it gives the targets."""
    for lam in (0.95, 1.0):
        learner = learner_for([f"--maze_vtrace_lambda={lam}", "--maze_normalize_advantages=False",
                               "--ppo_clip_value=1000"])
        *_, value_loss, _ = learner._calculate_losses(minibatch(learner), num_invalids=0)
        targets, _ = hand_vtrace(lam)
        expected = np.mean([(VALUE - vs) ** 2 for vs in targets]) * learner.cfg.value_loss_coeff
        assert value_loss.item() == pytest.approx(expected, rel=1e-5), lam


@pytest.mark.parametrize("normalize", [True, False])
def test_advantage_standardisation_is_a_flag(normalize):
    learner = learner_for([f"--maze_normalize_advantages={normalize}", "--maze_vtrace_lambda=0.95"])
    *_, summaries = learner._calculate_losses(minibatch(learner), num_invalids=0)
    raw = torch.tensor(hand_vtrace(0.95)[1])
    expected = (raw - raw.mean()) / raw.std() if normalize else raw
    assert torch.allclose(summaries["adv"], expected, atol=1e-5), (summaries["adv"], expected)


def test_defaults_are_the_papers_for_memory_maze_and_the_old_recipe_for_amaze():
    from sf_maze.train import parse_args

    cfg = parse_args(["--env=memory_9x9"])
    paper = dict(rollout=100, recurrence=100, batch_size=3200, learning_rate=2e-4, adam_eps=1e-7,
                 exploration_loss_coeff=0.001, gamma=0.99, maze_vtrace_lambda=0.95, maze_encoder="resnet",
                 maze_last_action_reward=True)
    assert {key: getattr(cfg, key) for key in paper} == paper
    amaze = parse_args(["--env=amaze_7x7"])
    assert (amaze.maze_vtrace_lambda, amaze.maze_normalize_advantages, amaze.exploration_loss_coeff) == (1.0, True, 0.01)


def test_a_changed_sample_factory_is_refused_with_one_line():
    from common.cli import InputError
    from sf_maze.patches import patched_calculate_losses

    class OtherLearner:
        def _calculate_losses(self, mb, num_invalids):
            return mb  # no V-trace lines to patch

    with pytest.raises(InputError, match="written for Sample Factory 2.1.1"):
        patched_calculate_losses(OtherLearner)
