"""Every trainer's seeds for its envs, mixed from the run's seed in one place.

A trainer steps many envs (Sample Factory's workers, Dreamer's actors); seeding env i with the bare
index i would give every run of a seed sweep the same mazes, so each (run seed, env, ...) tuple is
hashed through numpy's SeedSequence. The two derivations below are the ones runs have always used:
changing either would change every existing run's mazes (tests/test_seeding.py pins their values).
"""
from typing import Optional

import numpy as np


def mix_seed(run_seed: Optional[int], *keys: int, bits: int = 31) -> Optional[int]:
    """One seed in [0, 2**bits) from the run's seed and the keys that tell its users apart; None without a run seed.

    mix_seed(seed, env_index): a Sample Factory env; mix_seed(seed, env_index, env_steps): a Dreamer env,
    fresh after each resume; bits=32 keeps SeedSequence's whole 32-bit word (a Dreamer actor's sampler).
    None gives None, so the env draws fresh OS entropy instead of falling back to the bare index.
    """
    if run_seed is None:
        return None
    word = np.random.SeedSequence([int(run_seed), *(int(key) for key in keys)]).generate_state(1)[0]
    return int(word % 2**bits)


def maze_seeds(run_seed: Optional[int], env_index: int, count: int) -> np.ndarray:
    """(count,) uint64 seeds, one per maze of the batched AMaze env `env_index` (sf_maze's AMaze workers).

    Sample Factory seeds batched env i with i alone, and AMazeBatch would give maze k the seed i + k, so
    envs 0 and 1 would share all but one maze. The env index is the SeedSequence's spawn key; run_seed
    None draws fresh OS entropy.
    """
    return np.random.SeedSequence(run_seed, spawn_key=(int(env_index),)).generate_state(count, dtype=np.uint64)
