"""The paper's supervised oracle: the agent's CNN + LSTM trained from scratch with the probe losses.

The network (`networks.ConvEncoder` -> `networks.LSTMCore`, the SF agent's sizes) reads the train
split's frames and its two heads (the walls head with the pose input, as the probes) are trained on
the walls and objects labels, with the gradients flowing into the LSTM and the CNN. Training runs
through whole episodes in lockstep batches: `batch` episodes side by side, cut into `sequence`-step
chunks, the LSTM state carried from chunk to chunk and detached between them (truncated BPTT), and
reset when a new set of episodes is loaded. Afterwards the network is frozen and probed like any
other representation (`--model=supervised` in `probing.train`), with fresh probes.
"""
import logging
from typing import Dict, Sequence

import numpy as np
import torch

from probing.dataset import load_episode
from probing.probe import POSE_SIZE, ProbeMLP, labels_of, loss_fn, pose_of

log = logging.getLogger(__name__)

KEYS = ("image", "maze_layout", "agent_pos", "agent_dir", "targets_vec")


def build_network(*, depth: int = 32, features: int = 256, hidden: int = 256, num_actions: int = 6):
    """A RecurrentAgent of the SF agent's default sizes (its policy heads are unused)."""
    from networks import ConvEncoder, LSTMCore, PolicyValueHeads, RecurrentAgent

    encoder = ConvEncoder(in_channels=3, image_size=64, depth=depth, out_features=features)
    core = LSTMCore(input_size=encoder.out_size, hidden_size=hidden)
    return RecurrentAgent(encoder, core, PolicyValueHeads(core.out_size, num_actions))


def _load_batch(files: Sequence[str], rng: np.random.Generator, batch: int) -> Dict[str, torch.Tensor]:
    """(T, B, ...) tensors of `batch` random train episodes (all of one length)."""
    chosen = rng.choice(len(files), size=batch, replace=len(files) < batch)
    episodes = [load_episode(files[i], keys=KEYS) for i in chosen]
    lengths = {len(e["image"]) for e in episodes}
    if len(lengths) != 1:
        raise ValueError(f"supervised oracle needs episodes of one length, got {sorted(lengths)}")
    stack = lambda arrays: torch.from_numpy(np.stack(arrays, axis=1))  # noqa: E731
    return {
        "image": stack([e["image"] for e in episodes]),
        "pose": stack([pose_of(e) for e in episodes]),
        "walls": stack([labels_of("walls", e) for e in episodes]),
        "objects": stack([labels_of("objects", e) for e in episodes]),
    }


def train_supervised(files: Sequence[str], *, updates: int, batch: int = 8, sequence: int = 50, lr: float = 3e-4,
                     hidden: int = 256, layers: int = 4, seed: int = 0, grad_clip: float = 100.0):
    """Trains the oracle for `updates` optimizer steps on `files`; returns the network (eval mode, frozen)."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = build_network()
    first = _load_batch(files, rng, batch)
    cells, objects = first["walls"].shape[-1], first["objects"].shape[-1]
    heads = torch.nn.ModuleDict({
        "walls": ProbeMLP(in_features=network.out_size + POSE_SIZE, out_features=cells, hidden=hidden, layers=layers),
        "objects": ProbeMLP(in_features=network.out_size, out_features=objects, hidden=hidden, layers=layers),
    })
    parameters = [p for p in network.parameters()] + [p for p in heads.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=lr)
    data, cursor, state = first, 0, None
    progress = tqdm(range(updates), desc="supervised oracle", unit="update")
    running = None
    for update in progress:
        if cursor >= data["image"].shape[0]:
            data, cursor, state = _load_batch(files, rng, batch), 0, None
        chunk = slice(cursor, cursor + sequence)
        cursor += sequence
        _, _, features, state = network(data["image"][chunk], state, None)
        state = tuple(s.detach() for s in state)
        walls_input = torch.cat([features, data["pose"][chunk]], dim=-1)
        loss_walls = loss_fn("walls", heads["walls"](walls_input), data["walls"][chunk])
        loss_objects = loss_fn("objects", heads["objects"](features), data["objects"][chunk])
        loss = loss_walls + loss_objects
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
        optimizer.step()
        values = (loss_walls.item(), loss_objects.item())
        running = values if running is None else tuple(0.95 * r + 0.05 * v for r, v in zip(running, values))
        if update % 10 == 0:
            progress.set_postfix(walls=f"{running[0]:.3f}", objects=f"{running[1]:.3f}")
    log.info("supervised oracle: %d updates of %d x %d steps; last losses walls %.4f objects %.4f",
             updates, batch, sequence, *running)
    network.eval()
    for parameter in network.parameters():
        parameter.requires_grad_(False)
    return network


def save_network(network: torch.nn.Module, path: str, settings: Dict) -> None:
    """Atomically, as a state dict plus the settings it was trained with."""
    from common.files import atomic_path

    with atomic_path(path) as tmp:
        torch.save({"state_dict": network.state_dict(), "settings": settings}, tmp)


def load_network(path: str) -> torch.nn.Module:
    saved = torch.load(path, map_location="cpu", weights_only=False)
    network = build_network()
    network.load_state_dict(saved["state_dict"])
    network.eval()
    return network
