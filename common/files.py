"""Files that are never seen half-written, by a reader polling a running job or after a kill: the
writer fills a temporary file beside the target and renames it over the target (os.replace)."""
import contextlib
import os
from typing import Iterator, Union

# In every temporary file's name, so a writer can remove what killed writers left behind.
TMP_MARK = ".tmp-"


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields the temporary path to write to; replaces `path` with it when the block succeeds and
    removes it when the block fails, so `path` holds either the old content or the new one."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}{TMP_MARK}{os.getpid()}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_atomic(path: str, data: Union[str, bytes]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
