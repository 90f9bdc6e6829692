"""Input checks run before Sample Factory starts, so bad input gets one clear line, not a trace."""
import glob
import json
import os
import tempfile
from typing import Optional

from envs import list_envs
from networks.checkpoint import read_sf_checkpoint


class InputError(ValueError):
    pass


def check_env_name(name: str) -> None:
    if name.startswith("memory_"):
        from envs.memory_maze import parse_name

        try:
            parse_name(name)
        except ValueError as error:
            raise InputError(str(error)) from None
    elif name not in list_envs():
        raise InputError(f"Unknown env {name!r}. Valid names: {', '.join(list_envs())}")


def check_train_dir(train_dir: str) -> None:
    try:
        os.makedirs(train_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=train_dir):
            pass
    except OSError as error:
        raise InputError(f"--train_dir={train_dir} cannot be written ({error.strerror}); pass a writable directory") from None


def latest_checkpoints(experiment_dir: str):
    """All checkpoint files of an experiment, newest last (Sample Factory's own naming sorts by step)."""
    return sorted(glob.glob(os.path.join(experiment_dir, "checkpoint_p*", "checkpoint_*.pth")))


def check_checkpoint(path: str) -> None:
    try:
        read_sf_checkpoint(path)
    except (ValueError, FileNotFoundError) as error:
        raise InputError(f"{error}. Nothing was changed: move that file away to resume from the previous "
                         "checkpoint, or choose a new --experiment") from None


def read_saved_config(experiment_dir: str) -> Optional[dict]:
    """The experiment's config.json as a dict (None when there is none); InputError when it is unreadable."""
    path = os.path.join(experiment_dir, "config.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as error:
        raise InputError(f"{path} cannot be read ({type(error).__name__}: {error}). Fix or remove it (the run's "
                         "settings then come from the command line), or choose a new --experiment") from None
    if not isinstance(saved, dict):
        raise InputError(f"{path} holds {type(saved).__name__}, not a config: fix or remove it, or choose a new --experiment")
    return saved


def check_model_flags(cfg) -> None:
    """Sample Factory flags our model does not implement, refused before any worker starts."""
    if cfg.use_rnn and (cfg.rnn_type != "lstm" or cfg.rnn_num_layers != 1):
        raise InputError(f"--rnn_type={cfg.rnn_type} --rnn_num_layers={cfg.rnn_num_layers}: sf_maze picks its memory "
                         "with --maze_core=lstm|gru|gtrxl|lru (--rnn_size sets the width); leave Sample Factory's "
                         "--rnn_type and --rnn_num_layers at lstm and 1")
    if cfg.use_rnn and cfg.with_vtrace and cfg.recurrence not in (-1, cfg.rollout):
        raise InputError(f"--recurrence={cfg.recurrence} with --rollout={cfg.rollout}: V-trace needs them equal; "
                         "leave --recurrence out and it follows --rollout")


def check_run_inputs(cfg) -> None:
    check_env_name(cfg.env)
    check_model_flags(cfg)
    check_train_dir(cfg.train_dir)
    experiment_dir = os.path.join(cfg.train_dir, cfg.experiment)
    if cfg.restart_behavior == "resume":
        read_saved_config(experiment_dir)
        checkpoints = [p for p in latest_checkpoints(experiment_dir) if "best" not in os.path.basename(p)]
        if checkpoints:
            check_checkpoint(checkpoints[-1])


def reached_env_steps(experiment_dir: str) -> int:
    """Env steps of the newest checkpoint (0 without one)."""
    checkpoints = [p for p in latest_checkpoints(experiment_dir) if "best" not in os.path.basename(p)]
    if not checkpoints:
        return 0
    return int(read_sf_checkpoint(checkpoints[-1]).get("env_steps", 0))


def env_step_budget(cfg) -> int:
    """The budget Sample Factory will use: the command line's, else the saved config's, else the default."""
    if "train_for_env_steps" in getattr(cfg, "cli_args", {}):
        return int(cfg.train_for_env_steps)
    saved = read_saved_config(os.path.join(cfg.train_dir, cfg.experiment)) or {}
    return int(saved.get("train_for_env_steps", cfg.train_for_env_steps))
