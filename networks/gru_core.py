"""GRU memory core: LSTMCore's interface with a single (B, H) state."""
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from networks.flat_state import FlatStateStep


class GRUCore(FlatStateStep, nn.Module):
    """Single-layer GRU.

    forward(inputs (T, B, input_size), state (B, H) or None, first (T, B) bool or None)
    -> (outputs (T, B, H), new state (B, H)). The state is zeroed before every step where `first`.
    The state is already flat: `state_size == H`, `flatten_state`/`unflatten_state` are identities.
    """

    def __init__(self, input_size: int, hidden_size: int = 256):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.out_size: int = hidden_size
        self.state_size: int = self.flat_state_size(hidden_size=hidden_size)

    # networks.core_loading's registry protocol (see LSTMCore).
    @classmethod
    def from_sizes(cls, input_size: int, hidden_size: int, **other_cores_sizes) -> "GRUCore":
        return cls(input_size, hidden_size)

    @staticmethod
    def flat_state_size(hidden_size: int, **other_cores_sizes) -> int:
        return hidden_size

    @staticmethod
    def matches_state_dict(state: Dict[str, torch.Tensor]) -> bool:
        return "gru.weight_ih_l0" in state

    @classmethod
    def sized_from_state_dict(cls, state: Dict[str, torch.Tensor]) -> "GRUCore":
        gates, input_size = state["gru.weight_ih_l0"].shape
        return cls(input_size, gates // 3)

    def initial_state(self, batch_size: int) -> torch.Tensor:
        return self.gru.weight_ih_l0.new_zeros(batch_size, self.hidden_size)

    def flatten_state(self, state: torch.Tensor) -> torch.Tensor:
        return state

    def unflatten_state(self, flat: torch.Tensor) -> torch.Tensor:
        assert flat.shape[1:] == (self.state_size,), (flat.shape, self.state_size)
        return flat

    def forward(self, inputs: torch.Tensor, state: Optional[torch.Tensor] = None,
                first: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        T, B = inputs.shape[:2]
        assert inputs.shape == (T, B, self.input_size), (inputs.shape, (T, B, self.input_size))
        h = state if state is not None else self.initial_state(B)
        if first is None or not bool(first.any()):
            out, h = self.gru(inputs, h.unsqueeze(0).contiguous())
            return out, h.squeeze(0)
        assert first.shape == (T, B), (first.shape, (T, B))
        keep = (~first.bool()).to(inputs.dtype).unsqueeze(-1)
        outputs = []
        for t in range(T):
            out, h = self.gru(inputs[t : t + 1], (h * keep[t]).unsqueeze(0).contiguous())
            h = h.squeeze(0)
            outputs.append(out)
        return torch.cat(outputs, dim=0), h
