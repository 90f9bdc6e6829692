"""Frozen representations a probe reads: one feature vector per step of a trajectory.

`--model` specs:
  sf:PATH       an sf_maze (Sample Factory) checkpoint: the LSTM output, the agent's memory state
  dreamer:PATH  a Dreamer world model (`dreamer.checkpoint.load_world_model`): its RSSM features
  random        the CNN + LSTM-256 sf agent (`--maze_encoder=cnn`, image only), randomly initialised
  random:PATH   the architecture of the sf checkpoint at PATH, randomly initialised
  state         the true global state: maze_layout (flattened), agent_pos, agent_dir, targets_pos
  supervised    the paper's supervised oracle: `probing.train` first trains the agent's CNN + LSTM
                with the probe losses on the train split (`probing.supervised`), then probes it
  supervised:PATH  a supervised oracle saved by an earlier run (`*_supervised.pt` beside its --out)

Networks run over a whole trajectory with their state carried from its first step to its last,
under torch.no_grad: no gradient can reach them from the probe.
"""
import logging
import pickle
from typing import Callable, Dict, Tuple

import numpy as np
import torch

from common.cli import InputError

log = logging.getLogger(__name__)

# Entries each kind of representation reads from a trajectory file.
NETWORK_KEYS = ("image", "action", "reward")
STATE_KEYS = ("maze_layout", "agent_pos", "agent_dir", "targets_pos")
# Frames per forward call: bounds memory for long trajectories; the recurrent state is carried across.
CHUNK = 250

Extractor = Callable[[Dict[str, np.ndarray]], np.ndarray]


def state_features(episode: Dict[str, np.ndarray]) -> np.ndarray:
    length = episode["maze_layout"].shape[0]
    parts = [episode[key].reshape(length, -1).astype(np.float32) for key in STATE_KEYS]
    return np.concatenate(parts, axis=1)


def _agent_extractor(agent: torch.nn.Module) -> Extractor:
    agent.eval()
    for parameter in agent.parameters():
        parameter.requires_grad_(False)

    @torch.no_grad()
    def extract(episode: Dict[str, np.ndarray]) -> np.ndarray:
        obs = agent_inputs(agent, episode)
        length = next(iter(obs.values())).shape[0] if isinstance(obs, dict) else obs.shape[0]
        state, outputs = None, []  # state None = zeros: what the agent sees at an episode start
        for start in range(0, length, CHUNK):
            # (T, B=1, ...) chunks; exact=False: one encoder call per chunk, ~3x faster than stepping
            # as Sample Factory's rollout does; features then agree with it to ~1e-6, not bit for bit.
            if isinstance(obs, dict):
                chunk = {key: value[start:start + CHUNK].unsqueeze(1) for key, value in obs.items()}
            else:
                chunk = obs[start:start + CHUNK].unsqueeze(1)
            _, _, features, state = agent(chunk, state, None, exact=False)
            outputs.append(features[:, 0])
        return torch.cat(outputs).float().numpy()

    return extract


def agent_inputs(agent: torch.nn.Module, episode: Dict[str, np.ndarray]):
    """A trajectory file's entries as a RecurrentAgent's observations, (T+1, ...) tensors.

    The file's `action[t]` and `reward[t]` are the action that led to `image[t]` and the reward it
    earned, zero at t = 0: exactly the last action and last reward sf_maze.env hands the agent at
    that step, so an agent trained with them (--maze_last_action_reward) reads them unchanged.
    """
    frames = torch.from_numpy(np.ascontiguousarray(episode["image"]))
    if not getattr(agent, "last_action_reward", False):
        return frames
    return {"image": frames,
            "last_action": torch.from_numpy(np.asarray(episode["action"], np.float32)),
            "last_reward": torch.from_numpy(np.asarray(episode["reward"], np.float32))}


def _random_agent(path: str = "", seed: int = 0) -> torch.nn.Module:
    from networks import ConvEncoder, LSTMCore, PolicyValueHeads, RecurrentAgent, load_sf_checkpoint

    torch.manual_seed(seed)
    if path:
        # Same sizes as the trained checkpoint, fresh default initialisation of every layer.
        trained = load_sf_checkpoint(path)
        for module in trained.modules():
            if module is not trained and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        return trained
    encoder = ConvEncoder(in_channels=3, image_size=64, depth=32, out_features=256)
    core = LSTMCore(input_size=encoder.out_size, hidden_size=256)
    return RecurrentAgent(encoder, core, PolicyValueHeads(core.out_size, 6))


def _dreamer_extractor(path: str) -> Extractor:
    try:
        from dreamer.checkpoint import load_world_model  # optional: lands with the Dreamer trainer
    except ImportError as error:
        raise InputError(f"--model=dreamer:{path} needs dreamer.checkpoint.load_world_model ({error})") from error
    model = load_world_model(path)
    if isinstance(model, torch.nn.Module):
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def extract(episode: Dict[str, np.ndarray]) -> np.ndarray:
        frames = torch.from_numpy(np.ascontiguousarray(episode["image"])).unsqueeze(1)
        # The file's action[t] led to image[t] (row 0 zeros): Dreamer's own convention for its input.
        actions = torch.from_numpy(episode["action"].astype(np.float32)).unsqueeze(1)
        first = torch.zeros(frames.shape[:2], dtype=torch.bool)
        first[0] = True
        features = model.features(frames, actions, first)
        return features[:, 0].float().reshape(frames.shape[0], -1).numpy()

    return extract


MODEL_KINDS = ("sf", "dreamer", "random", "state", "supervised")


def check_model_spec(spec: str) -> None:
    """InputError for a --model spec that cannot load (unknown kind, missing path), without loading it."""
    import os

    kind, _, path = spec.partition(":")
    if kind == "oracle":
        load_representation(spec)  # its own message: renamed
    if kind not in MODEL_KINDS:
        raise InputError(f"Unknown --model={spec!r}; expected sf:PATH, dreamer:PATH, random[:PATH], state, "
                         "supervised[:PATH]")
    if kind in ("sf", "dreamer") and not path:
        load_representation(spec)  # its own message: needs a path
    if path and not os.path.exists(path):
        raise InputError(f"--model={spec}: no such file or folder {path}")
    if path and kind in ("sf", "random", "supervised") and not os.path.isfile(path):
        raise InputError(f"--model={spec}: {path} is a folder; pass the checkpoint file")


def load_representation(spec: str, seed: int = 0) -> Tuple[Extractor, Tuple[str, ...]]:
    """(features(episode) -> (T+1, F) float32, the trajectory entries it reads) for a --model spec."""
    kind, _, path = spec.partition(":")
    try:
        return _load(kind, path, spec, seed)
    except (ValueError, OSError, RuntimeError, KeyError, pickle.UnpicklingError) as error:
        # a file that is not the checkpoint it should be: one line naming it, not a loader's trace
        message = " ".join(str(error).split()) or type(error).__name__
        if path and path not in message:  # a loader's own words ("Memo value not found"): say which file
            message = f"{path} cannot be loaded ({type(error).__name__}: {message})"
        raise InputError(f"--model={spec}: {message}") from None


def _load(kind: str, path: str, spec: str, seed: int) -> Tuple[Extractor, Tuple[str, ...]]:
    if kind == "state":
        return state_features, STATE_KEYS
    if kind == "oracle":
        raise InputError("--model=oracle is now --model=state (true layout and positions); the paper's "
                         "supervised oracle is --model=supervised")
    if kind == "supervised":
        if not path:
            raise InputError("--model=supervised is trained by probing.train; load a saved one as supervised:PATH")
        from probing.supervised import load_network

        return _agent_extractor(load_network(path)), NETWORK_KEYS
    if kind == "random":
        return _agent_extractor(_random_agent(path, seed)), NETWORK_KEYS
    if kind == "sf":
        if not path:
            raise InputError("--model=sf needs a checkpoint: --model=sf:PATH")
        from networks import load_sf_checkpoint

        return _agent_extractor(load_sf_checkpoint(path)), NETWORK_KEYS
    if kind == "dreamer":
        if not path:
            raise InputError("--model=dreamer needs a log dir or checkpoint: --model=dreamer:PATH")
        return _dreamer_extractor(path), NETWORK_KEYS
    raise InputError(f"Unknown --model={spec!r}; expected sf:PATH, dreamer:PATH, random[:PATH], state, "
                     "supervised[:PATH]")
