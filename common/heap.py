"""glibc's heap kept by a process that frees and reallocates large blocks (the learner).

The env workers do the opposite, returning each episode's freed model
(envs.fast_memory_maze.environment.release_freed_heap; envs imports no other package).
"""
import ctypes
import functools
from typing import Optional

# malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


@functools.lru_cache(maxsize=None)
def _glibc() -> Optional[ctypes.CDLL]:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 - glibc's own: another libc may lack it
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_heap() -> bool:
    """Makes this process keep and reuse the memory it frees instead of returning it to the OS.

    glibc serves each allocation above its mmap threshold (at most 32 MiB) with a fresh mmap and
    unmaps it on free, so a learner step whose activations are hundreds of MiB each (3200 frames of
    16x64x64) page-faults all of them in again, zeroed by the kernel, every step: in a memory_9x9
    training run the learner spent 40% of its CPU time in the kernel (131k page faults/s). Serving
    every allocation from the heap (M_MMAP_MAX 0) and never trimming it (M_TRIM_THRESHOLD -1, read as
    the largest size) makes the second step onwards fault-free; the process holds its peak heap.
    True where it took effect; a no-op (False) where the C library is not glibc.
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, -1))
