"""Our command-line flags (prefixed `maze_`) and our defaults for Sample Factory's own flags."""
import os

import torch


def add_maze_args(parser) -> None:
    p = parser
    p.add_argument("--maze_reference_impl", default=False, type=_str2bool,
                   help="Use the unmodified memory-maze package code instead of our bit-identical fast env")
    p.add_argument("--maze_cnn_depth", default=32, type=int, help="Channels of the first conv layer (x1, x2, x4, x8)")
    p.add_argument("--maze_cnn_out_size", default=256, type=int, help="Size of the encoder's output projection")
    from sf_maze.cores import add_core_args

    add_core_args(p)


def maze_defaults(parser) -> None:
    """Defaults for Memory Maze; each differs from Sample Factory's for the reason given."""
    cpus = os.cpu_count() or 2
    parser.set_defaults(
        algo="APPO",
        with_vtrace=True,  # IMPALA-style off-policy correction, the paper's baseline
        normalize_returns=False,  # Sample Factory requires this with V-trace
        use_rnn=True,
        rnn_type="lstm",
        rnn_size=256,  # LSTM-256, the paper's IMPALA core
        rollout=32,
        recurrence=32,  # with an RNN, recurrence == rollout: BPTT over the whole rollout
        batch_size=256,
        num_batches_per_epoch=1,
        num_epochs=1,
        learning_rate=2e-4,
        gamma=0.99,
        exploration_loss_coeff=0.01,  # IMPALA's entropy cost; SF's 0.003 collapses early on sparse rewards
        max_grad_norm=40.0,
        obs_scale=255.0,  # uint8 frames -> [0, 1], what networks.ConvEncoder expects
        normalize_input=False,  # fixed pixel scale, so the plain networks reproduce the policy from weights alone
        # One Memory Maze env holds ~1 GB; 2 workers x 4 envs fit a 24 GiB machine.
        num_workers=min(cpus, 4),
        num_envs_per_worker=4,
        worker_num_splits=2,
        device="gpu" if torch.cuda.is_available() else "cpu",
        train_for_env_steps=100_000_000,  # the paper's budget
        save_every_sec=120,
        keep_checkpoints=3,
        experiment_summaries_interval=20,
        policy_initialization="orthogonal",
    )


def _str2bool(value) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(f"expected True or False, got {value!r}")
