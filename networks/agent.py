"""The whole recurrent agent (encoder -> LSTM core -> heads) as one plain module, for probing and replay."""
from typing import Optional, Tuple

import torch
from torch import nn

from networks.core import LSTMCore, State
from networks.encoder import ConvEncoder, preprocess_frames
from networks.heads import PolicyValueHeads


class RecurrentAgent(nn.Module):
    """encoder -> core (None: the memory-less ablation) -> heads.

    forward(frames (T, B, H, W, 3) uint8, state, first (T, B) bool) ->
    (logits (T, B, A), values (T, B), features (T, B, F), new state). `features` is the core's output,
    the memory representation that probes read.
    """

    def __init__(self, encoder: ConvEncoder, core: Optional[LSTMCore], heads: PolicyValueHeads):
        super().__init__()
        self.encoder, self.core, self.heads = encoder, core, heads
        self.out_size: int = core.out_size if core is not None else encoder.out_size

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(T, B, H, W, 3) uint8 -> (T, B, encoder.out_size); subclasses take other observations."""
        return self.encoder(preprocess_frames(frames))

    def forward(self, frames, state: Optional[State] = None,
                first: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, Optional[State]]:
        embedded = self.encode(frames)
        if self.core is not None:
            features, state = self.core(embedded, state, first)
        else:
            features = embedded
        logits, values = self.heads(features)
        return logits, values, features, state
