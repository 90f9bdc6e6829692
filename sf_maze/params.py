"""Our command-line flags (prefixed `maze_`) and our defaults for Sample Factory's own flags."""
import argparse
from typing import Dict

import psutil
import torch

from common.cli import parse_bool
from common.processes import usable_cpus

# Memory measured inside a real training run (benchmarks/worker_memory.py --envs 1 4, memory_9x9,
# the paper's recipe, one rollout worker, after 60 s): worker USS 0.63 / 1.37 GiB with 1 / 4 fast
# envs, i.e. 0.25 GiB per env on top of 0.38 (0.49 per env before the fast env returned each
# episode's freed model to the OS). Main + learner + inference: 4.36 GiB USS in the seed-3 run of the
# paper's agent at 1.3M frames (memory_9x9, bfloat16 learner, 2 workers), the learner 3.94 of it: the
# 3200-frame batch of 64x64 frames and the ResNet's activations, a heap it keeps between batches
# (--maze_learner_keep_heap). A float32 learner (a CPU without bfloat16) holds ~1.8 GiB more: the
# encoder's learner step alone peaks at 5.31 against 3.55 GiB with a kept heap (one process, 3200
# frames). Rounded up from that.
ENV_GIB = 0.3  # one more env in a worker
WORKER_GIB = 0.4  # a worker process with torch, MuJoCo and its buffers, before its envs
LEARNER_GIB = 6.0  # main process, learner and inference worker together
MEMORY_HEADROOM = 0.8  # leave a fifth of the free memory to the system and the page cache
# 8 envs per worker: the paper's 128 parallel envs (Table E.2) on 16 cores, and on a CPU-only machine
# inference requests of 4 frames instead of 2, which cost less per frame: training 1.08x against 4
# per worker over five runs each, 16 per worker 1.06x (benchmarks/train_fps.py, docs/results/throughput.md).
ENVS_PER_WORKER = 8


def machine_defaults(cpus: int, available_gib: float) -> Dict[str, int]:
    """Rollout workers and envs per worker for a machine: one worker per core (the env steps on the
    CPU are the bottleneck, the learner waits on them), ENVS_PER_WORKER each (two splits, so a worker
    steps one half while inference runs on the other), fewer when the free memory would not hold them."""
    num_workers, envs = max(1, cpus), ENVS_PER_WORKER

    def needed(workers: int, envs_per_worker: int) -> float:
        return LEARNER_GIB + workers * (WORKER_GIB + envs_per_worker * ENV_GIB)

    budget = MEMORY_HEADROOM * available_gib
    while envs > 2 and needed(num_workers, envs) > budget:
        envs //= 2
    while num_workers > 1 and needed(num_workers, envs) > budget:
        num_workers -= 1
    return dict(num_workers=num_workers, num_envs_per_worker=envs, worker_num_splits=2)


ENCODERS = ("resnet", "cnn")
# What a run's config.json without the key meant: the agent before the paper's recipe, trained in
# float32, so that older runs resume and evaluate with the network and the learner they trained with.
LEGACY_DEFAULTS = dict(maze_encoder="cnn", maze_last_action_reward=False, maze_vtrace_lambda=1.0,
                       maze_normalize_advantages=True, maze_learner_bf16=False)


def parse_bf16_choice(value):
    """--maze_learner_bf16's text: "auto", or what parse_bool reads."""
    if str(value).lower() == "auto":
        return "auto"
    try:
        return parse_bool(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected True, False or auto, got {value!r}") from None


def add_maze_args(parser) -> None:
    p = parser
    p.add_argument("--maze_reference_impl", default=False, type=parse_bool,
                   help="Use the unmodified memory-maze package code instead of our bit-identical fast env")
    p.add_argument("--maze_encoder", default="resnet", choices=ENCODERS,
                   help="Image encoder: resnet (the IMPALA ResNet of SEED RL's DMLab agent, 16/32/32 channels) or "
                        "cnn (DreamerV2's four stride-2 convs, this repo's agent before the paper's recipe)")
    p.add_argument("--maze_cnn_depth", default=32, type=int, help="cnn encoder: channels of the first conv layer (x1, x2, x4, x8)")
    p.add_argument("--maze_cnn_out_size", default=256, type=int, help="Size of the encoder's output projection")
    p.add_argument("--maze_last_action_reward", default=True, type=parse_bool,
                   help="Feed the core the one-hot last action and the clipped last reward beside the image "
                        "embedding, as IMPALA does (Memory Maze envs; False: the image embedding alone)")
    p.add_argument("--maze_vtrace_lambda", default=0.95, type=float,
                   help="V-trace lambda: each trace coefficient c_s is lambda * min(c_bar, rho_s) (Espeholt et al. "
                        "2018, Remark 2; the paper's 'lambda-target parameter', Table E.2); 1 is Sample Factory's V-trace")
    p.add_argument("--maze_normalize_advantages", default=False, type=parse_bool,
                   help="Standardise the advantages in every minibatch, as Sample Factory always does; IMPALA uses the "
                        "V-trace advantages as they are")
    p.add_argument("--maze_learner_bf16", default="auto", type=parse_bf16_choice,
                   help="Run the image encoder's forward and backward in the learner under bfloat16 autocast (training "
                        "1.27x on a CPU with AVX512-BF16, benchmarks/train_fps.py); acting stays float32. True, False, or "
                        "auto (the default): on where the learner's device computes bfloat16 natively "
                        "(sf_maze.model.bf16_is_native). Learns alike: 1.57 [1.10, 2.03] against float32's 1.53 "
                        "[0.98, 2.09] at 2M frames, same seed (docs/results/memory_learning.md, benchmarks/memory_learning.py --bf16_learner)")
    p.add_argument("--maze_learner_keep_heap", default=True, type=parse_bool,
                   help="The learner process keeps the memory it frees for its next batch instead of returning it "
                        "to the OS (common.heap.keep_freed_heap): glibc maps each large activation fresh and the "
                        "kernel zeroes it again every step, 40%% of the learner's CPU in a memory_9x9 run. Costs "
                        "the learner's peak heap held between steps; False: glibc's default")
    from sf_maze.cores import add_core_args

    add_core_args(p)


def maze_defaults(parser) -> None:
    """Defaults for Memory Maze; each differs from Sample Factory's for the reason given."""
    machine = machine_defaults(usable_cpus(), psutil.virtual_memory().available / 1024 ** 3)
    parser.set_defaults(
        algo="APPO",
        with_vtrace=True,  # IMPALA-style off-policy correction, the paper's baseline
        normalize_returns=False,  # Sample Factory requires this with V-trace
        use_rnn=True,
        rnn_type="lstm",
        rnn_size=256,  # LSTM-256, the paper's IMPALA core
        # The Memory Maze paper's IMPALA schedule (arXiv 2210.13383v1, Table E.2): sequences of 100
        # steps, batches of 32 of them, Adam 2e-4 with epsilon 1e-7, discount 0.99.
        rollout=100,
        recurrence=-1,  # Sample Factory's "= rollout" (V-trace needs recurrence == rollout): --rollout=64 alone works
        batch_size=3200,  # 32 sequences x 100 steps
        num_batches_per_epoch=1,
        num_epochs=1,
        learning_rate=2e-4,
        adam_eps=1e-7,
        gamma=0.99,
        # Memory Maze episodes end only at the time limit, which the agent cannot see: a zero target
        # there would teach it that the maze suddenly stops paying. Bootstrapping the truncated step
        # with the value keeps the target what it would have been; --value_bootstrap=False trains the
        # other way (time limit as a true end, Sample Factory's default).
        value_bootstrap=True,
        exploration_loss_coeff=0.001,  # the paper's tuned entropy loss scale (Table E.2)
        max_grad_norm=40.0,
        obs_scale=255.0,  # uint8 frames -> [0, 1], what networks.ConvEncoder expects
        normalize_input=False,  # fixed pixel scale, so the plain networks reproduce the policy from weights alone
        **machine,  # workers x envs from the cores and free memory (machine_defaults)
        device="gpu" if torch.cuda.is_available() else "cpu",
        train_for_env_steps=100_000_000,  # the paper's budget
        save_every_sec=120,
        keep_checkpoints=3,
        experiment_summaries_interval=20,
        policy_initialization="orthogonal",
    )

