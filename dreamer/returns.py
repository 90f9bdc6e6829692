"""TD(lambda) returns of imagined trajectories."""
import torch


def lambda_returns(rewards: torch.Tensor, values: torch.Tensor, discounts: torch.Tensor,
                   lambda_: float) -> torch.Tensor:
    """R_t = r_t + d_t * ((1 - lambda) * v_{t+1} + lambda * R_{t+1}), with R_H = v_H.

    rewards (H, B): reward of the transition from state t to t+1; discounts (H, B): gamma times the
    probability that the episode goes on into state t+1; values (H + 1, B): values of states 0..H
    (the last one bootstraps). Returns (H, B): the targets of states 0..H-1.
    """
    H = rewards.shape[0]
    assert rewards.shape == discounts.shape, f"rewards {tuple(rewards.shape)} and discounts {tuple(discounts.shape)} differ"
    assert values.shape == (H + 1, *rewards.shape[1:]), (
        f"values need one more step than rewards (the bootstrap): {(H + 1, *rewards.shape[1:])}, got {tuple(values.shape)}")
    out, last = [], values[H]
    for t in reversed(range(H)):
        last = rewards[t] + discounts[t] * ((1 - lambda_) * values[t + 1] + lambda_ * last)
        out.append(last)
    return torch.stack(out[::-1])
