"""Sequence replay on disk: one ring of .npy memmaps per env under <logdir>/replay, so it survives restarts.

Each env's stream is stored step by step in time order: observation keys, "action" (int16, the action
that led to the step, -1 at an episode's first step), "reward", "first", "terminal". Sequences may
cross episode boundaries; the world model resets its state at `first`. How much of each ring is
valid lives in the checkpoint (state_dict), so steps written after the last checkpoint are simply
overwritten after a restart.

With actor processes (dreamer.actors) every process maps the same files; the per-env step counters
live in shared memory (`shared_total`), each env's ring is written by one actor only, and a step's
counter is raised only after the step is written, so a reader never sees a half-written step.
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
                 state: Optional[dict] = None, shared_total: Optional[np.ndarray] = None, attach: bool = False):
        """capacity: total steps over all envs. state: a previous state_dict to resume from (the
        files must exist); None starts empty and (re)creates the files. shared_total: a (num_envs,)
        int64 array in shared memory to keep the step counters in (actors and learner see one
        count). attach: open the files another process created, keeping shared_total as it is."""
        self.directory, self.num_envs = directory, num_envs
        self.env_capacity = capacity // num_envs
        self.layout = _layout(obs_shapes)
        # steps ever written per env
        self.total = shared_total if shared_total is not None else np.zeros(num_envs, dtype=np.int64)
        assert self.total.shape == (num_envs,) and self.total.dtype == np.int64, (self.total.shape, self.total.dtype)
        if state is not None:
            self.total[:] = state["total"]
        elif not attach:
            self.total[:] = 0
        self.arrays: List[Dict[str, np.memmap]] = []
        for env in range(num_envs):
            env_dir = os.path.join(directory, f"env{env}")
            os.makedirs(env_dir, exist_ok=True)
            arrays = {}
            for key, (shape, dtype) in self.layout.items():
                path = os.path.join(env_dir, f"{key}.npy")
                full_shape = (self.env_capacity, *shape)
                if state is not None or attach:
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
        return {"total": np.array(self.total).tolist()}

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
    """Batches of (T, B, ...) sequences from Replay, uniform over the held steps.

    tbtt=False: every slot is an independent uniform draw (DreamerV2). tbtt=True (pydreamer's
    DataSequential): slot b reads one episode front to back across batches, so the caller can carry
    the posterior state; where the episode ends (the env's next `first`, or the write head) the
    sequence goes on with the start of an episode drawn uniformly from all held ones (the world
    model resets at that `first`). Every episode is read whole from its start once per draw, so each
    held step is sampled equally often whatever its age. A slot whose next step was overwritten
    also jumps. `fresh` marks the slots whose carried state must be dropped: jumped slots, and with
    reset_interval > 0 a continuing slot with probability length / reset_interval (pydreamer cuts
    episodes at random points for the same reason: the model must also work from a zero state).
    """

    def __init__(self, replay: Replay, batch_size: int, length: int, tbtt: bool, seed: int, reset_interval: int = 0):
        self.replay, self.batch_size, self.length, self.tbtt = replay, batch_size, length, tbtt
        self.reset_interval = reset_interval
        self.rng = np.random.default_rng(seed)
        self.cursors: List[Optional[Tuple[int, int]]] = [None] * batch_size  # (env, next absolute step)
        self._starts: Optional[List[np.ndarray]] = None  # episode starts per env, rescanned once per batch

    def ready(self) -> bool:
        return any(self.replay.size(env) >= self.length for env in range(self.replay.num_envs))

    def _random_env(self) -> int:
        room = np.array([max(self.replay.size(env) - self.length + 1, 0) for env in range(self.replay.num_envs)], float)
        assert room.sum() > 0, f"no env has {self.length} steps in replay yet; check ready() first"
        return int(self.rng.choice(len(room), p=room / room.sum()))

    def _uniform_start(self, env: int) -> int:
        return self.replay.oldest(env) + int(self.rng.integers(0, self.replay.size(env) - self.length + 1))

    def _jump(self) -> Tuple[int, int]:
        """A uniformly drawn held episode start over all envs."""
        if self._starts is None:  # the oldest held step starts what is left of an overwritten episode
            self._starts = [np.union1d(self.replay.episode_starts(env, 1), [self.replay.oldest(env)])
                            if self.replay.size(env) else np.zeros(0, np.int64) for env in range(self.replay.num_envs)]
        counts = np.array([len(starts) for starts in self._starts])
        pick = int(self.rng.integers(counts.sum()))
        env = int(np.searchsorted(np.cumsum(counts), pick, side="right"))
        return env, int(self._starts[env][pick - counts[:env].sum()])

    def _held(self, cursor: Optional[Tuple[int, int]]) -> bool:
        return cursor is not None and self.replay.oldest(cursor[0]) <= cursor[1] < self.replay.total[cursor[0]]

    def _read(self, slot: int) -> Tuple[Dict[str, np.ndarray], bool]:
        """The slot's next `length` steps -> (sequence of (T, ...) arrays, whether it jumped at its start)."""
        cursor = self.cursors[slot]
        # A cursor on a `first` means its episode ended exactly at the last sequence's end.
        continues = self._held(cursor) and not self.replay.gather(cursor[0], cursor[1], 1)["first"][0]
        if not continues:
            cursor = None
        parts, need = [], self.length
        while need > 0:
            jumped = cursor is None
            env, pos = cursor if not jumped else self._jump()
            window = min(need, int(self.replay.total[env]) - pos)
            part = self.replay.gather(env, pos, window)  # a copy: safe to mark
            part["first"][0] |= jumped  # the state resets where a jump lands (also on an episode's remains)
            ends = np.flatnonzero(part["first"][1:])  # the episode ends before the next `first`
            take = int(ends[0]) + 1 if len(ends) else window
            parts.append({key: value[:take] for key, value in part.items()} if take < window else part)
            need -= take
            cursor = (env, pos + take)
            if take < window or pos + take >= self.replay.total[env]:
                cursor = None  # end of the episode, or of the data written so far: jump
        self.cursors[slot] = cursor
        sequence = parts[0] if len(parts) == 1 else {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        return sequence, not continues

    def sample(self) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
        """-> (batch of (T, B, ...) arrays, fresh (B,) bool: slots whose carried state must be dropped)."""
        sequences, fresh = [], np.ones(self.batch_size, dtype=bool)
        self._starts = None
        for slot in range(self.batch_size):
            if not self.tbtt:
                env = self._random_env()
                sequences.append(self.replay.gather(env, self._uniform_start(env), self.length))
                continue
            sequence, jumped = self._read(slot)
            cut = self.reset_interval > 0 and self.rng.random() < self.length / self.reset_interval
            fresh[slot] = jumped or cut
            sequences.append(sequence)
        batch = {key: np.stack([s[key] for s in sequences], axis=1) for key in sequences[0]}
        return batch, fresh
