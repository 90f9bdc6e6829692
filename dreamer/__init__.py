"""A PyTorch DreamerV2 agent on envs.make_env and the `networks` modules (Memory Maze paper's second baseline).

    python -m dreamer.train --env=memory_9x9            # train (resumes when run again)
    python -m dreamer.enjoy --env=memory_9x9 --logdir=DIR --out=video.mp4
    from dreamer.checkpoint import load_world_model     # probing: load_world_model(logdir).features(...)
    from dreamer.evaluate import evaluate               # evaluate(logdir, env, episodes, seed)

Imports nothing from sample_factory or sf_maze.
"""
