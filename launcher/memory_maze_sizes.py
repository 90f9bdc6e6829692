"""The paper's protocol: 5 seeds x the 4 Memory Maze sizes at 100M env steps each.

    python -m sample_factory.launcher.run --run=launcher.memory_maze_sizes --backend=processes --max_parallel=1
"""
from sample_factory.launcher.run_description import Experiment, ParamGrid, RunDescription

from launcher.common import TRAIN_COMMAND, budget

SEEDS = [1, 2, 3, 4, 5]
ENVS = ["memory_9x9", "memory_11x11", "memory_13x13", "memory_15x15"]

_params = ParamGrid([("env", ENVS), ("seed", SEEDS)])

RUN_DESCRIPTION = RunDescription(
    "memory_maze_sizes",
    experiments=[Experiment("impala_lstm", f"{TRAIN_COMMAND} --train_for_env_steps={budget(100_000_000)}",
                            _params.generate_params(randomize=False))],
)
