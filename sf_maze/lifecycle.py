"""How a run ends: workers die with the main process, and SIGTERM/SIGUSR1/SIGINT stop it cleanly.

Sample Factory 2.1.1 starts its learner, inference and rollout workers as plain child processes: a
`kill -9` of the main process (the OOM killer, a scheduler) leaves them running, holding gigabytes
and CPU. Each worker runs `die_with_parent()` as soon as it unpickles its start-up arguments
(sf_maze.patches.InWorker, around every registered factory), so the kernel kills it when the main
process goes, with a watchdog thread as the fallback where prctl is missing.

Cluster schedulers announce preemption and time limits with a signal (Slurm: SIGTERM, or the one
given to `--signal`, here SIGUSR1). `GracefulStop` turns it into Sample Factory's own end of
training: save a checkpoint, stop every component, return; the caller marks the run `interrupted`.

Before any worker starts, Sample Factory builds one env in a spawned process to read its spaces and
waits on a queue with no timeout: an env that fails there (an exception, a missing GL library, a
crash) hung the run forever. `install_startup_checks()` swaps in `obtain_env_info`, which returns the
child's error as one `StartupError` line within a second of the child's end.
"""
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from typing import Callable, Optional, Tuple

from common.processes import exit_with_parent

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)
_installed_in_pid: Optional[int] = None


def die_with_parent() -> None:
    """In a child process: exit when the process that started it exits, however it exits, and leave
    stop signals to the main process.

    Slurm sends SIGTERM to every process of a job at once; a worker that died of it would take the
    learner down before the main process could save. Idempotent, and a no-op in the main process
    (serial mode runs everything there).
    """
    global _installed_in_pid
    if not _in_child_process() or _installed_in_pid == os.getpid():
        return
    _installed_in_pid = os.getpid()
    parent = multiprocessing.parent_process()  # None while a spawned child still unpickles its arguments
    parent_pid = parent.pid if parent is not None else os.getppid()
    if threading.current_thread() is threading.main_thread():  # signal.signal works there only
        for signum in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(signum, signal.SIG_IGN)
    exit_with_parent(parent_pid)


def _in_child_process() -> bool:
    # multiprocessing names every child it starts before unpickling the child's arguments.
    return multiprocessing.current_process().name != "MainProcess"


class StartupError(RuntimeError):
    """A run that cannot start (its env fails to build); the message is one line."""


ENV_INFO_TIMEOUT_S = 600.0  # building one env takes seconds; the GL backend probes alone may take minutes
_POLL_S = 0.5


def _env_info_child(sf_context, results, cfg) -> None:
    """Sample Factory's env-info process, reporting its failure instead of dying silently."""
    from sample_factory.algo.utils.env_info import spawn_tmp_env_and_get_info

    die_with_parent()
    try:
        spawn_tmp_env_and_get_info(sf_context, results, cfg)
    except BaseException as error:  # any failure is the parent's to report, as one line
        first_line = (str(error).strip().splitlines() or [""])[0]
        results.put(StartupError(f"--env={cfg.env} failed to build: {type(error).__name__}: {first_line}"))
        sys.exit(1)


def obtain_env_info(cfg, timeout_s: float = ENV_INFO_TIMEOUT_S):
    """Drop-in for Sample Factory's obtain_env_info_in_a_separate_process that never hangs:
    StartupError when the child reports an error, exits without a result, or overruns timeout_s."""
    import pickle

    from sample_factory.algo.utils.context import sf_global_context
    from sample_factory.algo.utils.env_info import ENV_INFO_PROTOCOL_VERSION, env_info_cache_filename

    cache = env_info_cache_filename(cfg)
    if cfg.use_env_info_cache and os.path.isfile(cache):
        with open(cache, "rb") as f:
            env_info = pickle.load(f)
        if env_info.env_info_protocol_version == ENV_INFO_PROTOCOL_VERSION:
            return env_info
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_env_info_child, args=(sf_global_context(), results, cfg), name="env_info")
    process.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                result = results.get(timeout=_POLL_S)
                break
            except queue.Empty:
                pass
            if not process.is_alive():
                try:  # what the child wrote just before it exited
                    result = results.get(timeout=_POLL_S)
                    break
                except queue.Empty:
                    raise StartupError(f"--env={cfg.env}: the process building the env to read its spaces "
                                       f"exited with code {process.exitcode} before it reported") from None
            if time.monotonic() > deadline:
                raise StartupError(f"--env={cfg.env}: building the env to read its spaces took over "
                                   f"{timeout_s:.0f} s; stopped it")
    finally:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
    if isinstance(result, StartupError):
        raise result
    if cfg.use_env_info_cache:
        with open(cache, "wb") as f:
            pickle.dump(result, f)
    return result


def install_startup_checks() -> None:
    """In the main process, before the runner starts: Sample Factory's env-info wait gets ours."""
    from sample_factory.algo.runners import runner

    runner.obtain_env_info_in_a_separate_process = obtain_env_info


def still_running(processes) -> list:
    """The psutil.Process objects among `processes` that still run (zombies count as ended)."""
    import psutil

    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            pass
    return running


class GracefulStop:
    """Routes SIGTERM, SIGUSR1 and the first SIGINT of a training run to Sample Factory's clean stop,
    and stops a run whose learner or worker process died (Sample Factory would wait on it forever).

    A signal handler may run in the middle of the runner's event loop, so it only records the
    signal; a timer on that loop polls the record and calls the runner's own `_stop_training()`,
    the path a finished run takes (checkpoint, then every component stops). A second SIGINT raises
    KeyboardInterrupt as usual, for a user who does not want to wait.

    A process killed mid-run (the OOM killer) may die holding a lock the others share: the learner
    holds the policy lock around every optimizer step, and the inference worker then waits on it
    forever. Workers still running `dead_worker_grace_s` after a death are killed; a thread ends
    the main process itself (`on_hard_exit`, then exit code 1) if it is still there
    `hard_exit_after_s` after a death, for a main thread blocked on such a lock.
    """

    poll_interval_s = 0.5
    dead_worker_grace_s = 10.0
    hard_exit_after_s = 40.0

    def __init__(self, runner, on_hard_exit: Optional[Callable[[str], None]] = None):
        self.runner = runner
        self.on_hard_exit = on_hard_exit
        self.received: Optional[int] = None
        self.worker_died: Optional[Tuple[str, int]] = None  # (name, exit code) of a worker that died mid-run
        self._died_at, self._ended = 0.0, False
        self._exited = threading.Event()
        self._previous = {}

    def __enter__(self) -> "GracefulStop":
        from signal_slot.signal_slot import EventLoopObject, Timer

        class SignalPoller(EventLoopObject):
            def poll(poller):
                if self.worker_died is not None:
                    self._end_without_dead_components()
                    return
                if self.runner.stopped:
                    return
                if self.received is not None:
                    self.runner._stop_training()
                elif self.dead_worker() is not None:
                    # Sample Factory's main process would wait forever on a dead learner or worker.
                    self.worker_died, self._died_at = self.dead_worker(), time.time()
                    log.error("Worker process %s died (exit code %s): stopping the run", *self.worker_died)
                    self.runner._stop_training(failed=True)

        self._poller = SignalPoller(self.runner.event_loop, "signal_poller")
        self._timer = Timer(self.runner.event_loop, self.poll_interval_s)
        self._timer.timeout.connect(self._poller.poll)
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        threading.Thread(target=self._watch_main_thread, name="dead-worker-watchdog", daemon=True).start()
        return self

    def _end_without_dead_components(self) -> None:
        # Components living in the dead process (the learner's batcher) never report that they
        # stopped, and Sample Factory waits for every report and joins every process: after a grace
        # period, kill the workers that did not stop (blocked on the dead one's lock) and end without them.
        if not self._ended and time.time() - self._died_at > self.dead_worker_grace_s:
            self._ended = True
            stuck = [process for process in self._processes() if process._process.exitcode is None]
            for process in stuck:
                process._process.kill()
            log.warning("Ending the run without the components of the dead process%s",
                        "; killed the workers that did not stop: " + ", ".join(p.name for p in stuck) if stuck else "")
            self.runner._on_everything_stopped()

    def _processes(self) -> list:
        sampler = getattr(self.runner, "sampler", None)
        # EventLoopProcess objects; serial mode has none
        return list(getattr(self.runner, "processes", [])) + list(getattr(sampler, "processes", []))

    def dead_worker(self) -> Optional[Tuple[str, int]]:
        """(name, exit code) of a worker process that has ended while the run goes on, else None."""
        for process in self._processes():
            exitcode = process._process.exitcode
            if exitcode is not None:
                return process.name, exitcode
        return None

    def _watch_main_thread(self) -> None:
        # Runs beside a main thread that may be blocked for good, so it reaps no child (psutil only
        # looks). A worker that ends after a normal stop began (`runner.stopped`) is not a death.
        dead, dead_since = None, 0.0
        while not self._exited.wait(self.poll_interval_s):
            if dead is None:
                if self.worker_died is not None:  # the event loop saw it first
                    dead = self.worker_died[0]
                elif not self.runner.stopped:
                    dead = self._ended_worker()
                dead_since = time.monotonic()
            elif time.monotonic() - dead_since > self.hard_exit_after_s:
                log.error("Worker process %s died and the main process did not stop within %.0f s: exiting",
                          dead, self.hard_exit_after_s)
                try:
                    if self.on_hard_exit is not None:
                        self.on_hard_exit(dead)
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(1)  # the workers die with it (die_with_parent)

    def _ended_worker(self) -> Optional[str]:
        import psutil

        for process in self._processes():
            pid = process._process.pid  # None: not started yet
            try:
                if pid is not None and not still_running([psutil.Process(pid)]):
                    return process.name
            except psutil.NoSuchProcess:  # already reaped
                return process.name
        return None

    def _on_signal(self, signum, frame) -> None:
        if self.received is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.received = signum
        log.warning("Received %s: saving a checkpoint and stopping", signal.Signals(signum).name)

    def __exit__(self, *exc) -> None:
        self._exited.set()
        self._timer.stop()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @property
    def signal_name(self) -> Optional[str]:
        return None if self.received is None else signal.Signals(self.received).name
