"""Recurrent memory core: an LSTM whose state is reset where an episode starts."""
from typing import Optional, Tuple

import torch
from torch import nn

State = Tuple[torch.Tensor, torch.Tensor]


class LSTMCore(nn.Module):
    """Single-layer LSTM, 256 units by default (the IMPALA baseline of the Memory Maze paper).

    forward(inputs (T, B, input_size), state ((B, H), (B, H)) or None, first (T, B) bool or None)
    -> (outputs (T, B, H), new state). `first[t, b]` marks that step t of env b opens a new episode:
    the state is zeroed before that step, so memory never leaks across episodes.
    """

    def __init__(self, input_size: int, hidden_size: int = 256):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.out_size: int = hidden_size

    def initial_state(self, batch_size: int) -> State:
        zeros = self.lstm.weight_ih_l0.new_zeros(batch_size, self.hidden_size)
        return zeros, zeros.clone()

    def forward(self, inputs: torch.Tensor, state: Optional[State] = None,
                first: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, State]:
        T, B = inputs.shape[:2]
        assert inputs.shape == (T, B, self.input_size), (inputs.shape, (T, B, self.input_size))
        h, c = state if state is not None else self.initial_state(B)
        if first is None or not bool(first.any()):
            out, (h, c) = self.lstm(inputs, (h.unsqueeze(0), c.unsqueeze(0)))
            return out, (h.squeeze(0), c.squeeze(0))
        assert first.shape == (T, B), (first.shape, (T, B))
        keep = (~first.bool()).to(inputs.dtype).unsqueeze(-1)
        outputs = []
        for t in range(T):
            h, c = h * keep[t], c * keep[t]
            out, (h1, c1) = self.lstm(inputs[t : t + 1], (h.unsqueeze(0), c.unsqueeze(0)))
            h, c = h1.squeeze(0), c1.squeeze(0)
            outputs.append(out)
        return torch.cat(outputs, dim=0), (h, c)
