"""Actor and critic trained purely on trajectories the world model imagines (DreamerV2).

The actor learns by REINFORCE with the slow critic as baseline (DreamerV2's choice for discrete
actions), so imagination itself needs no gradients: the world model is rolled out under no_grad and
the actor and critic are then evaluated on the detached features.
"""
import copy
from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

from dreamer.observations import mlp
from dreamer.returns import lambda_returns
from dreamer.rssm import State, gumbel_max
from dreamer.world_model import WorldModel


class ActorCritic(nn.Module):
    """Keyword arguments: the `behavior` group of dreamer.config.GROUPS; `loss` takes the `behavior_loss` group."""

    def __init__(self, feature_size: int, num_actions: int, *, mlp_units: int, mlp_layers: int, layer_norm: bool):
        super().__init__()
        self.num_actions = num_actions
        self.actor = mlp(feature_size, num_actions, mlp_units, mlp_layers, layer_norm)
        self.critic = mlp(feature_size, 1, mlp_units, mlp_layers, layer_norm)
        self.slow_critic = copy.deepcopy(self.critic).requires_grad_(False)

    def update_slow_critic(self) -> None:
        self.slow_critic.load_state_dict(self.critic.state_dict())

    def policy(self, features: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.actor(features), validate_args=False)

    @torch.no_grad()
    def imagine(self, world_model: WorldModel, start: State, horizon: int):
        """Roll the actor through the prior -> features (H + 1, N, F), actions (H, N) indices."""
        rssm = world_model.rssm
        state, features, actions = start, [rssm.features(start)], []
        for _ in range(horizon):
            action = gumbel_max(self.actor(features[-1]))
            state = rssm.img_step(state, F.one_hot(action, self.num_actions).float())
            features.append(rssm.features(state))
            actions.append(action)
        return torch.stack(features), torch.stack(actions)

    def loss(self, world_model: WorldModel, start: State, start_terminal: torch.Tensor, *, horizon: int, gamma: float,
             return_lambda: float, actor_entropy: float) -> Dict[str, torch.Tensor]:
        """Actor and critic losses from imagined rollouts of every start state (N,) -> dict of scalars."""
        features, actions = self.imagine(world_model, start.map(lambda x: x.detach()), horizon)
        with torch.no_grad():
            rewards = world_model.reward_head(features[1:]).squeeze(-1)  # (H, N): reward on reaching t+1
            discounts = gamma * torch.sigmoid(world_model.discount_head(features[1:]).squeeze(-1))
            slow_values = self.slow_critic(features).squeeze(-1)  # (H + 1, N)
            returns = lambda_returns(rewards, slow_values, discounts, return_lambda)
            # Weight of state t: probability (times gamma^t) that the episode is still going there;
            # a start state that was itself terminal has nothing after it to learn from.
            alive = (~start_terminal.bool()).float()[None]
            weights = torch.cumprod(torch.cat([alive, discounts[:-1]], 0), 0)
        policy = self.policy(features[:-1])
        advantages = returns - slow_values[:-1]
        entropy = policy.entropy()
        actor_loss = -(weights * (policy.log_prob(actions) * advantages + actor_entropy * entropy)).mean()
        values = self.critic(features[:-1]).squeeze(-1)
        critic_loss = (weights * 0.5 * (values - returns).pow(2)).mean()
        return {"actor_loss": actor_loss, "critic_loss": critic_loss, "entropy": entropy.mean().detach(),
                "imagined_return": returns[0].mean(), "imagined_reward": rewards.mean(), "value": values.mean().detach()}
