"""networks.load_sf_checkpoint reproduces Sample Factory bit for bit, and refuses what it does not model.

Real short runs (serial, CPU) on a 64 px and a 256 px variant write the checkpoints; Sample Factory's
own actor-critic is then driven as its rollout drives it (inference worker: normalize_obs, one forward
per env step over the B envs of that step; sampler: an env's RNN state set to zeros after its done)
over 70 steps with episode starts in the middle, and compared with torch.equal.
"""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from networks import load_sf_checkpoint, preprocess_frames, read_sf_checkpoint

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = "exact"
TINY_RUN = [
    f"--experiment={EXPERIMENT}", "--serial_mode=True", "--async_rl=False", "--num_workers=1",
    "--num_envs_per_worker=2", "--worker_num_splits=1", "--rollout=16", "--recurrence=16", "--batch_size=32",
    "--decorrelate_envs_on_one_worker=False", "--seed=1", "--device=cpu", "--train_for_env_steps=64",
]
STEPS, BATCH = 70, 2


def _train(train_dir: str, env: str, flags=()) -> str:
    command = [sys.executable, "-m", "sf_maze.train", f"--env={env}", f"--train_dir={train_dir}", *TINY_RUN, *flags]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return sorted(glob.glob(os.path.join(train_dir, EXPERIMENT, "checkpoint_p0", "checkpoint_*.pth")))[-1]


NUM_ACTIONS = 6


def _obs_space(image_size: int, last_action_reward: bool):
    from gymnasium import spaces

    image = spaces.Box(0, 255, (3, image_size, image_size), np.uint8)
    if not last_action_reward:
        return spaces.Dict({"obs": image})
    return spaces.Dict({"obs": image, "last_action": spaces.Box(0.0, 1.0, (NUM_ACTIONS,), np.float32),
                        "last_reward": spaces.Box(-np.inf, np.inf, (1,), np.float32)})


def _sf_actor_critic(argv, image_size: int, state=None, last_action_reward: bool = False):
    from gymnasium import spaces
    from sample_factory.model.actor_critic import create_actor_critic

    from sf_maze.train import parse_args, register_components

    register_components()
    cfg = parse_args(argv, evaluation=True)
    actor_critic = create_actor_critic(cfg, _obs_space(image_size, last_action_reward), spaces.Discrete(NUM_ACTIONS))
    if state is not None:
        actor_critic.load_state_dict(state)
    return actor_critic.eval()


def _sf_rollout(actor_critic, obs, first):
    """Sample Factory's rollout path: per step, CHW uint8 obs (with the env's last action and reward,
    when it gives them) -> prepare_and_normalize_obs -> forward."""
    from sample_factory.algo.utils.rl_utils import prepare_and_normalize_obs

    frames = obs["image"]
    # Sample Factory's get_rnn_size: the LSTM's [h, c], or one unused float for a run without a core
    core = getattr(actor_critic.core, "net", None)
    rnn_states = torch.zeros(frames.shape[1], 2 * core.hidden_size if core is not None else 1)
    logits, values, states = [], [], []
    with torch.no_grad():
        for t in range(frames.shape[0]):
            rnn_states = rnn_states.clone()
            rnn_states[first[t]] = 0.0  # NonBatchedVectorEnvRunner.reset_rnn_state after a done
            step = {"obs": frames[t].permute(0, 3, 1, 2).contiguous()}  # sf_maze.env's observation layout
            if "last_action" in obs:
                step.update(last_action=obs["last_action"][t], last_reward=obs["last_reward"][t].unsqueeze(-1))
            out = actor_critic(prepare_and_normalize_obs(actor_critic, step), rnn_states)
            rnn_states = out["new_rnn_states"]
            logits.append(out["action_logits"])
            values.append(out["values"].reshape(-1))
            states.append(rnn_states)
    return torch.stack(logits), torch.stack(values), torch.stack(states)


def _episode_starts() -> torch.Tensor:
    first = torch.zeros(STEPS, BATCH, dtype=torch.bool)
    first[0] = True
    first[37, 0] = first[51, 1] = True  # each env's episode restarts mid-sequence, at different steps
    return first


def _observations(image_size: int, last_action_reward: bool):
    generator = torch.Generator().manual_seed(image_size)
    frames = torch.randint(0, 256, (STEPS, BATCH, image_size, image_size, 3), dtype=torch.uint8, generator=generator)
    if not last_action_reward:
        return frames, {"image": frames}
    actions = torch.randint(0, NUM_ACTIONS, (STEPS, BATCH), generator=generator)
    obs = {"image": frames, "last_action": torch.nn.functional.one_hot(actions, NUM_ACTIONS).float(),
           "last_reward": torch.randint(0, 2, (STEPS, BATCH), generator=generator).float()}
    return obs, obs


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("runs"))


@pytest.mark.slow
@pytest.mark.parametrize("env, image_size, flags", [
    ("memory_9x9", 64, []),  # the defaults: IMPALA ResNet, last action and reward into the LSTM
    ("memory_9x9_hd", 256, []),
    ("memory_9x9", 64, ["--maze_encoder=cnn", "--maze_last_action_reward=False"]),  # the agent before the recipe
])
def test_checkpoint_reproduces_sample_factory_rollout_bit_for_bit(train_dir, env, image_size, flags):
    run_dir = os.path.join(train_dir, env + "".join(flag.split("=")[-1] for flag in flags))
    path = _train(run_dir, env, flags)
    agent = load_sf_checkpoint(path)
    assert agent.encoder.image_size == image_size
    last_action_reward = "--maze_last_action_reward=False" not in flags
    assert agent.last_action_reward is last_action_reward
    assert type(agent.encoder).__name__ == ("ConvEncoder" if "--maze_encoder=cnn" in flags else "ResNetEncoder")

    argv = [f"--env={env}", f"--train_dir={run_dir}", f"--experiment={EXPERIMENT}", *flags]
    actor_critic = _sf_actor_critic(argv, image_size, read_sf_checkpoint(path)["model"], last_action_reward)
    agent_obs, sf_obs = _observations(image_size, last_action_reward)
    first = _episode_starts()
    sf_logits, sf_values, sf_states = _sf_rollout(actor_critic, sf_obs, first)

    with torch.no_grad():
        logits, values, features, (h, c) = agent(agent_obs, None, first)
    assert torch.equal(logits, sf_logits)
    assert torch.equal(values, sf_values)
    hidden = agent.core.hidden_size
    assert torch.equal(features, sf_states[..., :hidden])  # the LSTM output is its new h
    assert torch.equal(torch.cat([h, c], dim=1), sf_states[-1])

    with torch.no_grad():  # the fast path: single calls over T*B rows, equal up to float rounding
        fast_logits, fast_values, _, fast_state = agent(agent_obs, None, first, exact=False)
    assert torch.allclose(fast_logits, sf_logits, atol=1e-5) and torch.allclose(fast_values, sf_values, atol=1e-5)
    assert torch.allclose(torch.cat(fast_state, dim=1), sf_states[-1], atol=1e-5)

    state = None  # step(): the same, one env step at a time, with the cell state checked at every step
    with torch.no_grad():
        for t in range(STEPS):
            at_t = agent_obs[t] if torch.is_tensor(agent_obs) else {key: value[t] for key, value in agent_obs.items()}
            step_logits, step_values, _, state = agent.step(at_t, state, first[t])
            assert torch.equal(step_logits, sf_logits[t]) and torch.equal(step_values, sf_values[t])
            assert torch.equal(torch.cat(state, dim=1), sf_states[t]), f"LSTM state differs at step {t}"


def test_preprocess_frames_is_sample_factorys_scaling():
    from types import SimpleNamespace

    from gymnasium import spaces
    from sample_factory.utils.normalize import ObservationNormalizer

    frames = torch.arange(256, dtype=torch.uint8).reshape(1, 16, 16, 1).expand(2, 16, 16, 3)
    cfg = SimpleNamespace(obs_subtract_mean=0.0, obs_scale=255.0, normalize_input=False)
    normalizer = ObservationNormalizer(spaces.Dict({"obs": spaces.Box(0, 255, (3, 16, 16), np.uint8)}), cfg)
    expected = normalizer({"obs": frames.permute(0, 3, 1, 2).contiguous()})["obs"]
    ours = preprocess_frames(frames)
    assert torch.equal(ours, expected) and ours.is_contiguous()


@pytest.mark.parametrize("flags, named", [
    (["--decoder_mlp_layers", "64"], "--decoder_mlp_layers"),
    (["--normalize_input=True"], "--normalize_input"),
])
def test_unmodelled_weights_are_one_clear_error_naming_the_flag(tmp_path, flags, named):
    actor_critic = _sf_actor_critic(["--env=memory_9x9", "--experiment=x", f"--train_dir={tmp_path}", *flags], 64)
    path = tmp_path / "checkpoint_000000001_64.pth"
    torch.save({"model": actor_critic.state_dict(), "env_steps": 64, "train_step": 1}, path)
    with pytest.raises(ValueError, match=named) as error:
        load_sf_checkpoint(str(path))
    others = {"--decoder_mlp_layers", "--normalize_input", "--normalize_returns", "--obs_scale"} - {named}
    assert not [flag for flag in others if flag in str(error.value)], str(error.value)  # only the flag that was set


def test_unmodelled_settings_in_config_json_are_named(tmp_path):
    actor_critic = _sf_actor_critic(["--env=memory_9x9", "--experiment=x", f"--train_dir={tmp_path}"], 64)
    run = tmp_path / "run"
    (run / "checkpoint_p0").mkdir(parents=True)
    (run / "config.json").write_text('{"obs_scale": 128.0, "obs_subtract_mean": 0.0}')
    path = run / "checkpoint_p0" / "checkpoint_000000001_64.pth"
    torch.save({"model": actor_critic.state_dict()}, path)
    with pytest.raises(ValueError, match="--obs_scale=128.0"):
        load_sf_checkpoint(str(path))


def test_image_size_is_inferred_for_env_sizes_and_asked_for_otherwise(tmp_path):
    from networks import ConvEncoder, LSTMCore, PolicyValueHeads
    from networks.checkpoint import agent_from_state_dict

    def state_of(image_size):
        encoder = ConvEncoder(image_size=image_size, depth=4, out_features=16)
        modules = {"encoder.net.": encoder, "core.net.": LSTMCore(16, 8), "heads.": PolicyValueHeads(8, 6)}
        return {prefix + key: value for prefix, module in modules.items() for key, value in module.state_dict().items()}

    assert agent_from_state_dict(state_of(256)).encoder.image_size == 256  # 254..269 share the conv output
    assert agent_from_state_dict(state_of(64)).encoder.image_size == 64
    assert agent_from_state_dict(state_of(255), image_size=255).encoder.image_size == 255
    with pytest.raises(ValueError, match="pass image_size="):
        agent_from_state_dict(state_of(128))
    with pytest.raises(ValueError, match="image_size=100 does not fit"):
        agent_from_state_dict(state_of(64), image_size=100)


@pytest.mark.parametrize("best", [np.float32(0.25), np.float64(-1.5), np.int64(3)])
def test_read_sf_checkpoint_takes_numpy_scalars(tmp_path, best):
    path = tmp_path / "best_000000001_64_reward_0.250.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "env_steps": 64, "best_performance": best}, path)
    checkpoint = read_sf_checkpoint(str(path))
    assert checkpoint["best_performance"] == best and checkpoint["env_steps"] == 64


def test_read_sf_checkpoint_names_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_sf_checkpoint(str(tmp_path / "missing.pth"))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"truncated")
    with pytest.raises(ValueError, match="garbage.pth"):
        read_sf_checkpoint(str(garbage))
    foreign = tmp_path / "foreign.pth"
    torch.save({"weights": torch.zeros(1)}, foreign)
    with pytest.raises(ValueError, match="no 'model' entry"):
        read_sf_checkpoint(str(foreign))
