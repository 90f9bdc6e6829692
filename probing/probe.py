"""Probe networks, the two probing targets, their metrics and constant baselines (Memory Maze paper, Sec. 5).

Walls: the maze layout (N x N cells, wall / no wall), one logit per cell; metric: per-cell accuracy.
Objects: the agent-centric object vectors `targets_vec` (K x 2); metric: squared distance summed over
x, y and averaged over objects (pydreamer's `mse_goals`, the paper's Objects MSE).
"""
from dataclasses import dataclass
from typing import Dict

import numpy as np
import torch
from torch import nn

TARGETS = ("walls", "objects")
LABEL_KEYS = {"walls": "maze_layout", "objects": "targets_vec"}

# The paper's 9x9 numbers (Table 3): constant baseline / RSSM (TBTT) / supervised oracle.
PAPER_9X9 = {
    "walls": {"metric": "accuracy", "constant": 0.808, "rssm_tbtt": 0.940, "supervised_oracle": 0.997},
    "objects": {"metric": "mse", "constant": 4.9, "rssm_tbtt": 2.5, "supervised_oracle": 0.5},
}


class ProbeMLP(nn.Module):
    """The paper's probe: an MLP of `layers` hidden layers of `hidden` units, LayerNorm and ELU."""

    def __init__(self, *, in_features: int, out_features: int, hidden: int = 1024, layers: int = 4):
        super().__init__()
        blocks, width = [], in_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.ELU()]
            width = hidden
        blocks.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*blocks)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


def labels_of(target: str, episode: Dict[str, np.ndarray]) -> np.ndarray:
    """(T+1, D) float32 regression/classification targets of one trajectory."""
    array = episode[LABEL_KEYS[target]]
    flat = array.reshape(array.shape[0], -1).astype(np.float32)
    if target == "walls":
        # The file stores 1 = free cell; the probe predicts 1 = wall, the paper's "Walls".
        flat = (flat <= 0.5).astype(np.float32)
    return flat


def loss_fn(target: str, prediction: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if target == "walls":
        return nn.functional.binary_cross_entropy_with_logits(prediction, labels)
    return nn.functional.mse_loss(prediction, labels)


def score(target: str, prediction: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-step metric: walls -> fraction of cells right (prediction = logits); objects -> MSE."""
    if target == "walls":
        return ((prediction > 0) == (labels > 0.5)).mean(axis=1)
    squared = (prediction - labels) ** 2
    return squared.reshape(squared.shape[0], -1, 2).sum(-1).mean(-1)


@dataclass
class ConstantPredictor:
    """The best input-independent prediction, fitted on the train split.

    Walls: the majority value of each cell (as a logit of +-1); objects: the mean vector.
    """

    value: np.ndarray

    @classmethod
    def fit(cls, target: str, train_labels: np.ndarray) -> "ConstantPredictor":
        mean = train_labels.mean(axis=0)
        if target == "walls":
            return cls(value=np.where(mean > 0.5, 1.0, -1.0).astype(np.float32))
        return cls(value=mean.astype(np.float32))

    def predict(self, length: int) -> np.ndarray:
        return np.broadcast_to(self.value, (length, self.value.shape[0]))
