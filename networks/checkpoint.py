"""Load a Sample Factory checkpoint of our agent into the plain modules, without Sample Factory.

Sizes are read off the weights themselves, so no training config is needed.
"""
import os
from typing import Dict

import torch

from networks.agent import RecurrentAgent
from networks.core import LSTMCore
from networks.encoder import ConvEncoder
from networks.heads import PolicyValueHeads

# Where sf_maze's model keeps each plain module inside the actor-critic's state dict.
PREFIXES = {"encoder": "encoder.net.", "core": "core.net.", "heads": "heads."}


def _sub_state(state: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    return {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}


def _conv_size(size: int, kernel: int) -> int:
    for _ in range(4):
        size = (size - kernel) // 2 + 1
    return size


def agent_from_state_dict(state: Dict[str, torch.Tensor]) -> RecurrentAgent:
    """Builds a RecurrentAgent from sf_maze's actor-critic state dict and loads its weights."""
    encoder_state = _sub_state(state, PREFIXES["encoder"])
    if "convs.0.weight" not in encoder_state:
        raise ValueError(f"Not an sf_maze checkpoint: no '{PREFIXES['encoder']}convs.0.weight' among its weights")
    depth, in_channels, kernel, _ = encoder_state["convs.0.weight"].shape
    out_features = encoder_state["projection.0.weight"].shape[0] if "projection.0.weight" in encoder_state else None
    conv_out = encoder_state["projection.0.weight"].shape[1] if out_features else None
    image_size = 64
    if conv_out is not None:
        matches = [s for s in range(16, 1025) if 8 * depth * _conv_size(s, kernel) ** 2 == conv_out]
        image_size = 64 if 64 in matches else matches[0]
    encoder = ConvEncoder(in_channels=in_channels, image_size=image_size, depth=depth, kernel_size=kernel,
                          out_features=out_features)
    encoder.load_state_dict(encoder_state)

    core_state = _sub_state(state, PREFIXES["core"])
    core = None
    if core_state:
        hidden4, input_size = core_state["lstm.weight_ih_l0"].shape
        core = LSTMCore(input_size=input_size, hidden_size=hidden4 // 4)
        core.load_state_dict(core_state)

    heads_state = _sub_state(state, PREFIXES["heads"])
    num_actions, head_in = heads_state["policy.weight"].shape
    heads = PolicyValueHeads(head_in, num_actions)
    heads.load_state_dict(heads_state)
    return RecurrentAgent(encoder, core, heads)


def load_sf_checkpoint(path: str) -> RecurrentAgent:
    """Loads `path` (a Sample Factory .pth of an sf_maze run) as a RecurrentAgent in eval mode."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint file at {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which one, not a pickle trace
        raise ValueError(f"Cannot read checkpoint {path}: {type(error).__name__}: {error}") from error
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise ValueError(f"Checkpoint {path} has no 'model' entry: not a Sample Factory checkpoint")
    return agent_from_state_dict(checkpoint["model"]).eval()
