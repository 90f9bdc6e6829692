"""Dreamer presets and optimiser settings: the memory_maze preset is pydreamer's (each value cited), the
old values stay reachable as dreamerv2_atari, weight decay removes the fraction it names, bf16 only on CUDA."""
import re

import pytest
import torch

from dreamer.agent import Dreamer, _adam
from dreamer.config import CONFIG_PATH, agent_kwargs, build
from dreamer.observations import ObsSpec

PYDREAMER = {"gamma": 0.995, "model_lr": 3e-4, "actor_lr": 1e-4, "critic_lr": 1e-4, "grad_clip": 200.0,
             "batch_size": 32, "batch_length": 48, "replay_capacity": 10_000_000, "reset_interval": 200,
             "layer_norm": True, "encoder_act": "elu", "actor_entropy": 1e-3, "horizon": 15, "deter": 2048,
             "stoch": 32, "classes": 32, "hidden": 1000, "tbtt": True, "amp": True}
OLD = {"gamma": 0.99, "model_lr": 2e-4, "actor_lr": 4e-5, "critic_lr": 1e-4, "grad_clip": 100.0, "batch_size": 16,
       "batch_length": 50, "replay_capacity": 2_000_000, "reset_interval": 0, "layer_norm": False,
       "encoder_act": "relu", "hidden": 1024, "deter": 2048, "tbtt": True, "amp": False}


def test_memory_maze_preset_is_pydreamers_and_the_old_one_stays_reachable():
    paper = build({"env": "memory_9x9"})  # the default preset of memory_* envs
    assert paper["preset"] == "memory_maze"
    assert {key: paper[key] for key in PYDREAMER} == PYDREAMER
    old = build({"env": "memory_9x9"}, preset="dreamerv2_atari")
    assert {key: old[key] for key in OLD} == OLD


def test_every_memory_maze_value_cites_pydreamer_at_a_commit():
    with open(CONFIG_PATH) as f:
        text = f.read()
    assert re.search(r"jurgisp/pydreamer config/defaults.yaml at commit [0-9a-f]{40}", text)
    section = text.split("\nmemory_maze:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    for index, line in enumerate(section):
        if re.match(r"^\s+\w+:", line):  # a value: cited on its line or in the comment lines above it
            above = [l for l in section[max(0, index - 3):index] if l.strip().startswith("#")]
            assert "pydreamer" in line or any("pydreamer" in l for l in above), line


def test_weight_decay_removes_the_fraction_it_names_per_step():
    layer = torch.nn.Linear(4, 4)
    before = layer.weight.detach().clone()
    for lr in (3e-4, 1e-2):
        layer.weight.data.copy_(before)
        optimizer = _adam(layer, lr, eps=1e-5, weight_decay=0.01)
        layer.weight.grad = torch.zeros_like(layer.weight)  # no gradient: only the decay moves the weights
        layer.bias.grad = torch.zeros_like(layer.bias)
        optimizer.step()
        assert torch.allclose(layer.weight, 0.99 * before, rtol=1e-6), lr


def test_bf16_autocast_only_on_cuda():
    cfg = build({"env": "amaze_7x7", "amp": "true"}, preset="debug")
    agent = Dreamer(ObsSpec("grid", (5, 5, 3)), 7, torch.device("cpu"), **agent_kwargs(cfg))
    assert agent.autocast.device == "cuda" and not agent.autocast._enabled
    if torch.cuda.is_available():
        assert Dreamer(ObsSpec("grid", (5, 5, 3)), 7, torch.device("cuda"), **agent_kwargs(cfg)).autocast._enabled


@pytest.mark.parametrize("layer_norm", [False, True])
def test_layer_norm_switch_adds_norms_to_rssm_and_mlps(layer_norm):
    cfg = build({"env": "amaze_7x7", "layer_norm": str(layer_norm)}, preset="debug")
    agent = Dreamer(ObsSpec("grid", (5, 5, 3)), 7, torch.device("cpu"), **agent_kwargs(cfg))
    norms = lambda module: sum(isinstance(m, torch.nn.LayerNorm) for m in module.modules())  # noqa: E731
    assert norms(agent.world_model.rssm) == (4 if layer_norm else 1)  # img_in, prior, posterior + the GRU's own
    assert (norms(agent.behavior.actor) > 0) == layer_norm and (norms(agent.world_model.reward_head) > 0) == layer_norm


def test_each_config_group_is_the_keyword_arguments_of_what_it_builds():
    import inspect

    from dreamer.behavior import ActorCritic
    from dreamer.config import GROUPS, defaults
    from dreamer.world_model import WorldModel

    def keywords(function):
        return {name for name, p in inspect.signature(function).parameters.items() if p.kind is p.KEYWORD_ONLY}

    assert keywords(WorldModel.__init__) == set(GROUPS["world_model"])
    assert keywords(WorldModel.loss) == set(GROUPS["world_model_loss"])
    assert keywords(ActorCritic.__init__) == set(GROUPS["behavior"])
    assert keywords(ActorCritic.loss) == set(GROUPS["behavior_loss"])
    assert keywords(Dreamer.__init__) == set(GROUPS["agent"]) | set(GROUPS) - {"agent"}
    assert {key for keys in GROUPS.values() for key in keys} <= set(defaults())
