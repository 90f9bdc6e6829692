"""Sequence replay on disk: one ring of .npy memmaps per env under <logdir>/replay, so it survives restarts.

Each env's stream is stored step by step in time order: observation keys, "action" (int16, the action
that led to the step, -1 at an episode's first step), "reward", "first", "terminal". Sequences may
cross episode boundaries; the world model resets its state at `first`. How much of each ring is
valid lives in the checkpoint (state_dict), so steps written after the last checkpoint are simply
overwritten after a restart.
"""
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

Layout = Dict[str, Tuple[Tuple[int, ...], np.dtype]]


def _layout(obs_shapes: Dict[str, Tuple[int, ...]]) -> Layout:
    layout = {key: (tuple(shape), np.dtype(np.uint8)) for key, shape in obs_shapes.items()}
    layout.update(action=((), np.dtype(np.int16)), reward=((), np.dtype(np.float32)),
                  first=((), np.dtype(np.bool_)), terminal=((), np.dtype(np.bool_)))
    return layout


class Replay:
    def __init__(self, directory: str, capacity: int, num_envs: int, obs_shapes: Dict[str, Tuple[int, ...]],
                 state: Optional[dict] = None):
        """capacity: total steps over all envs. state: a previous state_dict to resume from (the
        files must exist); None starts empty and (re)creates the files."""
        self.directory, self.num_envs = directory, num_envs
        self.env_capacity = capacity // num_envs
        self.layout = _layout(obs_shapes)
        self.total = np.zeros(num_envs, dtype=np.int64)  # steps ever written per env
        if state is not None:
            self.total[:] = state["total"]
        self.arrays: List[Dict[str, np.memmap]] = []
        for env in range(num_envs):
            env_dir = os.path.join(directory, f"env{env}")
            os.makedirs(env_dir, exist_ok=True)
            arrays = {}
            for key, (shape, dtype) in self.layout.items():
                path = os.path.join(env_dir, f"{key}.npy")
                full_shape = (self.env_capacity, *shape)
                if state is not None:
                    if not os.path.exists(path):
                        raise FileNotFoundError(f"Replay file {path} is missing; the checkpoint expects it")
                    array = np.load(path, mmap_mode="r+")
                    if array.shape != full_shape or array.dtype != dtype:
                        raise ValueError(f"Replay file {path} holds {array.shape} {array.dtype}, expected {full_shape} {dtype}")
                else:  # sparse file on disk: only written steps take space
                    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=full_shape)
                arrays[key] = array
            self.arrays.append(arrays)

    def size(self, env: int) -> int:
        return int(min(self.total[env], self.env_capacity))

    def __len__(self) -> int:
        return sum(self.size(env) for env in range(self.num_envs))

    def add(self, env: int, obs: Dict[str, np.ndarray], action: int, reward: float, first: bool, terminal: bool) -> None:
        index = self.total[env] % self.env_capacity
        arrays = self.arrays[env]
        for key in obs:
            arrays[key][index] = obs[key]
        arrays["action"][index], arrays["reward"][index] = action, reward
        arrays["first"][index], arrays["terminal"][index] = first, terminal
        self.total[env] += 1

    def flush(self) -> None:
        for arrays in self.arrays:
            for array in arrays.values():
                array.flush()

    def state_dict(self) -> dict:
        return {"total": self.total.tolist()}

    def oldest(self, env: int) -> int:
        """Absolute step index of the oldest step still held for `env`."""
        return int(self.total[env]) - self.size(env)

    def gather(self, env: int, start: int, length: int) -> Dict[str, np.ndarray]:
        """Steps [start, start + length) of env (absolute indices, all still held) -> dict of (L, ...)."""
        assert self.oldest(env) <= start and start + length <= self.total[env], (
            f"steps [{start}, {start + length}) of env {env} are not all held (held: [{self.oldest(env)}, {self.total[env]}))")
        index = np.arange(start, start + length) % self.env_capacity
        return {key: array[index] for key, array in self.arrays[env].items()}

    def episode_starts(self, env: int, length: int) -> np.ndarray:
        """Absolute indices of held episode starts that have `length` held steps from them on."""
        held = self.size(env)
        physical = np.flatnonzero(self.arrays[env]["first"][:held])
        oldest = self.oldest(env)
        absolute = oldest + (physical - oldest) % self.env_capacity
        return absolute[absolute + length <= self.total[env]]


class SequenceSampler:
    """Batches of (T, B, ...) sequences from Replay.

    tbtt=False: every slot is an independent uniform draw (DreamerV2). tbtt=True: slot b continues
    where its previous sequence ended, so the caller can carry the posterior state across batches;
    when its stream runs out (it reached the data being written) it jumps to a random episode start
    and is reported `fresh` so the caller resets its state.
    """

    def __init__(self, replay: Replay, batch_size: int, length: int, tbtt: bool, seed: int):
        self.replay, self.batch_size, self.length, self.tbtt = replay, batch_size, length, tbtt
        self.rng = np.random.default_rng(seed)
        self.cursors: List[Optional[Tuple[int, int]]] = [None] * batch_size  # (env, next absolute step)

    def ready(self) -> bool:
        return any(self.replay.size(env) >= self.length for env in range(self.replay.num_envs))

    def _random_env(self) -> int:
        room = np.array([max(self.replay.size(env) - self.length + 1, 0) for env in range(self.replay.num_envs)], float)
        assert room.sum() > 0, f"no env has {self.length} steps in replay yet; check ready() first"
        return int(self.rng.choice(len(room), p=room / room.sum()))

    def _uniform_start(self, env: int) -> int:
        return self.replay.oldest(env) + int(self.rng.integers(0, self.replay.size(env) - self.length + 1))

    def _jump(self) -> Tuple[int, int]:
        env = self._random_env()
        starts = self.replay.episode_starts(env, self.length)
        start = int(self.rng.choice(starts)) if len(starts) else self._uniform_start(env)
        return env, start

    def sample(self) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
        """-> (batch of (T, B, ...) arrays, fresh (B,) bool: slots not continuing their previous sequence)."""
        sequences, fresh = [], np.ones(self.batch_size, dtype=bool)
        for slot in range(self.batch_size):
            if not self.tbtt:
                env = self._random_env()
                start = self._uniform_start(env)
            else:
                cursor = self.cursors[slot]
                valid = (cursor is not None and cursor[1] >= self.replay.oldest(cursor[0])
                         and cursor[1] + self.length <= self.replay.total[cursor[0]])
                env, start = cursor if valid else self._jump()
                fresh[slot] = not valid
                self.cursors[slot] = (env, start + self.length)
            sequences.append(self.replay.gather(env, start, self.length))
        batch = {key: np.stack([s[key] for s in sequences], axis=1) for key in sequences[0]}
        return batch, fresh
