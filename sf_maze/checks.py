"""Input checks run before Sample Factory starts, so bad input gets one clear line, not a trace."""
import glob
import os
import tempfile

from envs import list_envs


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
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise InputError(
            f"Checkpoint {path} cannot be loaded ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). "
            "Nothing was changed: move that file away to resume from the previous checkpoint, "
            "or choose a new --experiment"
        ) from None
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise InputError(f"Checkpoint {path} has no 'model' entry: not a Sample Factory checkpoint. Move it away or choose a new --experiment")


def check_run_inputs(cfg) -> None:
    check_env_name(cfg.env)
    check_train_dir(cfg.train_dir)
    experiment_dir = os.path.join(cfg.train_dir, cfg.experiment)
    if cfg.restart_behavior == "resume":
        checkpoints = [p for p in latest_checkpoints(experiment_dir) if "best" not in os.path.basename(p)]
        if checkpoints:
            check_checkpoint(checkpoints[-1])


def reached_env_steps(experiment_dir: str) -> int:
    """Env steps of the newest checkpoint (0 without one)."""
    import torch

    checkpoints = [p for p in latest_checkpoints(experiment_dir) if "best" not in os.path.basename(p)]
    if not checkpoints:
        return 0
    return int(torch.load(checkpoints[-1], map_location="cpu", weights_only=True).get("env_steps", 0))


def env_step_budget(cfg) -> int:
    """The budget Sample Factory will use: the command line's, else the saved config's, else the default."""
    import json

    if "train_for_env_steps" in getattr(cfg, "cli_args", {}):
        return int(cfg.train_for_env_steps)
    config_path = os.path.join(cfg.train_dir, cfg.experiment, "config.json")
    if os.path.isfile(config_path):
        with open(config_path) as f:
            return int(json.load(f).get("train_for_env_steps", cfg.train_for_env_steps))
    return int(cfg.train_for_env_steps)
