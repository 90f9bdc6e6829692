"""Train an agent with asynchronous APPO + V-trace: `python -m sf_maze.train --env=memory_9x9`.

Checkpoints, config.json and tensorboard summaries go to train_dir/<experiment>; running the same
command again resumes from the latest checkpoint.
"""
import os
import sys
from typing import Callable, List, Optional

from envs import is_amaze
from sf_maze.checks import (check_run_inputs, env_step_budget, input_errors_exit_2, quiet_sample_factory,
                            reached_env_steps)
from sf_maze.params import LEGACY_DEFAULTS, add_maze_args, maze_defaults
from evaluation.run_status import write_status

def register_components() -> None:
    """Registers every env name and our model with Sample Factory and installs sf_maze's patches in
    this process (idempotent: Sample Factory's own registry tells whether it was done)."""
    from sample_factory.algo.utils.context import global_env_registry
    from sample_factory.envs.env_utils import register_env

    from envs import env_family, list_envs
    from sf_maze.amaze import make_amaze_sf_env
    from sf_maze.env import make_sf_env
    from sf_maze.model import register_models
    from sf_maze.patches import InWorker, install_sf_patches

    install_sf_patches()
    makers = {"memory": make_sf_env, "amaze": make_amaze_sf_env}  # teacher envs: no trainer here plays them
    names = [name for name in list_envs() if env_family(name) in makers]
    if all(name in global_env_registry() for name in names):
        return
    for name in names:
        register_env(name, InWorker(makers[env_family(name)]))
    register_models()


def parse_args(argv: Optional[List[str]] = None, evaluation: bool = False,
               add_args: Optional[Callable] = None, defaults: Optional[dict] = None):
    """Sample Factory's flags, ours (`maze_`), AMaze's for amaze_* envs, then a script's own
    (`add_args(parser)`, `defaults`): enjoy and evaluate parse through here too."""
    from sample_factory.cfg.arguments import parse_full_cfg, parse_sf_args

    argv = list(sys.argv[1:] if argv is None else argv)
    # Sample Factory marks --env required before it looks at --help; help should not need an env.
    if {"-h", "--help"} & set(argv) and not any(arg.split("=")[0] == "--env" for arg in argv):
        argv.append("--env=memory_9x9")
    parser, partial_cfg = parse_sf_args(argv, evaluation=evaluation)
    add_maze_args(parser)
    maze_defaults(parser)
    if is_amaze(partial_cfg.env):
        from sf_maze.amaze import add_amaze_args, amaze_defaults

        add_amaze_args(parser)
        amaze_defaults(parser)
    if add_args is not None:
        add_args(parser)
    if defaults:
        parser.set_defaults(**defaults)
    cfg = parse_full_cfg(parser, argv)
    apply_legacy_defaults(cfg)
    if cfg.recurrence == -1 and cfg.with_vtrace:
        # Sample Factory resolves -1 to 1 without an RNN, which its V-trace learner then dies on
        # (--use_rnn=False ablations); V-trace needs recurrence == rollout either way.
        cfg.recurrence = cfg.rollout
    return cfg


def apply_legacy_defaults(cfg) -> None:
    """A run whose config.json predates a flag keeps what it trained with (params.LEGACY_DEFAULTS):
    Sample Factory fills keys missing from a saved config with today's defaults, which would build
    another network than its checkpoints hold. Flags given on the command line still win."""
    from sf_maze.checks import InputError, read_saved_config

    try:
        saved = read_saved_config(os.path.join(cfg.train_dir, cfg.experiment))
    except InputError:
        return  # check_run_inputs reports the unreadable file
    if saved is None:
        return  # a new run
    for key, value in LEGACY_DEFAULTS.items():
        if key not in saved and key not in getattr(cfg, "cli_args", {}):
            setattr(cfg, key, value)


def configure_wandb(cfg) -> None:
    """Wandb never needs the network: offline unless the user configured a key; files stay with the run."""
    has_key = os.environ.get("WANDB_API_KEY") or os.path.exists(os.path.expanduser("~/.netrc"))
    if not has_key:
        os.environ.setdefault("WANDB_MODE", "offline")
    if cfg.with_wandb:
        run_dir = os.path.join(cfg.train_dir, cfg.experiment)
        os.makedirs(run_dir, exist_ok=True)
        os.environ.setdefault("WANDB_DIR", run_dir)


def run(cfg, run_dir: str) -> int:
    """Sample Factory's run_rl with stop signals routed to a clean stop; records how the run ended.

    Returns Sample Factory's status, or 128 + the signal number when a stop signal ended the run
    (what a shell reports for a process killed by it, so schedulers see "interrupted", not "done").
    """
    from sample_factory.algo.utils.misc import ExperimentStatus
    from sample_factory.train import make_runner

    from sf_maze.lifecycle import GracefulStop, StartupError, install_startup_checks
    from sf_maze.quiet import profiler_trees_to_log_file, quiet_sample_factory_warnings

    install_startup_checks()
    quiet_sample_factory_warnings()  # the main process learns too in serial mode; InWorker covers the workers
    profiler_trees_to_log_file(cfg)

    def ended_hard(worker: str) -> None:
        write_status(run_dir, "failed", error=f"worker process {worker} died; the main process was blocked and exited")

    write_status(run_dir, "running")
    try:
        cfg, runner = make_runner(cfg)
        with GracefulStop(runner, on_hard_exit=ended_hard) as stop:
            status = runner.init()
            if status == ExperimentStatus.SUCCESS:
                status = runner.run()
    except StartupError as error:  # the env's own failure, already one line: no trace of our start-up code
        write_status(run_dir, "failed", error=str(error))
        print(f"sf_maze.train: error: {error}", file=sys.stderr)
        return ExperimentStatus.FAILURE
    except BaseException as error:
        write_status(run_dir, "interrupted" if isinstance(error, KeyboardInterrupt) else "failed", error=repr(error))
        raise
    if stop.worker_died is not None:
        write_status(run_dir, "failed", error=f"worker process {stop.worker_died[0]} died (exit code {stop.worker_died[1]})")
        return ExperimentStatus.FAILURE
    if stop.received is not None:
        write_status(run_dir, "interrupted", signal=stop.signal_name, exit_status=int(status))
        return 128 + stop.received
    ended = {ExperimentStatus.SUCCESS: "finished", ExperimentStatus.INTERRUPTED: "interrupted"}.get(status, "failed")
    write_status(run_dir, ended, exit_status=int(status))
    return status


@input_errors_exit_2("sf_maze.train")
def main(argv: Optional[List[str]] = None) -> int:
    with quiet_sample_factory():
        register_components()
        cfg = parse_args(argv)
        check_run_inputs(cfg)  # before any folder or process: bad input is one line and exit 2
    if cfg.restart_behavior == "resume":
        # Starting the workers and envs only to stop again costs minutes on Memory Maze; a relaunched
        # sweep skips its finished runs here.
        reached, budget = reached_env_steps(os.path.join(cfg.train_dir, cfg.experiment)), env_step_budget(cfg)
        if reached >= budget:
            print(f"sf_maze.train: {cfg.experiment} already reached {reached} >= {budget} env steps; nothing to do")
            print("\n".join(next_steps(cfg, argv)), flush=True)
            return 0
    configure_wandb(cfg)
    status = run(cfg, os.path.join(cfg.train_dir, cfg.experiment))
    print("\n".join(next_steps(cfg, argv)), flush=True)
    return status


def with_flag(argv: List[str], name: str, value: Optional[str]) -> List[str]:
    """`argv` without `--name=X` / `--name X`, then `--name=value` appended (left out when value is None)."""
    kept, skip_next = [], False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg == f"--{name}":
            skip_next = True
        elif not arg.startswith(f"--{name}="):
            kept.append(arg)
    return kept + ([f"--{name}={value}"] if value is not None else [])


def next_steps(cfg, argv: Optional[List[str]] = None) -> List[str]:
    """The lines a run ends with: where it is, how far it got, and one command each to continue,
    score, watch and plot it; paths as the command line gave them (relative ones from the same folder)."""
    import shlex

    from sf_maze.checks import latest_checkpoints

    argv = list(sys.argv[1:] if argv is None else argv)
    run_dir = os.path.join(cfg.train_dir, cfg.experiment)
    checkpoints = [p for p in latest_checkpoints(run_dir) if "best" not in os.path.basename(p)]
    if not checkpoints:
        return [f"sf_maze.train: {cfg.experiment} saved no checkpoint; the run folder is {run_dir}"]
    reached, budget = reached_env_steps(run_dir), env_step_budget(cfg)
    # --restart_behavior=restart would wipe the run the line offers to continue.
    resume = with_flag(argv, "restart_behavior", None)
    if reached >= budget:  # the same command would stop at once: ask for as many frames again
        resume, continue_label = with_flag(resume, "train_for_env_steps", str(reached + budget)), "train more"
    else:
        continue_label = "continue"
    run_flags = [f"--env={cfg.env}", f"--experiment={cfg.experiment}", f"--train_dir={cfg.train_dir}"]
    log_note = "  (sf_log.txt: the full log, Sample Factory's profiler trees included)" if cfg.log_to_file else ""
    rows = [
        ("run folder", run_dir + log_note),
        ("checkpoint", f"{checkpoints[-1]}  ({reached} env steps of {budget})"),
        (continue_label, shlex.join(["python", "-m", "sf_maze.train", *resume])),
        ("score", shlex.join(["python", "-m", "sf_maze.evaluate", *run_flags])),
        ("watch (mp4)", shlex.join(["python", "-m", "sf_maze.enjoy", *run_flags])),
        ("plot", shlex.join(["python", "-m", "evaluation.plot", f"--train_dir={cfg.train_dir}", cfg.experiment])),
    ]
    return [f"sf_maze.train: {cfg.experiment} ended; next steps"] + [f"  {label:<11} {text}" for label, text in rows]


if __name__ == "__main__":
    sys.exit(main())
