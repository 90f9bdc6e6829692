"""Read Sample Factory checkpoints of our agent, and load them into the plain modules without Sample Factory.

Sizes are read off the weights themselves; the run's config.json, when it sits where Sample Factory
writes it (two folders above the .pth), is only checked for settings the plain networks do not model.
"""
import importlib
import json
import logging
import os
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from networks.agent import RecurrentAgent
from networks.core_input import last_action_reward_size
from networks.core_loading import core_from_state_dict
from networks.encoder import ConvEncoder
from networks.grid_encoder import GridAgent, GridEncoder
from networks.heads import PolicyValueHeads
from networks.resnet_encoder import ResNetEncoder

log = logging.getLogger(__name__)


def checkpoint_safe_globals() -> List[Any]:
    """What unpickling numpy scalars needs beyond tensors: Sample Factory saves best_performance as
    a numpy scalar (np.float32 from np.mean) once --save_best_after is reached. Every scalar dtype
    class is listed, so a float64 or integer score loads too, and the scalar constructor under both
    numpy 1's and numpy 2's module path, so a file written under either loads under the other."""
    module = "numpy._core.multiarray" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core.multiarray"
    scalar = importlib.import_module(module).scalar
    dtype_classes = [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith("DType")]
    return [(scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"), np.dtype, *dtype_classes]


def read_sf_checkpoint(path: str) -> Dict[str, Any]:
    """Any checkpoint Sample Factory writes (checkpoint_*.pth, best_*.pth), as its dict:
    {"model": state dict, "env_steps": int, "train_step": int, "best_performance": numpy scalar
    (best_* and later checkpoints), "optimizer": ..., "curr_lr": float}. A weights-only checkpoint
    (sf_maze.export, the agents in pretrained/) has no "optimizer": nothing here reads it.

    Loads with weights_only=True (tensors, plain data and numpy scalars only, no code), on the CPU.
    Raises FileNotFoundError for a missing file and ValueError naming the file for one that is
    truncated, foreign or has no "model" entry.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint file at {path}")
    with open(path, "rb") as f:
        head = f.read(2)
    # torch.save writes a zip archive (PK), older torch a pickle (0x80); anything else (text, an
    # .npz, an empty file) fails deep inside the unpickler with e.g. "KeyError: 101".
    if head[:2] != b"PK" and head[:1] != b"\x80":
        what = "an empty file" if not head else "not a torch file"
        raise ValueError(f"Checkpoint {path} cannot be loaded: {what} (torch.save writes a zip archive)")
    try:
        # Only the globals not registered yet: leaving the context removes what it added, and a
        # process-wide registration (sf_maze.patches, for Sample Factory's learner) must survive it.
        registered = torch.serialization.get_safe_globals()
        with torch.serialization.safe_globals([g for g in checkpoint_safe_globals() if g not in registered]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which one, not a pickle trace
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(f"Checkpoint {path} cannot be loaded ({type(error).__name__}: {first_line})") from error
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise ValueError(f"Checkpoint {path} has no 'model' entry: not a Sample Factory checkpoint")
    return checkpoint


# Where sf_maze's model keeps each plain module inside the actor-critic's state dict.
PREFIXES = {"encoder": "encoder.net.", "core": "core.net.", "heads": "heads."}
# Sample Factory's own names for the heads' two linears (the same tensors, registered twice).
HEAD_ALIASES = ("critic_linear.", "action_parameterization.distribution_linear.")
# Weights of parts the plain networks do not model, and the flag that put them there.
UNMODELLED_WEIGHTS = {
    "decoder.": "--decoder_mlp_layers (train with the default empty list)",
    "obs_normalizer.": "--normalize_input=True (train with --normalize_input=False)",
    "returns_normalizer.": "--normalize_returns=True (the value head then predicts normalised returns; "
                           "train with --normalize_returns=False)",
}
# Image sizes our envs render (Memory Maze 64 px, _hd/_top 256 px): preferred when several fit.
ENV_IMAGE_SIZES = (64, 256)


def _sub_state(state: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    return {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}


def _conv_size(size: int, kernel: int) -> int:
    for _ in range(4):
        size = (size - kernel) // 2 + 1
    return size


def _check_modelled(state: Dict[str, torch.Tensor], config: Optional[Dict[str, Any]], grid: bool) -> None:
    """One ValueError naming every flag whose weights or settings the plain networks would ignore."""
    problems = []
    for prefix, flag in UNMODELLED_WEIGHTS.items():
        keys = [key for key in state if key.startswith(prefix)]
        if keys:
            problems.append(f"{flag}: weights {', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''}")
    known = (*PREFIXES.values(), *HEAD_ALIASES, *UNMODELLED_WEIGHTS)
    unknown = [key for key in state if not key.startswith(known)]
    if unknown:
        problems.append(f"weights of no sf_maze module: {', '.join(unknown[:5])}{', ...' if len(unknown) > 5 else ''}")
    if config is not None:
        scale = 1.0 if grid else 255.0
        settings = {
            "obs_scale": (config.get("obs_scale", scale), scale),
            "obs_subtract_mean": (config.get("obs_subtract_mean", 0.0), 0.0),
            "normalize_input": (config.get("normalize_input", False), False),
            "decoder_mlp_layers": (list(config.get("decoder_mlp_layers", [])), []),
        }
        for name, (value, expected) in settings.items():
            if value != expected and not any(name in problem for problem in problems):
                problems.append(f"--{name}={value} (the plain networks assume {expected})")
    if problems:
        raise ValueError("This checkpoint was trained with settings networks.load_sf_checkpoint does not model: "
                         + "; ".join(problems))


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


def _image_size(conv_out: int, features_at, image_size: Optional[int]) -> int:
    """The square frame size whose conv output has `conv_out` features (`features_at(size)`).

    Strided convs and pools map several sizes to one output (254..269 all give 256 px's with the
    CNN), so the weights alone cannot tell them apart: an explicit image_size wins, else the one size
    our envs render.
    """
    fits = [s for s in range(1, 2049) if features_at(s) == conv_out]
    if image_size is not None:
        if image_size not in fits:
            allowed = f"{fits[0]}..{fits[-1]}" if fits else "none"
            raise ValueError(f"image_size={image_size} does not fit this checkpoint's encoder "
                             f"({conv_out} conv features; sizes that fit: {allowed})")
        return image_size
    preferred = [s for s in fits if s in ENV_IMAGE_SIZES]
    if len(preferred) == 1:
        return preferred[0]
    if not fits:
        raise ValueError(f"No square image size gives this checkpoint's {conv_out} conv features")
    raise ValueError(f"Frames of {fits[0]}..{fits[-1]} px fit this checkpoint's encoder equally; "
                     f"pass image_size= to load_sf_checkpoint")


def _conv_encoder(encoder_state: Dict[str, torch.Tensor], next_in: int, image_size: Optional[int]) -> ConvEncoder:
    """next_in: the input size of the module after the encoder (its conv output without a projection)."""
    depth, in_channels, kernel, _ = encoder_state["convs.0.weight"].shape
    projection = encoder_state.get("projection.0.weight")
    out_features = projection.shape[0] if projection is not None else None
    conv_out = projection.shape[1] if projection is not None else next_in

    def features_at(size: int) -> int:
        side = _conv_size(size, kernel) if size >= kernel else 0
        return 8 * depth * side ** 2 if side > 0 else -1

    encoder = ConvEncoder(in_channels=in_channels, image_size=_image_size(conv_out, features_at, image_size),
                          depth=depth, kernel_size=kernel, out_features=out_features)
    encoder.load_state_dict(encoder_state)
    return encoder


def _resnet_encoder(encoder_state: Dict[str, torch.Tensor], image_size: Optional[int]) -> ResNetEncoder:
    """A ResNetEncoder sized from its weights: stage widths, blocks per stage, projection."""
    stages = sorted({int(key.split(".")[1]) for key in encoder_state if key.startswith("stages.")})
    channels = [encoder_state[f"stages.{i}.conv.weight"].shape[0] for i in stages]
    in_channels = encoder_state["stages.0.conv.weight"].shape[1]
    num_blocks = len({key.split(".")[3] for key in encoder_state if key.startswith("stages.0.blocks.")})
    out_features, conv_out = encoder_state["projection.0.weight"].shape

    def features_at(size: int) -> int:
        for _ in channels:
            size = (size + 1) // 2  # max-pool 3x3, stride 2, padding 1
        return channels[-1] * size ** 2

    encoder = ResNetEncoder(in_channels=in_channels, image_size=_image_size(conv_out, features_at, image_size),
                            channels=channels, num_blocks=num_blocks, out_features=out_features)
    encoder.load_state_dict(encoder_state)
    return encoder


def _takes_last_action_reward(core_in: int, embedding: int, num_actions: int) -> bool:
    """Whether the core's input has the last reward and action appended to the image embedding."""
    if core_in == embedding:
        return False
    if core_in == embedding + last_action_reward_size(num_actions):
        return True
    raise ValueError(f"The core takes {core_in} inputs, the encoder gives {embedding}: neither the image embedding "
                     f"alone nor with the last reward and action ({last_action_reward_size(num_actions)} more)")


def agent_from_state_dict(state: Dict[str, torch.Tensor], image_size: Optional[int] = None,
                          config: Optional[Dict[str, Any]] = None) -> RecurrentAgent:
    """Builds the agent of sf_maze's actor-critic state dict and loads its weights.

    A camera (ConvEncoder) checkpoint gives a RecurrentAgent; an AMaze (GridEncoder) one a GridAgent,
    which takes the obs dict instead of frames. image_size: the frames' side in px, needed only for
    sizes other than 64 and 256. config: the run's config.json as a dict, checked for settings the
    plain networks do not model. ValueError naming the flag for weights or settings they do not model.
    """
    encoder_state = _sub_state(state, PREFIXES["encoder"])
    grid = "cell_embedding.weight" in encoder_state
    resnet = "stages.0.conv.weight" in encoder_state
    if not grid and not resnet and "convs.0.weight" not in encoder_state:
        raise ValueError(f"Not an sf_maze checkpoint: none of '{PREFIXES['encoder']}convs.0.weight', "
                         f"'{PREFIXES['encoder']}stages.0.conv.weight', '{PREFIXES['encoder']}cell_embedding.weight' "
                         f"among its weights")
    _check_modelled(state, config, grid)

    core_state = _sub_state(state, PREFIXES["core"])
    heads_state = _sub_state(state, PREFIXES["heads"])
    num_actions, head_in = heads_state["policy.weight"].shape
    core = core_from_state_dict(core_state) if core_state else None  # lstm, gru, gtrxl or lru

    core_in = core.input_size if core is not None else head_in
    heads = PolicyValueHeads(head_in, num_actions)
    heads.load_state_dict(heads_state)
    if grid:
        return GridAgent(_grid_encoder(encoder_state), core, heads)
    if resnet:
        encoder = _resnet_encoder(encoder_state, image_size)
    elif "projection.0.weight" in encoder_state:
        encoder = _conv_encoder(encoder_state, core_in, image_size)
    else:  # no projection: the conv output feeds the core as it is, with nothing appended
        encoder = _conv_encoder(encoder_state, core_in, image_size)
        return RecurrentAgent(encoder, core, heads)
    extras = _takes_last_action_reward(core_in, encoder.out_size, num_actions)
    return RecurrentAgent(encoder, core, heads, last_action_reward=extras)


def read_run_config(run_dir: str) -> Optional[Dict[str, Any]]:
    """The config.json Sample Factory keeps in a run folder, as a dict; None when there is none;
    ValueError naming the file when it cannot be read or holds no dict."""
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(config_path):
        return None
    try:
        with open(config_path) as f:
            config = json.load(f)
    except (OSError, ValueError) as error:
        raise ValueError(f"{config_path} cannot be read ({type(error).__name__}: {error})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{config_path} holds {type(config).__name__}, not a config")
    return config


def _run_config(path: str) -> Optional[Dict[str, Any]]:
    """The run's config.json, if `path` sits in its checkpoint_p*/; an unreadable one is only warned about."""
    try:
        return read_run_config(os.path.dirname(os.path.dirname(os.path.abspath(path))))
    except ValueError as error:
        log.warning("Ignoring %s: settings are not checked", error)
        return None


def load_sf_checkpoint(path: str, image_size: Optional[int] = None) -> RecurrentAgent:
    """Loads `path` (a Sample Factory .pth of an sf_maze run) as a RecurrentAgent (GridAgent for
    AMaze) in eval mode, whose forward/step reproduce Sample Factory's rollout outputs bit for bit.

    image_size: the frames' side in px; inferred for our envs' 64 and 256 px. Raises what
    read_sf_checkpoint raises, and ValueError naming the flag for a decoder MLP, input or return
    normalisation or observation scaling the plain networks do not model.
    """
    checkpoint = read_sf_checkpoint(path)
    return agent_from_state_dict(checkpoint["model"], image_size=image_size, config=_run_config(path)).eval()
