"""Policy and value heads on top of the core's output."""
from typing import Tuple

import torch
from torch import nn


class PolicyValueHeads(nn.Module):
    """Linear policy logits and a linear state value.

    forward((..., input_size)) -> (logits (..., num_actions), value (...)).
    """

    def __init__(self, input_size: int, num_actions: int):
        super().__init__()
        self.policy = nn.Linear(input_size, num_actions)
        self.value = nn.Linear(input_size, 1)
        self.input_size, self.num_actions = input_size, num_actions
        self.out_size: int = num_actions

    def forward(self, features: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.policy(features), self.value(features).squeeze(-1)
