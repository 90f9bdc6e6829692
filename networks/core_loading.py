"""Every memory core by name: build one, size its flat state without building it, or rebuild one from
its weights alone (checkpoint loading).

    core = build_core("gtrxl", input_size=128, hidden_size=256, gtrxl_memory=64)
    core_state_size("gtrxl", hidden_size=256, gtrxl_memory=64)   # floats per env; builds nothing
    core = core_from_state_dict(sub_state_dict)   # sizes read off the weights; names the core it found

A core is its own file plus one `register_core` line. Its class says everything about itself:
    from_sizes(input_size, **sizes) -> module    sizes: every key of CORE_DEFAULTS, each core takes its own
    flat_state_size(**sizes) -> int              == module.state_size, known before building (Sample
                                                 Factory sizes its buffers from cfg)
    matches_state_dict(state) -> bool            are these weights (keys relative to the core) mine?
    sized_from_state_dict(state) -> module       built with the sizes `state` was saved from, not loaded
and its modules have the flat-state interface of networks.flat_state (state_size, out_size,
flatten_state, unflatten_state, initial_state, forward over (T, B, input_size)).
"""
from typing import Dict, Tuple

import torch
from torch import nn

from networks.lstm_core import LSTMCore
from networks.gru_core import GRUCore
from networks.gtrxl_core import GTrXLCore
from networks.lru_core import LRUCore

# build_core's size arguments and their defaults: the one table sf_maze's flags and old configs read.
CORE_DEFAULTS = dict(hidden_size=256, gtrxl_memory=64, gtrxl_layers=2, gtrxl_heads=4, lru_state=256, lru_layers=2)
_PROTOCOL = ("from_sizes", "flat_state_size", "matches_state_dict", "sized_from_state_dict")

CORES: Dict[str, type] = {}


def register_core(name: str, core_class: type) -> type:
    """Makes `core_class` buildable as `name` and recognisable from its weights; returns the class."""
    missing = [method for method in _PROTOCOL if not callable(getattr(core_class, method, None))]
    if missing:
        raise TypeError(f"{core_class.__name__} cannot be registered as a core: it lacks {', '.join(missing)}")
    if name in CORES:
        raise ValueError(f"A core named {name!r} is registered already ({CORES[name].__name__})")
    CORES[name] = core_class
    return core_class


def unregister_core(name: str) -> None:
    """Forgets a core added with register_core (a test's toy core, a notebook's experiment)."""
    _core_class(name)
    del CORES[name]


register_core("lstm", LSTMCore)
register_core("gru", GRUCore)
register_core("gtrxl", GTrXLCore)
register_core("lru", LRUCore)
CORE_NAMES = tuple(CORES)  # the cores that ship; core_names() adds those registered since


def core_names() -> Tuple[str, ...]:
    """Every core build_core knows now, registered ones included."""
    return tuple(CORES)


def _core_class(name: str) -> type:
    if name not in CORES:
        raise ValueError(f"Unknown core {name!r}; expected one of {', '.join(CORES)}")
    return CORES[name]


def _all_sizes(sizes: Dict[str, int]) -> Dict[str, int]:
    unknown = sorted(set(sizes) - set(CORE_DEFAULTS))
    if unknown:
        raise TypeError(f"Unknown core size(s) {', '.join(unknown)}; the sizes are {', '.join(CORE_DEFAULTS)}")
    return {**CORE_DEFAULTS, **sizes}


def build_core(name: str, input_size: int, hidden_size: int = CORE_DEFAULTS["hidden_size"], **sizes: int) -> nn.Module:
    """A fresh core: `hidden_size` is every core's output width (LSTM/GRU units, GTrXL/LRU model width);
    `sizes` are the other keys of CORE_DEFAULTS, defaulted from there."""
    sizes = _all_sizes(dict(sizes, hidden_size=hidden_size))
    core = _core_class(name).from_sizes(input_size, **sizes)
    expected = _core_class(name).flat_state_size(**sizes)
    # A core whose two counts disagree would have its states cut or padded by Sample Factory's buffers.
    if core.state_size != expected:
        raise AssertionError(f"{name}: core state {core.state_size} != flat_state_size {expected}")
    return core


def core_state_size(name: str, **sizes: int) -> int:
    """Floats per env in the flat recurrent state of core `name` with these sizes (CORE_DEFAULTS' keys)."""
    return _core_class(name).flat_state_size(**_all_sizes(sizes))


def core_name(state: Dict[str, torch.Tensor]) -> str:
    """Which core a state dict (keys relative to the core) belongs to."""
    names = [name for name, core_class in CORES.items() if core_class.matches_state_dict(state)]
    if not names:
        raise ValueError(f"Not a known memory core ({', '.join(CORES)}): keys start {sorted(state)[:4]}")
    if len(names) > 1:
        raise ValueError(f"These weights match several cores ({', '.join(names)}): their matches_state_dict overlap")
    return names[0]


def core_from_state_dict(state: Dict[str, torch.Tensor]) -> nn.Module:
    """Builds the core whose weights `state` holds (sizes read off the weights) and loads them."""
    core = CORES[core_name(state)].sized_from_state_dict(state)
    core.load_state_dict(state)
    return core
