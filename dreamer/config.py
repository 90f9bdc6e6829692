"""Dreamer settings: presets from configs.yaml (next to this file) plus `--key=value` overrides.

Every key and its one-line doc live in the `defaults` section of configs.yaml; presets change some.
Bad input raises InputError with one line naming what is allowed.
"""
import os
import re
from typing import Any, Dict, List, Optional

import yaml

from common.cli import InputError, parse_bool
from envs import check_env_name

CONFIG_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs.yaml")
# One group of keyword arguments per constructor or loss, as danijar's configs.yaml nests them. Keys
# stay flat on the command line, in presets and in saved configs (so old runs resume); mlp_units,
# mlp_layers and layer_norm size the world model's heads and the actor-critic alike, as they always did.
GROUPS = {
    "world_model": ("deter", "stoch", "classes", "hidden", "cnn_depth", "grid_embed", "mlp_units", "mlp_layers",
                    "layer_norm", "encoder_act"),  # WorldModel(spec, num_actions, **)
    "world_model_loss": ("kl_balance", "kl_free", "kl_scale", "image_scale", "reward_scale",
                         "discount_scale"),  # WorldModel.loss(batch, state, **)
    "behavior": ("mlp_units", "mlp_layers", "layer_norm"),  # ActorCritic(feature_size, num_actions, **)
    "behavior_loss": ("horizon", "gamma", "return_lambda", "actor_entropy"),  # ActorCritic.loss(..., **)
    "agent": ("model_lr", "actor_lr", "critic_lr", "adam_eps", "weight_decay", "grad_clip", "amp",
              "slow_critic_every"),  # Dreamer(spec, num_actions, device, **agent_kwargs(cfg))
}
# Keys that fix network shapes or the replay layout: a resumed run must keep them.
ARCHITECTURE_KEYS = ("env", *GROUPS["world_model"], "envs", "actors", "replay_capacity")
ENCODER_ACTIVATIONS = ("relu", "elu")


def _load_yaml() -> Dict[str, Dict[str, Any]]:
    with open(CONFIG_PATH) as f:
        return yaml.safe_load(f)


def defaults() -> Dict[str, Any]:
    return dict(_load_yaml()["defaults"])


def preset_names() -> List[str]:
    return [name for name in _load_yaml() if name != "defaults"]


def field_docs() -> Dict[str, str]:
    """key -> its doc comment, read off the `defaults` section's lines (yaml drops comments)."""
    docs, inside = {}, False
    with open(CONFIG_PATH) as f:
        for line in f:
            if re.match(r"^\S", line):
                inside = line.startswith("defaults:")
                continue
            match = re.match(r"^\s+(\w+):[^#]*#\s*(.*)$", line)
            if inside and match:
                docs[match.group(1)] = match.group(2).strip()
    return docs


def default_preset(env: str) -> str:
    from envs import is_amaze

    return "amaze" if is_amaze(env) else "memory_maze"




def coerce(key: str, raw: Any, default: Any) -> Any:
    """A command-line string (or yaml value) -> the type of the key's default."""
    if isinstance(default, bool):
        try:
            return parse_bool(raw)
        except ValueError:
            raise InputError(f"--{key} takes True or False, got {raw!r}") from None
    try:
        if isinstance(default, int):
            value = float(raw)  # accepts 1e5 as well as 100000
            if value != int(value):
                raise ValueError
            return int(value)
        if isinstance(default, float):
            return float(raw)
    except (TypeError, ValueError):
        raise InputError(f"--{key} takes a{'n integer' if isinstance(default, int) else ' number'}, got {raw!r}") from None
    return str(raw)


def parse_argv(argv: List[str]) -> Dict[str, str]:
    """['--a=1', '--b', '2'] -> {'a': '1', 'b': '2'} (raw strings; typing happens in build)."""
    out, i = {}, 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--") or arg == "--":
            raise InputError(f"unexpected argument {arg!r}; arguments look like --key=value")
        if "=" in arg:
            key, value = arg[2:].split("=", 1)
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            key, value = arg[2:], argv[i + 1]
            i += 1
        else:
            raise InputError(f"{arg} has no value; write {arg}=VALUE")
        out[key.replace("-", "_")] = value
        i += 1
    return out


def build(overrides: Dict[str, Any], preset: Optional[str] = None, base: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Config = defaults <- preset <- overrides; or base (a saved run's config) <- overrides."""
    table = _load_yaml()
    config = defaults()
    unknown = sorted(set(overrides) - set(config) - {"preset"})
    if unknown:
        raise InputError(f"unknown config key(s) {', '.join('--' + k for k in unknown)}; "
                          f"allowed: {', '.join('--' + k for k in ['preset', *config])}")
    if base is not None:
        config.update(base)
    else:
        env = str(overrides.get("env", config["env"]))
        preset = preset or default_preset(env)
        if preset not in table or preset == "defaults":
            raise InputError(f"unknown preset {preset!r}; presets: {', '.join(preset_names())}")
        config.update(table[preset])
        config["preset"] = preset
    typed_defaults = defaults()
    for key, raw in overrides.items():
        if key in typed_defaults:
            config[key] = coerce(key, raw, typed_defaults[key])
    check_env_name(config["env"], trainable=True)
    if not config["logdir"]:
        config["logdir"] = os.path.join("runs", "dreamer", f"{config['env']}_{config.get('preset', 'custom')}")
    if config["actors"] < 0 or config["train_ratio"] < 0:
        raise InputError(f"--actors and --train_ratio must be >= 0, got {config['actors']} and {config['train_ratio']}")
    if config["encoder_act"] not in ENCODER_ACTIVATIONS:
        raise InputError(f"--encoder_act={config['encoder_act']} is not one of {', '.join(ENCODER_ACTIVATIONS)}")
    rings = config["envs"] * max(config["actors"], 1)
    if config["envs"] < 1 or config["replay_capacity"] // rings < config["batch_length"] + 1:
        raise InputError("need envs >= 1 and replay_capacity // (envs x max(actors, 1)) > batch_length")
    return config


def group(cfg: Dict[str, Any], name: str) -> Dict[str, Any]:
    """The keyword arguments of group `name` (GROUPS) from a flat config."""
    return {key: cfg[key] for key in GROUPS[name]}


def agent_kwargs(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """dreamer.agent.Dreamer's keyword arguments: its own group, and one dict per group it passes on."""
    return {**group(cfg, "agent"), **{name: group(cfg, name) for name in GROUPS if name != "agent"}}


def help_text() -> str:
    docs, values = field_docs(), defaults()
    lines = [f"  --{key}={values[key]!r:<14} {docs.get(key, '')}" for key in values]
    return "Config keys (defaults; presets " + ", ".join(preset_names()) + " change some):\n" + "\n".join(lines)
