"""Bad input never hangs, never exits 0, never shows a traceback (issue 23).

Every command refuses bad arguments with one line on stderr and exit status 2 before it makes a
folder or a process; envs refuse bad actions and seeds as gymnasium's do; a broken env stops a
training run within seconds instead of hanging it; a malformed data file is named with its problem.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_error_line(capsys, prog: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{prog}: error: "), err
    return err[0]


# ---- command lines: one line, exit 2, nothing on disk -----------------------------------------------
TRAIN_BAD = [
    ("--env=amaze_teacher_13x13", "is a teacher (level designer) env"),
    ("--num_workers=0", "--num_workers=0"),
    ("--rollout=0", "--rollout=0"),
    ("--train_for_env_steps=-5", "--train_for_env_steps=-5"),
    ("--num_envs_per_worker=0", "--num_envs_per_worker=0"),
    ("--batch_size=100", "multiple of the rollout"),
    ("--num_envs_per_worker=3 --worker_num_splits=2", "multiple of the splits"),
    ("--learning_rate=0", "--learning_rate=0"),
    ("--seed=-3", "--seed=-3"),
    ("--experiment=", "pass a name for the run's folder"),
]


@pytest.mark.parametrize("flags,expected", TRAIN_BAD)
def test_train_refuses_bad_flags_before_making_anything(tmp_path, capsys, flags, expected):
    from sf_maze.train import main

    train_dir = tmp_path / "train_dir"
    argv = ["--env=amaze_7x7", "--experiment=x", f"--train_dir={train_dir}", "--device=cpu", *flags.split()]
    assert main(argv) == 2
    assert expected in one_error_line(capsys, "sf_maze.train")
    assert not train_dir.exists(), "no train_dir, no experiment folder"


@pytest.mark.parametrize("flags,expected", [
    ("--env=amaze_teacher_13x13", "teacher"),
    ("--num_envs=0", "--num_envs=0"),
    ("--episodes=0", "--episodes=0"),
    ("--max_episode_steps=0", "--max_episode_steps=0"),
    ("--out={file}/out", "is a file, not a folder"),
])
def test_evaluate_refuses_bad_flags(tmp_path, capsys, flags, expected):
    from sf_maze.evaluate import main

    out = tmp_path / "out"
    (tmp_path / "a_file").write_text("")
    flags = flags.format(file=tmp_path / "a_file")
    assert main(["--env=amaze_7x7", "--random", f"--train_dir={tmp_path}", f"--out={out}", *flags.split()]) == 2
    assert expected in one_error_line(capsys, "sf_maze.evaluate")
    assert not out.exists() and not (tmp_path / "eval_random").exists()


@pytest.mark.parametrize("flags,expected", [
    ("--env=amaze_teacher_7x7", "teacher"),
    ("--max_num_episodes=0", "--max_num_episodes=0"),
])
def test_enjoy_refuses_bad_flags(tmp_path, capsys, flags, expected):
    from sf_maze.enjoy import main

    assert main(["--env=amaze_7x7", "--experiment=x", f"--train_dir={tmp_path}", *flags.split()]) == 2
    assert expected in one_error_line(capsys, "sf_maze.enjoy")


@pytest.mark.parametrize("flags,expected", [
    ("--episodes=0", "--episodes=0"),
    ("--workers=0", "--workers=0"),
    ("--steps=1001", "exceeds a memory_9x9 episode"),
    ("--env=amaze_7x7", "not a Memory Maze env"),
    ("--epsilon=1.5", "--epsilon=1.5"),
    ("--out={file}/data", "is a file, not a folder"),
])
def test_generate_refuses_bad_flags_before_making_the_folder(tmp_path, capsys, flags, expected):
    from probing.generate import main

    out = tmp_path / "data"
    (tmp_path / "a_file").write_text("")
    assert main([f"--out={out}", "--episodes=2", *flags.format(file=tmp_path / "a_file").split()]) == 2
    assert expected in one_error_line(capsys, "probing.generate")
    assert not out.exists()


@pytest.mark.parametrize("flags,expected", [
    ("--keys=up,jump", "unknown key"),
    ("--env=amaze_7x7", "choose a memory_* env"),
    ("--env=amaze_teacher_7x7", "teacher"),
    ("--fps=0", "--fps=0"),
    ("--max_steps=0", "--max_steps=0"),
])
def test_play_refuses_bad_flags(tmp_path, capsys, flags, expected):
    from evaluation.play import main

    assert main([f"--out={tmp_path / 'rec'}", *flags.split()]) == 2
    assert expected in one_error_line(capsys, "evaluation.play")
    assert not (tmp_path / "rec").exists()


@pytest.mark.parametrize("flags,expected", [
    ("--env=amaze_teacher_7x7", "teacher"),
    ("--steps=0", "--steps=0"),
    ("--batch_size=0", "--batch_size=0"),
    ("--gamma=1.5", "--gamma=1.5"),
])
def test_dreamer_train_refuses_bad_flags(tmp_path, capsys, flags, expected):
    from dreamer.train import main

    logdir = tmp_path / "run"
    assert main(["--env=amaze_7x7", f"--logdir={logdir}", *flags.split()]) == 2
    assert expected in one_error_line(capsys, "dreamer.train")
    assert not logdir.exists()


def test_a_refusal_is_one_stderr_line_from_the_real_command(tmp_path):
    """The command line as a user runs it: Sample Factory's start-up debug lines stay off stderr too."""
    run = subprocess.run([sys.executable, "-m", "sf_maze.train", "--env=amaze_teacher_13x13", "--experiment=t",
                          f"--train_dir={tmp_path / 't'}", "--device=cpu", "--train_for_env_steps=3000"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "amaze_13x13" in lines[0] and "Traceback" not in run.stdout, run.stderr
    assert not (tmp_path / "t").exists()


# ---- a broken env stops the trainer instead of hanging it ------------------------------------------
@pytest.mark.slow
def test_an_env_that_fails_to_build_ends_training_within_60_s_marked_failed(tmp_path):
    """Sample Factory reads the env's spaces in a spawned process and used to wait on it forever.
    An invalid MUJOCO_GL makes that process fail as a missing GL library does."""
    from evaluation.run_status import read_status

    command = [sys.executable, "-m", "sf_maze.train", "--env=memory_9x9", "--experiment=broken",
               f"--train_dir={tmp_path}", "--device=cpu", "--train_for_env_steps=1000", "--num_workers=1",
               "--num_envs_per_worker=1", "--worker_num_splits=1"]
    start = time.time()
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, MUJOCO_GL="not_a_backend"))
    assert time.time() - start < 60
    assert run.returncode not in (0, 2), run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("sf_maze.train: error:")]
    assert len(errors) == 1 and "failed to build" in errors[0] and "not_a_backend" in errors[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr + run.stdout
    record = read_status(str(tmp_path / "broken"))
    assert record["status"] == "failed" and "not_a_backend" in record["error"]


# ---- a checkpoint for another env ---------------------------------------------------------------
def fake_experiment(train_dir, name: str, env: str) -> None:
    import torch

    folder = train_dir / name / "checkpoint_p0"
    folder.mkdir(parents=True)
    (train_dir / name / "config.json").write_text(json.dumps({"env": env}))
    torch.save({"model": {}, "env_steps": 0}, folder / "checkpoint_000000000_0.pth")


@pytest.mark.parametrize("command", ["sf_maze.evaluate", "sf_maze.enjoy"])
def test_a_run_asked_to_play_another_kind_of_env_names_its_training_env(tmp_path, capsys, command):
    import importlib

    fake_experiment(tmp_path, "am", "amaze_7x7")
    main = importlib.import_module(command).main
    assert main(["--env=memory_9x9", "--experiment=am", f"--train_dir={tmp_path}", "--device=cpu"]) == 2
    line = one_error_line(capsys, command)
    assert "trained on --env=amaze_7x7" in line and "--env=memory_9x9" in line


def test_load_sf_checkpoint_of_a_text_file_names_the_file(tmp_path):
    from networks import load_sf_checkpoint

    path = tmp_path / "notes.pth"
    path.write_text("hello, not a checkpoint\n")
    with pytest.raises(ValueError, match=f"{path}.*not a torch file"):
        load_sf_checkpoint(str(path))


# ---- probing data and models ----------------------------------------------------------------------
def write_episode(path, steps: int = 4, drop=(), **replace) -> None:
    from probing.format import WRITE_DTYPES, entry_shapes

    data = {key: np.zeros((steps + 1, *shape), WRITE_DTYPES[key]) for key, shape in entry_shapes(9, 3).items()}
    data.update(replace)
    np.savez_compressed(path, **{k: v for k, v in data.items() if k not in drop})


def bad_folder(tmp_path, name: str, make_bad) -> str:
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(3):
        write_episode(folder / f"episode_{i:06d}.npz")
    make_bad(folder / name)
    return str(folder)


def _truncated(path):
    write_episode(path)
    path.write_bytes(path.read_bytes()[:700])


MALFORMED = [
    ("truncated", _truncated, "is truncated"),
    ("random", lambda p: p.write_bytes(np.random.default_rng(0).bytes(3000)), "is not a zip file"),
    ("empty", lambda p: p.write_bytes(b""), "is empty"),
    ("missing_key", lambda p: write_episode(p, drop=("targets_vec",)), "key 'targets_vec' is missing"),
    ("short_key", lambda p: write_episode(p, agent_pos=np.zeros((2, 2))), "key 'agent_pos' has shape (2, 2)"),
]


@pytest.mark.parametrize("name,make_bad,problem", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_probing_train_names_a_malformed_file_before_training(tmp_path, capsys, name, make_bad, problem):
    from probing.train import main

    data = bad_folder(tmp_path, f"zz_{name}.npz", make_bad)
    out = tmp_path / "results" / "r.json"
    assert main([f"--data={data}", "--model=state", "--steps=1", f"--out={out}"]) == 2
    line = one_error_line(capsys, "probing.train")
    assert f"zz_{name}.npz" in line and problem in line
    assert not (tmp_path / "results").exists(), "refused before any store or result is written"


@pytest.mark.parametrize("flags,expected", [
    ("--data=/nonexistent", "--data=/nonexistent: no such folder"),
    ("--model=sf:/missing", "--model=sf:/missing: no such file"),
    ("--model=bogus", "Unknown --model"),
    ("--steps=0", "--steps=0"),
    ("--eval_fraction=1", "--eval_fraction=1"),
    ("--out={file}/r.json", "is a file, not a folder"),
])
def test_probing_train_refuses_bad_flags(tmp_path, capsys, flags, expected):
    from probing.train import main

    data = bad_folder(tmp_path, "episode_000009.npz", write_episode)  # all good
    (tmp_path / "a_file").write_text("")
    assert main([f"--data={data}", "--model=state", *flags.format(file=tmp_path / "a_file").split()]) == 2
    assert expected in one_error_line(capsys, "probing.train")


def test_probing_model_spec_of_a_text_file_is_one_line(tmp_path, capsys):
    from probing.train import main

    data = bad_folder(tmp_path, "episode_000009.npz", write_episode)
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    assert main([f"--data={data}", f"--model=sf:{text}", "--steps=1"]) == 2
    assert "not a torch file" in one_error_line(capsys, "probing.train")


# ---- env API: actions and seeds as gymnasium checks them --------------------------------------------
ENVS = [("memory_9x9", {}), ("memory_9x9", dict(reference_impl=True)), ("amaze_7x7", {}), ("amaze_teacher_7x7", {})]


@pytest.fixture(scope="module", params=ENVS, ids=["memory_fast", "memory_reference", "amaze", "amaze_teacher"])
def fresh_env(request):
    from envs import make_env

    name, overrides = request.param
    env = make_env(name, seed=0, **overrides)
    yield env
    env.close()


def test_envs_refuse_step_before_reset_then_bad_actions(fresh_env):
    env = fresh_env
    with pytest.raises(RuntimeError, match=r"step\(\) called before reset\(\)"):
        env.step(0)
    env.reset(seed=1)
    n = env.action_space.n
    for bad in (n, -1, 2.5, "1", None, np.array([1])):
        with pytest.raises(ValueError, match=rf"action .* is not in Discrete\({n}\)"):
            env.step(bad)
    for good in (0, np.int64(1), np.array(1, np.int32), n - 1):  # everything gymnasium's contains() takes
        env.step(good)


@pytest.mark.parametrize("name,overrides", ENVS[:1] + ENVS[2:3])
@pytest.mark.parametrize("seed", ["abc", -1, 2.5])
def test_env_seeds_are_validated_as_gymnasium_does(name, overrides, seed):
    import gymnasium

    from envs import make_env

    with pytest.raises(gymnasium.error.Error, match="Seed must be"):
        make_env(name, seed=seed, **overrides)
