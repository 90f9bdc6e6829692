"""Dreamer's TBTT sampler draws every held replay step equally often, whatever its age."""
import numpy as np
import pytest

from dreamer.replay import Replay, SequenceSampler


def fill(replay, rng, steps, left):
    """Append `steps` steps to every env: episodes of 100-600 steps; reward = absolute step index."""
    for _ in range(steps):
        for env in range(replay.num_envs):
            first = left[env] == 0
            if first:
                left[env] = rng.integers(100, 600)
            index = float(replay.total[env])
            replay.add(env, {"image": np.full(1, env, np.uint8)}, 0, index, bool(first), False)
            left[env] -= 1


@pytest.mark.slow
def test_tbtt_sampling_is_uniform_over_age(tmp_path):
    # A filled 20k-step ring that keeps being written while batches are drawn (16 env steps per
    # batch, as the trainer's default schedule): the ages of sampled steps, in fifths of the ring from
    # newest to oldest, must each hold 20 +/- 3 % of the samples. The old sampler, which read forward
    # until the write head, gave 36 / 28 / 21 / 12 / 3.7 %.
    envs, capacity, batch_size, length = 4, 20_000, 16, 50
    replay = Replay(str(tmp_path), capacity, envs, {"image": (1,)})
    rng, left = np.random.default_rng(0), np.zeros(envs, dtype=np.int64)
    fill(replay, rng, capacity // envs + 1000, left)
    sampler = SequenceSampler(replay, batch_size, length, tbtt=True, seed=1)
    counts, jumps, batches = np.zeros(5), 0, 2500
    for _ in range(batches):
        batch, fresh = sampler.sample()
        assert batch["reward"].shape == (length, batch_size)
        jumps += fresh.sum()
        env = batch["image"][:, :, 0].astype(np.int64)
        age = replay.total[env] - 1 - batch["reward"].astype(np.int64)
        assert (age >= 0).all() and (age < replay.env_capacity).all()  # only held steps
        np.add.at(counts, age * 5 // replay.env_capacity, 1)
        fill(replay, rng, 16 // envs, left)
        # Inside a sequence, steps follow each other except where a new episode starts.
        steps = batch["reward"].astype(np.int64)
        jumps_inside = (np.diff(steps, axis=0) != 1) | (np.diff(env, axis=0) != 0)
        assert not (jumps_inside & ~batch["first"][1:]).any()
    shares = counts / counts.sum()
    assert np.all(np.abs(shares - 0.2) <= 0.03), shares.round(3)
    print("age fifths, newest first:", shares.round(3))
    # Slots carry their state on: a new episode mostly starts inside a sequence (at its `first`),
    # so dropping the carried state at a batch's start is rare.
    assert jumps / (batches * batch_size) < 0.05, jumps


def test_reset_interval_drops_carried_state_at_its_rate(tmp_path):
    replay = Replay(str(tmp_path), 4000, 1, {"image": (1,)})
    rng, left = np.random.default_rng(0), np.zeros(1, dtype=np.int64)
    fill(replay, rng, 4000, left)
    plain = SequenceSampler(replay, 8, 10, tbtt=True, seed=0)
    cut = SequenceSampler(replay, 8, 10, tbtt=True, seed=0, reset_interval=50)
    plain_fresh = np.mean([plain.sample()[1].mean() for _ in range(300)])
    cut_fresh = np.mean([cut.sample()[1].mean() for _ in range(300)])
    # 10 / 50 = 0.2 more of the continuing slots drop their state.
    assert 0.12 < cut_fresh - plain_fresh < 0.28, (plain_fresh, cut_fresh)
