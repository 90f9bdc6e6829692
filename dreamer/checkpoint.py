"""Checkpoints: one file <logdir>/checkpoint.pt, written atomically (temp file + os.replace).

It holds the config, the ObsSpec, counters, the replay's state and every module's and optimizer's
state. load_world_model / load_agent rebuild modules from it alone, for probing and evaluation.
"""
import os
from typing import Tuple

import torch

from common.files import atomic_path
from dreamer.behavior import ActorCritic
from dreamer.config import group
from dreamer.observations import ObsSpec
from dreamer.world_model import WorldModel

FILENAME = "checkpoint.pt"


def checkpoint_path(logdir_or_path: str) -> str:
    return os.path.join(logdir_or_path, FILENAME) if os.path.isdir(logdir_or_path) else logdir_or_path


def save(path: str, payload: dict) -> None:
    """Write to a temp file beside `path` and rename over it: a crash leaves the old checkpoint whole."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load(logdir_or_path: str, device="cpu") -> dict:
    path = checkpoint_path(logdir_or_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No Dreamer checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=False)
    except Exception as error:  # truncated or foreign file: name it instead of a pickle trace
        raise ValueError(f"Cannot read Dreamer checkpoint {path}: {type(error).__name__}: {error}") from error
    if not isinstance(checkpoint, dict) or "agent" not in checkpoint or "world_model_args" not in checkpoint:
        raise ValueError(f"{path} is not a Dreamer checkpoint (no 'agent'/'world_model_args' entries)")
    return checkpoint


# What a checkpoint written before a key existed was built with.
_WORLD_MODEL_FALLBACKS = {"layer_norm": False, "encoder_act": "relu"}


def _architecture(checkpoint: dict) -> dict:
    """The world model's keyword arguments as saved (`world_model_args["cfg"]`, old checkpoints' keys filled in)."""
    saved = {**_WORLD_MODEL_FALLBACKS, **checkpoint["world_model_args"]["cfg"]}
    return group(saved, "world_model")


def _world_model(checkpoint: dict, device) -> WorldModel:
    args = checkpoint["world_model_args"]
    model = WorldModel(ObsSpec.from_dict(args["spec"]), args["num_actions"], **_architecture(checkpoint)).to(device)
    model.load_state_dict(checkpoint["agent"]["world_model"])
    return model.eval()


def load_world_model(logdir_or_path: str, device="cpu") -> WorldModel:
    """The trained WorldModel of a run (a logdir or a checkpoint file), in eval mode."""
    return _world_model(load(logdir_or_path, device), device)


def load_agent(logdir_or_path: str, device="cpu") -> Tuple[WorldModel, ActorCritic, dict]:
    """(world model, actor-critic, run config) of a run, in eval mode."""
    checkpoint = load(logdir_or_path, device)
    model = _world_model(checkpoint, device)
    behavior = ActorCritic(model.feature_size, model.num_actions, **group(_architecture(checkpoint), "behavior")).to(device)
    behavior.load_state_dict(checkpoint["agent"]["behavior"])
    return model, behavior.eval(), checkpoint["config"]
