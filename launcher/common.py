"""What every sweep here shares: the training command and the env-step budget override."""
import os

# The processes backend swaps a leading "python" for its own interpreter (the .venv one); on Slurm the
# sbatch template activates the environment.
TRAIN_COMMAND = "python -m sf_maze.train"


def budget(default: int) -> int:
    """Env steps per run; SF_MAZE_SWEEP_STEPS overrides it (quick checks, CI) without a new module."""
    value = os.environ.get("SF_MAZE_SWEEP_STEPS")
    if value is None:
        return default
    if not value.isdigit():
        raise ValueError(f"SF_MAZE_SWEEP_STEPS={value!r}: expected a positive integer number of env steps")
    return int(value)
