"""Encoder for MiniGrid-encoded egocentric views (AMaze), and the whole agent around it."""
from typing import Dict, Optional

import torch
from torch import nn

from networks.agent import RecurrentAgent

# Sizes of the MiniGrid (object, colour, state) vocabularies: objects 0..10 (agent = 10), colours
# 0..5, door states 0..2. Each channel gets its own rows of one embedding table.
CHANNEL_SIZES = (11, 6, 3)
NUM_DIRECTIONS = 4


class GridEncoder(nn.Module):
    """Embed each view cell's (object, colour, state) codes, a 3x3 conv, then mix in the heading.

    minimax's maze student convolves the raw codes (Conv 3x3, 16 channels); the codes are
    categories, not magnitudes, so here each cell's three codes index an embedding table first
    (the sum of three embeddings == a linear map of their one-hots).

    Inputs (leading dims L, e.g. (B,) or (T, B), are flattened in and restored):
      image (*L, V, V, 3): integer codes (any dtype; Sample Factory hands over floats),
      agent_dir (*L,) or (*L, 1): 0..3,
      agent_pos (*L, 2) (x, y) in [0, pos_size), only when built with pos_size > 0.
    Output: (*L, out_size).
    """

    def __init__(self, *, view_size: int = 5, embed_dim: int = 8, conv_channels: int = 16, dir_embed_dim: int = 8,
                 pos_size: int = 0, pos_embed_dim: int = 8, out_size: int = 128):
        super().__init__()
        self.view_size, self.pos_size, self.out_size = view_size, pos_size, out_size
        self.register_buffer("code_offsets", torch.tensor([0, CHANNEL_SIZES[0], sum(CHANNEL_SIZES[:2])]),
                             persistent=False)
        self.cell_embedding = nn.Embedding(sum(CHANNEL_SIZES), embed_dim)
        self.conv = nn.Sequential(nn.Conv2d(embed_dim, conv_channels, 3, padding=1), nn.ReLU(), nn.Flatten())
        self.dir_embedding = nn.Embedding(NUM_DIRECTIONS, dir_embed_dim)
        # x and y share no table: the two axes mean different things in a non-square maze.
        self.pos_embedding = nn.Embedding(2 * pos_size, pos_embed_dim) if pos_size > 0 else None
        in_features = conv_channels * view_size * view_size + dir_embed_dim + (2 * pos_embed_dim if pos_size else 0)
        self.projection = nn.Sequential(nn.Linear(in_features, out_size), nn.ReLU())

    def forward(self, image: torch.Tensor, agent_dir: torch.Tensor,
                agent_pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        v = self.view_size
        assert image.shape[-3:] == (v, v, 3), (image.shape, (v, v, 3))
        lead = image.shape[:-3]
        codes = image.reshape(-1, v, v, 3).long()
        # Clamp: a code outside the vocabulary (a foreign env) must not index another channel's rows.
        codes = torch.minimum(codes, codes.new_tensor(CHANNEL_SIZES) - 1).clamp_(min=0) + self.code_offsets
        cells = self.cell_embedding(codes).sum(dim=-2)  # (N, V, V, E)
        parts = [self.conv(cells.permute(0, 3, 1, 2)), self.dir_embedding(agent_dir.reshape(-1).long() & 3)]
        if self.pos_embedding is not None:
            if agent_pos is None:
                raise ValueError("This GridEncoder was built with pos_size > 0 and needs agent_pos")
            pos = agent_pos.reshape(-1, 2).long().clamp(0, self.pos_size - 1)
            pos = pos + pos.new_tensor([0, self.pos_size])
            parts.append(self.pos_embedding(pos).flatten(1))
        return self.projection(torch.cat(parts, dim=1)).reshape(*lead, self.out_size)


class GridAgent(RecurrentAgent):
    """RecurrentAgent over AMaze observations instead of camera frames.

    forward(obs {image (T, B, V, V, 3), agent_dir (T, B)[, agent_pos (T, B, 2)]}, state, first (T, B))
    -> (logits (T, B, A), values (T, B), features (T, B, F), new state); step() takes the same dict
    without T.
    """

    def encode(self, obs: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.encoder(obs["image"], obs["agent_dir"], obs.get("agent_pos"))
