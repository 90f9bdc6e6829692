"""A real tiny sweep with Sample Factory's launcher: runs, report, interruption and relaunch."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = "launcher.amaze_quick"


def launch(train_dir, steps, **popen_kwargs):
    env = dict(os.environ, SF_MAZE_SWEEP_STEPS=str(steps))
    command = [sys.executable, "-m", "sample_factory.launcher.run", f"--run={RUN}", "--backend=processes",
               "--max_parallel=2", "--pause_between=0", f"--train_dir={train_dir}"]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **popen_kwargs)


def finish(process, timeout=420):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return output


def report(train_dir):
    from launcher.report import collect_runs

    return {run["name"]: run for run in collect_runs(str(train_dir), RUN)}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    train_dir = tmp_path_factory.mktemp("sweep")
    finish(launch(train_dir, 12000))
    return train_dir


@pytest.mark.slow
def test_sweep_runs_every_seed_and_size_and_reports_them(sweep):
    runs = report(sweep)
    assert len(runs) == 4
    assert {run["env"] for run in runs.values()} == {"amaze_7x7", "amaze_9x9"}
    assert {run["seed"] for run in runs.values()} == {1, 2}
    for run in runs.values():
        assert run["status"] == "finished" and run["steps"] >= 12000 and run["budget"] == 12000, run
    result = subprocess.run([sys.executable, "-m", "launcher.report", f"--train_dir={sweep}", f"--run={RUN}"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    table_rows = [line for line in result.stdout.splitlines() if re.match(r"\| \d\d_lstm_env_amaze", line)]
    assert len(table_rows) == 4 and all("finished" in row for row in table_rows)
    assert os.path.isfile(sweep / "amaze_quick" / "report.md")


@pytest.mark.slow
def test_interrupted_sweep_resumes_and_finished_runs_are_skipped(sweep):
    # A budget no run can reach before the kill, so the kill always leaves runs unfinished.
    process = launch(sweep, 1_000_000, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and not any(run["status"] == "running" and run["budget"] == 1_000_000
                                             for run in report(sweep).values()):
        time.sleep(0.5)
    time.sleep(2)
    os.killpg(process.pid, signal.SIGKILL)  # the launcher and every run it started
    process.communicate()
    interrupted = [run for run in report(sweep).values() if run["status"] != "finished"]
    assert interrupted, "nothing was left unfinished by the kill"
    # Killed outright, a run never records its end: the report sees its process gone.
    assert all(run["status"] in ("died", "short of budget") for run in interrupted), interrupted

    # Relaunched (with a budget of 24000 now), every run continues from its checkpoint.
    output = finish(launch(sweep, 24000))
    loaded = [int(x) for x in re.findall(r"Loaded experiment state at self.train_step=\d+, self.env_steps=(\d+)", output)]
    assert len(loaded) == 4 and min(loaded) >= 12000, loaded  # every run resumed from its checkpoint
    runs = report(sweep)
    assert all(run["status"] == "finished" and run["steps"] >= 24000 for run in runs.values()), runs

    output = finish(launch(sweep, 24000))
    assert output.count("nothing to do") == 4, output[-3000:]


@pytest.mark.slow
def test_slurm_backend_writes_one_job_per_run(tmp_path):
    workdir = tmp_path / "slurm"
    workdir.mkdir()
    command = [sys.executable, "-m", "sample_factory.launcher.run", "--run=launcher.memory_maze_sizes", "--backend=slurm",
               f"--slurm_workdir={workdir}", "--slurm_print_only=True", "--slurm_sbatch_template=launcher/sbatch_template.sh",
               "--slurm_timeout=48:00:00", f"--train_dir={tmp_path / 'runs'}", "--pause_between=0"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    scripts = sorted(workdir.glob("sbatch_*.sh"))
    assert len(scripts) == 20  # 5 seeds x 4 sizes
    text = scripts[0].read_text()
    assert "#SBATCH --time=48:00:00" in text and '.venv}/bin/activate"' in text
    assert "#SBATCH --signal=B:USR1@300" in text and "#SBATCH --requeue" in text
    assert re.search(r"^python -m sf_maze.train --train_for_env_steps=100000000 --env=memory_\d+x\d+ --seed=\d", text, re.M)


def test_report_quotes_the_papers_references_with_their_budget():
    """Memory Maze settings get Table 3's scores for their size and, below a 100M budget, a note saying so."""
    from launcher.report import render_report

    runs = [dict(name=f"mm{size}_seed{seed}", setting={"experiment": "mm", "env": f"memory_{size}"}, seed=seed,
                 env=f"memory_{size}", budget=2_000_000, status="finished", steps=2_000_000, score=0.5)
            for size in ("9x9", "15x15") for seed in (0, 1)]
    runs.append(dict(name="amaze_seed0", setting={"experiment": "amaze"}, seed=0, env="amaze_7x7", budget=8000,
                     status="finished", steps=8000, score=0.1))
    text = render_report(runs, {})
    row = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| experiment=")}
    assert "IMPALA 23.4 ± 0.4" in row["| experiment=mm env=memory_9x9"]
    big = row["| experiment=mm env=memory_15x15"]
    assert "IMPALA 17.7 ± 1.4" in big and "IMPALA (400M) 27.7 ± 0.2" in big
    assert row["| experiment=amaze"].endswith("| - |")
    assert "after 100M env steps; these runs' budgets: 2M env steps." in text  # AMaze's 8000 is not listed
