"""Input checks run before Sample Factory starts, so bad input gets one clear line, not a trace.

Every command line of this repo reports bad input through `common.cli.input_errors_exit_2` (re-exported
here for sf_maze's commands): one line on stderr and exit status 2, before any process or folder is
made.
"""
import contextlib
import os
import tempfile
from typing import Optional, Tuple

from common.cli import (USAGE_ERROR, InputError, check_at_least, check_writable_folder,  # noqa: F401  sf_maze's commands
                 input_errors_exit_2, report_input_error)  # noqa: F401  import these from here
from envs.names import check_env_name, env_family
from evaluation.runs import latest_checkpoints, reached_env_steps, read_saved_config  # noqa: F401  sf_maze's commands

# networks (torch) is imported where used.


@contextlib.contextmanager
def quiet_sample_factory():
    """Sample Factory's debug lines (factory registration, git revision) off while a command checks
    its input, so a refusal is the one line on stderr; its log level is restored after."""
    import logging

    import sample_factory.utils.utils  # noqa: F401  its import sets the level this then lowers

    logger = logging.getLogger("rl")  # Sample Factory's logger
    level = logger.level
    logger.setLevel(max(level, logging.INFO))
    try:
        yield
    finally:
        logger.setLevel(level)




def check_train_dir(train_dir: str) -> None:
    try:
        os.makedirs(train_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=train_dir):
            pass
    except OSError as error:
        raise InputError(f"--train_dir={train_dir} cannot be written ({error.strerror}); pass a writable directory") from None




def check_checkpoint(path: str) -> None:
    from networks.checkpoint import read_sf_checkpoint

    try:
        read_sf_checkpoint(path)
    except (ValueError, FileNotFoundError) as error:
        raise InputError(f"{error}. Nothing was changed: move that file away to resume from the previous "
                         "checkpoint, or choose a new --experiment") from None




def trained_env(cfg) -> Optional[str]:
    """The env the experiment was trained on (its config.json's `env`), None when unknown."""
    saved = read_saved_config(os.path.join(cfg.train_dir, cfg.experiment)) or {}
    return saved.get("env") if isinstance(saved.get("env"), str) else None


def check_env_fits_run(cfg) -> None:
    """A Memory Maze agent plays no AMaze env and the other way round: say so before building an env."""
    trained = trained_env(cfg)
    if trained and env_family(trained) != env_family(cfg.env):
        raise InputError(f"{cfg.experiment} was trained on --env={trained} (its config.json), and --env={cfg.env} "
                         f"gives other observations; pass --env={trained} or another {env_family(trained)}_* env")


def _checkpoint_agent(state: dict) -> Tuple[str, Optional[str]]:
    """(env family the encoder's weights take: 'amaze' or 'memory', core name or None) read off an
    actor-critic state dict; ValueError for weights of no known encoder or core."""
    from networks.checkpoint import PREFIXES
    from networks.core_loading import core_name

    encoder = {key[len(PREFIXES["encoder"]):] for key in state if key.startswith(PREFIXES["encoder"])}
    if "cell_embedding.weight" in encoder:
        family = "amaze"
    elif encoder & {"convs.0.weight", "stages.0.conv.weight"}:
        family = "memory"
    else:
        raise ValueError("its weights hold no sf_maze encoder (grid, conv or ResNet)")
    core_state = {key[len(PREFIXES["core"]):]: value for key, value in state.items() if key.startswith(PREFIXES["core"])}
    return family, (core_name(core_state) if core_state else None)


def _agent_words(family: str, core: Optional[str]) -> str:
    agent = {"amaze": "an AMaze (grid view)", "memory": "a Memory Maze (camera)"}.get(family, family)
    return f"{agent} agent {'with a ' + core.upper() + ' core' if core else 'without a memory core (use_rnn=False)'}"


def check_checkpoint_fits(cfg, checkpoint_path: str) -> None:
    """The checkpoint's weights are the agent `cfg` asks for (config.json merged with the flags): the
    env family its encoder takes and its memory core (present or not, which one), compared before any
    env starts; InputError naming both otherwise."""
    from networks.checkpoint import read_sf_checkpoint

    try:
        state = read_sf_checkpoint(checkpoint_path)["model"]
        found = _checkpoint_agent(state)
    except (ValueError, FileNotFoundError, KeyError, TypeError) as error:
        raise InputError(f"Checkpoint {checkpoint_path} cannot be played: {error}") from None
    use_rnn = bool(getattr(cfg, "use_rnn", True))
    wanted = (env_family(cfg.env), str(getattr(cfg, "maze_core", "lstm")) if use_rnn else None)
    if found != wanted:
        flags = f"--env={cfg.env} --use_rnn={use_rnn}" + (f" --maze_core={wanted[1]}" if use_rnn else "")
        raise InputError(f"Checkpoint {checkpoint_path} holds {_agent_words(*found)}, but {flags} "
                         f"({cfg.experiment}/config.json and the command line) asks for {_agent_words(*wanted)}; "
                         "pass the flags the run trained with, or another run's --experiment")


def with_trained_env(cfg, error: Exception) -> InputError:
    """`error` plus the env the run was trained on, when that is not the env asked for."""
    trained = trained_env(cfg)
    if trained and trained != cfg.env:
        return InputError(f"{error} ({cfg.experiment} was trained on --env={trained}, asked for --env={cfg.env})")
    return InputError(str(error))


def check_model_flags(cfg) -> None:
    """Sample Factory flags our model does not implement, refused before any worker starts."""
    if cfg.use_rnn and (cfg.rnn_type != "lstm" or cfg.rnn_num_layers != 1):
        raise InputError(f"--rnn_type={cfg.rnn_type} --rnn_num_layers={cfg.rnn_num_layers}: sf_maze picks its memory "
                         "with --maze_core=lstm|gru|gtrxl|lru (--rnn_size sets the width); leave Sample Factory's "
                         "--rnn_type and --rnn_num_layers at lstm and 1")
    if cfg.use_rnn and cfg.with_vtrace and cfg.recurrence not in (-1, cfg.rollout):
        raise InputError(f"--recurrence={cfg.recurrence} with --rollout={cfg.rollout}: V-trace needs them equal; "
                         "leave --recurrence out and it follows --rollout")


def check_counts(cfg) -> None:
    """Budgets and sizes Sample Factory divides by or loops over, refused before anything starts
    (it would raise ZeroDivisionError mid start-up, or call a negative budget already reached)."""
    check_at_least(1, train_for_env_steps=cfg.train_for_env_steps, train_for_seconds=cfg.train_for_seconds,
                   num_workers=cfg.num_workers, num_envs_per_worker=cfg.num_envs_per_worker,
                   worker_num_splits=cfg.worker_num_splits, num_policies=cfg.num_policies, rollout=cfg.rollout,
                   batch_size=cfg.batch_size, num_batches_per_epoch=cfg.num_batches_per_epoch,
                   num_epochs=cfg.num_epochs, rnn_size=cfg.rnn_size, keep_checkpoints=cfg.keep_checkpoints)
    check_at_least(0, save_every_sec=cfg.save_every_sec, seed=cfg.seed)
    if cfg.use_rnn and cfg.rollout < 2:
        raise InputError(f"--rollout={cfg.rollout}: a memory core learns from sequences; pass at least 2")
    if cfg.batch_size % cfg.rollout:
        raise InputError(f"--batch_size={cfg.batch_size} with --rollout={cfg.rollout}: Sample Factory learns on whole "
                         "rollouts; pass a batch size that is a multiple of the rollout")
    if cfg.num_envs_per_worker % cfg.worker_num_splits:
        raise InputError(f"--num_envs_per_worker={cfg.num_envs_per_worker} with --worker_num_splits="
                         f"{cfg.worker_num_splits}: the envs are split evenly; pass a multiple of the splits")
    if not cfg.learning_rate > 0:
        raise InputError(f"--learning_rate={cfg.learning_rate}; pass a positive rate")
    if not 0 < cfg.gamma <= 1:
        raise InputError(f"--gamma={cfg.gamma}; pass a discount in (0, 1]")


def check_run_inputs(cfg) -> None:
    if cfg.experiment.strip() in ("", ".", ".."):  # the run would write into train_dir itself or above it
        raise InputError(f"--experiment={cfg.experiment!r}; pass a name for the run's folder under --train_dir")
    check_env_name(cfg.env, trainable=True)
    check_counts(cfg)
    check_model_flags(cfg)
    check_train_dir(cfg.train_dir)
    experiment_dir = os.path.join(cfg.train_dir, cfg.experiment)
    if cfg.restart_behavior == "resume":
        read_saved_config(experiment_dir)
        checkpoints = [p for p in latest_checkpoints(experiment_dir) if "best" not in os.path.basename(p)]
        if checkpoints:
            check_checkpoint(checkpoints[-1])




def env_step_budget(cfg) -> int:
    """The budget Sample Factory will use: the command line's, else the saved config's, else the default."""
    if "train_for_env_steps" in getattr(cfg, "cli_args", {}):
        return int(cfg.train_for_env_steps)
    saved = read_saved_config(os.path.join(cfg.train_dir, cfg.experiment)) or {}
    return int(saved.get("train_for_env_steps", cfg.train_for_env_steps))
