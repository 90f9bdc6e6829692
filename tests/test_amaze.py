"""AMaze: API, seeding, dynamics and views on hand-built mazes, batched == single, OOD mazes."""
from collections import deque

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.amaze import AMazeConfig, list_amaze_envs, make_amaze, make_amaze_batch
from envs.amaze.constants import GOAL, GOAL_RED, WALL
from envs.amaze.random_maze import sample_random_mazes

LEFT, RIGHT, FORWARD = 0, 1, 2
VEC = {0: (1, 0), 1: (0, 1), 2: (-1, 0), 3: (0, -1)}  # right, down, left, up; y points down


def tiny_env(rows, agent, agent_dir, goal, **overrides):
    """Single env of size len(rows) x len(rows[0]) loaded with a hand-built maze ('#' = wall)."""
    walls = np.array([[c == "#" for c in row] for row in rows])
    overrides.setdefault("n_walls", 0)
    env = make_amaze("amaze_7x7", height=walls.shape[0], width=walls.shape[1], **overrides)
    obs, _ = env.reset(seed=0, options=dict(wall_map=walls, agent_pos=agent, agent_dir=agent_dir, goal_pos=goal))
    return env, obs


# ---- API --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, overrides", [
    ("amaze_7x7", {}),
    ("amaze_13x13_train", dict(normalize_obs=True, obs_agent_pos=True, see_agent=True)),
    ("amaze_13x13", dict(sample_n_walls=True)),
    ("amaze_ood_fourrooms", {}),
    ("amaze_ood_memory", dict(see_agent=True)),
])
@pytest.mark.filterwarnings("ignore:.*alternative render modes")  # check_env wants a registered spec for that
def test_check_env(name, overrides):
    env = make_amaze(name, render_mode="rgb_array", **overrides)
    check_env(env, skip_render_check=False)
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    assert env.action_space.n == 7


def test_names_and_errors():
    names = list_amaze_envs()
    assert {"amaze_13x13", "amaze_13x13_train", "amaze_ood_fourrooms", "amaze_ood_perfectmazemedium"} <= set(names)
    with pytest.raises(ValueError) as err:
        make_amaze("amaze_nope")
    assert all(n in str(err.value) for n in names)
    with pytest.raises(ValueError, match="n_walls"):
        make_amaze("amaze_13x13", n_wals=3)
    with pytest.raises(ValueError, match="see_agent"):
        make_amaze("amaze_ood_labyrinth", height=15)  # fixed layouts cannot be resized


def test_named_configs_match_minimax():
    default, train = make_amaze("amaze_13x13").cfg, make_amaze("amaze_13x13_train").cfg
    assert (default.height, default.width, default.n_walls, default.agent_view_size,
            default.max_episode_steps, default.replace_wall_pos) == (13, 13, 25, 5, 250, False)
    assert (train.n_walls, train.replace_wall_pos) == (60, True)


# ---- seeding ----------------------------------------------------------------------------------
def _maze(env):
    s = env.state
    return s["wall_map"].tobytes(), tuple(s["agent_pos"]), s["agent_dir"], tuple(s["goal_pos"])


@pytest.mark.parametrize("name", ["amaze_13x13", "amaze_13x13_train", "amaze_ood_perfectmaze", "amaze_ood_crossing"])
def test_same_seed_same_maze(name):
    a, b = make_amaze(name, seed=7), make_amaze(name, seed=7)
    oa, _ = a.reset()
    ob, _ = b.reset()
    assert _maze(a) == _maze(b)
    np.testing.assert_array_equal(oa["image"], ob["image"])
    # Later episodes follow the seed too.
    for env in (a, b):
        env.reset()
    assert _maze(a) == _maze(b)
    oc, _ = a.reset(seed=7)
    np.testing.assert_array_equal(oa["image"], oc["image"])


@pytest.mark.parametrize("name", ["amaze_13x13", "amaze_ood_perfectmaze", "amaze_ood_fourrooms"])
def test_different_seeds_different_mazes(name):
    env = make_amaze(name)
    mazes = set()
    for seed in range(10):
        env.reset(seed=seed)
        mazes.add(_maze(env))
    assert len(mazes) >= 9


def test_singleton_seed_fixes_the_maze():
    env = make_amaze("amaze_13x13", singleton_seed=3)
    env.reset(seed=0)
    first = _maze(env)
    env.reset(seed=1)
    assert _maze(env) == first


def test_random_maze_wall_counts():
    rngs = [np.random.default_rng(s) for s in range(50)]
    grids = sample_random_mazes(AMazeConfig(), rngs).grid
    np.testing.assert_array_equal((grids == WALL).sum(axis=(1, 2)), 25)
    assert ((grids == GOAL).sum(axis=(1, 2)) == 1).all()
    grids = sample_random_mazes(AMazeConfig(n_walls=60, replace_wall_pos=True), rngs).grid
    counts = (grids == WALL).sum(axis=(1, 2))
    assert counts.max() <= 60 and counts.min() < 60  # duplicates collapse
    grids = sample_random_mazes(AMazeConfig(n_walls=25, sample_n_walls=True), rngs).grid
    counts = (grids == WALL).sum(axis=(1, 2))
    assert counts.min() >= 1 and counts.max() < 25 and len(set(counts)) > 5


# ---- dynamics on a hand-built maze ------------------------------------------------------------
ROWS = ["....",
        ".#..",
        "....",
        "...."]


def test_walls_turns_and_moves():
    env, obs = tiny_env(ROWS, agent=(0, 1), agent_dir=0, goal=(3, 3))
    assert obs["agent_dir"] == 0
    env.step(FORWARD)  # wall at (1, 1)
    assert tuple(env.state["agent_pos"]) == (0, 1)
    env.step(LEFT)
    assert env.state["agent_dir"] == 3
    env.step(LEFT)
    assert env.state["agent_dir"] == 2
    env.step(FORWARD)  # the border
    assert tuple(env.state["agent_pos"]) == (0, 1)
    for _ in range(3):
        env.step(RIGHT)
    assert env.state["agent_dir"] == 1
    for action in range(3, 7):  # pickup, drop, toggle, done do nothing
        env.step(action)
    assert env.state["agent_dir"] == 1 and tuple(env.state["agent_pos"]) == (0, 1)
    env.step(FORWARD)
    assert tuple(env.state["agent_pos"]) == (0, 2)


def test_goal_reward_and_termination():
    env, _ = tiny_env(ROWS, agent=(0, 3), agent_dir=0, goal=(2, 3), max_episode_steps=20)
    steps = [(LEFT, False), (RIGHT, False), (FORWARD, False), (FORWARD, True)]
    for t, (action, reaches) in enumerate(steps):
        _, reward, terminated, truncated, _ = env.step(action)
        assert terminated == reaches and not truncated
        assert reward == pytest.approx(1 - 0.9 * (t + 1) / 20 if reaches else 0.0)
    assert tuple(env.state["agent_pos"]) == (1, 3)  # the goal blocks, as in minimax


def test_time_limit_truncates():
    env, _ = tiny_env(ROWS, agent=(0, 0), agent_dir=0, goal=(3, 3), max_episode_steps=5)
    for t in range(5):
        _, reward, terminated, truncated, _ = env.step(LEFT)
        assert (terminated, truncated, reward) == (False, t == 4, 0.0)


def test_memory_distractor_terminates_unpaid():
    env = make_amaze("amaze_ood_memory")
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        goal = tuple(env.state["goal_pos"])
        clue_is_red = obs["image"][4, 1, 1] == 0  # clue: the tile left of the agent at the start
        assert clue_is_red == (goal == (9, 5))
        # Walk to (9, 7), then turn towards the wrong goal, two tiles away, and walk into it.
        for action in [FORWARD] * 9 + [LEFT if goal[1] > 7 else RIGHT, FORWARD, FORWARD]:
            _, reward, terminated, _, _ = env.step(action)
        assert terminated and reward == 0.0


# ---- observations -----------------------------------------------------------------------------
# Agent A at (1, 1), goal G at (3, 1), view 3. Object channel per direction, worked out by hand:
# the agent sits at the bottom middle looking up the image, its left on the left; outside = wall.
VIEW_ROWS = [".#..",
             "...G",
             "#...",
             "..#."]
EXPECTED_OBJECTS = {
    0: [[1, 8, 1], [1, 1, 1], [2, 1, 1]],  # facing right: ahead is +x, left is -y
    1: [[2, 1, 1], [1, 1, 2], [1, 1, 1]],  # facing down: left is +x
    2: [[2, 2, 2], [2, 1, 1], [1, 1, 2]],  # facing left: row 0 is beyond the border
    3: [[2, 2, 2], [1, 2, 1], [1, 1, 1]],  # facing up
}
ENCODING = {1: (1, 0, 0), 2: (2, 5, 0), 8: (8, 1, 0)}


@pytest.mark.parametrize("direction", range(4))
def test_view_of_hand_built_grid(direction):
    _, obs = tiny_env(VIEW_ROWS, agent=(1, 1), agent_dir=direction, goal=(3, 1), agent_view_size=3)
    expected = np.array([[ENCODING[o] for o in row] for row in EXPECTED_OBJECTS[direction]], dtype=np.uint8)
    np.testing.assert_array_equal(obs["image"], expected)
    assert obs["agent_dir"] == direction
    _, obs = tiny_env(VIEW_ROWS, agent=(1, 1), agent_dir=direction, goal=(3, 1), agent_view_size=3,
                      see_agent=True, normalize_obs=True)
    expected[2, 1] = (10, 0, direction)
    np.testing.assert_allclose(obs["image"], expected / 10.0, rtol=1e-6)


def minimax_view(grid, pos, direction, view):
    """minimax's get_obs, restated: crop the V x V box ahead of the agent from a wall-padded map,
    then rotate it by (direction + 1) quarter turns counter-clockwise."""
    enc = {0: (1, 0, 0), WALL: (2, 5, 0), GOAL: (8, 1, 0), GOAL_RED: (8, 0, 0)}
    pad = view - 1
    h, w = grid.shape
    padded = np.zeros((h + 2 * pad, w + 2 * pad, 3), dtype=np.uint8)
    padded[:] = enc[WALL]
    padded[pad:pad + h, pad:pad + w] = np.array([[enc[c] for c in row] for row in grid])
    x, y = pos
    dx, dy = VEC[direction]
    side = view // 2
    corners = np.array([(x, y), (x + dx * (view - 1), y + dy * (view - 1)),
                        (x + (dx == 0) * side, y + (dy == 0) * side), (x - (dx == 0) * side, y - (dy == 0) * side)])
    x0, y0 = corners.min(axis=0) + pad
    crop = padded[y0:y0 + view, x0:x0 + view]
    out = np.rot90(crop, direction + 1).copy()
    out[-1, side] = enc[0]
    return out


@pytest.mark.parametrize("name", ["amaze_13x13_train", "amaze_ood_memory"])
def test_views_match_minimax_crop_and_rotate(name):
    env = make_amaze_batch(name, 64, seed=0, agent_view_size=5)
    obs, _ = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(30):
        grids, pos, dirs = env.grid, env.agent_pos, env.agent_dir
        for i in range(env.num_envs):
            np.testing.assert_array_equal(obs["image"][i], minimax_view(grids[i], pos[i], dirs[i], 5))
        obs, *_ = env.step(rng.integers(0, 3, env.num_envs))


# ---- batched == single ------------------------------------------------------------------------
@pytest.mark.parametrize("name, overrides", [
    ("amaze_7x7", dict(max_episode_steps=40, obs_agent_pos=True)),
    ("amaze_ood_fourrooms", dict(max_episode_steps=60)),
])
def test_batch_equals_single_envs(name, overrides):
    n, seed = 6, 100
    batch = make_amaze_batch(name, n, seed=seed, **overrides)
    singles = [make_amaze(name, seed=seed + i, **overrides) for i in range(n)]
    obs_b, _ = batch.reset()
    obs_s = [env.reset()[0] for env in singles]
    rng = np.random.default_rng(0)
    episodes_ended = goals = 0
    for _ in range(200):
        for key in obs_b:
            np.testing.assert_array_equal(obs_b[key], np.stack([o[key] for o in obs_s]))
        actions = rng.choice([LEFT, RIGHT, FORWARD, FORWARD], n)
        obs_b, rew_b, term_b, trunc_b, _ = batch.step(actions)
        for i, env in enumerate(singles):
            obs_s[i], rew, term, trunc, _ = env.step(actions[i])
            assert (rew_b[i], term_b[i], trunc_b[i]) == (np.float32(rew), term, trunc)
            if term or trunc:
                obs_s[i], _ = env.reset()
                episodes_ended += 1
                goals += term
    assert episodes_ended > n and goals > 0  # auto-resets were exercised, goals included


# ---- OOD mazes --------------------------------------------------------------------------------
# (height, width, max_episode_steps) as minimax defines them.
OOD_SIZES = {
    "sixteenrooms": (13, 13, 450), "sixteenrooms2": (13, 13, 450), "labyrinth": (13, 13, 450),
    "labyrinthflipped": (13, 13, 450), "labyrinth2": (13, 13, 450), "standardmaze": (13, 13, 450),
    "standardmaze2": (13, 13, 450), "standardmaze3": (13, 13, 450), "smallcorridor": (13, 13, 450),
    "largecorridor": (19, 19, 882), "fourrooms": (17, 17, 250), "crossing": (9, 9, 484),
    "perfectmaze": (13, 13, 450), "perfectmazemedium": (19, 19, 882), "perfectmazexl": (101, 101, 21218),
    "memory": (15, 15, 250),
}


def path_length(free, start, goal):
    """BFS steps from start to a cell next to goal (the goal itself blocks), or -1."""
    h, w = free.shape
    dist = {tuple(start): 0}
    queue = deque([tuple(start)])
    while queue:
        x, y = queue.popleft()
        if abs(x - goal[0]) + abs(y - goal[1]) == 1:
            return dist[(x, y)] + 1
        for dx, dy in VEC.values():
            nx, ny = x + dx, y + dy
            if 0 <= nx < w and 0 <= ny < h and free[ny, nx] and (nx, ny) not in dist:
                dist[(nx, ny)] = dist[(x, y)] + 1
                queue.append((nx, ny))
    return -1


def test_ood_names_sizes_and_lengths():
    assert sorted(n for n in list_amaze_envs() if n.startswith("amaze_ood_")) == sorted(
        "amaze_ood_" + k for k in OOD_SIZES)
    for key, size in OOD_SIZES.items():
        cfg = make_amaze("amaze_ood_" + key).cfg
        assert (cfg.height, cfg.width, cfg.max_episode_steps) == size, key


@pytest.mark.parametrize("key", sorted(OOD_SIZES))
def test_ood_goal_reachable(key):
    env = make_amaze("amaze_ood_" + key)
    for seed in range(1 if key == "perfectmazexl" else 5):
        env.reset(seed=seed)
        state, grid = env.state, env._core.grid[0]
        assert grid.shape == OOD_SIZES[key][:2]
        assert path_length(grid == 0, state["agent_pos"], state["goal_pos"]) > 0, (key, seed)


# ---- OOD layouts pinned to minimax's text, PerfectMaze, sample_n_walls ---------------------------
# sha256 (first 16 hex digits) of "rows joined by '/'|agent=x,y|dir=d|goals=x,y;x,y", computed from
# the wall_map strings (spaces removed), agent_pos, agent_dir_idx (None -> 0, as MazeSingleton does)
# and goal_pos of each class in minimax's src/minimax/envs/maze/maze_ood.py at commit d053054c.
MINIMAX_OOD_CHECKSUMS = {
    "SIXTEEN_ROOMS": "c1a775834e12f114",
    "SIXTEEN_ROOMS2": "1a82bf7a036a0dbf",
    "LABYRINTH": "e8e4e87e5ad2d40e",
    "LABYRINTH_FLIPPED": "5bc48837f5b91057",
    "LABYRINTH2": "4cfaeb26a93320cc",
    "STANDARD_MAZE": "eceaed4d195df938",
    "STANDARD_MAZE2": "32c1bd67c1b294e6",
    "STANDARD_MAZE3": "3f17ad885e3f2506",
    "SMALL_CORRIDOR": "a2703a611fdd3df8",
    "LARGE_CORRIDOR": "b3f8f94e3ed0f763",
}


@pytest.mark.parametrize("key", sorted(MINIMAX_OOD_CHECKSUMS))
def test_fixed_ood_layouts_match_minimax_text(key):
    import hashlib

    from envs.amaze import ood_layouts

    spec = getattr(ood_layouts, key)
    text = ("/".join(spec["rows"]) + f"|agent={spec['agent'][0]},{spec['agent'][1]}|dir={spec['dir']}|goals="
            + ";".join(f"{x},{y}" for x, y in spec["goals"]))
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == MINIMAX_OOD_CHECKSUMS[key]


def test_perfect_maze_is_a_spanning_tree():
    env = make_amaze("amaze_ood_perfectmaze")
    for seed in range(5):
        env.reset(seed=seed)
        free = ~env.state["wall_map"]
        assert (~free).sum() == 72  # 13x13: 7x7 lattice cells + 48 links are free
        edges = (free[1:, :] & free[:-1, :]).sum() + (free[:, 1:] & free[:, :-1]).sum()
        assert edges == free.sum() - 1  # a tree has one edge fewer than nodes ...
        seen, queue = {tuple(env.state["agent_pos"])}, deque([tuple(env.state["agent_pos"])])
        while queue:  # ... and is connected
            x, y = queue.popleft()
            for dx, dy in VEC.values():
                nx, ny = x + dx, y + dy
                if 0 <= nx < 13 and 0 <= ny < 13 and free[ny, nx] and (nx, ny) not in seen:
                    seen.add((nx, ny))
                    queue.append((nx, ny))
        assert len(seen) == free.sum()


def test_sample_n_walls_distribution():
    # minimax: randint(0, n) walls, padded to at least one -> P(1) = 2/n, P(k) = 1/n for 1 < k < n.
    n, k = 4, 4000
    cfg = AMazeConfig(height=7, width=7, n_walls=n, sample_n_walls=True)
    grids = sample_random_mazes(cfg, [np.random.default_rng(s) for s in range(k)]).grid
    counts = np.bincount((grids == WALL).sum(axis=(1, 2)), minlength=n + 1)
    np.testing.assert_allclose(counts / k, [0, 2 / n, 1 / n, 1 / n, 0], atol=0.03)
