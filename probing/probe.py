"""Probe networks, the two probing targets, their metrics and constant baselines (Memory Maze paper, Sec. 5).

Walls: the maze layout (N x N cells), one logit per cell, 1 = wall. Cell `y * N + x` of a label row
is `maze_layout[y, x]` of the file (which stores 1 = free), so row 0 is the bottom row (y = 0). As in
the authors' `MapProbeHead`, the walls probe also reads the agent's pose,
`map_coord = [agent_pos / N * 2 - 1, agent_dir]` (4 numbers), concatenated to the features: a memory
need not encode where the agent is to score. Metric: fraction of cells right at a step, averaged
over steps; `walls_seen` averages only over the cells the agent has seen so far (`probing.seen`).

Objects: the agent-centric object vectors `targets_vec` (K x 2, grid units), read from the features
alone (the authors' `GoalsProbe` gets no pose). `objects_mse` is pydreamer's `mse_goals`: squared
error summed over x, y, averaged over objects and steps (grid units squared); `objects_rmse` is its
square root (grid units).
"""
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
import torch
from torch import nn

from evaluation.references import PAPER, PROBING, PROBING_METRICS, PROBING_WINDOW

TARGETS = ("walls", "objects")
LABEL_KEYS = {"walls": "maze_layout", "objects": "targets_vec"}
POSE_KEYS = ("agent_pos", "agent_dir")
POSE_SIZE = 4

# The paper's 9x9 Table 4 (walls %, objects MSE, second half of each episode; evaluation.references holds
# every published number), recorded in each 9x9 result JSON beside ours.
PAPER_9X9 = {"source": f"{PAPER}, Table 4", "window": PROBING_WINDOW,
             **{target: {"metric": PROBING_METRICS[target], **{name: list(value) for name, value in rows.items()}}
                for target, rows in PROBING["9x9"].items()}}


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


def map_coord(agent_pos: np.ndarray, agent_dir: np.ndarray, maze_size: int) -> np.ndarray:
    """(T, 2), (T, 2) grid units / unit vector -> (T, 4) float32: position scaled to [-1, 1], direction."""
    position = np.asarray(agent_pos, np.float32) / float(maze_size) * 2.0 - 1.0
    return np.concatenate([position, np.asarray(agent_dir, np.float32)], axis=-1).astype(np.float32)


def pose_of(episode: Dict[str, np.ndarray]) -> np.ndarray:
    """(T+1, 4) walls-probe pose input of one trajectory."""
    return map_coord(episode["agent_pos"], episode["agent_dir"], episode["maze_layout"].shape[-1])


def labels_of(target: str, episode: Dict[str, np.ndarray]) -> np.ndarray:
    """(T+1, D) float32 targets: walls D = N*N (1 = wall, cell y*N + x), objects D = 2K."""
    array = episode[LABEL_KEYS[target]]
    flat = array.reshape(array.shape[0], -1).astype(np.float32)
    if target == "walls":
        flat = (flat <= 0.5).astype(np.float32)  # the file stores 1 = free
    return flat


def probe_input(target: str, features: np.ndarray, pose: Optional[np.ndarray]) -> np.ndarray:
    """What a target's probe reads: walls gets the pose appended when one is given."""
    if target == "walls" and pose is not None:
        return np.concatenate([features, pose], axis=-1)
    return features


def loss_fn(target: str, prediction: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if target == "walls":
        return nn.functional.binary_cross_entropy_with_logits(prediction, labels)
    return nn.functional.mse_loss(prediction, labels)


def walls_accuracy(logits: np.ndarray, walls: np.ndarray, mask: Optional[np.ndarray] = None) -> np.ndarray:
    """(T, C) logits, (T, C) 1 = wall labels [, (T, C) cells to count] -> (T,) fraction of cells right.

    With a mask, a step with no masked cell gives NaN (pydreamer's `acc_map_seen` likewise divides by
    the mask sum).
    """
    right = ((logits > 0) == (walls > 0.5)).astype(np.float64)
    if mask is None:
        return right.mean(axis=1)
    mask = mask.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (right * mask).sum(axis=1) / mask.sum(axis=1)


def objects_squared_error(prediction: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(T, 2K), (T, 2K) grid units -> (T,) squared distance summed over x, y, averaged over objects."""
    squared = (np.asarray(prediction, np.float64) - vectors) ** 2
    return squared.reshape(squared.shape[0], -1, 2).sum(-1).mean(-1)


def score(target: str, prediction: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-step metric: walls -> fraction of cells right (prediction = logits); objects -> squared error."""
    if target == "walls":
        return walls_accuracy(prediction, labels)
    return objects_squared_error(prediction, labels)


@dataclass
class ConstantPredictor:
    """The best input-independent prediction, fitted on the train split.

    Walls: the majority value of each cell (as a logit of +-1); objects: the mean vector.
    """

    value: np.ndarray

    @classmethod
    def from_mean(cls, target: str, mean: np.ndarray) -> "ConstantPredictor":
        if target == "walls":
            return cls(value=np.where(mean > 0.5, 1.0, -1.0).astype(np.float32))
        return cls(value=np.asarray(mean, np.float32))

    @classmethod
    def fit(cls, target: str, train_labels: np.ndarray) -> "ConstantPredictor":
        return cls.from_mean(target, train_labels.mean(axis=0))

    def predict(self, length: int) -> np.ndarray:
        return np.broadcast_to(self.value, (length, self.value.shape[0]))
