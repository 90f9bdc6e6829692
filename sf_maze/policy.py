"""A trained policy from an experiment folder (or a uniform random one), stepped outside Sample Factory.

Sample Factory's own enjoy() loads checkpoints with `torch.load` defaults and, when that fails,
goes on with `None`; it also builds its env behind batching wrappers that hide the env's map. Here
the same pieces (config.json merged with the command line, `create_actor_critic`, the env registry,
`prepare_and_normalize_obs`) are used directly, so any model and env registered by
`sf_maze.train.register_components` plays back, and every missing file gets one clear error.
"""
import glob
import logging
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np

from envs import is_amaze
from evaluation.score import Agent
from sf_maze.checks import InputError

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = {"latest": "checkpoint", "best": "best"}


def parse_eval_cfg(argv: Optional[List[str]], add_args: Callable, defaults: Optional[dict] = None):
    """sf_maze.train's flags plus Sample Factory's evaluation flags and a script's own."""
    from sf_maze.train import parse_args

    return parse_args(argv, evaluation=True, add_args=add_args, defaults=defaults)


def parse_playback_cfg(argv: Optional[List[str]], parse: Callable):
    """What enjoy and evaluate start with: registration and parsing without Sample Factory's debug
    lines, then the env-name and --eval_seed checks (InputError, one line)."""
    from envs import check_env_name
    from sf_maze.checks import check_at_least, quiet_sample_factory
    from sf_maze.train import register_components

    with quiet_sample_factory():
        register_components()
        cfg = parse(argv)
    check_env_name(cfg.env, trainable=True)
    check_at_least(0, eval_seed=cfg.eval_seed)
    return cfg


def _listing(path: str, limit: int = 12) -> str:
    if not os.path.isdir(path):
        return f"{path} does not exist"
    names = sorted(os.listdir(path))
    if not names:
        return f"{path} is empty"
    shown = ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")
    return f"{path} holds: {shown}"


def find_checkpoint(train_dir: str, experiment: str, kind: str = "latest", policy_index: int = 0) -> str:
    """Path of the newest `kind` checkpoint; InputError naming the path looked for and what exists."""
    if kind not in CHECKPOINT_PREFIX:
        raise InputError(f"--load_checkpoint_kind={kind}; choose one of {', '.join(CHECKPOINT_PREFIX)}")
    experiment_dir = os.path.join(train_dir, experiment)
    if not os.path.isdir(experiment_dir):
        raise InputError(f"No experiment folder {experiment_dir}; {_listing(train_dir)}")
    if not os.path.isfile(os.path.join(experiment_dir, "config.json")):
        raise InputError(f"No {os.path.join(experiment_dir, 'config.json')}, so {experiment_dir} is not a finished "
                         f"training setup; {_listing(experiment_dir)}")
    checkpoint_dir = os.path.join(experiment_dir, f"checkpoint_p{policy_index}")
    pattern = os.path.join(checkpoint_dir, f"{CHECKPOINT_PREFIX[kind]}_*.pth")
    # Sample Factory zero-pads the train step in file names, so name order is age order.
    found = sorted(glob.glob(pattern))
    if not found:
        raise InputError(f"No {kind} checkpoint matching {pattern}; {_listing(checkpoint_dir)}")
    return found[-1]


def load_experiment_cfg(cfg):
    """config.json of the experiment with the flags given on the command line applied over it."""
    from sample_factory.cfg.arguments import load_from_checkpoint

    from sf_maze.checks import read_saved_config

    read_saved_config(os.path.join(cfg.train_dir, cfg.experiment))  # one line for a corrupt file, not a trace
    return load_from_checkpoint(cfg)


def single_thread_cpu_inference(cfg) -> None:
    """One torch thread when acting on the CPU.

    Evaluation steps a batch of a few observations at a time; torch's intra-op threads only add
    synchronisation there, and on a busy machine one LSTM step went from ~4 ms to ~100 ms with 2.
    """
    import torch

    if torch_device(cfg).type == "cpu":
        torch.set_num_threads(1)


def torch_device(cfg):
    import torch

    # A config saved on a GPU machine still plays back on a CPU-only one.
    wants_gpu = str(getattr(cfg, "device", "cpu")) == "gpu"
    return torch.device("cuda" if wants_gpu and torch.cuda.is_available() else "cpu")


# Evaluation mazes are a function of the episode seed alone, never of the seed a run trained with,
# so a random baseline and every experiment meet the same mazes.
EVAL_RUN_SEED = 0


def make_eval_env(cfg, index: int = 0, render_mode: Optional[str] = None,
                  max_episode_steps: Optional[int] = None) -> gym.Env:
    """One env giving the observations the trained model takes, reset by explicit seeds only.

    Memory Maze: the registered Sample Factory env itself. AMaze trains on a batched, auto-resetting
    env of many mazes; here it is one plain AMazeEnv (deterministic per seed, and its last frame is
    the goal, not the next maze) with the observation keys the batched env hands the model.
    """
    from sample_factory.envs.create_env import create_env
    from sample_factory.utils.attr_dict import AttrDict

    from sf_maze.train import register_components

    register_components()
    cfg = AttrDict(dict(vars(cfg) if not isinstance(cfg, dict) else cfg, seed=EVAL_RUN_SEED))
    if is_amaze(cfg.env):
        from envs import make_env

        overrides = dict(obs_agent_pos=True) if cfg.get("amaze_obs_agent_pos") else {}
        env = AMazeModelObservation(make_env(cfg.env, render_mode=render_mode, **overrides))
    else:
        env = create_env(cfg.env, cfg=cfg, env_config=AttrDict(worker_index=0, vector_index=index, env_id=index),
                         render_mode=render_mode)
    if max_episode_steps:
        env = gym.wrappers.TimeLimit(env, max_episode_steps=int(max_episode_steps))
    return env


class AMazeModelObservation(gym.ObservationWrapper):
    """AMazeEnv's {'image', 'agent_dir'[, 'agent_pos']} as the model's {'obs', 'agent_dir'[, 'agent_pos']}
    (sf_maze.amaze.AMazeSampleFactoryEnv renames the view the same way: SF scales only 'obs')."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Dict(
            {("obs" if key == "image" else key): space for key, space in env.observation_space.spaces.items()})

    def observation(self, observation):
        return {("obs" if key == "image" else key): value for key, value in observation.items()}


def dict_space(space: gym.Space) -> gym.spaces.Dict:
    """Sample Factory models see Dict observations; a plain Box becomes {'obs': box}."""
    return space if isinstance(space, gym.spaces.Dict) else gym.spaces.Dict(dict(obs=space))


def stack_obs(observations: Sequence) -> Dict[str, np.ndarray]:
    if isinstance(observations[0], dict):
        return {key: np.stack([o[key] for o in observations]) for key in observations[0]}
    return dict(obs=np.stack(observations))


class TrainedPolicy:
    """Batched actor-critic with its LSTM state carried by the caller.

    act(obs_list, states) -> (actions (B,), new states); start an episode with `initial_state`.
    """

    def __init__(self, cfg, observation_space: gym.Space, action_space: gym.Space, checkpoint_path: str,
                 deterministic: bool = False):
        from sample_factory.model.actor_critic import create_actor_critic

        from sf_maze.train import register_components

        register_components()
        self.cfg, self.deterministic = cfg, deterministic
        self.device = torch_device(cfg)
        self.actor_critic = create_actor_critic(cfg, dict_space(observation_space), action_space)
        checkpoint = load_checkpoint_file(checkpoint_path)
        try:
            self.actor_critic.load_state_dict(checkpoint["model"])
        except RuntimeError as error:
            raise InputError(f"Checkpoint {checkpoint_path} does not fit the model that {cfg.experiment}/config.json "
                             f"describes: {str(error).splitlines()[0]}") from None
        self.actor_critic.eval()
        self.actor_critic.model_to_device(self.device)
        self.env_steps = int(checkpoint.get("env_steps", 0))

    def initial_state(self, batch: int):
        import torch
        from sample_factory.model.model_utils import get_rnn_size

        return torch.zeros((batch, get_rnn_size(self.cfg)), dtype=torch.float32, device=self.device)

    def act(self, observations: Sequence, states) -> Tuple[np.ndarray, object]:
        import torch
        from sample_factory.algo.utils.action_distributions import argmax_actions
        from sample_factory.algo.utils.rl_utils import prepare_and_normalize_obs

        with torch.no_grad():
            obs = {key: torch.from_numpy(value) for key, value in stack_obs(observations).items()}
            normalized = prepare_and_normalize_obs(self.actor_critic, obs)
            out = self.actor_critic(normalized, states)
            actions = out["actions"]
            if self.deterministic:
                actions = argmax_actions(self.actor_critic.action_distribution())
            return actions.reshape(len(observations), -1).squeeze(-1).cpu().numpy(), out["new_rnn_states"]


class TrainedAgent(Agent):
    """TrainedPolicy as an evaluation.score Agent: the slots' states live here, zeroed at each episode
    start, and only the playing slots' rows go through the model (as Sample Factory's sampler does).

    memory_span N > 0 also zeroes a slot's recurrent state before its steps N, 2N, ... of an episode:
    the agent then acts on at most its last N steps, a test of how far back its memory reaches.
    """

    def __init__(self, policy: TrainedPolicy, memory_span: int = 0):
        self.policy, self.memory_span = policy, int(memory_span)
        self.states, self.steps = None, None

    def reset(self, num_envs: int) -> None:
        self.states = self.policy.initial_state(num_envs)
        self.steps = np.zeros(num_envs, dtype=np.int64)

    def start(self, slot: int, seed: int) -> None:
        self.states[slot] = 0
        self.steps[slot] = 0

    def act(self, observations: Sequence, slots: Sequence[int]) -> np.ndarray:
        if self.memory_span > 0:
            for slot in slots:
                if self.steps[slot] and self.steps[slot] % self.memory_span == 0:
                    self.states[slot] = 0
        actions, self.states[slots] = self.policy.act(observations, self.states[slots])
        self.steps[slots] += 1
        return actions


def load_checkpoint_file(path: str) -> dict:
    """The checkpoint as a dict (networks.read_sf_checkpoint), an InputError naming the file on failure."""
    from networks.checkpoint import read_sf_checkpoint

    try:
        return read_sf_checkpoint(path)
    except (ValueError, FileNotFoundError) as error:
        raise InputError(str(error)) from None


def load_experiment(cfg) -> Tuple[object, str]:
    """(config.json merged with the command line, checkpoint path); InputError naming what is missing
    or unreadable, before any env starts (a Memory Maze env takes seconds to build)."""
    path = find_checkpoint(cfg.train_dir, cfg.experiment, cfg.load_checkpoint_kind, cfg.policy_index)
    load_checkpoint_file(path)
    return load_experiment_cfg(cfg), path
