"""Every --maze_core under the real trainer: Sample Factory's learner path, a short AMaze run that
resumes, bit-exact loading into plain networks, and probing of its memory features."""
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORES = ["gru", "gtrxl", "lru"]
ENV = "amaze_7x7"
SMALL = ["--rnn_size=32", "--maze_gtrxl_memory=8", "--maze_gtrxl_heads=2", "--maze_lru_state=16"]
SHORT_RUN = ["--amaze_num_envs=8", "--rollout=16", "--recurrence=16", "--batch_size=128", "--num_batches_per_epoch=1",
             "--seed=1", "--device=cpu", "--save_every_sec=600", "--amaze_encoder_out_size=32"]


def _cfg(core, **overrides):
    values = dict(maze_core=core, use_rnn=True, rnn_size=32, maze_gtrxl_memory=8, maze_gtrxl_layers=2,
                  maze_gtrxl_heads=2, maze_lru_state=16, maze_lru_layers=2)
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.mark.parametrize("core", CORES)
def test_learner_packed_sequences_equal_rollout_steps(core):
    """The learner's PackedSequence path (cut at dones, states zeroed there) == stepping with `first`."""
    from sample_factory.algo.learning.rnn_utils import build_core_out_from_seq, build_rnn_inputs

    from sf_maze.cores import MazeMemoryCore

    torch.manual_seed(0)
    adapter = MazeMemoryCore(_cfg(core), input_size=10).eval()
    net = adapter.net
    N, T = 4, 8
    inputs = torch.randn(N, T, 10)
    dones = torch.rand(N, T) < 0.2
    start_states = net.flatten_state(net(torch.randn(5, N, 10))[1])  # a non-trivial state at each rollout start
    # Sample Factory's minibatch layout: trajectory-major (N * T, ...), one stored state per step.
    rnn_states = start_states.repeat_interleave(T, dim=0)
    seq, states, inverted = build_rnn_inputs(inputs.reshape(N * T, 10), dones.reshape(-1).float(), rnn_states, T)
    with torch.no_grad():
        packed_out, _ = adapter(seq, states)
        learner_out = build_core_out_from_seq(packed_out, inverted).reshape(N, T, -1)
        first = torch.zeros(T, N, dtype=torch.bool)
        first[1:] = dones.T[:-1]  # the step after a done opens an episode
        stepped, _ = net(inputs.transpose(0, 1), net.unflatten_state(start_states), first)
    torch.testing.assert_close(learner_out, stepped.transpose(0, 1), atol=1e-5, rtol=0)


def test_rnn_buffers_get_each_cores_state_size():
    from sf_maze.cores import MazeMemoryCore
    from sf_maze.patches import install_sf_patches

    install_sf_patches()  # what register_components and every worker do
    from sample_factory.model.model_utils import get_rnn_size

    for core in CORES:
        cfg = _cfg(core, rnn_type="lstm", rnn_num_layers=1, actor_critic_share_weights=True)
        assert get_rnn_size(cfg) == MazeMemoryCore(cfg, 10).net.state_size
    lstm = _cfg("lstm", rnn_type="lstm", rnn_num_layers=1, actor_critic_share_weights=True)
    assert get_rnn_size(lstm) == 64  # Sample Factory's own (h, c)
    assert get_rnn_size(_cfg("gtrxl", use_rnn=False, rnn_type="lstm", rnn_num_layers=1,
                             actor_critic_share_weights=True)) == 2  # no memory: Sample Factory's dummy


def train(train_dir, core, steps):
    command = [sys.executable, "-m", "sf_maze.train", f"--env={ENV}", f"--experiment={core}", f"--train_dir={train_dir}",
               f"--maze_core={core}", f"--train_for_env_steps={steps}", *SMALL, *SHORT_RUN]
    environment = dict(os.environ, OMP_NUM_THREADS="1", WANDB_MODE="offline")
    result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module", params=CORES)
def trained(request, tmp_path_factory):
    from evaluation.runs import latest_checkpoints

    core, train_dir = request.param, str(tmp_path_factory.mktemp(f"cores_{request.param}"))
    train(train_dir, core, 1024)
    first = torch.load(latest_checkpoints(os.path.join(train_dir, core))[-1], map_location="cpu", weights_only=False)
    log = train(train_dir, core, first["env_steps"] + 512)
    return core, train_dir, first, log


@pytest.mark.slow
def test_core_trains_and_resumes(trained):
    from evaluation.runs import latest_checkpoints

    core, train_dir, first, log = trained
    assert f"self.env_steps={first['env_steps']}" in log, "the second run did not resume from the first"
    last = torch.load(latest_checkpoints(os.path.join(train_dir, core))[-1], map_location="cpu", weights_only=False)
    assert last["env_steps"] >= first["env_steps"] + 512 and last["train_step"] > first["train_step"]
    moved = [key for key in last["model"] if key.startswith("core.net.")
             and not torch.equal(last["model"][key], first["model"][key])]
    assert moved, "no core weight changed while training"


@pytest.mark.slow
def test_checkpoint_loads_bit_exact_against_sample_factory(trained):
    """Plain agent vs Sample Factory's actor-critic, stepped as its rollout does: flat state, zeroed at dones."""
    from sample_factory.cfg.arguments import load_from_checkpoint
    from sample_factory.model import model_utils
    from sample_factory.model.actor_critic import create_actor_critic

    from envs.amaze import make_amaze_batch
    from networks import load_sf_checkpoint
    from networks.core_loading import core_name
    from sf_maze.amaze import make_amaze_sf_env
    from evaluation.runs import latest_checkpoints
    from sf_maze.train import parse_args, register_components

    core, train_dir, _, _ = trained
    path = latest_checkpoints(os.path.join(train_dir, core))[-1]
    agent = load_sf_checkpoint(path)
    assert core_name(agent.core.state_dict()) == core and agent.core.out_size == 32

    register_components()
    cfg = load_from_checkpoint(parse_args([f"--train_dir={train_dir}", f"--experiment={core}", f"--env={ENV}"],
                                          evaluation=True))
    assert cfg.maze_core == core
    env = make_amaze_sf_env(ENV, cfg)
    actor_critic = create_actor_critic(cfg, env.observation_space, env.action_space)
    actor_critic.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["model"])
    actor_critic.eval()

    B = 8
    batch = make_amaze_batch(ENV, B, seed=1_000_000, max_episode_steps=12)  # time limits: resets mid-run
    obs, _ = batch.reset()
    rnn_states, state = torch.zeros(B, model_utils.get_rnn_size(cfg)), None
    first = torch.ones(1, B, dtype=torch.bool)
    resets = 0
    with torch.no_grad():
        for _ in range(40):
            tensors = {key: torch.from_numpy(value) for key, value in obs.items()}
            sf_out = actor_critic(actor_critic.normalize_obs({"obs": tensors["image"], "agent_dir": tensors["agent_dir"]}),
                                  rnn_states)
            logits, values, _, state = agent({key: value.unsqueeze(0) for key, value in tensors.items()}, state, first)
            assert torch.equal(sf_out["action_logits"], logits[0])
            assert torch.equal(sf_out["values"], values[0])
            assert torch.equal(sf_out["new_rnn_states"], agent.core.flatten_state(state))
            obs, _, terminated, truncated, _ = batch.step(logits[0].argmax(-1).numpy())
            done = torch.from_numpy(np.logical_or(terminated, truncated))
            resets += int(done.sum())
            rnn_states = sf_out["new_rnn_states"] * (~done).float().unsqueeze(1)  # Sample Factory's reset
            first = done.unsqueeze(0)
    assert resets > 0, "no episode ended: the reset path was not compared"


@pytest.mark.parametrize("core", CORES)
def test_probing_reads_every_cores_memory(core, tmp_path):
    """An sf_maze checkpoint of each core (Memory Maze frames) -> --model=sf: features of the core."""
    from networks import ConvEncoder, PolicyValueHeads, RecurrentAgent
    from networks.core_loading import build_core
    from probing import representations
    from sf_maze.cores import core_kwargs

    torch.manual_seed(0)
    encoder = ConvEncoder(depth=4, out_features=16)
    net = build_core(core, encoder.out_size, **core_kwargs(_cfg(core)))
    agent = RecurrentAgent(encoder, net, PolicyValueHeads(net.out_size, 6)).eval()
    prefixed = {f"encoder.net.{k}": v for k, v in encoder.state_dict().items()}
    prefixed.update({f"core.net.{k}": v for k, v in net.state_dict().items()})
    prefixed.update({f"heads.{k}": v for k, v in agent.heads.state_dict().items()})
    path = str(tmp_path / "checkpoint.pth")
    torch.save({"model": prefixed}, path)

    frames = np.random.default_rng(0).integers(0, 256, (representations.CHUNK + 20, 64, 64, 3), dtype=np.uint8)
    extract, keys = representations.load_representation(f"sf:{path}")
    features = extract({"image": frames})
    with torch.no_grad():
        _, _, expected, _ = agent(torch.from_numpy(frames).unsqueeze(1))
    assert features.shape == (len(frames), net.out_size)
    # the probe's chunked pass (state carried across chunks) sees what one pass over the episode sees
    np.testing.assert_allclose(features, expected[:, 0].numpy(), atol=1e-4)


def test_memory_cores_sweep_has_every_core_and_seed_and_parses(tmp_path):
    import shlex

    from launcher.memory_cores import RUN_DESCRIPTION
    from sf_maze.train import parse_args

    runs = list(RUN_DESCRIPTION.generate_experiments(str(tmp_path), makedirs=False))
    assert len(runs) == 2 * (4 + 1) * 3  # (4 cores + no memory) x 3 seeds on two envs
    seen = set()
    for command, name, _, _ in runs:
        cfg = parse_args(shlex.split(command)[3:])  # drop "python -m sf_maze.train"
        seen.add((cfg.env, cfg.maze_core if cfg.use_rnn else "none", cfg.seed))
    assert len(seen) == len(runs)
    assert {core for _, core, _ in seen} == {"lstm", "gru", "gtrxl", "lru", "none"}


@pytest.mark.slow
def test_evaluate_scores_every_core(trained, tmp_path):
    from sf_maze.evaluate import main as evaluate

    core, train_dir, _, _ = trained
    argv = [f"--env={ENV}", f"--experiment={core}", f"--train_dir={train_dir}", "--max_episode_steps=10",
            "--episodes=2", "--num_envs=1", f"--out={tmp_path}"]
    assert evaluate(argv) == 0
    assert list(tmp_path.glob("*.json")), "evaluate wrote no result file"
