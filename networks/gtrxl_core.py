"""Gated Transformer-XL core (Parisotto et al. 2019, "Stabilizing Transformers for RL") whose memory of
the last M layer inputs travels in a fixed-size state, so an RL trainer can carry it like an LSTM's."""
import math
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from networks.flat_state import FlatStateStep

OUTPUT_GAIN = 0.1  # initial gain of the output LayerNorm (see __init__)

State = Tuple[torch.Tensor, torch.Tensor]  # valid (B, M) bool, memory (L, B, M, D)


class GRUGate(nn.Module):
    """g(x, y) = (1 - z) x + z h with GRU-style r, z, h; bias -gate_bias on z starts every layer near identity."""

    def __init__(self, d_model: int, gate_bias: float = 2.0):
        super().__init__()
        self.from_y = nn.Linear(d_model, 3 * d_model, bias=False)  # W_r, W_z, W_g
        self.from_x = nn.Linear(d_model, 2 * d_model, bias=False)  # U_r, U_z
        self.candidate_x = nn.Linear(d_model, d_model, bias=False)  # U_g
        self.initial_bias = gate_bias
        self.gate_bias = nn.Parameter(torch.full((d_model,), gate_bias))

    @torch.no_grad()
    def reset_parameters(self) -> None:
        self.gate_bias.fill_(self.initial_bias)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        wr, wz, wg = self.from_y(y).chunk(3, dim=-1)
        ur, uz = self.from_x(x).chunk(2, dim=-1)
        r = torch.sigmoid(wr + ur)
        z = torch.sigmoid(wz + uz - self.gate_bias)
        h = torch.tanh(wg + self.candidate_x(r * x))
        return (1 - z) * x + z * h


class GTrXLLayer(nn.Module):
    """LayerNorm -> relative-position multi-head attention over [memory, inputs] -> gate -> LayerNorm ->
    MLP -> gate. Relative positions: a learned bias per head and distance 0..M (Shaw/T5 style)."""

    def __init__(self, d_model: int, num_heads: int, memory_length: int, ff_size: int, gate_bias: float):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not a multiple of num_heads={num_heads}")
        self.num_heads = num_heads
        self.attention_norm = nn.LayerNorm(d_model)
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.attention_out = nn.Linear(d_model, d_model)
        self.position_bias = nn.Parameter(torch.zeros(num_heads, memory_length + 1))
        self.attention_gate = GRUGate(d_model, gate_bias)
        self.ff_norm = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_size), nn.ReLU(), nn.Linear(ff_size, d_model))
        self.ff_gate = GRUGate(d_model, gate_bias)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        self.position_bias.zero_()

    def forward(self, x: torch.Tensor, memory: torch.Tensor, visible: torch.Tensor,
                distance: torch.Tensor) -> torch.Tensor:
        """x (T, B, D), memory (B, M, D), visible (B, T, M + T) bool, distance (T, M + T) -> (T, B, D)."""
        T, B, D = x.shape
        H, dh = self.num_heads, D // self.num_heads
        normed = self.attention_norm(x).transpose(0, 1)  # (B, T, D)
        context = torch.cat([self.attention_norm(memory), normed], dim=1)  # (B, M + T, D)
        q = self.query(normed).reshape(B, T, H, dh).transpose(1, 2)
        k, v = self.key_value(context).reshape(B, -1, 2, H, dh).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)  # (B, H, T, M + T)
        scores = scores + self.position_bias[:, distance.clamp(0, self.position_bias.shape[1] - 1)]
        scores = scores.masked_fill(~visible.unsqueeze(1), float("-inf"))
        attended = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, D).transpose(0, 1)
        x = self.attention_gate(x, torch.relu(self.attention_out(attended)))
        return self.ff_gate(x, torch.relu(self.ff(self.ff_norm(x))))


class GTrXLCore(FlatStateStep, nn.Module):
    """input projection -> `num_layers` gated transformer layers -> LayerNorm.

    forward(inputs (T, B, input_size), state (valid (B, M) bool, memory (L, B, M, D)) or None,
            first (T, B) bool or None) -> (outputs (T, B, D), new state).
    Each step attends to itself and the previous M steps of its own episode (memory slots before a
    `first` are masked), so the output at t depends on the last M + 1 inputs only and a sequence split
    into chunks with the state carried gives the same outputs as the whole. The memory holds each
    layer's inputs, detached (Transformer-XL's stop-gradient). All-zero state == empty memory, so
    Sample Factory's zeroing of finished episodes' states is a reset. Flat form: (B, M (1 + L D)).
    """

    def __init__(self, input_size: int, d_model: int = 256, num_layers: int = 2, num_heads: int = 4,
                 memory_length: int = 64, ff_size: Optional[int] = None, gate_bias: float = 2.0):
        super().__init__()
        if memory_length < 1:
            raise ValueError(f"memory_length must be >= 1, got {memory_length}")
        self.input_size, self.d_model, self.num_layers, self.memory_length = input_size, d_model, num_layers, memory_length
        self.input_projection = nn.Linear(input_size, d_model)
        self.layers = nn.ModuleList(GTrXLLayer(d_model, num_heads, memory_length, ff_size or d_model, gate_bias)
                                    for _ in range(num_layers))
        # Output gain starts at 0.1: heads then see features of an LSTM's scale at init and the first policy is
        # near uniform. With unit-scale features it was not (entropy 1.47 vs ln 7 = 1.95 on AMaze), and the
        # sparse-reward memory maze was never solved once in 300k steps.
        self.out_norm = nn.LayerNorm(d_model)
        nn.init.constant_(self.out_norm.weight, OUTPUT_GAIN)
        self.out_size: int = d_model
        self.state_size: int = self.flat_state_size(hidden_size=d_model, gtrxl_memory=memory_length,
                                                    gtrxl_layers=num_layers)

    # networks.core_loading's registry protocol (see LSTMCore); `hidden_size` is d_model.
    @classmethod
    def from_sizes(cls, input_size: int, hidden_size: int, gtrxl_memory: int, gtrxl_layers: int, gtrxl_heads: int,
                   **other_cores_sizes) -> "GTrXLCore":
        return cls(input_size, d_model=hidden_size, num_layers=gtrxl_layers, num_heads=gtrxl_heads,
                   memory_length=gtrxl_memory)

    @staticmethod
    def flat_state_size(hidden_size: int, gtrxl_memory: int, gtrxl_layers: int, **other_cores_sizes) -> int:
        return gtrxl_memory * (1 + gtrxl_layers * hidden_size)  # valid flags (M) + memory (M, L, D)

    @staticmethod
    def matches_state_dict(state: Dict[str, torch.Tensor]) -> bool:
        return "layers.0.position_bias" in state

    @classmethod
    def sized_from_state_dict(cls, state: Dict[str, torch.Tensor]) -> "GTrXLCore":
        # ff_size is no build flag but is read back, so a core built with another one still loads.
        d_model, input_size = state["input_projection.weight"].shape
        heads, memory_plus_one = state["layers.0.position_bias"].shape
        num_layers = len({key.split(".")[1] for key in state if key.startswith("layers.")})
        return cls(input_size, d_model=d_model, num_layers=num_layers, num_heads=heads,
                   memory_length=memory_plus_one - 1, ff_size=state["layers.0.ff.0.weight"].shape[0])

    def initial_state(self, batch_size: int) -> State:
        weight = self.input_projection.weight
        valid = torch.zeros(batch_size, self.memory_length, dtype=torch.bool, device=weight.device)
        return valid, weight.new_zeros(self.num_layers, batch_size, self.memory_length, self.d_model)

    def flatten_state(self, state: State) -> torch.Tensor:
        valid, memory = state
        B = valid.shape[0]
        return torch.cat([valid.to(memory.dtype), memory.permute(1, 0, 2, 3).reshape(B, -1)], dim=1)

    def unflatten_state(self, flat: torch.Tensor) -> State:
        B, M = flat.shape[0], self.memory_length
        assert flat.shape == (B, self.state_size), (flat.shape, (B, self.state_size))
        memory = flat[:, M:].reshape(B, self.num_layers, M, self.d_model).permute(1, 0, 2, 3)
        return flat[:, :M] > 0.5, memory

    def forward(self, inputs: torch.Tensor, state: Optional[State] = None,
                first: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, State]:
        T, B = inputs.shape[:2]
        M = self.memory_length
        assert inputs.shape == (T, B, self.input_size), (inputs.shape, (T, B, self.input_size))
        valid, memory = state if state is not None else self.initial_state(B)
        device = inputs.device
        # Episode index of each step within this sequence; memory slots belong to episode 0.
        segment = (torch.zeros(T, B, dtype=torch.long, device=device) if first is None
                   else first.long().cumsum(dim=0)).transpose(0, 1)  # (B, T)
        key_segment = torch.cat([segment.new_zeros(B, M), segment], dim=1)  # (B, M + T)
        key_valid = torch.cat([valid, valid.new_ones(B, T)], dim=1)
        distance = torch.arange(T, device=device).unsqueeze(1) - (torch.arange(M + T, device=device) - M)
        visible = ((distance >= 0) & (distance <= M)).unsqueeze(0) & key_valid.unsqueeze(1) \
            & (key_segment.unsqueeze(1) == segment.unsqueeze(2))  # (B, T, M + T)

        x = self.input_projection(inputs)
        new_memory = []
        for layer, layer_memory in zip(self.layers, memory):
            new_memory.append(torch.cat([layer_memory, x.detach().transpose(0, 1)], dim=1)[:, -M:])
            x = layer(x, layer_memory, visible, distance)
        new_valid = (key_valid & (key_segment == segment[:, -1:]))[:, -M:]
        # Invalid slots hold zeros, so a state has one flat form however its episode started.
        new_memory = torch.stack(new_memory) * new_valid.unsqueeze(-1).to(x.dtype)
        return self.out_norm(x), (new_valid, new_memory)
