"""DreamerV2's world model: observation codec + RSSM + reward and discount heads, learned from replay.

A batch is a dict of (T, B, ...) tensors: the observation keys of the ObsSpec ("image" and, for
AMaze, "agent_dir"), "action" (T, B, A) one-hot with action[t] the action that led to step t (zero
where first), "reward" (T, B) received on arriving at step t, "first" (T, B) bool (step t opens an
episode) and "terminal" (T, B) bool (step t ended its episode by a true terminal state, not a time
limit).
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from dreamer.observations import ObsSpec, make_codec, mlp
from dreamer.rssm import RSSM, State, balanced_kl_loss


class WorldModel(nn.Module):
    """Keyword arguments: the `world_model` group of dreamer.config.GROUPS (what shapes the networks);
    the loss weights are `loss`'s (the `world_model_loss` group)."""

    def __init__(self, spec: ObsSpec, num_actions: int, *, deter: int, stoch: int, classes: int, hidden: int,
                 cnn_depth: int, grid_embed: int, mlp_units: int, mlp_layers: int, layer_norm: bool, encoder_act: str):
        super().__init__()
        self.kwargs = dict(deter=deter, stoch=stoch, classes=classes, hidden=hidden, cnn_depth=cnn_depth,
                           grid_embed=grid_embed, mlp_units=mlp_units, mlp_layers=mlp_layers, layer_norm=layer_norm,
                           encoder_act=encoder_act)
        self.spec, self.num_actions = spec, num_actions
        feature_size = deter + stoch * classes
        self.codec = make_codec(spec, feature_size, cnn_depth=cnn_depth, encoder_act=encoder_act, grid_embed=grid_embed,
                                mlp_units=mlp_units, mlp_layers=mlp_layers, layer_norm=layer_norm)
        self.rssm = RSSM(self.codec.embed_size, num_actions, deter, stoch, classes, hidden, layer_norm)
        self.reward_head = mlp(feature_size, 1, mlp_units, mlp_layers, layer_norm)
        self.discount_head = mlp(feature_size, 1, mlp_units, mlp_layers, layer_norm)  # logits of "episode goes on"
        self.feature_size = feature_size

    def init_args(self) -> dict:
        """What dreamer.checkpoint needs to rebuild this module before loading its weights."""
        return {"cfg": dict(self.kwargs), "spec": self.spec.to_dict(), "num_actions": self.num_actions}

    def initial(self, batch_size: int) -> State:
        return self.rssm.initial(batch_size)

    def _obs(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {key: batch[key] for key in self.spec.shapes()}

    def observe(self, batch: Dict[str, torch.Tensor], state: Optional[State] = None,
                sample: bool = True) -> Tuple[State, State]:
        T, B = batch["first"].shape
        for key, shape in self.spec.shapes().items():
            assert tuple(batch[key].shape) == (T, B, *shape), (
                f"batch[{key!r}] must be (T, B, *{shape}) = {(T, B, *shape)}, got {tuple(batch[key].shape)}")
        embed = self.codec.embed(self._obs(batch))
        state = state if state is not None else self.initial(B)
        return self.rssm.observe(embed, batch["action"], batch["first"], state, sample)

    def loss(self, batch: Dict[str, torch.Tensor], state: Optional[State] = None, *, kl_balance: float, kl_free: float,
             kl_scale: float, image_scale: float, reward_scale: float,
             discount_scale: float) -> Tuple[torch.Tensor, State, Dict[str, float]]:
        """-> (loss, posteriors (T, B, ...), metrics). `state`: posterior carried from the previous batch (TBTT)."""
        posts, priors = self.observe(batch, state)
        features = self.rssm.features(posts)
        image_loss = self.codec.loss(features, self._obs(batch)).mean()
        reward_loss = 0.5 * (self.reward_head(features).squeeze(-1) - batch["reward"]).pow(2).mean()
        goes_on = (~batch["terminal"].bool()).float()
        discount_loss = F.binary_cross_entropy_with_logits(self.discount_head(features).squeeze(-1), goes_on)
        kl_loss, kl = balanced_kl_loss(posts.logits, priors.logits, kl_balance, kl_free)
        loss = image_scale * image_loss + reward_scale * reward_loss + discount_scale * discount_loss + kl_scale * kl_loss
        post_entropy = -(posts.logits.log_softmax(-1).exp() * posts.logits.log_softmax(-1)).sum((-2, -1)).mean()
        metrics = {"world_model/loss": loss.item(), "world_model/image_loss": image_loss.item(),
                   "world_model/reward_loss": reward_loss.item(), "world_model/discount_loss": discount_loss.item(),
                   "world_model/kl": kl.item(), "world_model/posterior_entropy": post_entropy.item()}
        return loss, posts, metrics

    @torch.no_grad()
    def features(self, frames: torch.Tensor, actions: torch.Tensor, first: torch.Tensor,
                 agent_dir: Optional[torch.Tensor] = None, sample: bool = False) -> torch.Tensor:
        """The representation probes read: concat(deter, stoch) of the posterior -> (T, B, F).

        frames (T, B, H, W, C) uint8 (AMaze: the (V, V, 3) views, with agent_dir (T, B) too);
        actions (T, B, A) one-hot, actions[t] the action that led to frames[t] (ignored where first);
        first (T, B) bool, True where an episode starts (the state is reset there; step 0 starts
        from the zero state either way). The posterior is carried through the whole sequence;
        sample=False uses each latent's mode, so the same inputs give the same features.
        """
        T, B = frames.shape[:2]
        device = next(self.parameters()).device
        batch = {"image": frames.to(device), "action": actions.to(device).float(), "first": first.to(device).bool()}
        if self.spec.kind == "grid":
            if agent_dir is None:
                raise ValueError("AMaze world models also take agent_dir (T, B)")
            batch["agent_dir"] = agent_dir.to(device)
        assert batch["action"].shape == (T, B, self.num_actions), (
            f"actions must be one-hot (T, B, A) = {(T, B, self.num_actions)}, got {tuple(actions.shape)}")
        posts, _ = self.observe(batch, sample=sample)
        return self.rssm.features(posts)

    @torch.no_grad()
    def open_loop(self, batch: Dict[str, torch.Tensor], context: int, window: int = 0,
                  sample: bool = False) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
        """Predicted observations for a sequence, in windows of `window` steps (0: one window).

        In each window the first `context` steps are observed (reconstructions of the posterior,
        which carries everything seen before the window too) and the rest are imagined open-loop
        from the last observed state with the batch's real actions. The batch should hold one
        episode per column: imagination does not reset at `first`.
        Returns (observations (T, B, ...) uint8, imagined (T,) bool).
        """
        T = batch["first"].shape[0]
        window = window or T
        assert context >= 1 and window >= context, f"need 1 <= context <= window, got context={context}, window={window}"
        posts, _ = self.observe(batch, sample=sample)
        states, imagined = [], []
        for start in range(0, T, window):
            end, observed_end = min(start + window, T), min(start + context, T)
            for t in range(start, observed_end):
                states.append(posts.map(lambda x, t=t: x[t]))
                imagined.append(False)
            state = states[-1]
            for t in range(observed_end, end):
                state = self.rssm.img_step(state, batch["action"][t], sample)
                states.append(state)
                imagined.append(True)
        return self.codec.predict(self.rssm.features(State.stack(states))), torch.tensor(imagined)
