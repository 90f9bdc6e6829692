import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs import list_envs, make_env
from envs.memory_maze import SIZES, VARIANTS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def env9():
    env = make_env("memory_9x9", seed=11)
    yield env
    env.close()


@pytest.mark.slow
def test_env_checker_passes(env9):
    check_env(env9, skip_render_check=False)
    assert env9.action_space.n == 6
    assert env9.observation_space.shape == (64, 64, 3) and env9.observation_space.dtype == np.uint8


@pytest.mark.slow
def test_same_seed_same_maze_and_first_frame(env9):
    first, _ = env9.reset(seed=5)
    other, _ = env9.reset(seed=6)
    again, _ = env9.reset(seed=5)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    fresh = make_env("memory_9x9", seed=5)
    try:
        built, _ = fresh.reset()
        assert np.array_equal(first, built), "reset(seed=s) must equal an env built with seed=s"
        actions = np.random.default_rng(0).integers(0, 6, size=30)
        env9.reset(seed=5)
        for action in actions:
            a = env9.step(action)
            b = fresh.step(action)
            assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]
    finally:
        fresh.close()


@pytest.mark.slow
def test_render_returns_camera_frame(env9):
    obs, _ = env9.reset(seed=1)
    frame = env9.render()
    assert frame.dtype == np.uint8 and frame.shape == (64, 64, 3)
    assert np.array_equal(frame, obs)


@pytest.mark.slow
def test_gl_context_outlives_a_reset_that_compiles_twice(env9):
    """A reset whose maze needs a second compile (composer retries it) passes the kept GL context on."""
    composer = env9.unwrapped._composer
    env9.reset(seed=2)
    gl = composer.physics.contexts.gl
    composer._recompile_physics()  # a model compiled, never rendered ...
    composer._recompile_physics()  # ... and replaced, as in a retried reset
    obs, _ = env9.reset(seed=2)
    assert composer.physics.contexts.gl is gl and not gl.terminated
    fresh = make_env("memory_9x9", seed=2)
    try:
        assert np.array_equal(obs, fresh.reset()[0])
    finally:
        fresh.close()


@pytest.mark.slow
def test_run_seed_changes_mazes():
    from sf_maze.env import mix_seed

    assert mix_seed(1, 0) != mix_seed(2, 0)
    assert mix_seed(1, 0) != mix_seed(1, 1)
    assert mix_seed(1, 3) == mix_seed(1, 3)
    # without --seed, no env may fall back to its bare index (the same mazes in every run)
    assert mix_seed(None, 0) is None and mix_seed(None, 5) is None
    # Sample Factory resets env 0 with seed=0 in every run: the wrapper must turn that into distinct mazes.
    from types import SimpleNamespace

    from sf_maze.env import make_sf_env

    frames = []
    for run_seed in (1, 2):
        env = make_sf_env("memory_9x9", cfg=SimpleNamespace(seed=run_seed, maze_reference_impl=False),
                          env_config=SimpleNamespace(env_id=0))
        obs, _ = env.reset(seed=0)
        assert obs.shape == (3, 64, 64)
        frames.append(obs)
        env.close()
    assert not np.array_equal(frames[0], frames[1])


@pytest.mark.slow
def test_time_limit_truncates_at_package_length(env9):
    env9.reset(seed=2)
    assert env9.max_episode_steps == 1000
    for step in range(1, 1001):
        _, _, terminated, truncated, _ = env9.step(env9.action_space.sample())
        assert not terminated
        if truncated:
            break
    assert step == 1000, f"episode truncated after {step} steps"


@pytest.mark.slow
@pytest.mark.parametrize("size,steps", [("11x11", 2000), ("13x13", 3000), ("15x15", 4000)])
def test_time_limit_per_size(size, steps):
    env = make_env(f"memory_{size}", seed=0)
    try:
        assert env.max_episode_steps == steps
    finally:
        env.close()


@pytest.mark.slow
def test_extraobs_keys_and_shapes():
    env = make_env("memory_9x9_extraobs", seed=3)
    try:
        check_env(env)
        obs, _ = env.reset()
        shapes = {key: value.shape for key, value in obs.items()}
        assert shapes == {
            "image": (64, 64, 3), "target_color": (3,), "agent_pos": (2,), "agent_dir": (2,),
            "maze_layout": (9, 9), "targets_pos": (3, 2), "targets_vec": (3, 2), "target_pos": (2,), "target_vec": (2,),
        }
        assert obs["image"].dtype == np.uint8 and obs["maze_layout"].dtype == np.uint8
        assert set(np.unique(obs["maze_layout"])) <= {0, 1}
        # agent stands inside the 9x9 maze on a floor cell
        x, y = obs["agent_pos"]
        assert 0 <= x < 9 and 0 <= y < 9
    finally:
        env.close()


def test_every_registered_variant_is_listed():
    names = list_envs()
    assert len([n for n in names if n.startswith("memory_")]) == len(SIZES) * len(VARIANTS)
    for name in ("memory_15x15_extraobs", "memory_9x9_vis", "memory_11x11_top", "memory_13x13_hd",
                 "memory_9x9_hifreq", "memory_9x9_oracle", "memory_15x15_6cl"):
        assert name in names


def test_unknown_names_list_what_is_allowed():
    with pytest.raises(ValueError) as error:
        make_env("memroy_9x9")
    assert "memory_9x9" in str(error.value) and "memroy_9x9" in str(error.value)
    with pytest.raises(ValueError) as error:
        make_env("memory_9x9_bogus")
    assert "bogus" in str(error.value) and "extraobs" in str(error.value)
    with pytest.raises(ValueError) as error:
        make_env("memory_10x10")
    assert "9x9" in str(error.value)
    with pytest.raises(ValueError) as error:
        make_env("memory_9x9", not_an_option=1)
    assert "not_an_option" in str(error.value) and "good_visibility" in str(error.value)


@pytest.mark.slow
def test_memory_maze_imports_without_old_gym():
    code = textwrap.dedent("""
        import sys
        class BlockGym:
            def find_spec(self, name, path=None, target=None):
                if name == "gym" or name.startswith("gym."):
                    raise ImportError("No module named 'gym' (blocked by test)")
        sys.meta_path.insert(0, BlockGym())
        from envs import make_env
        env = make_env("memory_9x9", seed=0)
        obs, _ = env.reset()
        assert obs.shape == (64, 64, 3)
        assert "gym" not in sys.modules
        env.close()
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def test_missing_gl_backend_names_debian_packages(monkeypatch):
    from envs import rendering

    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(rendering, "probe_backend", lambda backend, timeout=60.0: "cannot open display")
    with pytest.raises(rendering.NoRenderingBackendError) as error:
        rendering.ensure_gl_backend()
    assert "libosmesa6" in str(error.value) and "libegl1" in str(error.value)


def test_gl_backend_probe_finds_a_working_backend():
    from envs.rendering import BACKENDS, probe_backend

    assert any(probe_backend(backend) == "" for backend in BACKENDS)
    assert probe_backend("no-such-backend") != ""
