"""The IMPALA ResNet image encoder ("deep" IMPALA network), the torso of SEED RL's DMLab agent."""
from typing import Sequence

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """relu -> conv3x3 -> relu -> conv3x3, added to the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class ResNetStage(nn.Module):
    """conv3x3 -> max-pool 3x3 stride 2 (halves the side) -> residual blocks."""

    def __init__(self, in_channels: int, channels: int, num_blocks: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(num_blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.pool(self.conv(x)))


class ResNetEncoder(nn.Module):
    """Stages of (16, 32, 32) channels with 2 residual blocks each, relu, flatten, linear 256, relu.

    The layout of google-research/seed_rl `dmlab/networks.py` (`ImpalaDeep._torso`), the agent whose
    DMLab-30 settings the Memory Maze paper's IMPALA baseline starts from (arXiv 2210.13383v1,
    Table E.2). PyTorch's symmetric pool padding replaces TensorFlow's 'same' (equal output sizes).

    Input: (B, C, H, W) float in [0, 1] (`networks.preprocess_frames`), leading dims beyond B are
    flattened in and restored. Output: (..., out_size).
    """

    def __init__(self, in_channels: int = 3, image_size: int = 64, channels: Sequence[int] = (16, 32, 32),
                 num_blocks: int = 2, out_features: int = 256):
        super().__init__()
        stages, previous = [], in_channels
        for width in channels:
            stages.append(ResNetStage(previous, width, num_blocks))
            previous = width
        self.stages = nn.Sequential(*stages)
        with torch.no_grad():
            self.conv_out_size = int(self.stages(torch.zeros(1, in_channels, image_size, image_size)).numel())
        self.projection = nn.Sequential(nn.Linear(self.conv_out_size, out_features), nn.ReLU())
        self.in_channels, self.image_size = in_channels, image_size
        self.channels, self.num_blocks = tuple(channels), num_blocks
        self.out_size: int = out_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        lead = images.shape[:-3]
        assert images.shape[-3:] == (self.in_channels, self.image_size, self.image_size), (
            images.shape, (self.in_channels, self.image_size, self.image_size))
        # Channels-last runs this stack of 3x3 convs ~2x faster on a CPU, for rollout batches and
        # learner batches alike (benchmarks/encoder_cost.py); the layout changes no logical value.
        x = images.reshape(-1, *images.shape[-3:]).contiguous(memory_format=torch.channels_last)
        x = self.stages(x)
        x = self.projection(torch.relu(x).flatten(1))
        return x.reshape(*lead, self.out_size)
