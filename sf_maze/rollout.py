"""Full evaluation episodes from K envs stepped together, one batched policy call per step.

Episode i always runs on seed seeds[i] from its first step to its last, whichever env slot takes
it, so the set of episodes (and so the mean return) does not depend on K or on episode lengths;
only the policy's sampling noise does.
"""
import logging
import multiprocessing
import traceback
from typing import Callable, Dict, List, Sequence

import gymnasium as gym
import numpy as np
from tqdm import tqdm

log = logging.getLogger(__name__)


def _worker(conn, make_env_fn: Callable[[int], gym.Env], index: int) -> None:
    env = None
    try:
        env = make_env_fn(index)
        conn.send(("ok", (env.observation_space, env.action_space)))
        while True:
            command, arg = conn.recv()
            if command == "reset":
                conn.send(("ok", env.reset(seed=arg)[0]))
            elif command == "step":
                obs, reward, terminated, truncated, _ = env.step(arg)
                conn.send(("ok", (obs, float(reward), bool(terminated), bool(truncated))))
            elif command == "close":
                break
    except (EOFError, KeyboardInterrupt):
        pass
    except Exception:
        conn.send(("error", traceback.format_exc()))
    finally:
        if env is not None:
            env.close()
        conn.close()


class EnvPool:
    """`num_envs` envs from `make_env_fn(index)`; more than one run in spawned processes.

    Spawned, not forked: each env holds a GL context and MuJoCo state that must not be shared.
    """

    def __init__(self, make_env_fn: Callable[[int], gym.Env], num_envs: int):
        self.num_envs = num_envs
        self._envs: List[gym.Env] = []
        self._conns, self._procs = [], []
        if num_envs == 1:
            self._envs = [make_env_fn(0)]
            self.observation_space, self.action_space = self._envs[0].observation_space, self._envs[0].action_space
            return
        context = multiprocessing.get_context("spawn")
        for index in range(num_envs):
            parent, child = context.Pipe()
            proc = context.Process(target=_worker, args=(child, make_env_fn, index), daemon=True)
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
        spaces = [self._receive(i) for i in range(num_envs)]
        self.observation_space, self.action_space = spaces[0]

    def _receive(self, index: int):
        status, payload = self._conns[index].recv()
        if status == "error":
            raise RuntimeError(f"env worker {index} failed:\n{payload}")
        return payload

    def reset(self, index: int, seed: int):
        if self._envs:
            return self._envs[index].reset(seed=seed)[0]
        self._conns[index].send(("reset", seed))
        return self._receive(index)

    def step(self, actions: Dict[int, object]) -> Dict[int, tuple]:
        """{env index: action} -> {env index: (obs, reward, terminated, truncated)}; all step at once."""
        if self._envs:
            out = {}
            for index, action in actions.items():
                obs, reward, terminated, truncated, _ = self._envs[index].step(action)
                out[index] = (obs, float(reward), bool(terminated), bool(truncated))
            return out
        for index, action in actions.items():
            self._conns[index].send(("step", action))
        return {index: self._receive(index) for index in actions}

    def close(self) -> None:
        for env in self._envs:
            env.close()
        for conn in self._conns:
            try:
                conn.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
        self._envs, self._conns, self._procs = [], [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_episodes(pool: EnvPool, policy, seeds: Sequence[int], desc: str = "episodes") -> List[dict]:
    """One episode per seed; returns [{'seed', 'rewards' (T,) float array, 'length'}] in seed order.

    `policy` has initial_state(batch) and act(observations, states) -> (actions, states); a slot's
    state is zeroed whenever it starts a new episode.
    """
    k = pool.num_envs
    queue = list(enumerate(seeds))
    slot_episode: List = [None] * k
    obs: List = [None] * k
    rewards: List[List[float]] = [[] for _ in range(k)]
    states = policy.initial_state(k)
    results: List = [None] * len(seeds)

    def start(slot: int) -> None:
        if not queue:
            slot_episode[slot] = None
            return
        episode, seed = queue.pop(0)
        slot_episode[slot] = (episode, seed)
        obs[slot] = pool.reset(slot, seed)
        rewards[slot] = []
        states[slot] = 0

    for slot in range(k):
        start(slot)
    steps = 0
    with tqdm(total=len(seeds), desc=desc, unit="ep", mininterval=2.0) as bar:
        while any(e is not None for e in slot_episode):
            active = [s for s in range(k) if slot_episode[s] is not None]
            actions, new_states = policy.act([obs[s] for s in active], states[active])
            states[active] = new_states
            outcomes = pool.step({s: a for s, a in zip(active, np.asarray(actions).tolist())})
            steps += len(active)
            for slot in active:
                obs[slot], reward, terminated, truncated = outcomes[slot]
                rewards[slot].append(reward)
                if terminated or truncated:
                    episode, seed = slot_episode[slot]
                    results[episode] = dict(seed=int(seed), rewards=np.asarray(rewards[slot], np.float64),
                                            length=len(rewards[slot]))
                    bar.update(1)
                    bar.set_postfix(steps=steps, last_return=f"{sum(rewards[slot]):g}")
                    start(slot)
    return results
