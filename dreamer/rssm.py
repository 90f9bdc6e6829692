"""DreamerV2's recurrent state-space model: a GRU (deterministic) state and categorical latents.

State per env: deter (D,), stoch (S, C) one-hot samples (straight-through gradients), logits (S, C)
of the distribution stoch was drawn from. Features = concat(deter, flattened stoch).
"""
from typing import NamedTuple, Tuple

import torch
import torch.nn.functional as F
from torch import nn


class State(NamedTuple):
    deter: torch.Tensor  # (..., D)
    stoch: torch.Tensor  # (..., S, C)
    logits: torch.Tensor  # (..., S, C)

    def map(self, fn) -> "State":
        return State(*(fn(x) for x in self))

    @staticmethod
    def stack(states, dim: int = 0) -> "State":
        return State(*(torch.stack(parts, dim) for parts in zip(*states)))


class LayerNormGRUCell(nn.Module):
    """DreamerV2's GRU: one linear layer for all gates, layer norm, update gate biased towards keeping h."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.linear = nn.Linear(input_size + hidden_size, 3 * hidden_size, bias=False)
        self.norm = nn.LayerNorm(3 * hidden_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        reset, candidate, update = self.norm(self.linear(torch.cat([x, h], -1))).chunk(3, -1)
        candidate = torch.tanh(torch.sigmoid(reset) * candidate)
        update = torch.sigmoid(update - 1.0)  # -1: start out mostly remembering (DreamerV2)
        return update * candidate + (1.0 - update) * h


def gumbel_max(logits: torch.Tensor) -> torch.Tensor:
    """Class indices drawn from softmax(logits) by the Gumbel-max trick (several times faster than multinomial on CPU)."""
    return (logits - torch.empty_like(logits).exponential_().log()).argmax(-1)


def sample_one_hot(logits: torch.Tensor, sample: bool = True) -> torch.Tensor:
    """One-hot draw (or the mode) of each categorical, with straight-through gradients to the probs."""
    probs = logits.softmax(-1)
    if sample:
        index = gumbel_max(logits)
    else:
        index = logits.argmax(-1)
    one_hot = F.one_hot(index, logits.shape[-1]).to(logits.dtype)
    return one_hot + probs - probs.detach()


def categorical_kl(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """KL(p || q) of (..., S, C) independent categoricals, summed over the S variables -> (...)."""
    assert p_logits.shape == q_logits.shape, f"KL needs equal shapes, got {tuple(p_logits.shape)} vs {tuple(q_logits.shape)}"
    log_p, log_q = p_logits.log_softmax(-1), q_logits.log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum((-2, -1))


def balanced_kl_loss(post_logits: torch.Tensor, prior_logits: torch.Tensor, balance: float = 0.8,
                     free: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """DreamerV2's KL balancing -> (loss, mean KL value).

    The value equals KL(post || prior); `balance` of its gradient moves the prior towards the
    posterior and the rest moves the posterior, so the representation is not regularised towards a
    poorly trained prior. Free nats apply to the batch mean (DreamerV2's free_avg).
    """
    kl_prior = categorical_kl(post_logits.detach(), prior_logits).mean()
    kl_post = categorical_kl(post_logits, prior_logits.detach()).mean()
    if free > 0:
        kl_prior, kl_post = kl_prior.clamp(min=free), kl_post.clamp(min=free)
    loss = balance * kl_prior + (1.0 - balance) * kl_post
    return loss, kl_post.detach()


class RSSM(nn.Module):
    def __init__(self, embed_size: int, num_actions: int, deter: int = 2048, stoch: int = 32, classes: int = 32,
                 hidden: int = 1024, layer_norm: bool = False):
        """layer_norm: LayerNorm before the ELU of the input, prior and posterior layers (pydreamer's
        RSSMCell with layer_norm: True); the GRU is layer-normed either way."""
        super().__init__()
        self.embed_size, self.num_actions = embed_size, num_actions
        self.deter_size, self.stoch_size, self.classes = deter, stoch, classes

        def hidden_layer(in_size: int) -> list:
            return [nn.Linear(in_size, hidden), *([nn.LayerNorm(hidden)] if layer_norm else []), nn.ELU()]

        self.img_in = nn.Sequential(*hidden_layer(stoch * classes + num_actions))
        self.gru = LayerNormGRUCell(hidden, deter)
        self.prior_out = nn.Sequential(*hidden_layer(deter), nn.Linear(hidden, stoch * classes))
        self.post_out = nn.Sequential(*hidden_layer(deter + embed_size), nn.Linear(hidden, stoch * classes))

    @property
    def feature_size(self) -> int:
        return self.deter_size + self.stoch_size * self.classes

    def initial(self, batch_size: int) -> State:
        weight = self.post_out[0].weight
        zeros = weight.new_zeros(batch_size, self.stoch_size, self.classes)
        return State(weight.new_zeros(batch_size, self.deter_size), zeros, zeros.clone())

    @staticmethod
    def features(state: State) -> torch.Tensor:
        return torch.cat([state.deter, state.stoch.flatten(-2)], -1)

    def img_step(self, state: State, action: torch.Tensor, sample: bool = True) -> State:
        """Prior of the next state given `action` (B, A) one-hot."""
        assert action.shape == (state.deter.shape[0], self.num_actions), (
            f"action must be (batch, num_actions) = {(state.deter.shape[0], self.num_actions)}, got {tuple(action.shape)}")
        x = self.img_in(torch.cat([state.stoch.flatten(-2), action], -1))
        deter = self.gru(x, state.deter)
        logits = self.prior_out(deter).unflatten(-1, (self.stoch_size, self.classes))
        return State(deter, sample_one_hot(logits, sample), logits)

    def obs_step(self, state: State, action: torch.Tensor, embed: torch.Tensor,
                 sample: bool = True) -> Tuple[State, State]:
        """(posterior, prior) of the state that `action` led to, where `embed` was observed."""
        prior = self.img_step(state, action, sample)
        logits = self.post_out(torch.cat([prior.deter, embed], -1)).unflatten(-1, (self.stoch_size, self.classes))
        return State(prior.deter, sample_one_hot(logits, sample), logits), prior

    @staticmethod
    def reset(state: State, action: torch.Tensor, first: torch.Tensor) -> Tuple[State, torch.Tensor]:
        """Zero state and previous action where `first` (B,) marks a new episode (no memory leaks across)."""
        keep = (~first.bool()).to(action.dtype)
        return state.map(lambda x: x * keep.view(-1, *[1] * (x.dim() - 1))), action * keep[:, None]

    def observe(self, embed: torch.Tensor, actions: torch.Tensor, first: torch.Tensor, state: State,
                sample: bool = True) -> Tuple[State, State]:
        """Posterior through a sequence -> (posteriors, priors), each field (T, B, ...).

        embed (T, B, E); actions (T, B, A) with actions[t] the action that led to step t; first (T, B).
        """
        T, B = first.shape
        assert embed.shape == (T, B, self.embed_size), f"embed must be (T, B, E) = {(T, B, self.embed_size)}, got {tuple(embed.shape)}"
        assert actions.shape == (T, B, self.num_actions), f"actions must be (T, B, A) = {(T, B, self.num_actions)}, got {tuple(actions.shape)}"
        posts, priors = [], []
        for t in range(T):
            state, action = self.reset(state, actions[t], first[t])
            state, prior = self.obs_step(state, action, embed[t], sample)
            posts.append(state)
            priors.append(prior)
        return State.stack(posts), State.stack(priors)
