"""Train sb3-contrib's RecurrentPPO on one of our envs, for benchmarks/peer_fps.py's comparison.

    python benchmarks/sb3_recurrent_ppo.py --env=memory_9x9 --num_envs=8 --frames=40960

CnnLstmPolicy (NatureCNN, LSTM 256; sb3's defaults otherwise, so the critic has its own LSTM),
a SubprocVecEnv of `envs.make_env(env, seed=i)` for i < num_envs, n_steps 128, minibatch 256,
1 epoch, on the CPU with one torch thread (--torch_threads), as Sample Factory gives each of its
learner and inference processes: torch's default of one thread per core spins against the env
processes (on a loaded 2-core machine learn() ran 8x slower with 2 threads than with 1).
Prints one JSON line: frames trained and seconds spent in learn().
sb3-contrib comes with the `bench` extra (`pip install -e '.[bench]'`; the test lock has it).
"""
import argparse
import functools
import importlib.util
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from common.cli import InputError, check_at_least, input_errors_exit_2  # noqa: E402  (after the path)

# The newest release whose stable-baselines3 accepts this venv's torch 2.13, numpy<2 and gymnasium
# 0.29.1 (its only other dependency, cloudpickle, is already here); checked with pip's dry run.
INSTALL = "pip install 'sb3-contrib==2.9.2'"
# This benchmark's RecurrentPPO settings (benchmarks/peer_learning.py takes the ones the zoo lacks):
# n_steps and batch_size are rl-baselines3-zoo's Atari values; 1 epoch measures throughput, not
# learning; one torch thread, as Sample Factory gives each of its learner and inference processes.
SETTINGS = dict(n_steps=128, batch_size=256, n_epochs=1, lstm_hidden_size=256, device="cpu", torch_threads=1)


def missing_sb3() -> str:
    """'' when sb3-contrib imports here, else the one line that says how to install it."""
    if importlib.util.find_spec("sb3_contrib") is None:
        return f"sb3-contrib is not installed (a benchmark-only dependency): {INSTALL}"
    return ""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="memory_9x9")
    parser.add_argument("--num_envs", type=int, default=8, help="SubprocVecEnv size (one process per env)")
    parser.add_argument("--frames", type=int, default=40960, help="env steps to train for (whole rollouts of n_steps x num_envs)")
    parser.add_argument("--n_steps", type=int, default=SETTINGS["n_steps"])
    parser.add_argument("--batch_size", type=int, default=SETTINGS["batch_size"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch_threads", type=int, default=SETTINGS["torch_threads"], help="torch.set_num_threads in the training process")
    return parser.parse_args(argv)


def train(env_name: str, num_envs: int, frames: int, n_steps: int, batch_size: int, seed: int,
          torch_threads: int = 1) -> dict:
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.vec_env import SubprocVecEnv

    from envs import make_env
    from envs.rendering import ensure_gl_backend

    # Pick the GL backend once here: the env processes inherit MUJOCO_GL instead of each probing.
    ensure_gl_backend()
    torch.set_num_threads(torch_threads)
    vec_env = SubprocVecEnv([functools.partial(make_env, env_name, seed=seed * 1000 + i) for i in range(num_envs)])
    try:
        model = RecurrentPPO("CnnLstmPolicy", vec_env, n_steps=n_steps, batch_size=batch_size,
                             n_epochs=SETTINGS["n_epochs"], policy_kwargs=dict(lstm_hidden_size=SETTINGS["lstm_hidden_size"]),
                             device=SETTINGS["device"], seed=seed, verbose=0)
        start = time.perf_counter()
        model.learn(total_timesteps=frames)
        learn_s = time.perf_counter() - start
        return {"frames": int(model.num_timesteps), "learn_s": learn_s}
    finally:
        vec_env.close()


@input_errors_exit_2("sb3_recurrent_ppo.py")
def main(argv=None) -> int:
    args = parse_args(argv)
    check_at_least(1, num_envs=args.num_envs, frames=args.frames, n_steps=args.n_steps, batch_size=args.batch_size,
                   torch_threads=args.torch_threads)
    from envs import check_env_name

    try:
        check_env_name(args.env, trainable=True)
    except ValueError as error:
        raise InputError(str(error))
    if missing_sb3():
        raise InputError(missing_sb3())
    result = train(args.env, args.num_envs, args.frames, args.n_steps, args.batch_size, args.seed, args.torch_threads)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
