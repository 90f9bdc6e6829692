"""A run's own account of how it ended, so a sweep report can tell crashed runs from running ones.

train_dir/<experiment>/run_status.json holds {"status": running|finished|failed|interrupted, "pid",
"host", "pid_started", "time", ...}. A run killed outright (SIGKILL, the OOM killer, a lost node)
never writes its end: read_status reports a "running" record whose process is gone as "died". A run
recorded on another host cannot be checked from here and stays "running".
"""
import json
import os
import socket
import time
from typing import Optional

import psutil

from common.files import write_atomic

STATUS_FILE = "run_status.json"


def _process_start_time(pid: int) -> Optional[float]:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def write_status(run_dir: str, status: str, **extra) -> None:
    os.makedirs(run_dir, exist_ok=True)
    pid = os.getpid()
    record = dict(status=status, pid=pid, host=socket.gethostname(), pid_started=_process_start_time(pid),
                  time=time.time(), **extra)
    write_atomic(os.path.join(run_dir, STATUS_FILE), json.dumps(record))


def _process_gone(record: dict) -> bool:
    """True when the recorded process is known not to run any more (a reused pid counts as gone)."""
    if record.get("host", socket.gethostname()) != socket.gethostname():
        return False
    try:
        process = psutil.Process(int(record.get("pid", -1)))
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        started = record.get("pid_started")
        return started is not None and abs(process.create_time() - started) > 1.0
    except (psutil.NoSuchProcess, ValueError):
        return True
    except psutil.AccessDenied:
        return False


def read_status(run_dir: str) -> Optional[dict]:
    path = os.path.join(run_dir, STATUS_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        record = json.load(f)
    if record.get("status") == "running" and _process_gone(record):
        record["status"] = "died"
    return record
