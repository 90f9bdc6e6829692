"""The whole recurrent agent (encoder [+ last action and reward] -> memory core -> heads) as one plain
module, for probing and replay."""
from typing import Dict, Optional, Tuple, Union

import torch
from torch import nn

from networks.lstm_core import LSTMCore, State
from networks.core_input import last_action_reward_size, with_last_action_reward
from networks.encoder import preprocess_frames
from networks.heads import PolicyValueHeads

Observation = Union[torch.Tensor, Dict[str, torch.Tensor]]
Output = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, Optional[State]]


def _at_time(obs: Observation, t: int) -> Observation:
    return {key: value[t] for key, value in obs.items()} if isinstance(obs, dict) else obs[t]


def _time_steps(obs: Observation) -> int:
    return next(iter(obs.values())).shape[0] if isinstance(obs, dict) else obs.shape[0]


class RecurrentAgent(nn.Module):
    """encoder -> core (None: the memory-less ablation) -> heads.

    With `last_action_reward=True` (sf_maze's default for Memory Maze, IMPALA's core input) the
    observation is a dict {"image": frames, "last_action": (..., A) one-hot float, "last_reward":
    (...,) float} (the offline datasets' `image`, `action`, `reward`), and the core reads the image
    embedding with the clipped last reward and the last action appended; otherwise it is the frames.

    forward(frames (T, B, H, W, 3) uint8, state, first (T, B) bool) ->
    (logits (T, B, A), values (T, B), features (T, B, F), new state). `features` is the core's output,
    the memory representation that probes read.
    step(frames (B, H, W, 3) uint8, state, first (B,) bool) -> the same for one step, without T.

    Both reproduce Sample Factory's rollout bit for bit: its inference worker runs the whole
    actor-critic once per env step on the B envs of that step, and float results depend on the
    batch a kernel sees (a conv or linear over T*B rows differs in the last bits from T calls over
    B rows), so forward runs T steps of B frames, never one encoder call over T*B frames. Same B as
    the rollout batch (B=1 for one env) gives Sample Factory's exact logits, values and state.
    forward(..., exact=False) makes one encoder call over all T*B frames instead: ~3x faster for B=1 (feature
    extraction over long episodes), different in the last float bits.
    """

    def __init__(self, encoder: nn.Module, core: Optional[LSTMCore], heads: PolicyValueHeads,
                 last_action_reward: bool = False):
        super().__init__()
        self.encoder, self.core, self.heads = encoder, core, heads
        self.last_action_reward = last_action_reward
        extra = last_action_reward_size(heads.num_actions) if last_action_reward else 0
        self.embed_size: int = encoder.out_size + extra  # the core's input
        self.out_size: int = core.out_size if core is not None else self.embed_size

    def encode(self, obs: Observation) -> torch.Tensor:
        """(..., H, W, 3) uint8 frames (or the dict above) -> (..., embed_size); subclasses take other
        observations."""
        if not self.last_action_reward:
            return self.encoder(preprocess_frames(obs))
        embedding = self.encoder(preprocess_frames(obs["image"]))
        return with_last_action_reward(embedding, obs["last_action"], obs["last_reward"])

    def step(self, obs: Observation, state: Optional[State] = None, first: Optional[torch.Tensor] = None) -> Output:
        """One env step of B envs: (logits (B, A), values (B,), features (B, F), new state).

        first[b] zeroes env b's state before this step (its episode starts here), as Sample
        Factory's sampler does after a done.
        """
        embedded = self.encode(obs)
        if self.core is not None:
            features, state = self.core.step(embedded, state, first)
        else:
            features = embedded
        logits, values = self.heads(features)
        return logits, values, features, state

    def forward(self, obs: Observation, state: Optional[State] = None, first: Optional[torch.Tensor] = None,
                exact: bool = True) -> Output:
        if not exact:
            features = self.encode(obs)
            if self.core is not None:
                features, state = self.core(features, state, first)
            logits, values = self.heads(features)
            return logits, values, features, state
        outputs = []
        for t in range(_time_steps(obs)):
            logits, values, features, state = self.step(_at_time(obs, t), state, None if first is None else first[t])
            outputs.append((logits, values, features))
        logits, values, features = (torch.stack(parts) for parts in zip(*outputs))
        return logits, values, features, state
