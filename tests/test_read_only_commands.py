"""A command that only reads (reports, plots, evaluate, enjoy, export, probing) never creates the folder it
was asked to read: given a missing one it prints one line naming it and exits 2, through the real command
line, and the folder is still missing afterwards."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MISSING = "{missing}"  # in a command: the folder that does not exist
OUT = "{out}"  # in a command: where a command would write, had it something to write
BENCHMARKS = os.path.join(REPO, "benchmarks")

# name -> argv, with MISSING and OUT filled in per test
COMMANDS = {
    "launcher.report": ["-m", "launcher.report", f"--train_dir={MISSING}", "--run=launcher.amaze_quick"],
    "launcher.report, sweep not started": ["-m", "launcher.report", f"--train_dir={OUT}",
                                           "--run=launcher.amaze_quick"],
    "probing.report": ["-m", "probing.report", os.path.join(MISSING, "state.json")],
    "evaluation.plot": ["-m", "evaluation.plot", f"--train_dir={MISSING}", f"--out={OUT}/curves.png"],
    "evaluation.plot, experiment": ["-m", "evaluation.plot", f"--train_dir={OUT}", "no_such_run"],
    "sf_maze.evaluate": ["-m", "sf_maze.evaluate", "--env=amaze_7x7", "--experiment=run", f"--train_dir={MISSING}"],
    "sf_maze.enjoy": ["-m", "sf_maze.enjoy", "--env=amaze_7x7", "--experiment=run", f"--train_dir={MISSING}"],
    "sf_maze.export": ["-m", "sf_maze.export", MISSING, f"--out={OUT}/export"],
    "dreamer.enjoy": ["-m", "dreamer.enjoy", f"--logdir={MISSING}"],
    "dreamer.evaluate": ["-m", "dreamer.evaluate", f"--logdir={MISSING}", f"--out={OUT}/eval"],
    "dreamer.evaluate, no checkpoint": ["-m", "dreamer.evaluate", f"--logdir={OUT}", f"--out={OUT}/eval"],
    "probing.train": ["-m", "probing.train", f"--data={MISSING}", "--model=random", f"--out={OUT}/r.json"],
    "probing.video": ["-m", "probing.video", f"--episode={MISSING}/episode_000000.npz", f"--probes={MISSING}/r.pt",
                      f"--out={OUT}/probe.mp4"],
    "memory_learning --plot_only": [os.path.join(BENCHMARKS, "memory_learning.py"), "--plot_only",
                                    f"--train_dir={MISSING}", f"--out={OUT}/memory_learning"],
    "memory_cores --table_only": [os.path.join(BENCHMARKS, "memory_cores.py"), "--table_only",
                                  f"--train_dir={MISSING}"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_missing_folder_is_one_line_exit_2_and_never_created(name, tmp_path):
    missing, out = tmp_path / "does_not_exist", tmp_path / "out"
    out.mkdir()
    argv = [arg.replace(MISSING, str(missing)).replace(OUT, str(out)) for arg in COMMANDS[name]]
    result = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    # Named: `missing`, or (the sweep, the experiment) a folder inside `out` that it lacks
    assert str(missing if MISSING in " ".join(COMMANDS[name]) else out) in lines[0], lines[0]
    assert not missing.exists() and os.listdir(out) == []
