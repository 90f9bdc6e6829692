"""LSTM memory core: the paper's IMPALA core, with the flat-state interface every core shares."""
from typing import Dict, Optional, Tuple, Union

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from networks.flat_state import FlatStateStep

State = Tuple[torch.Tensor, torch.Tensor]


class LSTMCore(FlatStateStep, nn.Module):
    """Single-layer LSTM, 256 units by default (the IMPALA baseline of the Memory Maze paper).

    forward(inputs (T, B, input_size), state ((B, H), (B, H)) or None, first (T, B) bool or None)
    -> (outputs (T, B, H), new state). `first[t, b]` marks that step t of env b opens a new episode:
    the state is zeroed before that step, so memory never leaks across episodes.
    step(inputs (B, input_size), state, first (B,)) is one of those steps (FlatStateStep).
    The flat state is [h, c] (B, 2H), Sample Factory's layout for its LSTM. forward also takes a
    PackedSequence (Sample Factory's learner cuts trajectories at episode starts) and runs it through
    nn.LSTM as one packed call, as Sample Factory's own LSTM core does.
    """

    takes_packed = True  # sf_maze.cores: no padding needed

    def __init__(self, input_size: int, hidden_size: int = 256):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.out_size: int = hidden_size
        self.state_size: int = self.flat_state_size(hidden_size=hidden_size)

    # What networks.core_loading's registry asks of every core: build from the common sizes, state size
    # without building (Sample Factory sizes its buffers from cfg), and recognise/rebuild from weights.
    @classmethod
    def from_sizes(cls, input_size: int, hidden_size: int, **other_cores_sizes) -> "LSTMCore":
        return cls(input_size, hidden_size)

    @staticmethod
    def flat_state_size(hidden_size: int, **other_cores_sizes) -> int:
        return 2 * hidden_size  # [h, c], as Sample Factory's own get_rnn_size counts it

    @staticmethod
    def matches_state_dict(state: Dict[str, torch.Tensor]) -> bool:
        return "lstm.weight_ih_l0" in state

    @classmethod
    def sized_from_state_dict(cls, state: Dict[str, torch.Tensor]) -> "LSTMCore":
        gates, input_size = state["lstm.weight_ih_l0"].shape
        return cls(input_size, gates // 4)

    def initial_state(self, batch_size: int) -> State:
        zeros = self.lstm.weight_ih_l0.new_zeros(batch_size, self.hidden_size)
        return zeros, zeros.clone()

    def flatten_state(self, state: State) -> torch.Tensor:
        return torch.cat(state, dim=1)

    def unflatten_state(self, flat: torch.Tensor) -> State:
        assert flat.shape[1:] == (self.state_size,), (flat.shape, self.state_size)
        h, c = torch.split(flat, self.hidden_size, dim=1)
        return h.contiguous(), c.contiguous()

    def forward(self, inputs: Union[torch.Tensor, PackedSequence], state: Optional[State] = None,
                first: Optional[torch.Tensor] = None) -> Tuple[Union[torch.Tensor, PackedSequence], State]:
        if isinstance(inputs, PackedSequence):
            h, c = state
            out, (h, c) = self.lstm(inputs, (h.unsqueeze(0), c.unsqueeze(0)))
            return out, (h.squeeze(0), c.squeeze(0))
        T, B = inputs.shape[:2]
        assert inputs.shape == (T, B, self.input_size), (inputs.shape, (T, B, self.input_size))
        if first is None or not bool(first.any()):
            # One nn.LSTM call over T steps gives the same bits as T single steps (tested).
            h, c = state if state is not None else self.initial_state(B)
            out, (h, c) = self.lstm(inputs, (h.unsqueeze(0), c.unsqueeze(0)))
            return out, (h.squeeze(0), c.squeeze(0))
        assert first.shape == (T, B), (first.shape, (T, B))
        outputs = []
        for t in range(T):
            out, state = self.step(inputs[t], state, first[t])
            outputs.append(out)
        return torch.stack(outputs), state
