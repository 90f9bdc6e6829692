"""Process helpers: a child that never outlives its parent (kill -9 included), the cores it may use
and their load."""
import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCHDOG_PERIOD_S = 0.5


def exit_with_parent(parent_pid: int) -> None:
    """Exit this process as soon as `parent_pid` is no longer its parent.

    The kernel kills it with the parent (prctl PR_SET_PDEATHSIG, Linux); a daemon thread that polls
    the parent id covers systems without prctl and a parent that died before prctl took effect.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError) as error:  # no prctl: the watchdog alone does the job
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable: %s", error)
    if os.getppid() != parent_pid:
        os._exit(1)

    def watchdog() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCHDOG_PERIOD_S)
        os._exit(1)

    threading.Thread(target=watchdog, name="parent-watchdog", daemon=True).start()


def usable_cpus() -> int:
    """Cores this process may run on (Slurm and taskset restrict affinity, os.cpu_count does not see it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> str:
    """The 1 / 5 / 15-minute load averages, for the line beside a benchmark's figures."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())
