"""Reading a run folder (any trainer that keeps Sample Factory's layout): its checkpoints, the env
steps reached, its saved config. Reading only: nothing here creates a folder or starts a trainer.
"""
import glob
import os
from typing import List, Optional

from common.cli import InputError

# networks (torch) is imported where used, so listing checkpoints stays cheap.


def latest_checkpoints(experiment_dir: str) -> List[str]:
    """All checkpoint files of an experiment, newest last (Sample Factory's own naming sorts by step)."""
    return sorted(glob.glob(os.path.join(experiment_dir, "checkpoint_p*", "checkpoint_*.pth")))


def read_saved_config(experiment_dir: str) -> Optional[dict]:
    """The experiment's config.json as a dict (None when there is none); InputError when it is unreadable."""
    from networks.checkpoint import read_run_config

    try:
        return read_run_config(experiment_dir)
    except ValueError as error:
        raise InputError(f"{error}. Fix or remove it (the run's settings then come from the command line), "
                         "or choose a new --experiment") from None


def reached_env_steps(experiment_dir: str) -> int:
    """Env steps of the newest checkpoint (0 without one)."""
    from networks.checkpoint import read_sf_checkpoint

    checkpoints = [p for p in latest_checkpoints(experiment_dir) if "best" not in os.path.basename(p)]
    if not checkpoints:
        return 0
    return int(read_sf_checkpoint(checkpoints[-1]).get("env_steps", 0))


def require_folder(path: str, what: str = "folder") -> str:
    """A command that only reads never creates what it was asked to read: a missing folder is one line."""
    if not os.path.isdir(path):
        raise InputError(f"{what} {path} does not exist; pass a folder that holds it")
    return path
