"""Watching and scoring agents: enjoy (video), evaluate (statistics), plot, play, and the top-down map.

One short real training run (the session's `short_run`, tests/conftest.py) feeds enjoy, evaluate and
plot; episodes are cut to a few steps with --max_episode_steps so the whole file stays within a few
minutes on 2 cores.
"""
import csv
import glob
import json
import math
import os
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from conftest import SHORT_RUN, SHORT_RUN_EXPERIMENT  # noqa: F401  SHORT_RUN: test_export's

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = SHORT_RUN_EXPERIMENT


@pytest.fixture(scope="module")
def trained(short_run):
    """The session's short real run (tests/conftest.py), read only: its train_dir."""
    return short_run


def read_video(path):
    import imageio

    reader = imageio.get_reader(path, "ffmpeg")
    try:
        return [frame for frame in reader]
    finally:
        reader.close()


# ---- enjoy ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_enjoy_writes_side_by_side_mp4_of_expected_length(trained, tmp_path, capsys):
    from sf_maze.enjoy import main

    video = str(tmp_path / "replay.mp4")
    argv = ["--env=memory_9x9", f"--experiment={EXPERIMENT}", f"--train_dir={trained}", "--max_num_episodes=2",
            "--max_episode_steps=5", f"--video_name={video}", "--device=cpu"]
    assert main(argv) == 0, capsys.readouterr().err
    frames = read_video(video)
    # Two episodes of 5 steps, one frame per observation: 2 x (5 + 1).
    assert len(frames) == 12
    # Agent view (256) | 4 px gap | map (256).
    assert frames[0].shape == (256, 516, 3)
    left, right = frames[0][:, :256], frames[0][:, 260:]
    assert left.std() > 5 and right.std() > 5  # both panels hold pictures, not blank frames
    assert "episode 1: seed 1000001" in capsys.readouterr().out


@pytest.mark.slow
def test_enjoy_and_evaluate_amaze_through_the_same_commands(tmp_path, capsys):
    """An AMaze experiment (untrained weights saved as Sample Factory does): top-down video and scores."""
    import torch
    from sample_factory.model.actor_critic import create_actor_critic

    from sf_maze.enjoy import main as enjoy
    from sf_maze.evaluate import main as evaluate
    from sf_maze.policy import dict_space, make_eval_env, parse_eval_cfg

    cfg = parse_eval_cfg(["--env=amaze_7x7", "--experiment=am", f"--train_dir={tmp_path}", "--device=cpu"],
                         lambda parser: None)
    env = make_eval_env(cfg)
    torch.manual_seed(0)  # fixed weights: the episodes below are then the same on every run of this test
    model = create_actor_critic(cfg, dict_space(env.observation_space), env.action_space)
    (tmp_path / "am" / "checkpoint_p0").mkdir(parents=True)
    (tmp_path / "am" / "config.json").write_text(json.dumps(vars(cfg), default=str))
    torch.save({"model": model.state_dict(), "env_steps": 0}, tmp_path / "am" / "checkpoint_p0" / "checkpoint_000000000_0.pth")

    common = ["--env=amaze_7x7", "--experiment=am", f"--train_dir={tmp_path}", "--max_episode_steps=10"]
    assert enjoy(common + ["--max_num_episodes=2", "--video_name=amaze"]) == 0
    out = capsys.readouterr().out
    lengths = [int(line.rsplit("length", 1)[1]) for line in out.splitlines() if line.startswith("episode ")]
    assert len(lengths) == 2 and all(1 <= n <= 10 for n in lengths)  # a lucky walk may reach the goal early
    frames = read_video(str(tmp_path / "am" / "amaze.mp4"))
    assert len(frames) == sum(n + 1 for n in lengths)
    assert frames[0].shape == (256 + 24, 256, 3)  # score line above the top-down view

    assert evaluate(common + ["--episodes=3", "--num_envs=1", "--with_random=True"]) == 0
    [json_path] = glob.glob(str(tmp_path / "am" / "eval" / "*.json"))
    report = json.load(open(json_path))
    assert report["references"] == {} and report["scores"]["agent"]["returns"]["n"] == 3

    # Same checkpoint, same seeds: the same episodes, action for action (sampled actions included).
    scored = []
    for run in ("a", "b"):
        argv = ["--env=amaze_7x7", "--experiment=am", f"--train_dir={tmp_path}", "--max_episode_steps=100",
                "--episodes=12", "--num_envs=2", f"--out={tmp_path / run}"]
        assert evaluate(argv) == 0
        [json_path] = glob.glob(str(tmp_path / run / "*.json"))
        csv_path = json_path[:-5] + ".csv"  # beside it: <stem>_windows.csv
        scored.append([(r["seed"], r["length"], r["episode_return"]) for r in csv.DictReader(open(csv_path))])
    assert scored[0] == scored[1]
    # Some episodes reach the goal early and some do not: sampled actions matter, so the match is not trivial.
    assert len({length for _, length, _ in scored[0]}) > 1, scored[0]


# ---- evaluate -------------------------------------------------------------------------------------
def test_statistics_on_fixed_data():
    from evaluation.stats import half_rates, half_split_summary, summarize_returns

    s = summarize_returns([1.0, 2.0, 3.0, 4.0])
    assert s["n"] == 4 and s["mean"] == pytest.approx(2.5)
    assert s["std"] == pytest.approx(1.2909944, rel=1e-6)  # sample std (ddof=1)
    # t(0.975, 3) = 3.182446: half width = 3.182446 * 1.2909944 / 2.
    assert s["ci_halfwidth"] == pytest.approx(2.0542, abs=1e-4)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((2.5 - 2.0542, 2.5 + 2.0542), abs=1e-4)
    one = summarize_returns([7.0])
    assert one["mean"] == 7.0 and math.isnan(one["std"]) and math.isnan(one["ci_low"])

    assert half_rates([0, 1, 0, 0, 1, 1, 0, 1]) == dict(first=0.25, second=0.75)
    assert half_rates([1, 0, 1, 1, 1]) == dict(first=0.5, second=1.0)  # odd: middle step in the 2nd half
    both = half_split_summary([[0, 1, 0, 0, 1, 1, 0, 1], [0, 0, 1, 1]])
    # paired change per episode: 0.5 and 1.0; t(0.975, 1) = 12.706, std 0.3536, half-width 12.706 * 0.3536 / sqrt(2)
    assert both == pytest.approx(dict(first=0.125, second=0.875, ratio=7.0, change=0.75,
                                      change_ci_low=0.75 - 3.1765, change_ci_high=0.75 + 3.1765), abs=1e-3)
    rising = half_split_summary([[0, 0, 1, 1], [0, 0, 1, 0], [0, 0, 1, 1]])
    assert rising["change_ci_low"] > 0  # every episode collects more late: the interval is above 0
    assert math.isnan(half_split_summary([[0, 0, 0, 0]])["ratio"])  # no first-half reward: no ratio
    with pytest.raises(ValueError):
        summarize_returns([])


class ScriptedEnv(gym.Env):
    """Episode length 4 + seed % 3; reward 1 for action 1 on even steps; obs = [seed, step]."""

    observation_space = gym.spaces.Box(-1e9, 1e9, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        self.seed_, self.t = seed, 0
        return np.array([seed, 0], np.float32), {}

    def step(self, action):
        reward = float(action == 1 and self.t % 2 == 0)
        self.t += 1
        return np.array([self.seed_, self.t], np.float32), reward, False, self.t >= 4 + self.seed_ % 3, {}


def make_scripted_env(index):
    return ScriptedEnv()


class AlwaysOne:
    """evaluation.score's Agent interface, recording the episode starts it is told of."""

    def reset(self, num_envs):
        self.starts = []

    def start(self, slot, seed):
        self.starts.append(seed)

    def act(self, observations, slots):
        return np.ones(len(observations), np.int64)


@pytest.mark.parametrize("num_envs,processes", [(1, True), (2, True), (3, False)])
def test_fixed_policy_episodes_are_complete_and_in_seed_order(num_envs, processes):
    from evaluation.score import EnvPool, run_episodes

    seeds = [10, 11, 12, 13, 14]
    agent = AlwaysOne()
    with EnvPool(make_scripted_env, num_envs, processes=processes) as pool:
        episodes = run_episodes(pool, agent, seeds)
    assert sorted(agent.starts) == seeds  # every episode started once, with its seed
    assert [e["seed"] for e in episodes] == seeds
    assert [e["length"] for e in episodes] == [4 + s % 3 for s in seeds]
    # Action 1 on every even step: ceil(length / 2) rewards.
    assert [e["rewards"].sum() for e in episodes] == [math.ceil((4 + s % 3) / 2) for s in seeds]


@pytest.mark.slow
def test_evaluate_scores_checkpoint_and_random_on_same_seeds(trained, tmp_path, capsys):
    from sf_maze.evaluate import main

    out = tmp_path / "eval"
    argv = ["--env=memory_9x9", f"--experiment={EXPERIMENT}", f"--train_dir={trained}", "--episodes=2",
            "--num_envs=1", "--max_episode_steps=6", "--with_random=True", f"--out={out}", "--device=cpu"]
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "human 26.4" in printed and "oracle 34.8" in printed
    assert "IMPALA 23.4 ± 0.4" in printed and "Dreamer (TBTT) 33.2 ± 0.1" in printed  # Table 3 of v1
    assert "100M env steps" in printed and "budget not stated" not in printed
    [json_path] = glob.glob(str(out / "*.json"))
    report = json.load(open(json_path))
    assert set(report["scores"]) == {"agent", "random"}
    assert report["scores"]["agent"]["returns"]["n"] == 2 and report["max_episode_steps"] == 6
    assert report["references"]["human"] == 26.4 and not report["full_episodes"]
    assert report["reference_budgets"] == {"IMPALA": "100M env steps", "Dreamer": "100M env steps",
                                           "Dreamer (TBTT)": "100M env steps"}
    rows = list(csv.DictReader(open(json_path[:-5] + ".csv")))
    assert [(r["policy"], int(r["seed"]), int(r["length"])) for r in rows] == [
        ("agent", 1000000, 6), ("agent", 1000001, 6), ("random", 1000000, 6), ("random", 1000001, 6)]
    assert report["episode_returns"]["agent"] == [float(r["episode_return"]) for r in rows[:2]]
    from test_report import check_report_files

    report = check_report_files(json_path, "sample_factory")
    assert report["checkpoint"].startswith("checkpoint_p0" + os.sep)  # relative to the run folder
    assert trained not in open(json_path).read()  # no absolute path of this machine in the report
    assert "reward/step per tenth of the episode" in printed


@pytest.mark.slow
def test_evaluate_workers_print_no_gym_banner(tmp_path):
    """Each env worker process imports Sample Factory; with the old gym package installed each one
    printed gym's deprecation banner."""
    command = [sys.executable, "-m", "sf_maze.evaluate", "--env=amaze_7x7", "--random", "--episodes=2",
               "--num_envs=2", "--max_episode_steps=5", f"--out={tmp_path}"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "random" in result.stdout
    banner = ("Gym has been unmaintained", "upgrade to Gymnasium")
    assert not any(line in result.stderr for line in banner), result.stderr[-2000:]


# ---- missing inputs -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("module", ["sf_maze.enjoy", "sf_maze.evaluate"])
def test_missing_experiment_or_checkpoint_is_one_clear_line(trained, tmp_path, capsys, module):
    import importlib

    main = importlib.import_module(module).main
    def error_line():
        # Sample Factory's own debug logging may share stderr; ours is exactly one line.
        lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith(f"{module}: error:")]
        assert len(lines) == 1
        return lines[0]

    assert main(["--env=memory_9x9", "--experiment=no_such_run", f"--train_dir={trained}"]) == 2
    err = error_line()
    assert os.path.join(trained, "no_such_run") in err and EXPERIMENT in err  # what was looked for, what exists

    # A set-up experiment without checkpoints (training died before its first save).
    train_dir = tmp_path / "td"
    (train_dir / "empty_run").mkdir(parents=True)
    shutil.copy(os.path.join(trained, EXPERIMENT, "config.json"), train_dir / "empty_run" / "config.json")
    assert main(["--env=memory_9x9", "--experiment=empty_run", f"--train_dir={train_dir}"]) == 2
    err = error_line()
    assert os.path.join(str(train_dir), "empty_run", "checkpoint_p0", "checkpoint_*.pth") in err
    assert "does not exist" in err  # the checkpoint folder itself is missing, and it says so

    # A truncated checkpoint file: named, with the reason, instead of a pickle trace.
    broken = train_dir / "empty_run" / "checkpoint_p0" / "checkpoint_000000001_16.pth"
    broken.parent.mkdir()
    broken.write_bytes(b"PK\x03\x04 truncated")
    assert main(["--env=memory_9x9", "--experiment=empty_run", f"--train_dir={train_dir}"]) == 2
    err = error_line()
    assert str(broken) in err and "cannot be loaded" in err


# ---- a checkpoint that is not the agent asked for (issue 42) ---------------------------------------
def _error_lines(capsys, module):
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith(f"{module}: error:")]


@pytest.mark.slow
def test_evaluate_refuses_a_checkpoint_without_the_core_asked_for(trained, tmp_path, capsys):
    """The run's weights hold an LSTM; --use_rnn=False asks for a feed-forward agent: one line naming
    both, exit 2, and no file or folder written."""
    from sf_maze.evaluate import main

    train_dir = tmp_path / "td"
    shutil.copytree(os.path.join(trained, EXPERIMENT), train_dir / EXPERIMENT)
    before = sorted(str(p) for p in train_dir.rglob("*"))
    out = tmp_path / "out"
    argv = ["--env=memory_9x9", f"--experiment={EXPERIMENT}", f"--train_dir={train_dir}", "--episodes=1",
            "--num_envs=1", "--max_episode_steps=3", "--device=cpu"]
    assert main(argv + ["--use_rnn=False", f"--out={out}"]) == 2
    [line] = _error_lines(capsys, "sf_maze.evaluate")
    assert "with a LSTM core" in line and "without a memory core" in line and "--use_rnn=False" in line, line
    assert not out.exists() and sorted(str(p) for p in train_dir.rglob("*")) == before
    assert main(argv + ["--maze_core=gru"]) == 2  # a core, but another kind
    [line] = _error_lines(capsys, "sf_maze.evaluate")
    assert "with a LSTM core" in line and "with a GRU core" in line, line
    assert sorted(str(p) for p in train_dir.rglob("*")) == before  # no eval/ folder either


@pytest.mark.slow
def test_evaluate_refuses_amaze_weights_in_a_memory_maze_run(trained, tmp_path, capsys):
    """config.json says memory_9x9, the checkpoint holds an AMaze agent (a copied file): refused by its weights."""
    import torch
    from sample_factory.model.actor_critic import create_actor_critic

    from sf_maze.evaluate import main
    from sf_maze.policy import dict_space, make_eval_env, parse_eval_cfg

    cfg = parse_eval_cfg(["--env=amaze_7x7", "--experiment=am", f"--train_dir={tmp_path}", "--device=cpu"],
                         lambda parser: None)
    env = make_eval_env(cfg)
    model = create_actor_critic(cfg, dict_space(env.observation_space), env.action_space)
    train_dir = tmp_path / "td"
    shutil.copytree(os.path.join(trained, EXPERIMENT), train_dir / EXPERIMENT)
    [checkpoint] = sorted((train_dir / EXPERIMENT / "checkpoint_p0").glob("checkpoint_*.pth"))[-1:]
    torch.save({"model": model.state_dict(), "env_steps": 0, "train_step": 0}, checkpoint)
    before = sorted(str(p) for p in train_dir.rglob("*"))
    assert main(["--env=memory_9x9", f"--experiment={EXPERIMENT}", f"--train_dir={train_dir}", "--episodes=1",
                 "--num_envs=1", "--max_episode_steps=3", "--device=cpu"]) == 2
    [line] = _error_lines(capsys, "sf_maze.evaluate")
    assert "an AMaze (grid view) agent" in line and "a Memory Maze (camera) agent" in line, line
    assert "--env=memory_9x9" in line and str(checkpoint) in line
    assert sorted(str(p) for p in train_dir.rglob("*")) == before


# ---- plot -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_plot_writes_png_from_real_summaries(trained, tmp_path, capsys):
    import imageio

    from evaluation.plot import main, plot_curves, read_scalars

    run_dir = os.path.join(trained, EXPERIMENT)
    steps, values = read_scalars(run_dir, "train/loss")
    assert len(steps) >= 1 and np.all(np.diff(steps) > 0) and np.all(np.isfinite(values))
    png = plot_curves({"short run": [run_dir]}, str(tmp_path / "loss.png"), tag="train/loss")
    image = imageio.v2.imread(png)
    assert image.ndim == 3 and image.shape[0] > 200 and image.std() > 1

    # So short a run has no episode-return points yet: the error lists the tags that do exist.
    assert main([f"--train_dir={trained}", EXPERIMENT, f"--out={tmp_path / 'r.png'}"]) == 2
    err = capsys.readouterr().err
    assert "reward/reward" in err and "train/loss" in err


def test_plot_groups_seeds_into_mean_and_band(tmp_path):
    from tensorboardX import SummaryWriter

    from evaluation.plot import group_runs, main

    for name, seed, rnn in [("lstm_seed1", 1, True), ("lstm_seed2", 2, True), ("ff_seed1", 1, False)]:
        run = tmp_path / name
        (run / ".summary" / "0").mkdir(parents=True)
        (run / "config.json").write_text(json.dumps(dict(env="memory_9x9", seed=seed, experiment=name, use_rnn=rnn)))
        writer = SummaryWriter(str(run / ".summary" / "0"))
        for step in range(0, 1000, 100):
            writer.add_scalar("reward/reward", step / 100 + seed, step)
        writer.close()
    groups = group_runs(sorted(str(p) for p in tmp_path.iterdir()))
    assert sorted((label, len(dirs)) for label, dirs in groups.items()) == [("ff_seed1 [use_rnn=False]", 1),
                                                                           ("lstm [use_rnn=True]", 2)]
    assert main([f"--train_dir={tmp_path}", f"--out={tmp_path / 'curves.png'}"]) == 0
    assert os.path.getsize(tmp_path / "curves.png") > 10_000


def test_plot_labels_name_only_the_settings_that_differ():
    from evaluation.plot import setting_differences

    old = dict(seed=1, experiment="a", lr=1e-4, bf16=False)
    new = dict(seed=3, experiment="b", lr=1e-4, bf16="auto", keep_heap=True)  # keep_heap: newer than `old`
    assert setting_differences([old, new]) == [" [bf16=False]", " [bf16=auto]"]
    assert setting_differences([old, dict(old, seed=2)]) == ["", ""]
    many = [dict(a=i, b=i, c=i, d=i) for i in range(2)]
    assert setting_differences(many, shown=2) == [" [a=0, b=0, +2 more]", " [a=1, b=1, +2 more]"]


# ---- play -----------------------------------------------------------------------------------------
def test_play_headless_records_dataset_npz_and_mp4(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from evaluation.play import main, parse_keys

    keys = "up,up,left,up+right,none"
    assert main(["--env=memory_9x9_extraobs", f"--keys={keys}", "--seed=3", f"--out={tmp_path}", "--size=128"]) == 0
    [npz] = glob.glob(str(tmp_path / "*.npz"))
    data = np.load(npz)
    expected = {"image": ((6, 64, 64, 3), np.uint8), "action": ((6, 6), None), "reward": ((6,), None),
                "maze_layout": ((6, 9, 9), None), "agent_pos": ((6, 2), None), "agent_dir": ((6, 2), None),
                "targets_pos": ((6, 3, 2), None), "targets_vec": ((6, 3, 2), None), "target_pos": ((6, 2), None),
                "target_vec": ((6, 2), None), "target_color": ((6, 3), None)}
    assert set(data.files) == set(expected)
    for key, (shape, dtype) in expected.items():
        assert data[key].shape == shape, key
        if dtype is not None:
            assert data[key].dtype == dtype, key
    assert not data["action"][0].any()  # no action before the first observation
    assert data["action"][1:].argmax(axis=1).tolist() == parse_keys(keys) == [1, 1, 2, 5, 0]
    assert data["action"][1:].sum(axis=1).tolist() == [1] * 5
    assert not np.allclose(data["agent_pos"][0], data["agent_pos"][2])  # two steps forward moved the agent
    [mp4] = glob.glob(str(tmp_path / "*.mp4"))
    assert len(read_video(mp4)) == 6


def test_play_rejects_unknown_keys(capsys):
    from evaluation.play import main

    assert main(["--keys=up,jump"]) == 2
    assert "jump" in capsys.readouterr().err


# ---- top-down map ---------------------------------------------------------------------------------
def test_map_draws_agent_objects_and_walls_where_extraobs_says():
    from envs import make_env
    from envs.memory_maze_map import AGENT_COLOR, WALL_COLOR, grid_to_pixel, read_map_state

    env = make_env("memory_9x9_extraobs", seed=4, render_mode="map")
    try:
        obs, _ = env.reset(seed=4)
        for action in [1, 1, 1, 4, 1]:
            obs, *_ = env.step(action)
        state = read_map_state(env)
        np.testing.assert_allclose(state.agent_pos, obs["agent_pos"])
        np.testing.assert_allclose(state.targets_pos, obs["targets_pos"])
        np.testing.assert_array_equal(state.free.astype(np.uint8), obs["maze_layout"])
        np.testing.assert_allclose(state.targets_pos[state.current_target], obs["target_pos"])

        size = 256
        frame = env.render()  # render_mode="map"
        assert frame.shape == (size, size, 3) and frame.dtype == np.uint8
        col, row = np.round(grid_to_pixel(obs["agent_pos"], 9, size)).astype(int)
        assert tuple(frame[row, col]) == AGENT_COLOR
        # The agent colour appears nowhere but around the agent.
        ys, xs = np.nonzero(np.all(frame == AGENT_COLOR, axis=-1))
        assert len(xs) and np.all(np.abs(xs - col) < 20) and np.all(np.abs(ys - row) < 20)
        for pos, color in zip(obs["targets_pos"], state.target_colors):
            tc, tr = np.round(grid_to_pixel(pos, 9, size)).astype(int)
            if np.hypot(tc - col, tr - row) > 15:  # not covered by the agent
                assert np.abs(frame[tr, tc].astype(int) - color).max() <= 2
        wall_y, wall_x = np.argwhere(obs["maze_layout"] == 0)[0]
        wc, wr = np.round(grid_to_pixel((wall_x + 0.5, wall_y + 0.5), 9, size)).astype(int)
        assert tuple(frame[wr, wc]) == WALL_COLOR

        # The trail holds this episode's positions and restarts on reset.
        assert len(env._map_renderer.trail) == 1
        env.step(1)
        env.render()
        assert len(env._map_renderer.trail) == 2
        env.reset(seed=5)
        env.render()
        assert len(env._map_renderer.trail) == 1
    finally:
        env.close()


# ---- memory span: how far back the agent's memory reaches --------------------------------------------
class _CountingPolicy:
    """A stand-in TrainedPolicy whose state counts the steps since it was last zero."""

    def initial_state(self, batch):
        import torch

        return torch.zeros((batch, 1))

    def act(self, observations, states):
        return np.asarray([int(s) for s in states[:, 0]]), states + 1


@pytest.mark.parametrize("span, expected, eighth", [(0, [0, 1, 2, 3, 4, 5, 6], 7), (1, [0] * 7, 0),
                                                    (3, [0, 1, 2, 0, 1, 2, 0], 1)])
def test_memory_span_zeroes_the_state_every_span_steps(span, expected, eighth):
    from sf_maze.policy import TrainedAgent

    agent = TrainedAgent(_CountingPolicy(), memory_span=span)
    agent.reset(2)
    agent.start(0, seed=1)
    agent.start(1, seed=2)
    seen = [agent.act([None, None], [0, 1]).tolist() for _ in range(7)]
    assert [a for a, _ in seen] == expected and [b for _, b in seen] == expected
    agent.start(1, seed=3)  # a new episode restarts slot 1's count, slot 0 goes on
    assert agent.act([None, None], [0, 1]).tolist() == [eighth, 0]


def test_memory_span_needs_an_agent(capsys):
    from sf_maze.evaluate import main

    assert main(["--env=memory_9x9", "--random", "--memory_span=10", "--episodes=1"]) == 2
    assert "--memory_span=10 needs an agent" in capsys.readouterr().err
    assert main(["--env=memory_9x9", "--experiment=x", "--memory_span=-1", "--episodes=1"]) == 2
    assert "memory_span" in capsys.readouterr().err
