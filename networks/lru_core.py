"""Linear Recurrent Unit core (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks"): a complex
diagonal linear recurrence, run as a parallel scan over a sequence and step by step in rollouts."""
import math
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from networks.flat_state import FlatStateStep

OUTPUT_GAIN = 0.1  # initial gain of the output LayerNorm (see __init__)


def linear_scan(decay: torch.Tensor, inputs: torch.Tensor, initial: torch.Tensor) -> torch.Tensor:
    """All states of h_t = decay_t * h_{t-1} + inputs_t, h_{-1} = initial, in log2(T) parallel steps.

    decay, inputs: (T, B, N) (complex or real); initial: (B, N). Returns h: (T, B, N).
    Hillis-Steele scan of the associative map (a1, b1) then (a2, b2) = (a1 a2, a2 b1 + b2); with T == 1 it
    is exactly one step of the recurrence, so a rollout step and a training sequence share the same code.
    """
    T = inputs.shape[0]
    b = torch.cat([(decay[0] * initial + inputs[0]).unsqueeze(0), inputs[1:]])
    a, d = decay, 1
    while d < T:
        b = torch.cat([b[:d], a[d:] * b[:-d] + b[d:]])
        a = torch.cat([a[:d], a[d:] * a[:-d]])
        d *= 2
    return b


class LRU(nn.Module):
    """x_t = lambda * x_{t-1} + gamma * (B u_t), y_t = Re(C x_t) + D * u_t, lambda complex diagonal.

    lambda = exp(-exp(nu_log) + i exp(theta_log)) keeps |lambda| < 1 (stable) under any update;
    gamma = sqrt(1 - |lambda|^2) normalises each mode's input so slow modes do not blow up.
    forward(u (T, B, H), x0 (B, N) complex, keep (T, B) 0/1: 0 zeroes the state before that step)
    -> (y (T, B, H), states (T, B, N) complex).
    """

    def __init__(self, d_model: int, state_size: int, r_min: float = 0.5, r_max: float = 0.999,
                 max_phase: float = math.pi / 10):
        super().__init__()
        self.d_model, self.state_size = d_model, state_size
        self.r_min, self.r_max, self.max_phase = r_min, r_max, max_phase
        self.nu_log = nn.Parameter(torch.empty(state_size))
        self.theta_log = nn.Parameter(torch.empty(state_size))
        self.gamma_log = nn.Parameter(torch.empty(state_size))
        self.b_real = nn.Parameter(torch.empty(state_size, d_model))
        self.b_imag = nn.Parameter(torch.empty(state_size, d_model))
        self.c_real = nn.Parameter(torch.empty(d_model, state_size))
        self.c_imag = nn.Parameter(torch.empty(d_model, state_size))
        self.d = nn.Parameter(torch.empty(d_model))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The paper's init: eigenvalues uniform on the ring r_min <= |lambda| <= r_max, phases in [0, max_phase]."""
        n, h = self.state_size, self.d_model
        radius = torch.sqrt(torch.rand(n) * (self.r_max ** 2 - self.r_min ** 2) + self.r_min ** 2)
        self.nu_log.copy_(torch.log(-torch.log(radius)))
        self.theta_log.copy_(torch.log((torch.rand(n) * self.max_phase).clamp(min=1e-4)))
        self.gamma_log.copy_(0.5 * torch.log(1 - radius ** 2))
        for weight, fan_in in ((self.b_real, 2 * h), (self.b_imag, 2 * h), (self.c_real, n), (self.c_imag, n)):
            weight.normal_().div_(math.sqrt(fan_in))
        self.d.normal_()

    def decay(self) -> torch.Tensor:
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def forward(self, u: torch.Tensor, x0: torch.Tensor, keep: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        b = torch.complex(self.b_real, self.b_imag) * torch.exp(self.gamma_log).unsqueeze(-1)
        driven = torch.complex(u, torch.zeros_like(u)) @ b.transpose(0, 1)  # (T, B, N)
        decay = self.decay() * keep.unsqueeze(-1).to(driven.dtype)
        states = linear_scan(decay, driven, x0)
        c = torch.complex(self.c_real, self.c_imag)
        y = (states @ c.transpose(0, 1)).real + self.d * u
        return y, states


class LRUBlock(nn.Module):
    """Pre-norm residual block: x + GLU(GELU(LRU(LayerNorm(x)))), as in the LRU paper's deep model."""

    def __init__(self, d_model: int, state_size: int):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.lru = LRU(d_model, state_size)
        self.glu = nn.Linear(d_model, 2 * d_model)

    def forward(self, x, x0, keep):
        y, states = self.lru(self.norm(x), x0, keep)
        return x + nn.functional.glu(self.glu(nn.functional.gelu(y)), dim=-1), states


class LRUCore(FlatStateStep, nn.Module):
    """input projection -> `num_layers` LRU blocks -> LayerNorm.

    forward(inputs (T, B, input_size), state (L, B, N) complex64 or None, first (T, B) bool or None)
    -> (outputs (T, B, d_model), new state (L, B, N)). Each layer's state is zeroed before a step where
    `first`. Flat form for Sample Factory: (B, state_size) float32 with state_size = 2 L N (real, imag).
    """

    def __init__(self, input_size: int, d_model: int = 256, state_size: int = 256, num_layers: int = 2):
        super().__init__()
        self.input_size, self.d_model, self.num_layers, self.lru_state_size = input_size, d_model, num_layers, state_size
        self.input_projection = nn.Linear(input_size, d_model)
        self.layers = nn.ModuleList(LRUBlock(d_model, state_size) for _ in range(num_layers))
        # Output gain starts at 0.1: heads then see features of an LSTM's scale at init and the first policy is
        # near uniform. With unit-scale features it was not (entropy 1.47 vs ln 7 = 1.95 on AMaze), and the
        # sparse-reward memory maze was never solved once in 300k steps (measured with GTrXL).
        self.out_norm = nn.LayerNorm(d_model)
        nn.init.constant_(self.out_norm.weight, OUTPUT_GAIN)
        self.out_size: int = d_model
        self.state_size: int = self.flat_state_size(lru_state=state_size, lru_layers=num_layers)

    # networks.core_loading's registry protocol (see LSTMCore); `hidden_size` is d_model.
    @classmethod
    def from_sizes(cls, input_size: int, hidden_size: int, lru_state: int, lru_layers: int,
                   **other_cores_sizes) -> "LRUCore":
        return cls(input_size, d_model=hidden_size, state_size=lru_state, num_layers=lru_layers)

    @staticmethod
    def flat_state_size(lru_state: int, lru_layers: int, **other_cores_sizes) -> int:
        return 2 * lru_layers * lru_state  # real and imaginary parts

    @staticmethod
    def matches_state_dict(state: Dict[str, torch.Tensor]) -> bool:
        return "layers.0.lru.nu_log" in state

    @classmethod
    def sized_from_state_dict(cls, state: Dict[str, torch.Tensor]) -> "LRUCore":
        d_model, input_size = state["input_projection.weight"].shape
        num_layers = len({key.split(".")[1] for key in state if key.startswith("layers.")})
        return cls(input_size, d_model=d_model, state_size=state["layers.0.lru.nu_log"].shape[0], num_layers=num_layers)

    def initial_state(self, batch_size: int) -> torch.Tensor:
        return torch.zeros(self.num_layers, batch_size, self.lru_state_size, dtype=torch.complex64,
                           device=self.input_projection.weight.device)

    def flatten_state(self, state: torch.Tensor) -> torch.Tensor:
        L, B, N = state.shape
        return torch.view_as_real(state).permute(1, 0, 2, 3).reshape(B, 2 * L * N)

    def unflatten_state(self, flat: torch.Tensor) -> torch.Tensor:
        B = flat.shape[0]
        assert flat.shape == (B, self.state_size), (flat.shape, (B, self.state_size))
        pairs = flat.reshape(B, self.num_layers, self.lru_state_size, 2).permute(1, 0, 2, 3).contiguous()
        return torch.view_as_complex(pairs)

    def forward(self, inputs: torch.Tensor, state: Optional[torch.Tensor] = None,
                first: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        T, B = inputs.shape[:2]
        assert inputs.shape == (T, B, self.input_size), (inputs.shape, (T, B, self.input_size))
        state = state if state is not None else self.initial_state(B)
        keep = torch.ones(T, B, device=inputs.device) if first is None else (~first.bool()).float()
        x = self.input_projection(inputs)
        new_state = []
        for layer, x0 in zip(self.layers, state):
            x, states = layer(x, x0, keep)
            new_state.append(states[-1])
        return self.out_norm(x), torch.stack(new_state)
