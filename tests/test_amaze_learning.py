"""The real trainer learns AMaze on CPU: a ~2 minute `python -m sf_maze.train --env=amaze_7x7` run must
beat a random policy on held-out mazes by a wide margin, and its checkpoint must load into `networks`.

A broken trainer (no gradient, wrong advantages, scrambled observations) stays near random (~0.07
mean return on amaze_7x7) and fails the margin below; a working one reaches ~0.5 at 200k steps.
"""
import os
import subprocess
import sys
import time

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = "amaze_7x7"
EXPERIMENT = "amaze_learning"
ENV_STEPS = 200_000
EVAL_EPISODES = 200
EVAL_SEED = 1_000_000  # maze i of the evaluation gets seed EVAL_SEED + i; training seeds are 64-bit hashes


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from evaluation.runs import latest_checkpoints

    train_dir = str(tmp_path_factory.mktemp("amaze_train"))
    command = [sys.executable, "-m", "sf_maze.train", f"--env={ENV}", f"--experiment={EXPERIMENT}",
               f"--train_dir={train_dir}", f"--train_for_env_steps={ENV_STEPS}", "--seed=0", "--device=cpu"]
    environment = dict(os.environ, OMP_NUM_THREADS="1", WANDB_MODE="offline")
    start = time.time()
    result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=480)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checkpoints = [p for p in latest_checkpoints(os.path.join(train_dir, EXPERIMENT))
                   if not os.path.basename(p).startswith("best")]
    assert checkpoints, "the run saved no checkpoint"
    print(f"\ntrained {ENV} for {ENV_STEPS} steps in {time.time() - start:.0f}s")
    return train_dir, checkpoints[-1]


@pytest.mark.slow
def test_trained_policy_beats_random_on_held_out_mazes(run):
    from networks import load_sf_checkpoint
    from evaluation.amaze import evaluate, random_policy
    from sf_maze.amaze import agent_policy

    _, path = run
    assert torch.load(path, map_location="cpu", weights_only=False)["env_steps"] >= ENV_STEPS
    torch.manual_seed(0)
    trained = evaluate(agent_policy(load_sf_checkpoint(path), greedy=False), ENV, EVAL_EPISODES, seed=EVAL_SEED)
    rand = evaluate(random_policy(seed=0), ENV, EVAL_EPISODES, seed=EVAL_SEED)
    print(f"trained {trained}\nrandom  {rand}")
    assert trained["mean_return"] >= 2 * rand["mean_return"], (trained, rand)
    assert trained["mean_return"] - rand["mean_return"] >= 0.15, (trained, rand)
    assert trained["solve_rate"] - rand["solve_rate"] >= 0.2, (trained, rand)


@pytest.mark.slow
def test_checkpoint_loads_into_plain_networks_and_matches_sample_factory(run):
    from sample_factory.cfg.arguments import load_from_checkpoint
    from sample_factory.model.actor_critic import create_actor_critic

    from envs.amaze import make_amaze_batch
    from networks import GridAgent, GridEncoder, load_sf_checkpoint
    from sf_maze.amaze import make_amaze_sf_env
    from sf_maze.train import parse_args, register_components

    train_dir, path = run
    agent = load_sf_checkpoint(path)
    assert isinstance(agent, GridAgent) and isinstance(agent.encoder, GridEncoder)
    assert agent.encoder.view_size == 5 and agent.core.hidden_size == 256 and agent.heads.num_actions == 7

    register_components()
    cfg = load_from_checkpoint(parse_args([f"--train_dir={train_dir}", f"--experiment={EXPERIMENT}", f"--env={ENV}"],
                                          evaluation=True))
    env = make_amaze_sf_env(ENV, cfg)
    actor_critic = create_actor_critic(cfg, env.observation_space, env.action_space)
    actor_critic.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["model"])
    actor_critic.eval()

    # A few real steps, carrying the state: the plain agent must reproduce SF's logits, values and state.
    batch = make_amaze_batch(ENV, 8, seed=EVAL_SEED)
    obs, _ = batch.reset()
    rnn_states, state = torch.zeros(8, 2 * cfg.rnn_size), None
    with torch.no_grad():
        for _ in range(5):
            tensors = {key: torch.from_numpy(value) for key, value in obs.items()}
            sf_obs = actor_critic.normalize_obs({"obs": tensors["image"], "agent_dir": tensors["agent_dir"]})
            sf_out = actor_critic(sf_obs, rnn_states)
            logits, values, _, state = agent({key: value.unsqueeze(0) for key, value in tensors.items()}, state)
            assert torch.allclose(sf_out["action_logits"], logits[0], atol=1e-5)
            assert torch.allclose(sf_out["values"], values[0], atol=1e-5)
            assert torch.allclose(sf_out["new_rnn_states"], torch.cat(state, dim=1), atol=1e-5)
            rnn_states = sf_out["new_rnn_states"]
            obs, *_ = batch.step(logits[0].argmax(-1).numpy())


# ---- fast checks of the SF env (no training) -----------------------------------------------------
def test_batched_env_seeds_mazes_apart_across_envs_and_repeats_per_run_seed():
    from sf_maze.amaze import AMazeSampleFactoryEnv

    def first_views(run_seed, env_id):
        env = AMazeSampleFactoryEnv(ENV, 16, run_seed=run_seed)
        obs, _ = env.reset(seed=env_id)  # what SF's BatchedVecEnv passes: the env's global index
        return obs["obs"], env.batch.grid

    (views_a, grids_a), (views_b, grids_b) = first_views(0, 0), first_views(0, 1)
    # SF seeds env i with i; AMazeBatch alone would give env 0's maze k the same seed as env 1's maze k-1.
    assert not any((grids_a[k + 1] == grids_b[k]).all() for k in range(15))
    assert (first_views(0, 1)[1] == grids_b).all() and (first_views(0, 1)[0] == views_b).all()
    assert not (first_views(1, 1)[1] == grids_b).all()  # another --seed, other mazes


def test_sf_env_spaces_and_step():
    import numpy as np

    from sf_maze.amaze import AMazeSampleFactoryEnv

    env = AMazeSampleFactoryEnv(ENV, 4, run_seed=0, obs_agent_pos=True)
    assert env.num_agents == 4 and env.is_multiagent and set(env.observation_space.spaces) == {"obs", "agent_dir", "agent_pos"}
    obs, _ = env.reset(seed=0)
    assert obs["obs"].shape == (4, 5, 5, 3) and obs["agent_dir"].shape == (4,) and obs["agent_pos"].shape == (4, 2)
    obs, rewards, terminated, truncated, info = env.step(np.full(4, 2))
    assert rewards.shape == terminated.shape == truncated.shape == info["solved"].shape == (4,)
