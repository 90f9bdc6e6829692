"""Actor processes: each steps its own envs with a CPU copy of the policy and writes into the shared replay.

The learner (dreamer.train) owns the run: it creates the replay files and the shared state below,
starts the actors with the "spawn" context, copies its weights into `SharedPolicy` every
`policy_every` gradient steps, and raises `step_limit` as it trains when a replay ratio is set.
Actor i writes only its own replay rings (envs i*E .. i*E+E-1), so no two processes write one ring.

An actor never outlives the learner: the kernel kills it when its parent dies (PR_SET_PDEATHSIG,
Linux), and a watchdog thread exits it once its parent id changes (any platform, within a second).
"""
import ctypes
import logging
import os
import queue
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, List

import numpy as np
import torch

from dreamer.agent import Actor
from dreamer.behavior import ActorCritic
from dreamer.collect import Collector, make_envs
from dreamer.config import group
from dreamer.observations import ObsSpec
from dreamer.replay import Replay
from dreamer.world_model import WorldModel
from common.processes import exit_with_parent
from envs import mix_seed

log = logging.getLogger(__name__)



def acting_modules(world_model, behavior) -> List[torch.nn.Module]:
    """The parts acting needs (encoder, RSSM, actor head): only these travel to the actors."""
    return [world_model.codec.encoder, world_model.rssm, behavior.actor]


class SharedPolicy:
    """Acting weights as one flat float32 buffer in shared memory, with a version number.

    publish() (learner) and load() (actor) copy under one lock, so an actor never reads half an update.
    """

    def __init__(self, context, num_params: int):
        self.buffer = context.RawArray(ctypes.c_float, num_params)
        self.version = context.RawValue(ctypes.c_int64, 0)
        self.lock = context.Lock()

    def _vector(self) -> torch.Tensor:
        return torch.from_numpy(np.frombuffer(self.buffer, dtype=np.float32))

    def publish(self, modules: List[torch.nn.Module], check_alive: Callable[[], None] = lambda: None) -> None:
        """Copy the weights out; `check_alive` (it raises when an actor died) runs every second the lock is held.

        An actor killed while it copies (the OOM killer) never releases the lock: waiting for it
        without a check would hang the learner for good.
        """
        params = [p for module in modules for p in module.parameters()]
        flat = torch.nn.utils.parameters_to_vector(params).detach().float().cpu()
        while not self.lock.acquire(timeout=1.0):
            check_alive()
        try:
            self._vector().copy_(flat)
            self.version.value += 1
        finally:
            self.lock.release()

    def load(self, modules: List[torch.nn.Module], seen: int) -> int:
        """Copy the weights in if newer than version `seen` -> the version now held."""
        if self.version.value == seen:
            return seen
        params = [p for module in modules for p in module.parameters()]
        with self.lock, torch.no_grad():
            torch.nn.utils.vector_to_parameters(self._vector().clone(), params)
            return int(self.version.value)


@dataclass
class SharedState:
    """Everything learner and actors share (picklable to spawned processes)."""
    replay_total: Any  # RawArray int64 (rings,): steps written per replay ring
    actor_steps: Any  # RawArray int64 (actors,): env steps each actor took in this session
    step_limit: Any  # RawValue int64: actors pause while the run's env steps reach it; -1 = no limit
    stop: Any  # RawValue bool: the learner asks the actors to finish (no lock a killed actor could keep)
    episodes: Any  # Queue of (return, length) per finished episode
    policy: SharedPolicy

    @staticmethod
    def create(context, rings: int, actors: int, num_params: int) -> "SharedState":
        limit = context.RawValue(ctypes.c_int64, -1)
        return SharedState(context.RawArray(ctypes.c_int64, rings), context.RawArray(ctypes.c_int64, actors), limit,
                           context.RawValue(ctypes.c_bool, False), context.Queue(), SharedPolicy(context, num_params))

    def totals(self) -> np.ndarray:
        return np.frombuffer(self.replay_total, dtype=np.int64)

    def steps(self) -> np.ndarray:
        return np.frombuffer(self.actor_steps, dtype=np.int64)


def actor_main(index: int, cfg: dict, spec_dict: dict, num_actions: int, shared: SharedState, parent_pid: int,
               start_env_steps: int) -> None:
    """One actor process: steps cfg["envs"] envs until shared.stop, writing rings index*envs ... ."""
    exit_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the learner decides
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format=f"[actor {index}] %(message)s")
    n, first_ring = cfg["envs"], index * cfg["envs"]
    rings = cfg["envs"] * cfg["actors"]
    spec = ObsSpec.from_dict(spec_dict)
    envs = make_envs(cfg["env"], cfg["seed"], n, first_ring, start_env_steps)
    replay = Replay(os.path.join(cfg["logdir"], "replay"), cfg["replay_capacity"], rings, spec.shapes(),
                    shared_total=shared.totals(), attach=True)
    torch.manual_seed(cfg["seed"] + start_env_steps + 7919 * (index + 1))
    world_model = WorldModel(spec, num_actions, **group(cfg, "world_model")).eval()
    behavior = ActorCritic(world_model.feature_size, num_actions, **group(cfg, "behavior")).eval()
    modules = acting_modules(world_model, behavior)
    seen = 0
    actor = Actor(world_model, behavior, n, seed=mix_seed(cfg["seed"], index, start_env_steps, bits=32))
    rng = np.random.default_rng([cfg["seed"], index, start_env_steps])
    steps = shared.steps()

    collector = Collector(envs, spec, replay, first_ring)
    while not shared.stop.value:
        run_steps = start_env_steps + int(steps.sum())
        limit = shared.step_limit.value
        if 0 <= limit <= run_steps:
            time.sleep(0.002)  # the learner is behind the replay ratio: wait for it
            continue
        if run_steps < cfg["prefill"]:
            actions = rng.integers(0, num_actions, size=n)
        else:
            seen = shared.policy.load(modules, seen)
            if seen == 0:  # no weights published yet: the learner publishes before training starts
                time.sleep(0.01)
                continue
            actions = actor.act(collector.stacked_obs(), collector.first)
        for episode in collector.step(actions):
            shared.episodes.put(episode)
        steps[index] += n  # after the replay writes: counted steps are always in the replay
    shared.episodes.cancel_join_thread()  # exit even if the learner stopped reading episodes
    for env in envs:
        env.close()


class ActorDied(RuntimeError):
    """An actor process ended while the run goes on (the OOM killer, a crash); the message is one line."""


class ActorPool:
    """Starts, watches and stops the actor processes of one learner."""

    def __init__(self, cfg: dict, spec_dict: dict, num_actions: int, shared: SharedState, context,
                 start_env_steps: int):
        self.shared, self.processes = shared, []
        for index in range(cfg["actors"]):
            process = context.Process(target=actor_main, name=f"dreamer-actor-{index}", daemon=True,
                                      args=(index, cfg, spec_dict, num_actions, shared, os.getpid(), start_env_steps))
            process.start()
            self.processes.append(process)

    def check_alive(self) -> None:
        dead = [p for p in self.processes if not p.is_alive()]
        if dead:
            code = dead[0].exitcode
            how = f" ({signal.Signals(-code).name})" if code is not None and code < 0 else ""
            raise ActorDied(f"actor process {dead[0].name} exited with code {code}{how}; see its log above")

    def drain_episodes(self) -> List[tuple]:
        out = []
        while True:
            try:
                out.append(self.shared.episodes.get_nowait())
            except queue.Empty:
                return out

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the actors to finish, then kill any that do not within `timeout` seconds."""
        self.shared.stop.value = True
        deadline = time.time() + timeout
        for process in self.processes:
            process.join(max(0.0, deadline - time.time()))
        for process in self.processes:
            if process.is_alive():
                log.warning("actor %s did not stop in %.0f s: killing it", process.name, timeout)
                process.kill()
                process.join(1.0)
        self.shared.episodes.cancel_join_thread()  # episodes left in the pipe are not worth a hang
