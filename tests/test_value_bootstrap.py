"""Time limits are not deaths: with our defaults a truncated step's return target includes the
bootstrap value, a terminated one does not. Checked on Sample Factory's own learner code."""
import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces

T = 4  # rollout length
STEP = 2  # the step at which both episodes end


def learner_for(argv):
    from sample_factory.algo.learning.learner import Learner
    from sample_factory.model.actor_critic import create_actor_critic

    from sf_maze.train import parse_args, register_components

    register_components()
    cfg = parse_args(["--env=memory_9x9", "--device=cpu", f"--rollout={T}", *argv])
    cfg.recurrence = cfg.rollout  # what Sample Factory's preprocess_cfg resolves -1 to
    learner = Learner.__new__(Learner)  # only what _prepare_batch reads; no processes, no env
    learner.cfg, learner.policy_id, learner.train_step = cfg, 0, 0
    obs_space = spaces.Dict({"obs": spaces.Box(0, 255, (3, 64, 64), np.uint8)})
    learner.actor_critic = create_actor_critic(cfg, obs_space, spaces.Discrete(6))
    learner.param_server = SimpleNamespace(policy_lock=threading.Lock())
    return learner


def rollout_batch(cfg):
    """Env 0's episode hits the time limit at STEP (truncated), env 1's ends there for real."""
    from sample_factory.algo.utils.tensor_dict import TensorDict

    n = 2
    time_outs = torch.zeros(n, T, dtype=torch.bool)
    time_outs[0, STEP] = True
    dones = torch.zeros(n, T, dtype=torch.bool)
    dones[:, STEP] = True
    return TensorDict(
        obs=TensorDict(obs=torch.randint(0, 256, (n, T + 1, 3, 64, 64), dtype=torch.uint8)),
        rnn_states=torch.zeros(n, T + 1, 2 * cfg.rnn_size),
        values=10.0 + torch.arange(T + 1, dtype=torch.float32).repeat(n, 1),
        valids=torch.ones(n, T + 1, dtype=torch.bool),
        policy_id=torch.zeros(n, T, dtype=torch.int),
        policy_version=torch.zeros(n, T, dtype=torch.int),
        rewards=torch.ones(n, T),
        dones=dones,
        time_outs=time_outs,
        actions=torch.zeros(n, T, dtype=torch.long),
        log_prob_actions=torch.zeros(n, T),
    )


@pytest.mark.parametrize("argv,bootstrapped", [([], True), (["--value_bootstrap=False"], False)])
def test_truncated_step_target_includes_the_value_and_terminated_does_not(argv, bootstrapped):
    learner = learner_for(argv)
    assert learner.cfg.value_bootstrap is bootstrapped
    batch = rollout_batch(learner.cfg)
    value_at_end = float(batch["values"][0, STEP])
    prepared, _, _ = learner._prepare_batch(batch)
    rewards = prepared["rewards"].view(2, T)
    gamma = learner.cfg.gamma
    truncated_target = 1.0 + gamma * value_at_end if bootstrapped else 1.0
    assert rewards[0, STEP].item() == pytest.approx(truncated_target)
    assert rewards[1, STEP].item() == pytest.approx(1.0)  # a true end is never bootstrapped
    others = [t for t in range(T) if t != STEP]
    assert torch.equal(rewards[:, others], torch.ones(2, T - 1))
