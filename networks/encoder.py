"""CNN image encoder for 64x64 RGB frames (the Memory Maze camera)."""
from typing import Optional

import torch
from torch import nn


class ConvEncoder(nn.Module):
    """Four stride-2 convolutions (DreamerV2's image encoder), optionally projected to `out_features`.

    Input: (B, C, H, W) float in [0, 1] (`preprocess_frames` of uint8 frames), channels first.
    Output: (B, out_size); leading dims beyond B are flattened in and restored, so (B, T, C, H, W)
    gives (B, T, out_size).
    """

    def __init__(self, in_channels: int = 3, image_size: int = 64, depth: int = 32, kernel_size: int = 4,
                 out_features: Optional[int] = 256):
        super().__init__()
        layers, channels = [], in_channels
        for multiplier in (1, 2, 4, 8):
            layers += [nn.Conv2d(channels, depth * multiplier, kernel_size, stride=2), nn.ReLU()]
            channels = depth * multiplier
        layers.append(nn.Flatten())
        self.convs = nn.Sequential(*layers)
        with torch.no_grad():
            self.conv_out_size = int(self.convs(torch.zeros(1, in_channels, image_size, image_size)).shape[1])
        self.projection = None
        if out_features is not None:
            self.projection = nn.Sequential(nn.Linear(self.conv_out_size, out_features), nn.ReLU())
        self.in_channels, self.image_size = in_channels, image_size
        self.out_size: int = out_features if out_features is not None else self.conv_out_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        lead = images.shape[:-3]
        assert images.shape[-3:] == (self.in_channels, self.image_size, self.image_size), (
            images.shape, (self.in_channels, self.image_size, self.image_size))
        x = self.convs(images.reshape(-1, *images.shape[-3:]))
        if self.projection is not None:
            x = self.projection(x)
        return x.reshape(*lead, self.out_size)


def preprocess_frames(frames: torch.Tensor) -> torch.Tensor:
    """(..., H, W, C) uint8 frames, as envs and the offline datasets store them -> (..., C, H, W) in [0, 1].

    Bit for bit what Sample Factory feeds the encoder with --obs_scale=255: a contiguous
    channels-first float32 copy multiplied in place by 1/255 (x / 255 differs in the last bit for
    126 of the 256 byte values, and a channels-last input takes another convolution kernel).
    """
    return frames.movedim(-1, -3).contiguous().to(torch.float32, copy=True).mul_(1.0 / 255.0)
