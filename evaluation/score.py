"""Score any agent on fixed seeds: one episode per seed, K envs stepped together, one batched act per step.

    episodes = play_episodes(make_env, agent, seeds, num_envs=4)   # [{seed, rewards (T,), length, solved}]
    scores = score(episodes)      # returns (mean, std, 95% interval), half_split, reward_windows, solve_rate

Episode i always runs on seed seeds[i] from its first step to its last, whichever env slot takes it,
so the set of episodes (and so the mean return) does not depend on K or on episode lengths; only the
agent's sampling noise does. Every trainer scores through here with a small adapter (`Agent`):
sf_maze.policy.TrainedAgent, dreamer.evaluate.DreamerAgent, sf_maze.amaze.agent_policy.
"""
import logging
import multiprocessing
import traceback
from typing import Callable, Dict, List, Optional, Sequence

import gymnasium as gym
import numpy as np

log = logging.getLogger(__name__)


class Agent:
    """What play_episodes plays: a policy over `num_envs` slots that keeps each slot's memory itself.

    reset(num_envs) is called once before the first episode; start(slot, seed) whenever a slot begins
    an episode (forget that slot's memory; `seed` is the episode's maze seed); act(observations, slots)
    gets the observations of the slots still playing (in slot order) and returns one action each.
    A Stable-Baselines3 recurrent policy fits as: start -> episode_start[slot] = True, act -> predict.
    """

    def reset(self, num_envs: int) -> None:
        pass

    def start(self, slot: int, seed: int) -> None:
        pass

    def act(self, observations: Sequence, slots: Sequence[int]) -> np.ndarray:
        raise NotImplementedError


class RandomAgent(Agent):
    """Uniform random actions from a numpy generator seeded once: the paper's random baseline."""

    def __init__(self, action_space: gym.Space, seed: int = 0):
        self.action_space = action_space
        self.rng = np.random.default_rng(seed)

    def act(self, observations: Sequence, slots: Sequence[int]) -> np.ndarray:
        return self.rng.integers(self.action_space.n, size=len(observations))


# ---- envs -----------------------------------------------------------------------------------------
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
    """`num_envs` envs from `make_env_fn(index)`; more than one run in spawned processes unless
    `processes=False` (cheap numpy envs such as AMaze: one process, no pipes).

    Spawned, not forked: each Memory Maze env holds a GL context and MuJoCo state that must not be shared.
    """

    def __init__(self, make_env_fn: Callable[[int], gym.Env], num_envs: int, processes: bool = True):
        self.num_envs = num_envs
        self._envs: List[gym.Env] = []
        self._conns, self._procs = [], []
        if num_envs == 1 or not processes:
            self._envs = [make_env_fn(index) for index in range(num_envs)]
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


# ---- episodes -------------------------------------------------------------------------------------
def run_episodes(pool: EnvPool, agent: Agent, seeds: Sequence[int], desc: str = "episodes",
                 progress: bool = True) -> List[dict]:
    """One episode per seed on an open pool; [{'seed', 'rewards' (T,) float64, 'length', 'solved'}] in
    seed order. `solved`: the episode ended by termination with a positive last reward (AMaze's goal;
    Memory Maze episodes only end at the time limit)."""
    from tqdm import tqdm

    k = pool.num_envs
    queue = list(enumerate(seeds))
    slot_episode: List = [None] * k
    obs: List = [None] * k
    rewards: List[List[float]] = [[] for _ in range(k)]
    results: List = [None] * len(seeds)
    agent.reset(k)

    def start(slot: int) -> None:
        if not queue:
            slot_episode[slot] = None
            return
        episode, seed = queue.pop(0)
        slot_episode[slot] = (episode, seed)
        obs[slot] = pool.reset(slot, seed)
        rewards[slot] = []
        agent.start(slot, int(seed))

    for slot in range(k):
        start(slot)
    steps = 0
    with tqdm(total=len(seeds), desc=desc, unit="ep", mininterval=2.0, disable=not progress) as bar:
        while any(e is not None for e in slot_episode):
            active = [s for s in range(k) if slot_episode[s] is not None]
            actions = agent.act([obs[s] for s in active], active)
            outcomes = pool.step({s: a for s, a in zip(active, np.asarray(actions).tolist())})
            steps += len(active)
            for slot in active:
                obs[slot], reward, terminated, truncated = outcomes[slot]
                rewards[slot].append(reward)
                if terminated or truncated:
                    episode, seed = slot_episode[slot]
                    results[episode] = dict(seed=int(seed), rewards=np.asarray(rewards[slot], np.float64),
                                            length=len(rewards[slot]), solved=bool(terminated and reward > 0))
                    bar.update(1)
                    bar.set_postfix(steps=steps, last_return=f"{sum(rewards[slot]):g}")
                    start(slot)
    return results


def play_episodes(make_env: Callable[[int], gym.Env], agent: Agent, seeds: Sequence[int], num_envs: int = 1,
                  processes: bool = True, desc: str = "episodes", progress: bool = True) -> List[dict]:
    """run_episodes on a pool of min(num_envs, len(seeds)) envs from `make_env(index)`, closed after."""
    with EnvPool(make_env, max(1, min(num_envs, len(seeds))), processes=processes) as pool:
        return run_episodes(pool, agent, seeds, desc=desc, progress=progress)


def score(episodes: List[dict], windows: Optional[int] = None) -> dict:
    """The report's summary of one policy's episodes: return statistics (mean, std, 95% t-interval),
    half-split and windowed reward rates (each a mean over episodes), mean length and solve rate."""
    from evaluation.stats import REWARD_WINDOWS, half_split_summary, summarize_returns, window_summary

    if not episodes:
        raise ValueError("score needs at least one episode")
    returns = [float(np.sum(e["rewards"])) for e in episodes]
    rewards = [e["rewards"] for e in episodes]
    return dict(returns=summarize_returns(returns), half_split=half_split_summary(rewards),
                reward_windows=window_summary(rewards, windows or REWARD_WINDOWS),
                mean_length=float(sum(e["length"] for e in episodes) / len(episodes)),
                solve_rate=float(np.mean([bool(e.get("solved", False)) for e in episodes])))
