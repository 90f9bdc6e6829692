"""A child process that never outlives its parent, however the parent dies (kill -9 included)."""
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
