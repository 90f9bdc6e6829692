"""What every memory core with a flat state shares: Sample Factory's one-step rollout call."""
from typing import Optional, Tuple

import torch


class FlatStateStep:
    """Mixin for a core with `flatten_state`/`unflatten_state`, `initial_state`, `input_size` and a
    sequence `forward((T, B, D), state) -> ((T, B, H), state)`."""

    def step(self, inputs: torch.Tensor, state=None,
             first: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, object]:
        """One step, (B, input_size) -> ((B, out_size), new state): Sample Factory's rollout call.

        first[b] zeroes env b's state first, as its sampler zeroes the flat state after a done.
        """
        B = inputs.shape[0]
        assert inputs.shape == (B, self.input_size), (inputs.shape, (B, self.input_size))
        state = state if state is not None else self.initial_state(B)
        if first is not None:
            assert first.shape == (B,), (first.shape, (B,))
            state = self.unflatten_state(self.flatten_state(state).masked_fill(first.bool().unsqueeze(-1), 0.0))
        out, state = self(inputs.unsqueeze(0), state)
        return out.squeeze(0), state
