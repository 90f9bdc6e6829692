"""The Dreamer agent: world model + actor-critic, their optimizers, one training step, and acting."""
from typing import Any, Dict, Optional

import numpy as np
import torch
import torch.nn.functional as F

from dreamer.behavior import ActorCritic
from dreamer.observations import ObsSpec
from dreamer.rssm import State
from dreamer.world_model import WorldModel


def _adam(module: torch.nn.Module, lr: float, eps: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam with decoupled weight decay: each step removes the fraction `weight_decay` of every weight.

    torch's AdamW multiplies its weight_decay by the learning rate (w -= lr * wd * w), so 1e-6 there
    decays by ~2e-10 per step; dividing by lr makes the number mean what DreamerV2's does (w *= 1 - wd).
    """
    return torch.optim.AdamW(module.parameters(), lr=lr, eps=eps, weight_decay=weight_decay / lr)


class Dreamer:
    """World model and actor-critic with their optimizers. Keyword arguments: the `agent` group of
    dreamer.config.GROUPS, and one dict per group it passes on (dreamer.config.agent_kwargs(cfg))."""

    def __init__(self, spec: ObsSpec, num_actions: int, device: torch.device, *, world_model: Dict[str, Any],
                 world_model_loss: Dict[str, Any], behavior: Dict[str, Any], behavior_loss: Dict[str, Any],
                 model_lr: float, actor_lr: float, critic_lr: float, adam_eps: float, weight_decay: float,
                 grad_clip: float, amp: bool, slow_critic_every: int):
        self.device = device
        self.world_model_loss, self.behavior_loss = dict(world_model_loss), dict(behavior_loss)
        self.grad_clip, self.slow_critic_every = grad_clip, slow_critic_every
        self.world_model = WorldModel(spec, num_actions, **world_model).to(device)
        self.behavior = ActorCritic(self.world_model.feature_size, num_actions, **behavior).to(device)
        self.model_opt = _adam(self.world_model, model_lr, adam_eps, weight_decay)
        self.actor_opt = _adam(self.behavior.actor, actor_lr, adam_eps, weight_decay)
        self.critic_opt = _adam(self.behavior.critic, critic_lr, adam_eps, weight_decay)
        self.grad_steps = 0
        # bf16 autocast on CUDA only (no loss scaling needed for bf16); CPU autocast is slower there.
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=bool(amp) and device.type == "cuda")
        self.carry: Optional[State] = None  # TBTT: posterior at the end of the previous batch, per slot

    def _step(self, optimizer: torch.optim.Optimizer, module: torch.nn.Module, loss: torch.Tensor) -> float:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(module.parameters(), self.grad_clip)
        optimizer.step()
        return float(norm)

    def train_step(self, batch: Dict[str, torch.Tensor], fresh: Optional[np.ndarray] = None) -> Dict[str, float]:
        """One gradient step of world model, actor and critic on a replay batch of (T, B, ...) tensors.

        fresh (B,) bool: with TBTT, the slots whose sequence does not continue the previous batch's
        (they start from the zero state); None: every slot starts fresh (no TBTT).
        """
        B = batch["first"].shape[1]
        state = None
        if fresh is not None and self.carry is not None and self.carry.deter.shape[0] == B:
            keep = torch.as_tensor(~fresh, device=self.device).float()
            state = self.carry.map(lambda x: x * keep.view(-1, *[1] * (x.dim() - 1)))
        with self.autocast:
            loss, posts, metrics = self.world_model.loss(batch, state, **self.world_model_loss)
        metrics["world_model/grad_norm"] = self._step(self.model_opt, self.world_model, loss)
        # Detached: the next batch's gradients stop at its first step (truncated BPTT).
        self.carry = posts.map(lambda x: x[-1].detach().float()) if fresh is not None else None

        start = posts.map(lambda x: x.detach().float().flatten(0, 1))
        with self.autocast:
            losses = self.behavior.loss(self.world_model, start, batch["terminal"].flatten(0, 1), **self.behavior_loss)
        metrics["train/actor_grad_norm"] = self._step(self.actor_opt, self.behavior.actor, losses["actor_loss"])
        metrics["train/critic_grad_norm"] = self._step(self.critic_opt, self.behavior.critic, losses["critic_loss"])
        metrics.update({f"train/{key}": float(value.detach()) for key, value in losses.items()})
        self.grad_steps += 1
        if self.grad_steps % self.slow_critic_every == 0:
            self.behavior.update_slow_critic()
        return metrics

    def state_dict(self) -> dict:
        return {"world_model": self.world_model.state_dict(), "behavior": self.behavior.state_dict(),
                "model_opt": self.model_opt.state_dict(), "actor_opt": self.actor_opt.state_dict(),
                "critic_opt": self.critic_opt.state_dict(), "grad_steps": self.grad_steps}

    def load_state_dict(self, state: dict) -> None:
        self.world_model.load_state_dict(state["world_model"])
        self.behavior.load_state_dict(state["behavior"])
        for name in ("model_opt", "actor_opt", "critic_opt"):
            getattr(self, name).load_state_dict(state[name])
        self.grad_steps = state["grad_steps"]


class Actor:
    """Acts in `num_envs` envs at once, carrying each env's posterior state and previous action."""

    def __init__(self, world_model: WorldModel, behavior: ActorCritic, num_envs: int, greedy: bool = False,
                 seed: Optional[int] = None):
        self.world_model, self.behavior, self.greedy = world_model, behavior, greedy
        self.device = next(world_model.parameters()).device
        self.num_actions = world_model.num_actions
        self.state = world_model.initial(num_envs)
        self.prev_action = torch.zeros(num_envs, self.num_actions, device=self.device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63))

    @torch.no_grad()
    def act(self, obs: Dict[str, np.ndarray], first: np.ndarray) -> np.ndarray:
        """obs: stored-format arrays with a leading (N,) dim; first (N,) bool -> actions (N,) int64."""
        tensors = {key: torch.as_tensor(value, device=self.device) for key, value in obs.items()}
        first_t = torch.as_tensor(first, device=self.device)
        embed = self.world_model.codec.embed(tensors)
        rssm = self.world_model.rssm
        state, prev_action = rssm.reset(self.state, self.prev_action, first_t)
        self.state, _ = rssm.obs_step(state, prev_action, embed)
        logits = self.behavior.actor(rssm.features(self.state))
        if self.greedy:
            actions = logits.argmax(-1)
        else:
            actions = torch.multinomial(logits.softmax(-1), 1, generator=self.generator).squeeze(-1)
        self.prev_action = F.one_hot(actions, self.num_actions).float()
        return actions.cpu().numpy()


def batch_to_tensors(batch: Dict[str, np.ndarray], num_actions: int, device: torch.device) -> Dict[str, torch.Tensor]:
    """Replay arrays -> tensors; actions become one-hot, the -1 of first steps an all-zero row."""
    out = {key: torch.as_tensor(value, device=device) for key, value in batch.items() if key != "action"}
    action = torch.as_tensor(batch["action"].astype(np.int64), device=device)
    out["action"] = F.one_hot(action.clamp(min=0), num_actions).float() * (action >= 0).float()[..., None]
    return out
