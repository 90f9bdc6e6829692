"""Build any memory core by name, or from its weights alone (checkpoint loading).

    core = build_core("gtrxl", input_size=128, hidden_size=256, gtrxl_memory=64)
    core = core_from_state_dict(sub_state_dict)   # sizes read off the weights; names the core it found
"""
from typing import Dict

import torch
from torch import nn

from networks.lstm_core import LSTMCore
from networks.gru_core import GRUCore
from networks.gtrxl_core import GTrXLCore
from networks.lru_core import LRUCore

CORE_NAMES = ("lstm", "gru", "gtrxl", "lru")
# build_core's size arguments and their defaults: the one table sf_maze's flags and old configs read.
CORE_DEFAULTS = dict(hidden_size=256, gtrxl_memory=64, gtrxl_layers=2, gtrxl_heads=4, lru_state=256, lru_layers=2)


def build_core(name: str, input_size: int, hidden_size: int = CORE_DEFAULTS["hidden_size"],
               gtrxl_memory: int = CORE_DEFAULTS["gtrxl_memory"], gtrxl_layers: int = CORE_DEFAULTS["gtrxl_layers"],
               gtrxl_heads: int = CORE_DEFAULTS["gtrxl_heads"], lru_state: int = CORE_DEFAULTS["lru_state"],
               lru_layers: int = CORE_DEFAULTS["lru_layers"]) -> nn.Module:
    """A fresh core: `hidden_size` is every core's output width (LSTM/GRU units, GTrXL/LRU model width)."""
    if name == "lstm":
        return LSTMCore(input_size, hidden_size)
    if name == "gru":
        return GRUCore(input_size, hidden_size)
    if name == "gtrxl":
        return GTrXLCore(input_size, d_model=hidden_size, num_layers=gtrxl_layers, num_heads=gtrxl_heads,
                         memory_length=gtrxl_memory)
    if name == "lru":
        return LRUCore(input_size, d_model=hidden_size, state_size=lru_state, num_layers=lru_layers)
    raise ValueError(f"Unknown core {name!r}; expected one of {', '.join(CORE_NAMES)}")


def _count_layers(state: Dict[str, torch.Tensor]) -> int:
    return len({key.split(".")[1] for key in state if key.startswith("layers.")})


def core_name(state: Dict[str, torch.Tensor]) -> str:
    """Which core a state dict (keys relative to the core) belongs to."""
    if "lstm.weight_ih_l0" in state:
        return "lstm"
    if "gru.weight_ih_l0" in state:
        return "gru"
    if "layers.0.position_bias" in state:
        return "gtrxl"
    if "layers.0.lru.nu_log" in state:
        return "lru"
    raise ValueError(f"Not a known memory core ({', '.join(CORE_NAMES)}): keys start {sorted(state)[:4]}")


def core_from_state_dict(state: Dict[str, torch.Tensor]) -> nn.Module:
    """Builds the core whose weights `state` holds (sizes read off the weights) and loads them."""
    name = core_name(state)
    if name in ("lstm", "gru"):
        gates, input_size = state[f"{name}.weight_ih_l0"].shape
        core = build_core(name, input_size, gates // (4 if name == "lstm" else 3))
    else:
        hidden_size, input_size = state["input_projection.weight"].shape
        if name == "gtrxl":
            heads, memory_plus_one = state["layers.0.position_bias"].shape
            core = GTrXLCore(input_size, d_model=hidden_size, num_layers=_count_layers(state), num_heads=heads,
                             memory_length=memory_plus_one - 1, ff_size=state["layers.0.ff.0.weight"].shape[0])
        else:
            core = build_core(name, input_size, hidden_size, lru_state=state["layers.0.lru.nu_log"].shape[0],
                              lru_layers=_count_layers(state))
    core.load_state_dict(state)
    return core
