"""Input checks run before Sample Factory starts, so bad input gets one clear line, not a trace.

Every command line of this repo (sf_maze, probing, dreamer) reports bad input through
`input_errors_exit_2`: one line on stderr and exit status 2 (argparse's for a usage error), before
any process or folder is made.
"""
import contextlib
import functools
import glob
import json
import os
import sys
import tempfile
from typing import Callable, Optional

# envs and networks (torch) are imported where used: probing.generate's spawned workers import this
# module for its error helper and should not pay for torch.


class InputError(ValueError):
    pass


USAGE_ERROR = 2  # argparse's exit status for bad arguments


def report_input_error(prog: str, error) -> int:
    """Prints `prog: error: ...` as one line on stderr; returns USAGE_ERROR."""
    print(f"{prog}: error: {' '.join(str(error).split())}", file=sys.stderr)
    return USAGE_ERROR


def input_errors_exit_2(prog: str) -> Callable:
    """Decorates a command's main(): InputError, and SystemExit with a message (what library code
    raises for bad input), become one line and USAGE_ERROR; main()'s None becomes 0."""
    def decorate(main: Callable) -> Callable:
        @functools.wraps(main)
        def wrapped(*args, **kwargs) -> int:
            try:
                status = main(*args, **kwargs)
            except InputError as error:
                return report_input_error(prog, error)
            except SystemExit as error:
                if isinstance(error.code, str):
                    return report_input_error(prog, error.code)
                raise
            return 0 if status is None else status
        return wrapped
    return decorate


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


def check_at_least(minimum: float, **flags) -> None:
    """InputError naming the first flag (--name=value) below `minimum`; None values are not given."""
    for name, value in flags.items():
        if value is not None and value < minimum:
            raise InputError(f"--{name}={value}; pass at least {minimum}")


def check_writable_folder(flag: str, folder: str, value: Optional[str] = None) -> None:
    """InputError unless `folder` exists as a writable folder or could be made (checked on its
    nearest existing parent, which is left as it is): a run must not find out only at its end."""
    value = folder if value is None else value  # what the user passed, for the message
    parent = os.path.abspath(folder or ".")
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise InputError(f"{flag}={value}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag}={value}: {parent} cannot be written; pass a writable folder")


def student_env_names():
    from envs import list_envs

    return [n for n in list_envs() if not n.startswith("amaze_teacher")]


def check_env_name(name: str) -> None:
    """An env the agents here can play: Memory Maze or an AMaze student env (never a teacher)."""
    if name.startswith("amaze_teacher"):
        students = ", ".join(n for n in student_env_names() if n.startswith("amaze_") and "_ood_" not in n)
        raise InputError(f"--env={name} is a teacher (level designer) env, which no trainer or evaluator here "
                         f"runs; choose a student env: memory_9x9 (and other memory_*), {students}, amaze_ood_*")
    if name.startswith("memory_"):
        from envs.memory_maze import parse_name

        try:
            parse_name(name)
        except ValueError as error:
            raise InputError(str(error)) from None
    else:
        from envs import list_envs

        if name not in list_envs():
            raise InputError(f"Unknown env {name!r}. Valid names: {', '.join(list_envs())}")


def check_train_dir(train_dir: str) -> None:
    try:
        os.makedirs(train_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=train_dir):
            pass
    except OSError as error:
        raise InputError(f"--train_dir={train_dir} cannot be written ({error.strerror}); pass a writable directory") from None


def latest_checkpoints(experiment_dir: str):
    """All checkpoint files of an experiment, newest last (Sample Factory's own naming sorts by step)."""
    return sorted(glob.glob(os.path.join(experiment_dir, "checkpoint_p*", "checkpoint_*.pth")))


def check_checkpoint(path: str) -> None:
    from networks.checkpoint import read_sf_checkpoint

    try:
        read_sf_checkpoint(path)
    except (ValueError, FileNotFoundError) as error:
        raise InputError(f"{error}. Nothing was changed: move that file away to resume from the previous "
                         "checkpoint, or choose a new --experiment") from None


def read_saved_config(experiment_dir: str) -> Optional[dict]:
    """The experiment's config.json as a dict (None when there is none); InputError when it is unreadable."""
    path = os.path.join(experiment_dir, "config.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as error:
        raise InputError(f"{path} cannot be read ({type(error).__name__}: {error}). Fix or remove it (the run's "
                         "settings then come from the command line), or choose a new --experiment") from None
    if not isinstance(saved, dict):
        raise InputError(f"{path} holds {type(saved).__name__}, not a config: fix or remove it, or choose a new --experiment")
    return saved


def _env_family(name: str) -> str:
    return name.split("_", 1)[0]  # memory (64x64 frames) or amaze (grid views): never interchangeable


def trained_env(cfg) -> Optional[str]:
    """The env the experiment was trained on (its config.json's `env`), None when unknown."""
    saved = read_saved_config(os.path.join(cfg.train_dir, cfg.experiment)) or {}
    return saved.get("env") if isinstance(saved.get("env"), str) else None


def check_env_fits_run(cfg) -> None:
    """A Memory Maze agent plays no AMaze env and the other way round: say so before building an env."""
    trained = trained_env(cfg)
    if trained and _env_family(trained) != _env_family(cfg.env):
        raise InputError(f"{cfg.experiment} was trained on --env={trained} (its config.json), and --env={cfg.env} "
                         f"gives other observations; pass --env={trained} or another {_env_family(trained)}_* env")


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
    check_env_name(cfg.env)
    check_counts(cfg)
    check_model_flags(cfg)
    check_train_dir(cfg.train_dir)
    experiment_dir = os.path.join(cfg.train_dir, cfg.experiment)
    if cfg.restart_behavior == "resume":
        read_saved_config(experiment_dir)
        checkpoints = [p for p in latest_checkpoints(experiment_dir) if "best" not in os.path.basename(p)]
        if checkpoints:
            check_checkpoint(checkpoints[-1])


def reached_env_steps(experiment_dir: str) -> int:
    """Env steps of the newest checkpoint (0 without one)."""
    from networks.checkpoint import read_sf_checkpoint

    checkpoints = [p for p in latest_checkpoints(experiment_dir) if "best" not in os.path.basename(p)]
    if not checkpoints:
        return 0
    return int(read_sf_checkpoint(checkpoints[-1]).get("env_steps", 0))


def env_step_budget(cfg) -> int:
    """The budget Sample Factory will use: the command line's, else the saved config's, else the default."""
    if "train_for_env_steps" in getattr(cfg, "cli_args", {}):
        return int(cfg.train_for_env_steps)
    saved = read_saved_config(os.path.join(cfg.train_dir, cfg.experiment)) or {}
    return int(saved.get("train_for_env_steps", cfg.train_for_env_steps))
