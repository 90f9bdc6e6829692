"""Load a Sample Factory checkpoint of our agent into the plain modules, without Sample Factory.

Sizes are read off the weights themselves, so no training config is needed.
"""
import os
from typing import Dict

import numpy as np
import torch

from networks.agent import RecurrentAgent
from networks.core import LSTMCore
from networks.encoder import ConvEncoder
from networks.grid_encoder import GridAgent, GridEncoder
from networks.heads import PolicyValueHeads

# Sample Factory stores best_performance as a numpy scalar once a run has episode stats; these
# plain-data types are all weights_only loading needs beyond tensors.
_NUMPY_SCALAR_GLOBALS = [np.core.multiarray.scalar, np.dtype, np.dtypes.Float32DType, np.dtypes.Float64DType]

# Where sf_maze's model keeps each plain module inside the actor-critic's state dict.
PREFIXES = {"encoder": "encoder.net.", "core": "core.net.", "heads": "heads."}


def _sub_state(state: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    return {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}


def _conv_size(size: int, kernel: int) -> int:
    for _ in range(4):
        size = (size - kernel) // 2 + 1
    return size


def _grid_encoder(encoder_state: Dict[str, torch.Tensor]) -> GridEncoder:
    """A GridEncoder (AMaze) sized from its weights: the projection's input solves for the view size."""
    embed_dim = encoder_state["cell_embedding.weight"].shape[1]
    conv_channels = encoder_state["conv.0.weight"].shape[0]
    dir_embed_dim = encoder_state["dir_embedding.weight"].shape[1]
    pos_size, pos_embed_dim = 0, 8
    if "pos_embedding.weight" in encoder_state:
        pos_rows, pos_embed_dim = encoder_state["pos_embedding.weight"].shape
        pos_size = pos_rows // 2
    out_size, in_features = encoder_state["projection.0.weight"].shape
    conv_features = in_features - dir_embed_dim - (2 * pos_embed_dim if pos_size else 0)
    view_size = round((conv_features / conv_channels) ** 0.5)
    if view_size * view_size * conv_channels != conv_features:
        raise ValueError(f"GridEncoder weights fit no square view: {conv_features} conv features, {conv_channels} channels")
    encoder = GridEncoder(view_size=view_size, embed_dim=embed_dim, conv_channels=conv_channels,
                          dir_embed_dim=dir_embed_dim, pos_size=pos_size, pos_embed_dim=pos_embed_dim,
                          out_size=out_size)
    encoder.load_state_dict(encoder_state)
    return encoder


def _conv_encoder(encoder_state: Dict[str, torch.Tensor]) -> ConvEncoder:
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
    return encoder


def agent_from_state_dict(state: Dict[str, torch.Tensor]) -> RecurrentAgent:
    """Builds the agent of sf_maze's actor-critic state dict and loads its weights.

    A camera (ConvEncoder) checkpoint gives a RecurrentAgent; an AMaze (GridEncoder) one a GridAgent,
    which takes the obs dict instead of frames.
    """
    encoder_state = _sub_state(state, PREFIXES["encoder"])
    if "cell_embedding.weight" in encoder_state:
        encoder, agent_class = _grid_encoder(encoder_state), GridAgent
    elif "convs.0.weight" in encoder_state:
        encoder, agent_class = _conv_encoder(encoder_state), RecurrentAgent
    else:
        raise ValueError(f"Not an sf_maze checkpoint: neither '{PREFIXES['encoder']}convs.0.weight' nor "
                         f"'{PREFIXES['encoder']}cell_embedding.weight' among its weights")

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
    return agent_class(encoder, core, heads)


def read_sf_checkpoint(path: str) -> dict:
    """Any checkpoint Sample Factory writes, as a dict, loaded with weights_only=True (tensors, numbers
    and numpy scalars only: nothing in the file can run code). ValueError names the file when it is
    missing, truncated or not a Sample Factory checkpoint."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint file at {path}")
    try:
        with torch.serialization.safe_globals(_NUMPY_SCALAR_GLOBALS):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which one, not a pickle trace
        first_line = str(error).splitlines()[0] if str(error) else ""
        raise ValueError(f"Checkpoint {path} cannot be loaded ({type(error).__name__}: {first_line})") from error
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise ValueError(f"Checkpoint {path} has no 'model' entry: not a Sample Factory checkpoint")
    return checkpoint


def load_sf_checkpoint(path: str) -> RecurrentAgent:
    """Loads `path` (a Sample Factory .pth of an sf_maze run) as a RecurrentAgent in eval mode."""
    return agent_from_state_dict(read_sf_checkpoint(path)["model"]).eval()
