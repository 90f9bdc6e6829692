"""probing: dataset format, scripted policy, resumable generation, loader errors, probes end to end.

One 9x9 env is built per test session (generation runs in-process and caches it); short episodes
(--steps) keep runtime down, and the 1000-step default is checked from the constants instead.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import SHORT_RUN_EXPERIMENT

from common.cli import InputError
from probing import generate
from probing.dataset import MalformedEpisodeError, load_episode, split_episodes
from probing.planner import FORWARD, LEFT, RIGHT, WaypointPolicy, cell_of, shortest_path, steer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = "memory_9x9"
STEPS = 40

# The published format, written out here from the memory-maze README's 'Offline Dataset' table
# (9x9: 3 objects) rather than imported, so the test checks the writer against the document.
PUBLISHED = {
    "image": ((64, 64, 3), "uint8"),
    "action": ((6,), "binary"),
    "reward": ((), "float"),
    "maze_layout": ((9, 9), "binary"),
    "agent_pos": ((2,), "float"),
    "agent_dir": ((2,), "float"),
    "targets_pos": ((3, 2), "float"),
    "targets_vec": ((3, 2), "float"),
    "target_pos": ((2,), "float"),
    "target_vec": ((2,), "float"),
    "target_color": ((3,), "float"),
}


def _generate(out, episodes, steps=STEPS, seed=0, workers=1):
    args = generate.build_parser().parse_args(
        [f"--env={ENV}", f"--episodes={episodes}", f"--out={out}", f"--steps={steps}", f"--seed={seed}",
         f"--workers={workers}"])
    return generate.generate(args)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("mm9"))
    _generate(out, episodes=4)
    return out


# ---- format ------------------------------------------------------------------------------------
def test_default_is_1000_steps_1001_entries():
    from probing.format import DEFAULT_STEPS

    assert DEFAULT_STEPS == 1000
    args = generate.build_parser().parse_args(["--episodes=1", "--out=x"])
    assert args.steps == 1000  # -> 1001 entries per key: collect_episode records steps + 1 rows


def test_generated_files_match_published_format(dataset):
    files = sorted(glob.glob(os.path.join(dataset, "*.npz")))
    assert len(files) == 4
    for path in files:
        with np.load(path) as npz:
            assert set(PUBLISHED) <= set(npz.files), set(PUBLISHED) - set(npz.files)
            for key, (shape, kind) in PUBLISHED.items():
                array = npz[key]
                assert array.shape == (STEPS + 1, *shape), (path, key, array.shape)
                if kind == "uint8":
                    assert array.dtype == np.uint8, (key, array.dtype)
                elif kind == "binary":
                    assert set(np.unique(array)) <= {0, 1}, (key, np.unique(array))
                else:
                    assert array.dtype.kind == "f", (key, array.dtype)
            action = npz["action"]
            assert not action[0].any(), "first action row is the published dummy zero"
            assert (action[1:].sum(1) == 1).all(), "later rows are one-hot"
            assert npz["reward"][0] == 0
            assert npz["terminal"].dtype == bool and not npz["terminal"].any()
            layout = npz["maze_layout"]
            assert (layout == layout[0]).all(), "the maze does not change within an episode"
            cells = np.floor(npz["agent_pos"]).astype(int)
            assert layout[0][cells[:, 1], cells[:, 0]].all(), "the agent is always on a free cell (layout[y, x])"
    layouts = [np.load(path)["maze_layout"][0] for path in files]
    assert any(not np.array_equal(layouts[0], other) for other in layouts[1:]), "episodes use different mazes"


# ---- scripted policy -------------------------------------------------------------------------------
def test_bfs_on_hand_built_layout():
    # Row 0 is the bottom row (y = 0); 1 = free. A wall column at x = 2 with a gap at the top (y = 3).
    layout = np.array([
        [1, 1, 0, 1],
        [1, 1, 0, 1],
        [1, 1, 0, 1],
        [1, 1, 1, 1],
    ], dtype=np.uint8)
    path = shortest_path(layout, (0, 0), (3, 0))
    assert path[0] == (0, 0) and path[-1] == (3, 0)
    assert len(path) == 10  # up to y = 3 (3), across to x = 3 (3), down to y = 0 (3), plus the start
    assert all(layout[y, x] for x, y in path)
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in zip(path, path[1:]))
    assert shortest_path(layout, (0, 0), (2, 0)) is None  # a wall cell
    closed = layout.copy()
    closed[3, 2] = 0
    assert shortest_path(closed, (0, 0), (3, 0)) is None  # the gap is closed: unreachable
    assert cell_of(np.array([3.7, 0.2])) == (3, 0)


def test_steer_turns_toward_the_point():
    pos, facing_x = np.array([0.5, 0.5]), np.array([1.0, 0.0])
    assert steer(pos, facing_x, np.array([3.5, 0.5])) == FORWARD
    assert steer(pos, facing_x, np.array([0.5, 3.5])) == LEFT  # +y is counter-clockwise from +x
    assert steer(pos, facing_x, np.array([0.5, -2.5])) == RIGHT


def test_policy_reaches_waypoints_in_real_env():
    env = generate.worker_env(ENV)
    obs, _ = env.reset(seed=123)
    policy = WaypointPolicy(layout=obs["maze_layout"], rng=np.random.default_rng(0), epsilon=0.2)
    visited = set()
    for _ in range(300):
        obs, *_ = env.step(policy(obs["agent_pos"], obs["agent_dir"]))
        visited.add(cell_of(obs["agent_pos"]))
    # ~12 per 500 steps when measured; a policy that cannot steer reaches none.
    assert policy.waypoints_reached >= 3, policy.waypoints_reached
    assert len(visited) >= 12, len(visited)


# ---- resumable generation -------------------------------------------------------------------------
@pytest.mark.slow
def test_killed_generation_resumes(tmp_path):
    out = str(tmp_path / "gen")
    command = [sys.executable, "-m", "probing.generate", f"--env={ENV}", "--episodes=3", f"--out={out}",
               "--steps=200", "--seed=5"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, PYTHONPATH=REPO))
    deadline = time.time() + 150
    try:
        while time.time() < deadline and not glob.glob(os.path.join(out, "episode_*.npz")):
            assert process.poll() is None, "generator exited before writing an episode"
            time.sleep(0.2)
        os.kill(process.pid, signal.SIGKILL)  # mid-way through episode 1
    finally:
        process.kill()
        process.wait()
    done = sorted(glob.glob(os.path.join(out, "episode_*.npz")))
    assert 1 <= len(done) < 3, done
    for path in done:
        load_episode(path)  # complete files only
    first_bytes = open(done[0], "rb").read()
    with open(os.path.join(out, "episode_000002.npz.tmp-999"), "wb") as file:
        file.write(b"half an episode")  # what a killed writer leaves

    written = _generate(out, episodes=3, steps=200, seed=5)
    assert sorted(written) == sorted(set(range(3)) - {int(os.path.basename(p)[8:14]) for p in done})
    assert sorted(os.listdir(out)) == ["episode_000000.npz", "episode_000001.npz", "episode_000002.npz", "generation.json"]
    assert open(done[0], "rb").read() == first_bytes, "existing episodes are skipped, not redone"
    # Same seed and index -> same trajectory, whichever process made it.
    again = str(tmp_path / "again")
    _generate(again, episodes=1, steps=200, seed=5)
    first, redone = load_episode(done[0]), load_episode(os.path.join(again, "episode_000000.npz"))
    assert all(np.array_equal(first[key], redone[key]) for key in PUBLISHED)
    with pytest.raises(InputError, match="made with"):
        _generate(out, episodes=3, steps=200, seed=6)  # a different seed must not mix into this folder


@pytest.mark.slow
def test_a_killed_worker_ends_a_pooled_generation_in_one_line_and_a_rerun_finishes_it(tmp_path):
    """multiprocessing.Pool replaces a killed worker (the OOM killer) and waits for its episode forever."""
    import psutil

    out = str(tmp_path / "gen")
    command = [sys.executable, "-m", "probing.generate", f"--env={ENV}", "--episodes=4", f"--out={out}",
               "--steps=200", "--seed=5", "--workers=2"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=REPO))
    try:
        deadline = time.time() + 150
        while time.time() < deadline and not glob.glob(os.path.join(out, "episode_*.npz")):
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        workers = [p for p in psutil.Process(process.pid).children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2, [p.cmdline() for p in workers]
        workers[0].kill()
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError("the generator still runs 60 s after a worker died") from None
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 1, err[-3000:]
    assert "probing.generate: error: a worker process died" in err and "Traceback" not in err, err[-3000:]
    assert not [p for p in workers[1:] if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    kept = sorted(glob.glob(os.path.join(out, "episode_*.npz")))
    assert 1 <= len(kept) < 4, kept
    for path in kept:
        load_episode(path)
    _generate(out, episodes=4, steps=200, seed=5, workers=2)
    assert sorted(os.listdir(out)) == [generate.episode_filename(i) for i in range(4)] + ["generation.json"]


# ---- loader --------------------------------------------------------------------------------------
def _write(path, steps=5, **overrides):
    data = {key: np.zeros((steps + 1, *shape), np.uint8 if kind == "uint8" else np.float64)
            for key, (shape, kind) in PUBLISHED.items()}
    data.update(overrides)
    np.savez(path, **data)
    return str(path)


def test_malformed_file_errors_name_file_and_key(tmp_path):
    load_episode(_write(tmp_path / "good.npz"))
    bad = _write(tmp_path / "bad_action.npz", action=np.zeros((6, 5)))
    with pytest.raises(MalformedEpisodeError) as error:
        load_episode(bad)
    assert bad in str(error.value) and "'action'" in str(error.value) and "expected (6,)" in str(error.value)

    short = _write(tmp_path / "short.npz", reward=np.zeros(4))
    with pytest.raises(MalformedEpisodeError, match=r"short\.npz: key 'reward'.*leading time axis of 6"):
        load_episode(short)
    float_image = _write(tmp_path / "float_image.npz", image=np.zeros((6, 64, 64, 3), np.float32))
    with pytest.raises(MalformedEpisodeError, match=r"key 'image' has dtype float32, expected uint8"):
        load_episode(float_image)
    missing = str(tmp_path / "missing.npz")
    np.savez(missing, image=np.zeros((6, 64, 64, 3), np.uint8))
    with pytest.raises(MalformedEpisodeError, match=r"missing\.npz: key 'action' is missing"):
        load_episode(missing)
    truncated = str(tmp_path / "truncated.npz")
    with open(truncated, "wb") as file:
        file.write(open(bad, "rb").read()[:100])
    with pytest.raises(MalformedEpisodeError, match=r"truncated\.npz: cannot be read"):
        load_episode(truncated)


def test_split_is_deterministic_and_reads_published_layout(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(10):
        _write(flat / f"episode_{i:06d}.npz")
    train, evaluation = split_episodes(str(flat), 0.2)
    assert len(evaluation) == 2 and len(train) == 8 and not set(train) & set(evaluation)
    assert (train, evaluation) == split_episodes(str(flat), 0.2)
    published = tmp_path / "published"
    (published / "train").mkdir(parents=True)
    (published / "eval").mkdir()
    _write(published / "train" / "a.npz")
    _write(published / "eval" / "b.npz")
    assert split_episodes(str(published)) == ([str(published / "train" / "a.npz")], [str(published / "eval" / "b.npz")])


# ---- probes --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_state_walls_probe_near_perfect_constant_at_baseline(tmp_path):
    """The true layout as the representation (--model=state): the probe reads it out; a constant cannot."""
    from probing.train import build_parser, run

    rng = np.random.default_rng(0)
    data = tmp_path / "layouts"
    data.mkdir()
    for i in range(1000):  # many mazes, few steps: walls depend on the maze only
        layout = (rng.random((9, 9)) > 0.2).astype(np.uint8)  # 20% walls: a majority-per-cell guess gets ~80%
        _write(data / f"episode_{i:06d}.npz", steps=1, maze_layout=np.repeat(layout[None], 2, 0))
    results = run(build_parser().parse_args(
        [f"--data={data}", "--model=state", "--target=walls", "--steps=400", "--lr=1e-3", "--hidden=128", "--layers=2"]))
    walls = results["targets"]["walls"]
    assert walls["probe"]["all"]["accuracy"] > 0.98, walls
    assert 0.75 < walls["constant"]["all"]["accuracy"] < 0.85, walls


def test_results_name_the_maze_size_and_the_report_prints_only_that_sizes_paper_numbers(tmp_path, capsys):
    from probing import report
    from probing.train import build_parser, run

    rng = np.random.default_rng(1)
    outs = {}
    for size in (9, 15):
        data = tmp_path / f"layouts{size}"
        data.mkdir()
        for i in range(6):
            layout = (rng.random((size, size)) > 0.2).astype(np.uint8)
            _write(data / f"episode_{i:06d}.npz", steps=1, maze_layout=np.repeat(layout[None], 2, 0))
        outs[size] = str(tmp_path / f"state{size}.json")
        results = run(build_parser().parse_args(
            [f"--data={data}", "--model=state", "--target=walls", "--steps=2", "--hidden=8", "--layers=1",
             f"--out={outs[size]}"]))
        assert results["maze_size"] == size
        assert ("paper_9x9" in results) == (size == 9)

    assert report.main([outs[9]]) == 0
    printed = capsys.readouterr().out
    # the paper's Table 4 on its own scale (walls %, objects MSE), above ours in the same columns
    assert "| paper: RSSM (TBTT) | 94.0 ± 0.5 | 6.2 ± 0.3 |" in printed and "80.5 ± 0.2" not in printed
    saved = json.load(open(outs[9]))
    # folders relative to the results file: a results file copied into docs names no path of its machine
    assert saved["data"] == "layouts9" and not os.path.isabs(saved["work_dir"]), (saved["data"], saved["work_dir"])
    start, stop = saved["windows"]["second_half"]
    walls = f"{100 * saved['targets']['walls']['probe']['second_half']['accuracy']:.1f}"  # the paper's window, in %
    assert any(line.startswith(f"| ours: state (entries {start}-{stop}) | {walls} | - |")
               for line in printed.splitlines()), printed
    assert report.main([outs[15]]) == 0
    printed = capsys.readouterr().out
    assert "| paper: RSSM (TBTT) | 80.5 ± 0.2 | 33.8 ± 0.1 |" in printed and "94.0" not in printed
    assert report.main([outs[9], outs[15]]) == 2
    assert "different maze sizes [9, 15]" in capsys.readouterr().err


BAD_RESULTS = {  # file content -> what the one error line must say
    None: "cannot read it",
    "{not json": "not a JSON file",
    "[1, 2]": "a JSON list, not an object",
    '{"model": "state"}': "no 'targets'",
}


@pytest.mark.parametrize("content", list(BAD_RESULTS), ids=["missing", "not-json", "list", "no-targets"])
def test_report_names_a_bad_results_file_in_one_line_with_exit_code_2(tmp_path, capsys, content):
    from probing import report

    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    assert report.main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured
    assert str(path) in captured.err and BAD_RESULTS[content] in captured.err, captured.err


def test_report_refuses_a_result_whose_targets_lack_a_window(tmp_path):
    """Through the real command: exit code 2, no traceback, the file and the missing part named."""
    good = {key: 1 for key in ("model", "train_episodes", "eval_episodes", "train_steps", "eval_steps",
                               "episode_entries", "probe_steps", "probe_batch", "probe_pose")}
    good.update(probe_mlp=[4, 1024], targets={"walls": {"probe": {"all": {}}, "constant": {"all": {}, "second_half": {}}}})
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(good))
    result = subprocess.run([sys.executable, "-m", "probing.report", str(path)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}: targets.walls.probe lacks the windows" in result.stderr


@pytest.mark.slow
def test_end_to_end_probe_with_trained_checkpoint(dataset, short_run, tmp_path):
    """A short sf_maze training run's checkpoint (the session's short_run, tests/conftest.py: the default
    agent on memory_9x9), probed on generated episodes, with a video."""
    import json

    import torch

    from networks import load_sf_checkpoint
    from probing.representations import load_representation
    from probing.train import build_parser, run

    checkpoint = sorted(glob.glob(os.path.join(short_run, SHORT_RUN_EXPERIMENT, "checkpoint_p0", "*.pth")))[-1]

    # The memory state is carried through the whole episode: chunked extraction == one long unroll.
    extractor, _ = load_representation(f"sf:{checkpoint}")
    episode = load_episode(sorted(glob.glob(os.path.join(dataset, "*.npz")))[0])
    import probing.representations as representations

    agent = load_sf_checkpoint(checkpoint)
    assert agent.last_action_reward  # the default agent reads the file's action and reward rows
    obs = {key: value.unsqueeze(1) for key, value in representations.agent_inputs(agent, episode).items()}
    with torch.no_grad():
        _, _, features, _ = agent(obs)

    chunk = representations.CHUNK
    representations.CHUNK = 7
    try:
        np.testing.assert_allclose(extractor(episode), features[:, 0].numpy(), atol=1e-5)
    finally:
        representations.CHUNK = chunk

    out = str(tmp_path / "sf.json")
    video = str(tmp_path / "sf.mp4")
    results = run(build_parser().parse_args(
        [f"--data={dataset}", f"--model=sf:{checkpoint}", "--target=walls,objects", "--steps=30",
         "--hidden=64", "--layers=2", f"--out={out}", f"--video={video}"]))
    assert json.load(open(out)) == json.loads(json.dumps(results))
    assert results["train_episodes"] == 3 and results["eval_episodes"] == 1 and results["feature_size"] == 256
    assert results["windows"] == {"all": [0, STEPS], "second_half": [STEPS // 2, STEPS]}
    walls, objects = results["targets"]["walls"], results["targets"]["objects"]
    for window in ("all", "second_half"):
        for name in ("probe", "constant"):
            assert 0 <= walls[name][window]["accuracy"] <= 1 and 0 <= walls[name][window]["accuracy_seen"] <= 1
            assert objects[name][window]["rmse"] == pytest.approx(np.sqrt(objects[name][window]["mse"]))
    assert len(glob.glob(str(tmp_path / "probe_work" / "features-*" / "features.npy"))) == 2, "streamed to disk" 
    assert os.path.getsize(out[:-5] + ".pt") > 0
    import imageio

    frames = imageio.mimread(video)
    assert len(frames) == STEPS + 1 and frames[0].shape == (256, 768, 3)
