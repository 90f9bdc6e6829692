"""common.heap.keep_freed_heap: the learner's process reuses freed memory instead of faulting it in again."""
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Page faults of allocating, writing and freeing 256 MiB twice, in a fresh process (the second pass
# is what a learner's next batch does). Not numpy: it asks for huge pages, which hides the count.
FAULTS = textwrap.dedent("""
    import resource, sys
    from common.heap import keep_freed_heap
    if sys.argv[1] == "keep":
        assert keep_freed_heap()
    faults = []
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = bytearray(256 * 2 ** 20)
        block[::4096] = bytes([1]) * (len(block) // 4096)  # touch every page, as a tensor's writes do
        del block
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    print(*faults)
""")
PAGES = 256 * 2 ** 20 // 4096


def _faults(mode):
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], cwd=REPO, capture_output=True, text=True, check=True)
    return [int(x) for x in out.stdout.split()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_kept_heap_serves_the_second_large_allocation_without_page_faults():
    first, second = _faults("default")
    assert first > PAGES // 2 and second > PAGES // 2  # glibc maps it afresh each time
    first, second = _faults("keep")
    assert first > PAGES // 2 and second < PAGES // 20


@pytest.mark.parametrize("flag", [True, False])
def test_the_learner_keeps_its_heap_before_it_builds_anything_unless_told_not_to(monkeypatch, flag):
    from sf_maze import patches

    calls = []

    class Learner:
        def __init__(self):
            self.cfg = SimpleNamespace(maze_learner_keep_heap=flag)

        def init(self):
            calls.append("init")
            return "model data"

    monkeypatch.setattr(patches, "keep_freed_heap", lambda: calls.append("keep"))
    assert patches._init_keeping_heap(Learner)(Learner()) == "model data"
    assert calls == (["keep", "init"] if flag else ["init"])


def test_a_bad_keep_heap_value_says_what_is_allowed(capsys):
    from sf_maze.train import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--env=memory_9x9", "--maze_learner_keep_heap=maybe"])
    assert "--maze_learner_keep_heap: expected True or False, got 'maybe'" in capsys.readouterr().err
