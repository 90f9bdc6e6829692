"""A small sweep that finishes on a CPU machine: 2 seeds x 2 AMaze sizes.

    python -m sample_factory.launcher.run --run=launcher.amaze_quick --backend=processes --max_parallel=2
"""
from sample_factory.launcher.run_description import Experiment, ParamGrid, RunDescription

from launcher.common import TRAIN_COMMAND, budget

SEEDS = [1, 2]
ENVS = ["amaze_7x7", "amaze_9x9"]

_params = ParamGrid([("env", ENVS), ("seed", SEEDS)])

RUN_DESCRIPTION = RunDescription(
    "amaze_quick",
    experiments=[Experiment("lstm", f"{TRAIN_COMMAND} --train_for_env_steps={budget(300_000)}",
                            _params.generate_params(randomize=False))],
)
