"""benchmarks/memory_learning.py on a tiny real run: its training call (and resume skip), the curve read
from the run's tensorboard summaries, the PNG, the table built from sf_maze.evaluate's statistics and
the reuse of evaluation files. AMaze stands in for Memory Maze: the same trainer and summaries at a
fraction of the time (~40 s in all on 2 cores)."""
import argparse
import importlib.util
import json
import os

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMES = 40_000


def load_benchmark():
    spec = importlib.util.spec_from_file_location("memory_learning", os.path.join(REPO, "benchmarks", "memory_learning.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load_benchmark()


@pytest.fixture(scope="module")
def run(bench, tmp_path_factory):
    train_dir = str(tmp_path_factory.mktemp("memory_learning"))
    args = bench.parse_args(["--env=amaze_7x7", f"--frames={FRAMES}", f"--train_dir={train_dir}", "--episodes=4",
                             # summaries every second: on a quiet machine the whole run takes ~15 s, less than
                             # the default 20 s between summaries, and would leave no curve to read
                             "--train_args", "--device=cpu", "--experiment_summaries_interval=1"])
    first = bench.train(args, "LSTM", 0)
    return args, first


@pytest.mark.slow
def test_train_reaches_budget_and_a_rerun_does_not_train_again(bench, run):
    args, first = run
    assert first["experiment"] == "amaze_7x7_lstm_seed0"
    assert first["frames"] >= FRAMES and first["fps"] > 0
    run_dir = os.path.join(args.train_dir, first["experiment"])
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    assert config["stats_avg"] == bench.STATS_AVG and config["seed"] == 0 and config["use_rnn"] is True
    again = bench.train(args, "LSTM", 0)
    # the rerun trains nothing but still reports the speed of the call that did
    assert again["frames"] == first["frames"] and again["fps"] == first["fps"]


@pytest.mark.slow
def test_curve_comes_from_the_run_summaries_and_is_drawn(bench, run, tmp_path):
    import matplotlib.image

    args, first = run
    curves = bench.read_curves([os.path.join(args.train_dir, first["experiment"])])
    assert list(curves) == ["amaze_7x7_lstm_seed0"]
    (steps, values), = curves["amaze_7x7_lstm_seed0"]
    assert len(steps) >= 1 and np.all(np.diff(steps) > 0)
    assert 0 < steps[-1] <= first["frames"]
    assert np.all((values >= 0) & (values <= 1))  # an AMaze episode pays at most 1
    # a run trained past this call's budget is drawn only up to it
    cut = int(steps[len(steps) // 2])
    run_dir = os.path.join(args.train_dir, first["experiment"])
    (cut_steps, cut_values), = bench.read_curves([run_dir], cut)["amaze_7x7_lstm_seed0"]
    assert cut_steps[-1] == cut and np.array_equal(cut_values, values[:len(cut_steps)])

    path = bench.plot_learning_curve(curves, str(tmp_path / "curve.png"), "amaze_7x7", random_mean=0.05, title="t")
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (600, 1560) and image.std() > 0  # two panels: with the references, and zoomed
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]
    assert bench.plot_learning_curve({}, str(tmp_path / "none.png"), "amaze_7x7", None, "t") is None


@pytest.mark.slow
def test_memory_maze_curve_draws_the_paper_points_read_from_the_figure(bench, tmp_path, monkeypatch):
    """The points off the paper's Figure A.1 land on the figure (the image differs without them), under
    their own label, and the note beside the table quotes Table 3 with its 100M budget."""
    import matplotlib.image

    from evaluation import references

    curves = {"memory_9x9_lstm_seed1": [(np.array([2e4, 5e5, 1e6]), np.array([0.1, 0.3, 0.4]))]}
    with_points = matplotlib.image.imread(
        bench.plot_learning_curve(curves, str(tmp_path / "with.png"), "memory_9x9", 0.23, "t"))
    monkeypatch.setattr(references, "CURVE_POINTS", {})
    without = matplotlib.image.imread(
        bench.plot_learning_curve(curves, str(tmp_path / "without.png"), "memory_9x9", 0.23, "t"))
    assert with_points.shape == without.shape and np.abs(with_points - without).max() > 0.5
    monkeypatch.undo()
    note = bench.paper_note("memory_9x9")
    assert "IMPALA 23.4 ± 0.4" in note and "100M env steps" in note and "paper, read from the figure" in note
    assert "0.35 at 1M" in note and "budget not stated" not in note  # IMPALA at 1M, Figure A.1


@pytest.mark.slow
def test_table_rows_are_sf_maze_evaluate_statistics(bench):
    from sf_maze.evaluate import score

    def episode(rewards):
        return dict(rewards=np.asarray(rewards, dtype=float), length=len(rewards))

    # returns 1 and 3: mean 2, std sqrt(2), t(0.975, 1) = 12.71; per-step rates: first halves 0 and 0.5,
    # second halves 0.5 and 1.
    agent = score([episode([0, 0, 1, 0]), episode([1, 0, 1, 1])])
    rand = score([episode([0, 0, 0, 0]), episode([0, 0, 0, 1])])
    runs = [dict(variant="LSTM", seed=3, frames=1_000_000, fps=151.2, report=dict(scores=dict(agent=agent)))]
    table = bench.format_table(runs, dict(scores=dict(random=rand)), episodes=2, eval_seed=1_000_000)
    lstm_row, random_row = table.splitlines()[-2:]
    assert lstm_row.startswith("| LSTM | 1,000,000 | 3 | 2.00 ± 1.41 | [-10.71, 14.71] |")
    assert "0.2500 → 0.7500" in lstm_row and lstm_row.endswith("| 151 |")
    assert random_row.startswith("| uniform random (same maze seeds) | - | - | 0.50 ± 0.71 |")
    assert "seeds 1000000..1000001" in table


def test_evaluation_files_are_reused_only_when_complete(bench, tmp_path):
    path = str(tmp_path / "eval.json")
    assert bench.read_report(path, 4) is None
    with open(path, "w") as f:
        f.write('{"episodes": 4, "full_epi')  # killed while writing
    assert bench.read_report(path, 4) is None
    for report, expected in [(dict(episodes=4, full_episodes=True), True), (dict(episodes=5, full_episodes=True), False),
                             (dict(episodes=4, full_episodes=False), False)]:
        with open(path, "w") as f:
            json.dump(report, f)
        assert (bench.read_report(path, 4) is not None) is expected


def test_bad_input_is_one_line(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--episodes=1"])
    assert "--episodes must be at least 2" in capsys.readouterr().err
    assert isinstance(bench.parse_args([]), argparse.Namespace)
    assert bench.parse_args([]).frames >= 1_000_000


def test_a_budget_is_scored_once_and_a_budget_passed_unscored_is_left_out(bench, tmp_path, monkeypatch):
    """--score_at: the score recorded for a budget is reused after the run went on; a budget the run
    passed before it was scored gets no row (its checkpoint is gone), never a later checkpoint's score."""
    args = bench.parse_args(["--env=memory_9x9", f"--train_dir={tmp_path}", "--episodes=4", "--frames=3000000",
                             "--score_at", "2000000"])
    run_dir = tmp_path / "memory_9x9_lstm_seed1"
    (run_dir / "checkpoint_p0").mkdir(parents=True)
    checkpoint = run_dir / "checkpoint_p0" / "checkpoint_000000625_2003200.pth"
    checkpoint.write_bytes(b"")
    monkeypatch.setattr(bench, "latest_checkpoints", lambda path: [str(checkpoint)])
    calls = []

    def fake_evaluate(command, log_path, show=None):  # sf_maze.evaluate's JSON for the final checkpoint
        calls.append(command)
        label = os.path.splitext(os.path.basename(str(checkpoint)))[0]
        out = run_dir / "eval" / (bench.file_stem("memory_9x9", label, 4, args.eval_seed, None) + ".json")
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(dict(episodes=4, full_episodes=True, label=label)))
        return 0

    monkeypatch.setattr(bench, "run_streaming", fake_evaluate)
    at_2m = bench.evaluate_run(args, "memory_9x9_lstm_seed1", 2_000_000)
    assert at_2m["label"] == "checkpoint_000000625_2003200" and len(calls) == 1
    checkpoint = run_dir / "checkpoint_p0" / "checkpoint_000000938_3003200.pth"  # the run went on to 3M
    checkpoint.write_bytes(b"")
    assert bench.evaluate_run(args, "memory_9x9_lstm_seed1", 2_000_000)["label"] == at_2m["label"]
    assert len(calls) == 1  # read back, not rescored with the 3M checkpoint
    assert bench.evaluate_run(args, "memory_9x9_lstm_seed1", 1_000_000) is None
    assert bench.evaluate_run(args, "memory_9x9_lstm_seed1", 3_000_000)["label"] == "checkpoint_000000938_3003200"


@pytest.mark.slow
def test_plot_only_draws_what_the_runs_hold_without_training_or_scoring(bench, run, tmp_path, capsys):
    from sf_maze.evaluate import score

    args, first = run
    run_dir = os.path.join(args.train_dir, first["experiment"])
    argv = ["--env=amaze_7x7", f"--frames={FRAMES}", f"--train_dir={args.train_dir}", "--episodes=4",
            f"--out={tmp_path}", "--seeds", "0", "--plot_only"]
    assert bench.main(argv) == 1  # nothing to compare with yet, and it scores nothing itself
    assert "no random-policy score" in capsys.readouterr().err

    def report(rewards, **extra):
        episodes = [dict(rewards=np.asarray(r, dtype=float), length=len(r)) for r in rewards]
        return dict(episodes=4, full_episodes=True, scores={"agent": score(episodes), "random": score(episodes)}, **extra)

    random_path = bench.random_report_path(bench.parse_args(argv))
    os.makedirs(os.path.dirname(random_path), exist_ok=True)
    json.dump(report([[0, 0], [0, 1], [0, 0], [0, 0]]), open(random_path, "w"))
    agent_path = os.path.join(run_dir, "eval", "at_budget.json")
    os.makedirs(os.path.dirname(agent_path), exist_ok=True)
    json.dump(report([[1, 1], [0, 1], [1, 0], [1, 1]], checkpoint_env_steps=first["frames"]), open(agent_path, "w"))
    # Relative to the run folder, as the benchmark writes it: a run folder copied elsewhere keeps its scores.
    json.dump({str(FRAMES): os.path.relpath(agent_path, run_dir)}, open(os.path.join(run_dir, bench.SCORES_FILE), "w"))
    checkpoints = sorted(os.listdir(os.path.join(run_dir, "checkpoint_p0")))

    assert bench.main(argv) == 0
    table = (tmp_path / "table.md").read_text()
    assert f"| LSTM | {first['frames']:,} | 0 | 1.50 ± 0.58 |" in table
    assert "| uniform random (same maze seeds) | - | - | 0.25 ± 0.50 |" in table
    assert f"frames reached: amaze_7x7_lstm_seed0 {first['frames']:,}" in table
    assert (tmp_path / "curve.png").stat().st_size > 0
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoint_p0"))) == checkpoints  # nothing trained


def test_a_budget_passed_in_an_earlier_call_shows_the_checkpoint_scored_there(bench, tmp_path, monkeypatch):
    """A resumed call goes past budgets scored before: their rows show the frames of the checkpoint that
    was scored, not how far the run has got since."""
    from sf_maze.evaluate import score

    def report(steps):
        episodes = [dict(rewards=np.asarray([0.0, 1.0]), length=2)] * 2
        return dict(episodes=2, full_episodes=True, checkpoint_env_steps=steps,
                    scores={"agent": score(episodes), "random": score(episodes)})

    monkeypatch.setattr(bench, "evaluate_random", lambda args: report(None))
    monkeypatch.setattr(bench, "train", lambda args, variant, seed, frames=None: dict(
        experiment=bench.experiment_name(args.env, variant, seed), frames=3_003_200, fps=80.0))
    monkeypatch.setattr(bench, "evaluate_run", lambda args, experiment, budget=None: report(
        {2_000_000: 2_003_200, 3_000_000: 3_003_200}[budget]))
    monkeypatch.setattr(bench, "read_curves", lambda run_dirs, max_frames=None: {})
    monkeypatch.setattr(bench, "plot_learning_curve", lambda *a, **k: None)
    argv = ["--env=memory_9x9", f"--train_dir={tmp_path}", "--episodes=2", "--frames=3000000",
            "--score_at", "2000000", f"--out={tmp_path}"]
    assert bench.main(argv) == 0
    table = (tmp_path / "table.md").read_text()
    assert "| LSTM | 2,003,200 | 1 |" in table and "| LSTM | 3,003,200 | 1 |" in table


@pytest.mark.parametrize("option, variant, short, flag", [
    ("--standardised_advantages", "STANDARDISED", "stdadv", "--maze_normalize_advantages=True"),
    ("--bf16_learner", "BF16", "bf16", "--maze_learner_bf16=True"),
])
def test_one_flag_arms_are_the_papers_agent_with_that_flag_changed(bench, tmp_path, monkeypatch, option, variant,
                                                                     short, flag):
    args = bench.parse_args(["--env=memory_9x9", f"--train_dir={tmp_path}", option])
    commands = []

    def fake_train(command, log_path, show=None):
        commands.append(command)
        return 0

    monkeypatch.setattr(bench, "run_streaming", fake_train)
    bench.train(args, "LSTM", 1)
    bench.train(args, getattr(bench, variant), 1)
    paper, arm = commands
    setting = flag.split("=")[0].lstrip("-")
    assert not [f for f in paper if setting in f]  # the default leaves the setting to sf_maze.train
    extra = [f for f in arm if f not in paper]
    assert extra == [f"--experiment=memory_9x9_{short}_seed1", flag], extra
    assert getattr(args, option.lstrip("-"))
