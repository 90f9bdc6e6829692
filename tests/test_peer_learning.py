"""benchmarks/peer_learning.py: the time-to-score arithmetic on hand-made scores, training hours read
from tensorboard summaries, the RecurrentPPO adapter's per-slot memory, bad input (exit 2, one line),
and tiny real runs (sb3-contrib's RecurrentPPO on memory_9x9, the cheapest env its CnnLstmPolicy takes:
AMaze gives dict observations): two scored saves in sf_maze.evaluate's report format, and a SIGTERM
after the first save that the same command resumes from."""
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "benchmarks", "peer_learning.py")


def load_benchmark():
    spec = importlib.util.spec_from_file_location("peer_learning", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load_benchmark()


# ---- time to score ---------------------------------------------------------------------------------
def test_first_reach_takes_the_first_budget_at_or_above_each_threshold(bench):
    points = [(3_000_000, 3.0, 5.6), (1_000_000, 1.0, 0.7), (2_000_000, 2.0, 1.0)]  # unsorted on purpose
    assert bench.first_reach(points, 1.0) == (2_000_000, 2.0)  # equal counts as reached
    assert bench.first_reach(points, 3.0) == (3_000_000, 3.0)
    assert bench.first_reach(points, 5.0) == (3_000_000, 3.0)
    assert bench.first_reach(points, 6.0) is None
    assert bench.first_reach([], 1.0) is None


def test_mean_reach_and_ratio(bench):
    ours = [[(2_000_000, 2.0, 1.5), (3_000_000, 3.0, 8.0)],
            [(2_000_000, 4.0, 0.7), (3_000_000, 6.0, 5.6)]]
    assert bench.mean_reach(ours, 1.0, 0) == 2_500_000  # 2M and 3M
    assert bench.mean_reach(ours, 1.0, 1) == 4.0  # 2 h and 6 h
    assert bench.mean_reach(ours, 6.0, 0) is None  # the second run never reached 6
    peer = [(1_000_000, 1.0, 0.2), (2_000_000, 2.0, 1.2), (3_000_000, 3.0, 2.0)]
    assert bench.ratio(peer, ours, 1.0, 0) == (0.8, False)  # 2M / 2.5M
    assert bench.ratio(peer, ours, 1.0, 1) == (0.5, False)  # 2 h / 4 h
    # never reached 5 by its last save (3M, 3 h): a lower bound against ours' 3M and 4.5 h
    assert bench.ratio(peer, ours, 5.0, 0) == (1.0, True)
    assert bench.ratio(peer, ours, 5.0, 1) == (pytest.approx(3.0 / 4.5), True)
    assert bench.ratio(peer, ours, 6.0, 0) == (None, False)  # ours did not reach it in every run
    assert bench.ratio([], ours, 1.0, 0) == (None, False)
    assert bench.ratio_cell(*bench.ratio(peer, ours, 5.0, 0)) == ">1.00x"


def write_events(folder: str, stretches) -> None:
    """One event file per stretch: [(step, wall time), ...] of reward/reward."""
    from torch.utils.tensorboard import SummaryWriter

    for k, events in enumerate(stretches):
        writer = SummaryWriter(folder, filename_suffix=f".{k}")
        for step, wall in events:
            writer.add_scalar("reward/reward", 1.0, step, walltime=wall)
        writer.close()
        time.sleep(1.1)  # event file names carry the second they were opened: keep them in order


def test_hours_come_from_the_summaries_without_the_gaps_between_stretches(bench, tmp_path):
    folder = tmp_path / "run" / ".summary" / "0"
    folder.mkdir(parents=True)
    # stretch 1: 0 -> 1M in 3600 s; 10 h pause; stretch 2: 1M -> 2M in 1800 s, then on to 2.5M
    write_events(str(folder), [[(0, 1000.0), (500_000, 2800.0), (1_000_000, 4600.0)],
                               [(1_000_000, 40600.0), (2_000_000, 42400.0), (2_500_000, 43000.0)]])
    stretches = bench.summary_stretches(str(tmp_path / "run"))
    assert len(stretches) == 2
    assert bench.hours_at(stretches, 1_000_000) == pytest.approx(1.0)
    assert bench.hours_at(stretches, 2_000_000) == pytest.approx(1.5)
    assert bench.hours_at(stretches, 2_550_000) == pytest.approx(1.0 + 2400 / 3600)  # within a summary of the end
    assert bench.hours_at(stretches, 3_000_000) is None  # the run never got there
    # files past the frames asked for are not read
    assert len(bench.summary_stretches(str(tmp_path / "run"), max_frames=900_000)) == 1


# ---- the adapter ---------------------------------------------------------------------------------
class FakePolicy:
    lstm_hidden_state_shape = (1, 1, 3)


class FakeModel:
    """predict adds 1 to each state and returns the observation's value as the action."""

    policy = FakePolicy()

    def __init__(self):
        self.calls = []

    def predict(self, obs, state, episode_start, deterministic):
        self.calls.append(dict(state=state[0].copy(), episode_start=np.array(episode_start), deterministic=deterministic))
        return obs[:, 0].astype(np.int64), (state[0] + 1, state[1] + 1)


def test_recurrent_ppo_agent_keeps_each_slots_memory(bench):
    model = FakeModel()
    agent = bench.RecurrentPPOAgent(model)
    agent.reset(3)
    for slot in range(3):
        agent.start(slot, 1_000_000 + slot)
    assert agent.act([np.array([4]), np.array([5]), np.array([6])], [0, 1, 2]).tolist() == [4, 5, 6]
    assert model.calls[-1]["episode_start"].tolist() == [True, True, True]
    assert model.calls[-1]["deterministic"] is False
    agent.act([np.array([7]), np.array([8])], [0, 2])  # slot 1 waits
    assert model.calls[-1]["episode_start"].tolist() == [False, False]
    assert np.all(model.calls[-1]["state"] == 1)
    agent.start(0, 1_000_003)  # slot 0 begins a new episode: its memory is gone, the others' kept
    agent.act([np.array([1]), np.array([2]), np.array([3])], [0, 1, 2])
    assert model.calls[-1]["episode_start"].tolist() == [True, False, False]
    assert model.calls[-1]["state"][0, :, 0].tolist() == [0, 1, 2]


# ---- bad input ---------------------------------------------------------------------------------
def bad_input_cases(tmp_path):
    other_env = tmp_path / "other_env"
    other_env.mkdir()
    (other_env / "peer_run.json").write_text(json.dumps(dict(trainer="recurrent_ppo", env="memory_11x11")))
    sample_factory = tmp_path / "sample_factory"
    sample_factory.mkdir()
    (sample_factory / "config.json").write_text(json.dumps(dict(env="memory_9x9")))
    other_out = tmp_path / "other_out"
    other_out.mkdir()
    (other_out / "peer_learning.json").write_text(json.dumps(dict(env="memory_11x11", peer="recurrent_ppo")))
    return {
        "unknown env": (["--env=memory_10x10"], "Unknown maze size"),
        "not an image env": (["--env=amaze_7x7"], "CnnLstmPolicy"),
        "budget below one save": (["--frames=999", "--save_every=1000", "--score_at", "999"], "below one save interval"),
        "another env's run": ([f"--run_dir={other_env}"], "holds a recurrent_ppo run on memory_11x11"),
        "another trainer's run": ([f"--run_dir={sample_factory}"], "holds a Sample Factory run"),
        "another env's comparison": ([f"--out={other_out}"], "holds the comparison of recurrent_ppo on memory_11x11"),
    }


@pytest.mark.parametrize("case", ["unknown env", "not an image env", "budget below one save", "another env's run",
                                  "another trainer's run", "another env's comparison"])
def test_bad_input_is_one_line_and_exit_2(bench, tmp_path, capsys, case):
    pytest.importorskip("sb3_contrib")  # the first check: without it every case reads "not installed"
    argv, expected = bad_input_cases(tmp_path)[case]
    run_dir = str(tmp_path / "new_run")
    argv = [f"--run_dir={run_dir}", f"--out={tmp_path / 'out'}", "--ours", *argv]
    assert bench.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("peer_learning.py: error: ") and expected in err, err
    assert not os.path.exists(run_dir) and not os.path.exists(tmp_path / "out")  # nothing made


def test_missing_sb3_contrib_names_the_pip_command(bench, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sb3_contrib", None)  # find_spec answers None: not installed
    assert bench.main([f"--run_dir={tmp_path / 'run'}", f"--out={tmp_path / 'out'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'sb3-contrib==" in err, err


# ---- tiny real runs ------------------------------------------------------------------------------
TINY = ["--num_envs=2", "--preset=debug", "--episodes=3", "--max_episode_steps=20", "--eval_envs=2", "--ours"]


def run_script(args, **kwargs):
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=REPO, capture_output=True, text=True, **kwargs)


def read_record(run_dir) -> dict:
    with open(os.path.join(run_dir, "peer_run.json")) as f:
        return json.load(f)


@pytest.mark.slow
def test_tiny_run_writes_two_scored_reports_in_the_one_format(tmp_path):
    pytest.importorskip("sb3_contrib")
    from evaluation.report import REPORT_KEYS
    from evaluation.stats import REWARD_WINDOWS

    run_dir, out = tmp_path / "run", tmp_path / "out"
    done = run_script([*TINY, "--frames=64", "--save_every=32", "--score_at", "32", "64", f"--run_dir={run_dir}",
                       f"--out={out}"], timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    record = read_record(run_dir)
    assert record["frames"] == 64 and [s["frames"] for s in record["saves"]] == [32, 64]
    for save in record["saves"]:
        with open(run_dir / save["report"]) as f:
            report = json.load(f)
        assert set(report) == set(REPORT_KEYS) | {"episode_returns"}
        assert report["trainer"] == "recurrent_ppo" and report["checkpoint_env_steps"] == save["frames"]
        assert report["checkpoint"] == save["model"] and os.path.isfile(run_dir / save["model"])
        agent = report["scores"]["agent"]
        assert set(agent) == {"returns", "half_split", "reward_windows", "mean_length", "solve_rate"}
        assert agent["returns"]["n"] == 3 and agent["mean_length"] == 20 and agent["reward_windows"]["windows"] == REWARD_WINDOWS
        stem = os.path.splitext(save["report"])[0]
        assert os.path.isfile(run_dir / (stem + ".csv")) and os.path.isfile(run_dir / (stem + "_windows.csv"))
    table = (out / "table.md").read_text()
    assert "| RecurrentPPO | run | 32 |" in table and "| RecurrentPPO | run | 64 |" in table
    assert str(tmp_path) not in table and REPO not in table  # no machine paths in what is committed
    assert (out / "curve.png").stat().st_size > 0


@pytest.mark.slow
def test_sigterm_after_the_first_save_then_the_same_command_resumes(tmp_path):
    pytest.importorskip("sb3_contrib")
    run_dir = tmp_path / "run"
    args = [*TINY, "--frames=1024", "--save_every=256", "--score_at", "256", f"--run_dir={run_dir}",
            f"--out={tmp_path / 'out'}"]
    child = subprocess.Popen([sys.executable, SCRIPT, *args], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 400
    first = None
    while time.time() < deadline and child.poll() is None:
        saves = (read_record(run_dir) if (run_dir / "peer_run.json").is_file() else {}).get("saves", [])
        first = next((s for s in saves if s["frames"] >= 256 and s["report"]), None)
        if first:
            break
        time.sleep(0.2)
    assert first is not None, child.communicate()[0][-3000:] if child.poll() is not None else "no scored save in time"
    child.send_signal(signal.SIGTERM)
    output = child.communicate(timeout=300)[0]
    assert child.returncode == 128 + signal.SIGTERM, output[-3000:]
    stopped = read_record(run_dir)
    assert first["frames"] <= stopped["frames"] < 1024, stopped["frames"]
    assert stopped["model"] == f"models/model_{stopped['frames']:09d}.zip"
    first_model = (run_dir / first["model"]).read_bytes()
    first_report_mtime = os.path.getmtime(run_dir / first["report"])

    done = run_script(args, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    record = read_record(run_dir)
    assert record["frames"] >= 1024
    # the second stretch began where the first one saved: nothing trained twice
    assert [(s["start_frames"], s["end_frames"]) for s in record["stretches"]] == \
        [(0, stopped["frames"]), (stopped["frames"], record["frames"])]
    assert record["train_seconds"] > stopped["train_seconds"]
    assert hashlib.sha256((run_dir / first["model"]).read_bytes()).digest() == hashlib.sha256(first_model).digest()
    assert os.path.getmtime(run_dir / first["report"]) == first_report_mtime  # scored once
    scored = [s["frames"] for s in record["saves"] if s["report"]]
    assert scored == [first["frames"], record["frames"]]
