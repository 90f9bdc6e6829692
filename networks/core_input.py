"""What the memory core reads besides the image: the last reward and the last action (IMPALA's input).

Path integration needs them: which way did I just move, did the target just change. SEED RL's DMLab
agent (`dmlab/networks.py`, `ImpalaDeep._torso`) appends the clipped last reward and the one-hot last
action to the encoder's output, in that order; so do we. At an episode's first step both are zero,
as in the Memory Maze offline datasets (`action[0]` and `reward[0]` are zero rows).
"""
import torch


def last_action_reward_size(num_actions: int) -> int:
    """Floats appended to the image embedding: the clipped reward and the one-hot action."""
    return 1 + num_actions


def with_last_action_reward(embedding: torch.Tensor, last_action: torch.Tensor,
                            last_reward: torch.Tensor) -> torch.Tensor:
    """(..., E) embedding, (..., A) one-hot last action, (...,) or (..., 1) last reward ->
    (..., E + 1 + A): [embedding, clip(reward, -1, 1), action]."""
    reward = last_reward.reshape(*embedding.shape[:-1], 1).to(embedding.dtype).clamp(-1.0, 1.0)
    return torch.cat([embedding, reward, last_action.to(embedding.dtype)], dim=-1)
