"""Memory ablation: the same agent with and without its LSTM, 3 seeds, on AMaze and Memory Maze 9x9.

    python -m sample_factory.launcher.run --run=launcher.memory_ablation --backend=processes --max_parallel=2
"""
from sample_factory.launcher.run_description import Experiment, ParamGrid, RunDescription

from launcher.common import TRAIN_COMMAND, budget

SEEDS = [1, 2, 3]

RUN_DESCRIPTION = RunDescription(
    "memory_ablation",
    experiments=[
        Experiment("amaze", f"{TRAIN_COMMAND} --env=amaze_13x13 --train_for_env_steps={budget(2_000_000)}",
                   ParamGrid([("use_rnn", [True, False]), ("seed", SEEDS)]).generate_params(randomize=False)),
        Experiment("memory_9x9", f"{TRAIN_COMMAND} --env=memory_9x9 --train_for_env_steps={budget(100_000_000)}",
                   ParamGrid([("use_rnn", [True, False]), ("seed", SEEDS)]).generate_params(randomize=False)),
    ],
)
