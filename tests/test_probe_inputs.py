"""Probing feeds a last-action-and-reward agent what it saw in training: features computed from a
generated episode's NPZ equal those of Sample Factory's rollout over the same steps."""
import numpy as np
import pytest
import torch

# The one test here builds the env and rolls the agent out twice (tens of seconds on 2 cores).
pytestmark = pytest.mark.slow

STEPS = 40
RUN_SEED, EPISODE_SEED = 3, 11


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A freshly initialised default actor-critic (IMPALA ResNet, last action and reward) as a .pth."""
    from gymnasium import spaces
    from sample_factory.model.actor_critic import create_actor_critic

    from sf_maze.train import parse_args, register_components

    register_components()
    torch.manual_seed(0)
    cfg = parse_args(["--env=memory_9x9", "--device=cpu", "--experiment=x", f"--train_dir={tmp_path_factory.mktemp('td')}"])
    obs_space = spaces.Dict({"obs": spaces.Box(0, 255, (3, 64, 64), np.uint8),
                             "last_action": spaces.Box(0.0, 1.0, (6,), np.float32),
                             "last_reward": spaces.Box(-np.inf, np.inf, (1,), np.float32)})
    actor_critic = create_actor_critic(cfg, obs_space, spaces.Discrete(6)).eval()
    path = str(tmp_path_factory.mktemp("ckpt") / "checkpoint_000000001_0.pth")
    torch.save({"model": actor_critic.state_dict()}, path)
    return path, actor_critic


def test_features_from_the_npz_equal_the_rollouts(checkpoint, tmp_path):
    from sample_factory.algo.utils.rl_utils import prepare_and_normalize_obs

    from envs import make_env
    from probing.dataset import load_episode
    from probing.generate import collect_episode, write_atomically
    from probing.representations import load_representation
    from sf_maze.env import SampleFactoryObservation, mix_seed

    path, actor_critic = checkpoint
    # The generator's scripted episode, written and read back in the published format.
    episode = collect_episode(make_env("memory_9x9_extraobs"), seed=mix_seed(RUN_SEED, EPISODE_SEED), steps=STEPS,
                              epsilon=0.5)
    npz = str(tmp_path / "episode.npz")
    write_atomically(npz, episode)
    extract, keys = load_representation(f"sf:{path}")
    assert {"image", "action", "reward"} <= set(keys)
    features = extract(load_episode(npz, keys))

    # Sample Factory's rollout over the same maze and actions, through sf_maze's env wrapper.
    env = SampleFactoryObservation(make_env("memory_9x9_extraobs"), RUN_SEED, last_action_reward=True)
    obs, _ = env.reset(seed=EPISODE_SEED)
    hidden = actor_critic.core.net.hidden_size
    state, rollout = torch.zeros(1, 2 * hidden), []
    with torch.no_grad():
        for t in range(STEPS + 1):
            assert np.array_equal(obs["obs"].transpose(1, 2, 0), episode["image"][t]), f"another maze at step {t}"
            batch = {key: torch.from_numpy(np.asarray(value)[None]) for key, value in obs.items()}
            state = actor_critic(prepare_and_normalize_obs(actor_critic, batch), state)["new_rnn_states"]
            rollout.append(state[0, :hidden].numpy())
            if t < STEPS:
                obs, *_ = env.step(int(np.argmax(episode["action"][t + 1])))
    assert episode["reward"].sum() >= 0 and features.shape == (STEPS + 1, hidden)
    np.testing.assert_allclose(features, np.stack(rollout), atol=1e-5)

    # ...and the action and reward rows matter: without them the features are another sequence.
    blind = dict(load_episode(npz, keys), action=np.zeros_like(episode["action"]))
    assert not np.allclose(extract(blind), features, atol=1e-3)
