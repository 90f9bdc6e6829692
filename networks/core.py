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
    step(inputs (B, input_size), state, first (B,)) is one of those steps.
    """

    def __init__(self, input_size: int, hidden_size: int = 256):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.out_size: int = hidden_size

    def initial_state(self, batch_size: int) -> State:
        zeros = self.lstm.weight_ih_l0.new_zeros(batch_size, self.hidden_size)
        return zeros, zeros.clone()

    def step(self, inputs: torch.Tensor, state: Optional[State] = None,
             first: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, State]:
        """One step, (B, input_size) -> ((B, H), new state): Sample Factory's rollout call.

        Its sampler sets an env's state to exact zeros after that env's episode ended, and the core
        runs one (1, B, D) step of the same nn.LSTM; so do we.
        """
        B = inputs.shape[0]
        assert inputs.shape == (B, self.input_size), (inputs.shape, (B, self.input_size))
        h, c = state if state is not None else self.initial_state(B)
        if first is not None:
            assert first.shape == (B,), (first.shape, (B,))
            reset = first.bool().unsqueeze(-1)
            h, c = h.masked_fill(reset, 0.0), c.masked_fill(reset, 0.0)
        out, (h, c) = self.lstm(inputs.unsqueeze(0), (h.unsqueeze(0), c.unsqueeze(0)))
        return out.squeeze(0), (h.squeeze(0), c.squeeze(0))

    def forward(self, inputs: torch.Tensor, state: Optional[State] = None,
                first: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, State]:
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
