"""What Dreamer sees of an env and how the world model encodes and reconstructs it.

Two kinds of observation, each stored in replay as a dict of uint8 arrays:
  image (Memory Maze): {"image": (64, 64, 3)} camera frames, networks.ConvEncoder in (conv features,
      no projection), DreamerV2's transposed-conv decoder out, Gaussian (MSE) reconstruction loss.
  grid (AMaze): {"image": (V, V, 3) MiniGrid codes, "agent_dir": ()} the same inputs as the Sample
      Factory agent, networks.GridEncoder in, per-cell categorical logits out, cross-entropy loss.
"""
from dataclasses import asdict, dataclass
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from envs import is_amaze
from networks import ConvEncoder, GridEncoder, preprocess_frames
from networks.grid_encoder import CHANNEL_SIZES, NUM_DIRECTIONS

Obs = Dict[str, torch.Tensor]


@dataclass(frozen=True)
class ObsSpec:
    kind: str  # "image" or "grid"
    image_shape: Tuple[int, int, int]  # (H, W, C) of the "image" key

    @staticmethod
    def from_env(env_name: str, space: spaces.Space) -> "ObsSpec":
        image = space["image"] if isinstance(space, spaces.Dict) else space
        if image.dtype != np.uint8:
            raise ValueError(f"Dreamer stores uint8 observations; {env_name} gives {image.dtype} "
                             "(leave AMaze's normalize_obs off)")
        if is_amaze(env_name):
            return ObsSpec("grid", tuple(image.shape))
        if tuple(image.shape) != (64, 64, 3):
            raise ValueError(f"Dreamer's image decoder makes 64x64x3 frames; {env_name} gives {image.shape}")
        return ObsSpec("image", tuple(image.shape))

    @staticmethod
    def from_dict(data: dict) -> "ObsSpec":
        return ObsSpec(data["kind"], tuple(data["image_shape"]))

    def to_dict(self) -> dict:
        return asdict(self)

    def shapes(self) -> Dict[str, Tuple[int, ...]]:
        """Replay layout: key -> per-step shape (all uint8)."""
        out = {"image": self.image_shape}
        if self.kind == "grid":
            out["agent_dir"] = ()
        return out

    def from_env_obs(self, obs) -> Dict[str, np.ndarray]:
        """One env observation -> the uint8 arrays replay stores."""
        if self.kind == "grid":
            return {"image": np.asarray(obs["image"], dtype=np.uint8), "agent_dir": np.uint8(obs["agent_dir"])}
        image = obs["image"] if isinstance(obs, dict) else obs
        return {"image": np.asarray(image, dtype=np.uint8)}


def mlp(in_size: int, out_size: int, units: int, layers: int, layer_norm: bool = False) -> nn.Sequential:
    """`layers` hidden ELU layers of `units`, then a linear output (DreamerV2's dense heads);
    layer_norm puts a LayerNorm before each ELU (pydreamer's MLP with layer_norm: True)."""
    parts, size = [], in_size
    for _ in range(layers):
        parts += [nn.Linear(size, units), *([nn.LayerNorm(units)] if layer_norm else []), nn.ELU()]
        size = units
    parts.append(nn.Linear(size, out_size))
    return nn.Sequential(*parts)


class ImageDecoder(nn.Module):
    """DreamerV2's decoder: features -> (32*depth, 1, 1) -> transposed convs (5, 5, 6, 6) -> 64x64."""

    def __init__(self, feature_size: int, depth: int = 48, channels: int = 3):
        super().__init__()
        self.depth = depth
        self.linear = nn.Linear(feature_size, 32 * depth)
        self.deconvs = nn.Sequential(
            nn.ConvTranspose2d(32 * depth, 4 * depth, 5, stride=2), nn.ELU(),  # 1 -> 5
            nn.ConvTranspose2d(4 * depth, 2 * depth, 5, stride=2), nn.ELU(),  # 5 -> 13
            nn.ConvTranspose2d(2 * depth, depth, 6, stride=2), nn.ELU(),  # 13 -> 30
            nn.ConvTranspose2d(depth, channels, 6, stride=2),  # 30 -> 64
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        lead = features.shape[:-1]
        x = self.linear(features.reshape(-1, features.shape[-1])).reshape(-1, 32 * self.depth, 1, 1)
        x = self.deconvs(x)
        return x.reshape(*lead, *x.shape[1:])


class ImageCodec(nn.Module):
    def __init__(self, spec: ObsSpec, feature_size: int, depth: int, activation: str):
        super().__init__()
        h, w, c = spec.image_shape
        self.encoder = ConvEncoder(in_channels=c, image_size=h, depth=depth, kernel_size=4, out_features=None)
        if activation == "elu":  # DreamerV2/pydreamer encoders use ELU; same weights either way
            for index, layer in enumerate(self.encoder.convs):
                if isinstance(layer, nn.ReLU):
                    self.encoder.convs[index] = nn.ELU()
        self.decoder = ImageDecoder(feature_size, depth, c)
        self.embed_size = self.encoder.out_size

    def embed(self, obs: Obs) -> torch.Tensor:
        return self.encoder(preprocess_frames(obs["image"]))

    def loss(self, features: torch.Tensor, obs: Obs) -> torch.Tensor:
        """Negative log-likelihood of a unit-variance Gaussian per pixel (up to a constant), summed per image."""
        target = preprocess_frames(obs["image"])
        return 0.5 * (self.decoder(features) - target).pow(2).sum((-3, -2, -1))

    def predict(self, features: torch.Tensor) -> Obs:
        mean = self.decoder(features).clamp(0, 1)
        return {"image": (mean.movedim(-3, -1) * 255).round().to(torch.uint8)}


class GridCodec(nn.Module):
    def __init__(self, spec: ObsSpec, feature_size: int, embed_size: int, units: int, layers: int, layer_norm: bool):
        super().__init__()
        v = spec.image_shape[0]
        self.view = v
        self.encoder = GridEncoder(view_size=v, out_size=embed_size)
        self.decoder = mlp(feature_size, v * v * sum(CHANNEL_SIZES) + NUM_DIRECTIONS, units, layers, layer_norm)
        self.embed_size = self.encoder.out_size

    def embed(self, obs: Obs) -> torch.Tensor:
        return self.encoder(obs["image"], obs["agent_dir"])

    def _logits(self, features: torch.Tensor):
        out = self.decoder(features)
        cells = out[..., :-NUM_DIRECTIONS].unflatten(-1, (self.view, self.view, sum(CHANNEL_SIZES)))
        return cells.split(CHANNEL_SIZES, -1), out[..., -NUM_DIRECTIONS:]

    def loss(self, features: torch.Tensor, obs: Obs) -> torch.Tensor:
        """Cross-entropy of every cell's (object, colour, state) codes plus the heading, summed per step."""
        channel_logits, dir_logits = self._logits(features)
        codes = obs["image"].long()
        total = F.cross_entropy(dir_logits.flatten(0, -2), obs["agent_dir"].long().flatten() & 3,
                                reduction="none").view(dir_logits.shape[:-1])
        for channel, logits in enumerate(channel_logits):
            # Clamped like GridEncoder's inputs, so a foreign code cannot index past the vocabulary.
            target = codes[..., channel].clamp(0, CHANNEL_SIZES[channel] - 1)
            ce = F.cross_entropy(logits.flatten(0, -2), target.flatten(), reduction="none").view(target.shape)
            total = total + ce.sum((-2, -1))
        return total

    def predict(self, features: torch.Tensor) -> Obs:
        channel_logits, dir_logits = self._logits(features)
        image = torch.stack([logits.argmax(-1) for logits in channel_logits], -1).to(torch.uint8)
        return {"image": image, "agent_dir": dir_logits.argmax(-1).to(torch.uint8)}


def make_codec(spec: ObsSpec, feature_size: int, *, cnn_depth: int, encoder_act: str, grid_embed: int, mlp_units: int,
               mlp_layers: int, layer_norm: bool) -> nn.Module:
    """The codec of the spec's kind, from the world model's keyword arguments (dreamer.config.GROUPS)."""
    if spec.kind == "grid":
        return GridCodec(spec, feature_size, grid_embed, mlp_units, mlp_layers, layer_norm)
    return ImageCodec(spec, feature_size, cnn_depth, encoder_act)


# MiniGrid object index -> colour, for showing grid views in videos (unseen black, empty dark, wall
# grey, goal green, agent red; the rest a neutral colour).
_OBJECT_COLORS = np.full((CHANNEL_SIZES[0], 3), 128, dtype=np.uint8)
_OBJECT_COLORS[0], _OBJECT_COLORS[1], _OBJECT_COLORS[2] = (0, 0, 0), (30, 30, 30), (100, 100, 100)
_OBJECT_COLORS[8], _OBJECT_COLORS[10] = (0, 200, 0), (255, 0, 0)
_RED_GOAL = (255, 80, 80)


def to_rgb(spec: ObsSpec, image: np.ndarray, size: int) -> np.ndarray:
    """One stored (H, W, C) uint8 observation -> (size, size, 3) RGB for videos (nearest upscaling)."""
    if spec.kind == "grid":
        objects = np.clip(image[..., 0], 0, CHANNEL_SIZES[0] - 1)
        rgb = _OBJECT_COLORS[objects]
        rgb[(objects == 8) & (image[..., 1] == 0)] = _RED_GOAL  # colour index 0 is red
    else:
        rgb = image
    h, w = rgb.shape[:2]
    scale = max(1, min(size // h, size // w))
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)[:size, :size]
    # Centred on black when the view does not divide `size` (a 5x5 grid view in a 64-pixel tile).
    out = np.zeros((size, size, 3), dtype=np.uint8)
    top, left = (size - rgb.shape[0]) // 2, (size - rgb.shape[1]) // 2
    out[top:top + rgb.shape[0], left:left + rgb.shape[1]] = rgb
    return out
