"""Which memory? --maze_core x 3 seeds (and no memory) on AMaze's memory maze and on Memory Maze 9x9.

    python -m sample_factory.launcher.run --run=launcher.memory_cores --backend=processes --max_parallel=1
    python -m launcher.report --train_dir=train_dir --run=launcher.memory_cores

amaze_ood_memory needs memory by construction: the clue beside the start names which of two goals pays,
and it is out of view at the junction, so a memoryless policy solves at most half of the episodes.
The memory_9x9 experiment is the paper's budget (100M frames): one GPU per run.
"""
from sample_factory.launcher.run_description import Experiment, ParamGrid, RunDescription

from launcher.common import TRAIN_COMMAND, budget

SEEDS = [1, 2, 3]
CORES = ["lstm", "gru", "gtrxl", "lru"]


def _grid():
    cores = ParamGrid([("maze_core", CORES), ("seed", SEEDS)]).generate_params(randomize=False)
    no_memory = ParamGrid([("use_rnn", [False]), ("seed", SEEDS)]).generate_params(randomize=False)
    return list(cores) + list(no_memory)


RUN_DESCRIPTION = RunDescription(
    "memory_cores",
    experiments=[
        Experiment("amaze_memory", f"{TRAIN_COMMAND} --env=amaze_ood_memory --train_for_env_steps={budget(5_000_000)}",
                   _grid()),
        Experiment("memory_9x9", f"{TRAIN_COMMAND} --env=memory_9x9 --train_for_env_steps={budget(100_000_000)}",
                   _grid()),
    ],
)
