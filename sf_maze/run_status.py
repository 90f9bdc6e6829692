"""A run's own account of how it ended, so a sweep report can tell crashed runs from running ones.

train_dir/<experiment>/run_status.json holds {"status": running|finished|failed|interrupted, "pid",
"time", ...}. A run killed outright leaves "running" with a dead pid: read_status reports that as
"interrupted".
"""
import json
import os
import time
from typing import Optional

STATUS_FILE = "run_status.json"


def write_status(run_dir: str, status: str, **extra) -> None:
    os.makedirs(run_dir, exist_ok=True)
    record = dict(status=status, pid=os.getpid(), time=time.time(), **extra)
    tmp = os.path.join(run_dir, f".{STATUS_FILE}.tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, os.path.join(run_dir, STATUS_FILE))  # never a half-written file


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(run_dir: str) -> Optional[dict]:
    path = os.path.join(run_dir, STATUS_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        record = json.load(f)
    if record.get("status") == "running" and not _alive(int(record.get("pid", -1))):
        record["status"] = "interrupted"
    return record
