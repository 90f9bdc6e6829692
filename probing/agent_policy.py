"""A trained sf_maze (Sample Factory) agent as `probing.generate`'s policy: `--policy=sf:PATH`.

PATH is a checkpoint (`.pth`, as in probing.train's `--model=sf:PATH`) or a run folder, whose newest
`checkpoint_p*/checkpoint_*.pth` is used. The agent loads through `networks.load_sf_checkpoint`
(plain torch, no Sample Factory) and is stepped as Sample Factory's rollout steps it: one env at a
time, its recurrent state zero at the episode's start and carried from step to step, with the last
action (one-hot) and the last reward (zero at the start) when it was trained with them. Its action is
sampled from the softmax of its logits, as in training and in sf_maze.evaluate by default
(--eval_deterministic=False), from a numpy generator seeded with the episode's seed: the same
--seed gives the same episodes.

A dataset is only made for the env the agent plays: its run folder's config.json `env` must be the
dataset's --env (an ExtraObs variant counts as its plain env: the agent sees only the image), and
without a config.json its weights must take the dataset's 64x64 RGB frames and 6 actions.
"""
import logging
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from common.cli import InputError
from probing.format import NUM_ACTIONS

log = logging.getLogger(__name__)

PREFIX = "sf:"
SCRIPTED = "scripted"


def policy_path(spec: str) -> Optional[str]:
    """None for the scripted policy, the PATH of `sf:PATH`; InputError for anything else."""
    if spec == SCRIPTED:
        return None
    if spec.startswith(PREFIX) and spec[len(PREFIX):]:
        return spec[len(PREFIX):]
    raise InputError(f"--policy={spec}: expected {SCRIPTED} or sf:CHECKPOINT_OR_RUN_FOLDER "
                     "(a .pth or an sf_maze run folder)")


def resolve_checkpoint(path: str, flag: str, env: str) -> Tuple[str, str]:
    """(the .pth to load, the run folder Sample Factory would keep its config.json in) for PATH."""
    from evaluation.runs import latest_checkpoints

    if os.path.isdir(path):
        checkpoints = latest_checkpoints(path)
        if not checkpoints:
            raise InputError(f"{flag}: {path} holds no checkpoint_p*/checkpoint_*.pth, so no agent can play the "
                             f"--env={env} dataset; pass a run folder or a checkpoint file")
        return os.path.abspath(checkpoints[-1]), os.path.abspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{flag}: no such checkpoint file or run folder {path} to play the --env={env} dataset")
    checkpoint = os.path.abspath(path)
    return checkpoint, os.path.dirname(os.path.dirname(checkpoint))  # <run>/checkpoint_p0/checkpoint_*.pth


def observation_env(name: str) -> Optional[str]:
    """The dataset env whose camera frames `name` shows (memory_9x9_extraobs -> memory_9x9), or None."""
    parts = name.split("_")
    if parts[:1] != ["memory"] or len(parts) < 2:
        return None
    rest = [part for part in parts[2:] if part != "extraobs"]
    return "_".join(parts[:2] + rest) if rest in ([], ["vis"]) else None


def env_frame(env: str) -> Tuple[int, int, int]:
    """(H, W, C) of the camera frames Memory Maze env `env` renders: 64 px, 256 for the hd/top variants."""
    from envs.memory_maze import VARIANTS, parse_name

    _, variant = parse_name(env)
    size = VARIANTS[variant].get("camera_resolution", 64)
    return size, size, 3


def _weights_input(agent: torch.nn.Module, frame: Tuple[int, int, int]) -> str:
    """What the agent's weights take, in words, or '' when it is `frame`s and the dataset's actions."""
    from networks import GridAgent

    if isinstance(agent, GridAgent):
        return "AMaze grid observations (an AMaze agent)"
    encoder = agent.encoder
    takes = (encoder.image_size, encoder.image_size, encoder.in_channels)
    if takes != frame or agent.heads.num_actions != NUM_ACTIONS:
        return f"{'x'.join(map(str, takes))} frames and {agent.heads.num_actions} actions"
    return ""


def load_agent(spec: str, env: str) -> Tuple[torch.nn.Module, str, Dict[str, Any]]:
    """(the agent in eval mode, its checkpoint's absolute path, what it was checked with) for
    `--policy=spec`, after checking it plays the dataset env `env`: InputError naming both otherwise."""
    from networks.checkpoint import load_sf_checkpoint, read_run_config, read_sf_checkpoint

    flag = f"--policy={spec}"
    checkpoint, run_dir = resolve_checkpoint(policy_path(spec), flag, env)
    try:
        config = read_run_config(run_dir)
    except ValueError as error:
        raise InputError(f"{flag}: {error}, so the agent's env cannot be checked against the --env={env} "
                         "dataset") from None
    agent_env = config.get("env") if config else None
    if agent_env is not None and observation_env(str(agent_env)) != observation_env(env):
        other = observation_env(str(agent_env))
        raise InputError(f"{flag}: the agent was trained on {agent_env} ({os.path.join(run_dir, 'config.json')}), "
                         f"not on the dataset's --env={env}; pass an agent of {env}"
                         + (f" or --env={other}" if other else ""))
    try:
        agent = load_sf_checkpoint(checkpoint)
        env_steps = int(read_sf_checkpoint(checkpoint).get("env_steps", 0))
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        if checkpoint not in message:
            message = f"{checkpoint} cannot be loaded ({type(error).__name__}: {message})"
        raise InputError(f"{flag}: {message}; no agent to play the --env={env} dataset") from None
    frame = env_frame(env)
    takes = _weights_input(agent, frame)
    if takes:
        source = f"trained on {agent_env}, but its" if agent_env else "its"
        raise InputError(f"{flag}: {source} weights take {takes}, not the {'x'.join(map(str, frame))} "
                         f"frames and {NUM_ACTIONS} actions of the dataset's --env={env}")
    if agent_env is None:
        log.warning("%s: no config.json in %s, so only the weights' input shapes were checked against --env=%s "
                    "(not the maze size)", flag, run_dir, env)
    for parameter in agent.parameters():
        parameter.requires_grad_(False)
    return agent.eval(), checkpoint, {"agent_env": agent_env, "env_steps": env_steps}


class AgentPolicy:
    """One episode of the agent: call it with each observation, the action that led to it (None at the
    episode's start) and the reward that action earned; it returns the next action.

    A new AgentPolicy per episode: the recurrent state starts at zero (None), as Sample Factory's does
    after a reset, and is carried across calls. `rng` draws the actions (sampled from the policy).
    """

    def __init__(self, agent: torch.nn.Module, rng: np.random.Generator):
        self.agent, self.rng = agent, rng
        self.state = None
        self.takes_last_action_reward = bool(getattr(agent, "last_action_reward", False))

    def observation(self, obs: Dict[str, np.ndarray], last_action: Optional[int], last_reward: float):
        """The env's observation as the agent's (B=1) input: what sf_maze.env hands Sample Factory."""
        frames = torch.from_numpy(np.ascontiguousarray(obs["image"])).unsqueeze(0)  # (1, H, W, 3) uint8
        if not self.takes_last_action_reward:
            return frames
        action = torch.zeros(1, NUM_ACTIONS)
        if last_action is not None:
            action[0, int(last_action)] = 1.0
        return {"image": frames, "last_action": action, "last_reward": torch.tensor([float(last_reward)])}

    @torch.no_grad()
    def __call__(self, obs: Dict[str, np.ndarray], last_action: Optional[int], last_reward: float) -> int:
        logits, _, _, self.state = self.agent.step(self.observation(obs, last_action, last_reward), self.state)
        assert logits.shape == (1, NUM_ACTIONS), (logits.shape, (1, NUM_ACTIONS))
        # float64 softmax: numpy's choice checks that the probabilities sum to 1 to ~1e-8.
        logits = logits[0].double().numpy()
        probs = np.exp(logits - logits.max())
        return int(self.rng.choice(NUM_ACTIONS, p=probs / probs.sum()))
