"""Sample Factory launcher sweeps: run descriptions (RUN_DESCRIPTION) and the sweep report.

    python -m sample_factory.launcher.run --run=launcher.memory_maze_sizes --backend=processes --max_parallel=2
    python -m launcher.report --train_dir=./train_dir --run=launcher.memory_maze_sizes
"""
